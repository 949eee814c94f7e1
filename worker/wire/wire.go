// Package wire builds the report worker from a loaded appconfig.Config and the
// real AWS adapters. The run Lambda (functions/run) and the local stack
// (devstack/local) both call Worker, so the worker runs with the same
// dependencies on AWS as on a laptop, and with only the ones it needs: reports
// and billing-data tables, the bucket, the queue (for the sweep's re-enqueue),
// SES and the webhook sender.
package wire

import (
	"fmt"

	"github.com/aws/aws-lambda-go/lambdacontext"
	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/evovoice/billing/appconfig"
	"github.com/evovoice/billing/ddbstore"
	"github.com/evovoice/billing/resources"
	"github.com/evovoice/billing/s3files"
	"github.com/evovoice/billing/sesmail"
	"github.com/evovoice/billing/sqsqueue"
	"github.com/evovoice/billing/webhook"
	"github.com/evovoice/billing/worker"
)

// Worker returns the worker of cfg. It fails when a setting the worker needs
// is missing, so that a misconfigured function fails at cold start.
func Worker(cfg appconfig.Config) (*worker.Worker, error) { return WorkerWith(cfg, nil) }

// WorkerWith is Worker with tune applied to the worker's settings: the local
// stack shortens the lease and the sweep's takeover (resources.Local*).
func WorkerWith(cfg appconfig.Config, tune func(*worker.Config)) (*worker.Worker, error) {
	if err := cfg.Require(resources.EnvReportsTable, resources.EnvBillingTable, resources.EnvJobsQueueURL,
		resources.EnvReportsBucket, resources.EnvSenderAddress, resources.EnvPublicAPIURL,
		resources.EnvSigningSecretARN, resources.EnvWebhookSecretARN); err != nil {
		return nil, fmt.Errorf("wiring the worker: %w", err)
	}
	db := awsddb.NewFromConfig(cfg.AWS)
	name := lambdacontext.FunctionName
	if name == "" {
		name = "run"
	}
	queue := sqsqueue.New(awssqs.NewFromConfig(cfg.AWS), cfg.JobsQueueURL)
	wcfg := worker.Config{
		PublicAPIURL: cfg.PublicAPIURL,
		SigningKey:   cfg.SigningKey,
		TokenTTL:     cfg.TokenTTL,
		LinkTTL:      cfg.LinkTTL,
		FunctionName: name,
		ShardDays:    cfg.ShardDays,
	}
	if tune != nil {
		tune(&wcfg)
	}
	w, err := worker.New(worker.Deps{
		Reports: ddbstore.NewReportStore(db, cfg.ReportsTable, storeLogger(cfg)),
		Data:    ddbstore.NewBillingStore(db, cfg.BillingTable, storeLogger(cfg)),
		Files: s3files.NewFromConfig(cfg.ForS3(), cfg.ReportsBucket, func(o *s3files.Options) {
			o.UsePathStyle = cfg.S3UsePathStyle
		}),
		Mailer: sesmail.New(sesv2.NewFromConfig(cfg.AWS), cfg.SenderAddress, func(o *sesmail.Options) {
			o.ConfigurationSet = cfg.SESConfigurationSet
		}),
		Queue:   queue,
		Retries: queue,
		Partials: s3files.NewPartialsFromConfig(cfg.ForS3(), cfg.ReportsBucket, func(o *s3files.Options) {
			o.UsePathStyle = cfg.S3UsePathStyle
		}),
		Webhooks: webhook.New(cfg.WebhookKey, func(o *webhook.Options) {
			// Only the local stack sets this: http:// and loopback receivers on
			// the developer's machine. Private and link-local stay refused.
			o.AllowHTTP = cfg.AllowInsecureWebhooks
			o.AllowLoopback = cfg.AllowInsecureWebhooks
		}),
		Log:    cfg.Logger,
		Config: wcfg,
	})
	if err != nil {
		return nil, fmt.Errorf("wiring the worker: %w", err)
	}
	return w, nil
}

// storeLogger gives the DynamoDB stores the function's logger (their repair
// warnings), as httpapi/wiring does.
func storeLogger(cfg appconfig.Config) func(*ddbstore.Options) {
	return func(o *ddbstore.Options) { o.Logger = cfg.Logger }
}
