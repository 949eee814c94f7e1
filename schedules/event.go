package schedules

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/reports"

	"github.com/evovoice/billing/resources"
)

// TickStore is what a tick needs of the schedule store.
type TickStore interface {
	Getter
	Firer
}

// TickDeps are the run function's dependencies for firing schedules:
// exactly what a tick calls, submit's included (a firing is a submit).
type TickDeps struct {
	Schedules   TickStore
	Reports     reports.Store
	Idempotency billing.IdempotencyStore
	Accounts    reports.AccountGetter
	Jobs        billing.JobQueue

	CheckWebhook func(string) error // the webhook sender's guard, as for submit
	Logger       *slog.Logger
}

// NewTicker returns the Service of the run function: Tick only, submitting
// through a reports.Service over the same kind of dependencies as the
// submit function's.
func NewTicker(d TickDeps) *Service {
	sub := reports.New(reports.Deps{Reports: d.Reports, Idempotency: d.Idempotency, Accounts: d.Accounts, Jobs: d.Jobs,
		CheckWebhook: d.CheckWebhook, Logger: d.Logger})
	return New(Deps{Get: d.Schedules, Fire: d.Schedules, Submit: sub, Accounts: d.Accounts, CheckWebhook: d.CheckWebhook, Logger: d.Logger})
}

// Handler is a Lambda entry point taking the raw event.
type Handler func(ctx context.Context, raw json.RawMessage) (any, error)

// TickEvent is the input the EventBridge rule gives the run function: the
// sweep flag and the scheduled event's own time (an input transformer puts
// <aws.events.event.time> there), so that a tick for any instant can be
// replayed by sending that instant.
type TickEvent struct {
	Sweep bool   `json:"sweep"`
	Time  string `json:"time"`
}

// TickResponse is what the run function answers a tick event.
type TickResponse struct {
	Tick  TickResult `json:"tick"`
	Sweep any        `json:"sweep"`
}

// ParseTickEvent reads a tick event: exactly {"sweep":true,"time":<RFC 3339>}.
// ok is false for any other event (an SQS batch, the plain sweep).
func ParseTickEvent(raw json.RawMessage) (at time.Time, ok bool, err error) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil || len(fields) != 2 || fields["time"] == nil || fields["sweep"] == nil {
		return time.Time{}, false, nil
	}
	var ev TickEvent
	if err := json.Unmarshal(raw, &ev); err != nil || !ev.Sweep {
		return time.Time{}, true, fmt.Errorf(`a tick event must be {"sweep":true,"time":"<RFC 3339>"}: %s`, raw)
	}
	at, err = time.Parse(time.RFC3339, ev.Time)
	if err != nil {
		return time.Time{}, true, fmt.Errorf("reading the tick event's time: %w", err)
	}
	return at, true, nil
}

// WithTicks returns the run function's entry point: a tick event fires the
// schedules due at its time and then runs the sweep through next with the
// plain sweep event; every other event goes to next unchanged. A failed
// tick is the invocation's error (the function's Errors alarm), after the
// sweep has run all the same.
func (s *Service) WithTicks(next Handler) Handler {
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		at, ok, err := ParseTickEvent(raw)
		if err != nil {
			return nil, err
		}
		if !ok {
			return next(ctx, raw)
		}
		res, tickErr := s.Tick(ctx, at)
		sweep, sweepErr := next(ctx, json.RawMessage(resources.SweepEvent))
		if tickErr != nil {
			tickErr = fmt.Errorf("ticking the schedules at %s: %w", at.UTC().Format(time.RFC3339), tickErr)
		}
		return TickResponse{Tick: res, Sweep: sweep}, errors.Join(tickErr, sweepErr)
	}
}
