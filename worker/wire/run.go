package wire

import (
	"fmt"

	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/evovoice/billing/appconfig"
	"github.com/evovoice/billing/ddbstore"
	"github.com/evovoice/billing/lambdaedge"
	"github.com/evovoice/billing/resources"
	"github.com/evovoice/billing/schedules"
	"github.com/evovoice/billing/sqsqueue"
	"github.com/evovoice/billing/webhook"
	"github.com/evovoice/billing/worker"
)

// Run returns the run Lambda's entry point: the worker (SQS batches, the
// sweep) with the schedules' tick in front of it (schedules.WithTicks).
func Run(cfg appconfig.Config) (schedules.Handler, error) { return RunWith(cfg, nil) }

// RunWith is Run with the worker's configuration tuned (the local stack's
// shorter timings).
func RunWith(cfg appconfig.Config, tune func(*worker.Config)) (schedules.Handler, error) {
	w, err := WorkerWith(cfg, tune)
	if err != nil {
		return nil, err
	}
	t, err := Ticker(cfg)
	if err != nil {
		return nil, err
	}
	return t.WithTicks(lambdaedge.Handler(w)), nil
}

// Ticker returns the schedules' tick of cfg: the schedules table (read,
// advance), and for the firings' submits the reports table (create, read,
// job id, idempotency records), the billing-data table (account lookup) and
// the jobs queue, as the submit function has them.
func Ticker(cfg appconfig.Config) (*schedules.Service, error) {
	if err := cfg.Require(resources.EnvSchedulesTable, resources.EnvReportsTable, resources.EnvBillingTable, resources.EnvJobsQueueURL); err != nil {
		return nil, fmt.Errorf("wiring the schedules' tick: %w", err)
	}
	db := awsddb.NewFromConfig(cfg.AWS)
	reports := ddbstore.NewReportStore(db, cfg.ReportsTable, storeLogger(cfg))
	return schedules.NewTicker(schedules.TickDeps{
		Schedules:   ddbstore.NewScheduleStore(db, cfg.SchedulesTable, storeLogger(cfg)),
		Reports:     reports,
		Idempotency: reports,
		Accounts:    ddbstore.NewBillingStore(db, cfg.BillingTable, storeLogger(cfg)),
		Jobs:        sqsqueue.New(awssqs.NewFromConfig(cfg.AWS), cfg.JobsQueueURL),
		CheckWebhook: func(target string) error {
			return webhook.CheckURL(target, cfg.AllowInsecureWebhooks, cfg.AllowInsecureWebhooks)
		},
		Logger: cfg.Logger,
	}), nil
}
