// Package resources is the one source of the names, keys, limits and settings of
// the service's AWS resources. The CDK app in infra/ and the local stack in
// devstack/ both build their tables, queues and bucket from here, and the
// functions read the same environment variable names, so that what runs locally
// is what gets deployed.
package resources

import (
	"fmt"
	"time"
)

// Environment variables the functions read. infra/ sets them on Lambda; the
// local stack sets them in-process.
const (
	EnvReportsTable        = "REPORTS_TABLE"
	EnvBillingTable        = "BILLING_TABLE"
	EnvSchedulesTable      = "SCHEDULES_TABLE"
	EnvJobsQueueURL        = "JOBS_QUEUE_URL"
	EnvReportsBucket       = "REPORTS_BUCKET"
	EnvSenderAddress       = "SENDER_ADDRESS"
	EnvSESConfigurationSet = "SES_CONFIGURATION_SET"
	EnvPublicAPIURL        = "PUBLIC_API_URL"          // base of the emailed download links
	EnvSigningSecretARN    = "SIGNING_SECRET_ARN"      // Secrets Manager: download-token and cursor key
	EnvWebhookSecretARN    = "WEBHOOK_SECRET_ARN"      // Secrets Manager: webhook signing key
	EnvSigningSecret       = "SIGNING_SECRET"          // local stack only: the key itself
	EnvWebhookSecret       = "WEBHOOK_SECRET"          // local stack only: the key itself
	EnvLinkTTL             = "DOWNLOAD_LINK_TTL"       // presigned S3 URL lifetime (Go duration)
	EnvTokenTTL            = "DOWNLOAD_TOKEN_TTL"      // emailed link token lifetime (Go duration)
	EnvAllowInsecureHooks  = "ALLOW_INSECURE_WEBHOOKS" // "true" only in the local stack
	EnvLogFormat           = "LOG_FORMAT"              // "json" (Lambda default) or "text"
)

// Defaults of spec 2.3 and 2.1.
const (
	DefaultLinkTTL      = 15 * time.Minute
	DefaultTokenTTL     = 7 * 24 * time.Hour
	MaxActiveReports    = 10
	IdempotencyTTL      = 24 * time.Hour
	MaxRequestBody      = 64 << 10
	DefaultListLimit    = 50
	MaxListLimit        = 200
	MaxIdempotencyKey   = 255
	ReportRetentionDays = 90 // S3 lifecycle expiry of report files, default
)

// Fair share of the MaxActiveReports slots (spec 2.1): one Customer-role caller
// holds at most MaxActivePerCustomer, all Customer-role callers of an account
// together at most MaxActiveCustomerRoles, so that the account's Managers
// always have the rest.
const (
	MaxActivePerCustomer   = 3
	MaxActiveCustomerRoles = 7
)

// Worker and queue settings. Lambda requires the queue's visibility timeout to be
// at least the function timeout; AWS recommends 6x so that retries of a batch do
// not overlap. The lease is longer than one invocation and shorter than the
// visibility timeout, so a redelivery after a crash finds the lease expired.
const (
	WorkerTimeout      = 5 * time.Minute
	WorkerMemoryMB     = 512
	VisibilityTimeout  = 6 * WorkerTimeout
	LeaseDuration      = WorkerTimeout + time.Minute
	MaxReceiveCount    = 5
	WorkerBatchSize    = 4 // messages of a batch run concurrently; each report's memory is bounded
	WorkerBatchWindow  = time.Second
	DayReadConcurrency = 8
	SweepInterval      = 5 * time.Minute
	SweepQueuedAfter   = 2 * time.Minute // a Queued report untouched this long is re-enqueued
	SweepMaxAttempts   = MaxReceiveCount // a Running report whose lease expired this often is failed
	DLQRetention       = 14 * 24 * time.Hour
)

// Reports table: one table for reports, idempotency records and per-account
// active-report sets, told apart by the pk prefix.
const (
	ReportsPK          = "pk" // REPORT#<id> | IDEMP#<sha256(caller,key)> | ACTIVE#<accountId>
	ReportsByAccount   = "byAccount"
	ReportsByAccountPK = "accountId"
	ReportsByAccountSK = "createdKey" // <RFC3339Nano dateCreated>#<id>: newest first with ScanIndexForward=false
	ReportsByStatus    = "byStatus"   // sparse: only non-final reports carry its keys
	ReportsByStatusPK  = "openStatus"
	ReportsByStatusSK  = "updatedKey" // <RFC3339Nano dateUpdated>#<id>
	TTLAttribute       = "expiresAt"  // epoch seconds; DynamoDB TTL on AWS, checked by the code everywhere
)

// Billing-data table: accounts, customers and usage. Usage is partitioned per
// account and UTC day so a report reads exactly its days with Query, days can be
// read concurrently, and no partition holds an account's whole history.
const (
	BillingPK = "pk" // ACCOUNT#<id> (account item and its customers) | USAGE#<accountId>#<YYYY-MM-DD>
	BillingSK = "sk" // ACCOUNT | CUSTOMER#<id> | <UTC time, fixed width>#<eventId>
)

// Schedules table (spec 2.7): schedules and per-account schedule counters,
// told apart by the pk prefix. The due index is sparse: only enabled
// schedules carry its keys, so a tick reads exactly the due ones with one
// Query and never scans. The due index has one partition key value, "DUE":
// a tick reads only its due head, and each schedule writes it once a period
// (far below a partition's write limit for any number of resellers).
const (
	SchedulesPK          = "pk" // SCHEDULE#<id> | SCHEDULECOUNT#<accountId>
	SchedulesByAccount   = "byAccount"
	SchedulesByAccountPK = "accountId"
	SchedulesByAccountSK = "createdKey" // <RFC3339Nano dateCreated>#<id>: oldest first
	SchedulesDue         = "due"
	SchedulesDuePK       = "dueShard" // the constant "DUE", only on enabled schedules
	SchedulesDueSK       = "dueKey"   // <fixed-width UTC nextRunAt>#<id>
	ScheduleTickBatch    = 100        // due schedules one tick reads at most; the rest wait for the next tick
)

// UsageTimeLayout is the fixed-width, lexically ordered UTC time of usage sort keys.
const UsageTimeLayout = "2006-01-02T15:04:05.000000000Z"

// Names are the physical names of one stage's resources.
type Names struct {
	Stage          string
	ReportsTable   string
	BillingTable   string
	SchedulesTable string
	JobsQueue      string
	JobsDLQ        string
	ReportsBucket  string // locally; on AWS the bucket name is generated by CloudFormation
}

// For returns the names of stage (e.g. "dev", "prod", "local").
func For(stage string) Names {
	p := "billing-reports-" + stage
	return Names{
		Stage:          stage,
		ReportsTable:   p + "-reports",
		BillingTable:   p + "-billing-data",
		SchedulesTable: p + "-schedules",
		JobsQueue:      p + "-jobs",
		JobsDLQ:        p + "-jobs-dlq",
		ReportsBucket:  p + "-files",
	}
}

// ReportObjectKey is the deterministic S3 key of a report's CSV: a retry
// overwrites the same object.
func ReportObjectKey(accountID, reportID string) string {
	return fmt.Sprintf("reports/%s/%s.csv", accountID, reportID)
}

// ReportFileName is the download name of a report's CSV.
func ReportFileName(start, end string) string {
	return fmt.Sprintf("billing-report-%s-to-%s.csv", start, end)
}
