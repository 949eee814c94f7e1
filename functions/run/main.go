// Command run is the run Lambda: SQS batches of report jobs and the sweep
// schedule's constant input {"sweep":true} (see worker.(*Worker).Invoke). It
// only wires configuration and adapters; the behaviour lives in package worker.
package main

import (
	"context"
	"log/slog"
	"os"
	_ "time/tzdata" // report zones, whatever the runtime image holds

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/evovoice/billing/appconfig"
	"github.com/evovoice/billing/worker/wire"
)

func main() {
	ctx := context.Background()
	cfg, err := appconfig.Load(ctx)
	if err != nil {
		slog.Error("loading configuration", "err", err)
		os.Exit(1)
	}
	w, err := wire.Worker(cfg)
	if err != nil {
		slog.Error("starting the run function", "err", err)
		os.Exit(1)
	}
	lambda.Start(w.Invoke)
}
