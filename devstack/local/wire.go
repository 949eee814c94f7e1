package local

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/appconfig"
	"github.com/evovoice/billing/ddbstore"
	"github.com/evovoice/billing/devstack/eventsource"
	"github.com/evovoice/billing/devstack/gateway"
	"github.com/evovoice/billing/httpapi/wiring"
	"github.com/evovoice/billing/lambdaedge"
	"github.com/evovoice/billing/resources"
	"github.com/evovoice/billing/schedules"
	"github.com/evovoice/billing/worker"
	"github.com/evovoice/billing/worker/wire"
)

// billingStore is what the stack needs of the billing-data table: a read to
// tell whether the demo data is there, and the import's writes.
type billingStore interface {
	GetAccount(ctx context.Context, id string) (*billing.Account, error)
	billing.BillingDataWriter
}

// functions are the service's handlers, built in-process with the same
// constructors and adapters as on Lambda.
type functions struct {
	submit    gateway.Function
	status    gateway.Function
	handleSQS eventsource.Handler
	sweep     func(context.Context) error
	billing   billingStore
	schedules scheduleCreator
}

// buildFunctions wires the handlers from env (the functions' environment
// variables) and awsCfg (the emulators') with the very constructors each
// Lambda's main uses (httpapi/wiring, worker/wire).
// The HTTP handlers sit behind the same edge as on Lambda (lambdaedge: the
// proxy adapter, the claims as the caller); the worker is called through its
// Lambda entry point, lambdaedge.Handler, with the JSON Lambda would send, so that local
// runs cover the event decoding too.
func buildFunctions(ctx context.Context, log *slog.Logger, env map[string]string, awsCfg aws.Config) (functions, error) {
	cfg, err := appconfig.Load(ctx, func(o *appconfig.Options) {
		o.Getenv = func(k string) string { return env[k] }
		o.AWS = &awsCfg
	})
	if err != nil {
		return functions{}, err
	}
	if err := cfg.Require(resources.EnvBillingTable); err != nil {
		return functions{}, err
	}
	if err := cfg.Require(resources.EnvSchedulesTable); err != nil {
		return functions{}, err
	}
	db := dynamodb.NewFromConfig(cfg.AWS)
	fns := functions{billing: ddbstore.NewBillingStore(db, cfg.BillingTable), schedules: ddbstore.NewScheduleStore(db, cfg.SchedulesTable)}
	submit, err := wiring.Submit(cfg)
	if err != nil {
		return functions{}, err
	}
	fns.submit = lambdaedge.HTTPHandler(submit)
	status, err := wiring.Status(cfg)
	if err != nil {
		return functions{}, err
	}
	fns.status = lambdaedge.HTTPHandler(status)
	// The local stack's timings (resources.Local*): a shorter lease and
	// takeover than on AWS, so a report whose worker died completes well
	// within 8 minutes of a restart.
	run, err := wire.RunWith(cfg, func(c *worker.Config) {
		c.LeaseDuration = resources.LocalLeaseDuration
		c.SweepRunningAfter = resources.LocalSweepRunAfter
	})
	if err != nil {
		return functions{}, err
	}
	fns.handleSQS = func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		raw, err := json.Marshal(ev)
		if err != nil {
			return resp, fmt.Errorf("encoding the SQS event: %w", err)
		}
		out, err := run(ctx, raw)
		if err != nil {
			return resp, err
		}
		// The Lambda runtime serialises the result; so does this.
		data, err := json.Marshal(out)
		if err != nil {
			return resp, fmt.Errorf("encoding the worker's response: %w", err)
		}
		if err := json.Unmarshal(data, &resp); err != nil {
			return resp, fmt.Errorf("decoding the worker's response: %w", err)
		}
		return resp, nil
	}
	// The sweep's tick is the EventBridge rule's event: it fires the report
	// schedules due now, then sweeps.
	fns.sweep = func(ctx context.Context) error {
		ev, err := json.Marshal(schedules.TickEvent{Sweep: true, Time: time.Now().UTC().Format(time.RFC3339)})
		if err != nil {
			return fmt.Errorf("encoding the tick event: %w", err)
		}
		res, err := run(ctx, ev)
		if err == nil {
			log.Debug("sweep and tick done", "result", res)
		}
		return err
	}
	return fns, nil
}
