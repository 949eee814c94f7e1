// Package wiring builds the submit and status handlers from a loaded
// appconfig.Config and the real AWS adapters. It is the one place that decides
// which adapter each function gets, so the Lambdas' main packages and the local
// stack (devstack/local) run exactly the same handlers, and each function gets
// only the dependencies (and therefore the IAM grants) it needs.
package wiring

import (
	"context"
	"fmt"
	"net/http"

	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/evovoice/billing/appconfig"
	"github.com/evovoice/billing/ddbstore"
	"github.com/evovoice/billing/httpapi"
	"github.com/evovoice/billing/resources"
	"github.com/evovoice/billing/s3files"
	"github.com/evovoice/billing/sqsqueue"
)

// Submit returns the submit function's handler: reports table (create, read,
// set job id, idempotency records), billing-data table (account lookup), the
// jobs queue and the schedules table (create, read, replace, delete).
func Submit(cfg appconfig.Config) (http.Handler, error) {
	if err := cfg.Require(resources.EnvReportsTable, resources.EnvBillingTable, resources.EnvJobsQueueURL, resources.EnvSchedulesTable); err != nil {
		return nil, fmt.Errorf("wiring submit: %w", err)
	}
	db := awsddb.NewFromConfig(cfg.AWS)
	log := storeLogger(cfg)
	reports := ddbstore.NewReportStore(db, cfg.ReportsTable, log)
	return withBudget(httpapi.NewSubmitHandler(httpapi.SubmitDeps{
		Reports:               reports,
		Idempotency:           reports,
		Accounts:              ddbstore.NewBillingStore(db, cfg.BillingTable, log),
		Jobs:                  sqsqueue.New(awssqs.NewFromConfig(cfg.AWS), cfg.JobsQueueURL),
		Schedules:             ddbstore.NewScheduleStore(db, cfg.SchedulesTable, log),
		AllowInsecureWebhooks: cfg.AllowInsecureWebhooks,
		Logger:                cfg.Logger,
	})), nil
}

// Status returns the status function's handler: reports and schedules
// tables (read only), the bucket (presigning only) and the signing key.
func Status(cfg appconfig.Config) (http.Handler, error) {
	if err := cfg.Require(resources.EnvReportsTable, resources.EnvReportsBucket, resources.EnvSigningSecretARN, resources.EnvSchedulesTable); err != nil {
		return nil, fmt.Errorf("wiring status: %w", err)
	}
	db := awsddb.NewFromConfig(cfg.AWS)
	return withBudget(httpapi.NewStatusHandler(httpapi.StatusDeps{
		Reports:   ddbstore.NewReportStore(db, cfg.ReportsTable, storeLogger(cfg)),
		Schedules: ddbstore.NewScheduleStore(db, cfg.SchedulesTable, storeLogger(cfg)),
		Files: s3files.NewFromConfig(cfg.ForS3(), cfg.ReportsBucket, func(o *s3files.Options) {
			o.UsePathStyle = cfg.S3UsePathStyle
		}),
		SigningKey: cfg.SigningKey,
		LinkTTL:    cfg.LinkTTL,
		Logger:     cfg.Logger,
	})), nil
}

// storeLogger gives a DynamoDB store the function's logger.
func storeLogger(cfg appconfig.Config) func(*ddbstore.Options) {
	return func(o *ddbstore.Options) { o.Logger = cfg.Logger }
}

// withBudget gives every request resources.APIRequestBudget in all (spec 2.5:
// an answer within 10 seconds whatever a dependency does). The SDK's own
// per-attempt deadline (appconfig.DeadlineOptions) bounds each call; this
// bounds their sum, so that a request making several calls to a paused
// dependency still answers in time. A call cut short fails with the
// context's deadline, which the adapters report as unavailable: 503 with the
// error body, and for submit a report left Queued that the sweep enqueues.
func withBudget(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), resources.APIRequestBudget)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}
