package appconfig

import (
	"log/slog"
	"time"
)

func slogRecord(msg string) slog.Record {
	return slog.NewRecord(time.Unix(0, 0), slog.LevelInfo, msg, 0)
}
