// Package resources is the one source of the names, keys, limits and settings of
// the service's AWS resources. The CDK app in infra/ and the local stack in
// devstack/ both build their tables, queues and bucket from here, and the
// functions read the same environment variable names, so that what runs locally
// is what gets deployed. The rules' limits (active reports, list pages,
// idempotency, ids) are not deployment settings: they are package billing's.
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
	EnvShardDays           = "SHARD_DAYS"              // run function: at most this many UTC days per shard; unset or 0: no cap
)

// Configurable defaults of spec 2.3 and deployment limits. The rules' own
// limits (active reports, list pages, idempotency) are the domain's: package
// billing, limits.go.
const (
	DefaultLinkTTL      = 15 * time.Minute
	DefaultTokenTTL     = 7 * 24 * time.Hour
	MaxRequestBody      = 64 << 10 // API Gateway allows more; submit's body is a few hundred bytes
	ReportRetentionDays = 90       // S3 lifecycle expiry of report files, default
)

// Worker and queue settings: the one table of the service's timings, checked
// against each other by TestTimings. Lambda requires the queue's visibility
// timeout to be at least the function timeout; AWS recommends 6x so that
// retries of a batch do not overlap. The lease is longer than one invocation,
// so a live attempt never loses it to a duplicate delivery; a report whose
// worker died is taken over by the sweep soon after the lease expires
// (SweepRunningAfter), not after the visibility timeout. A message the worker
// fails on purpose comes back after RetryBackoff (its visibility is changed),
// so only a message whose worker was killed waits the full visibility timeout.
const (
	WorkerTimeout  = 5 * time.Minute
	WorkerMemoryMB = 1769 // one vCPU: sizing from the measured CPU per event (shardplan/README.md)
	// WorkerGOGC is the run function's GOGC: its heap is small (tens of MB of
	// the 1,769 MB), and garbage collection is about a fifth of the CPU of
	// decoding usage pages at the default 100 (ddbstore/README.md:
	// BenchmarkUsageDecode 1.47 µs/event median at 100, 1.13 µs at 400).
	WorkerGOGC         = "400"
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
	// SweepRunningAfter: a Running report whose lease has expired and that was
	// not touched for this long is re-sent by the sweep. It is longer than the
	// longest RetryBackoff, so a report released for a retry is not sent twice
	// while its own message is about to come back.
	SweepRunningAfter = 5 * time.Minute
	// DeadlineMargin is kept free before the worker invocation's deadline:
	// generation stops there so the attempt can still record its outcome.
	DeadlineMargin = 20 * time.Second
)

// retryBackoffs are the delays before a failed job message is delivered again,
// by the receive count that failed (1st, 2nd, ...); the last one repeats.
// Their sum up to MaxReceiveCount is how long a poison message takes to reach
// the dead-letter queue (about 3.75 minutes plus the attempts themselves).
var retryBackoffs = []time.Duration{15 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute}

// RetryBackoff is the visibility timeout given to a job message whose
// receiveCount-th delivery failed with a retryable error: seconds at first,
// growing to minutes, instead of the full VisibilityTimeout.
func RetryBackoff(receiveCount int) time.Duration {
	i := min(max(receiveCount, 1), len(retryBackoffs)) - 1
	return retryBackoffs[i]
}

// Deadlines of every call to AWS (DynamoDB, SQS, SES, S3, Secrets Manager),
// applied by appconfig to the SDK's HTTP client and retryer, and the API's
// per-request budget. Spec 2.5: every answer within 10 seconds, 503 when a
// dependency does not answer in time; SDKAttemptTimeout x SDKMaxAttempts plus
// the retryer's backoff may exceed APIRequestBudget, which then cuts the last
// attempt short.
const (
	SDKConnectTimeout = 2 * time.Second // TCP connect and TLS handshake
	SDKAttemptTimeout = 3 * time.Second // one HTTP attempt, headers and body
	SDKMaxAttempts    = 3               // tries of one SDK call, with the standard backoff
	SDKMaxBackoff     = time.Second     // longest pause between two tries
	// S3TransferTimeout replaces SDKAttemptTimeout for S3 object uploads and
	// downloads, whose 5 MiB parts take longer than an API call.
	S3TransferTimeout = 30 * time.Second
	APIRequestBudget  = 8 * time.Second  // an API request's total time; its answer comes before 10 s
	APIAnswerBound    = 10 * time.Second // spec 2.5
	// APIFunctionTimeout is the submit and status Lambdas' timeout: the
	// request budget ends before it, so the 503 is written, not cut off.
	APIFunctionTimeout = APIAnswerBound
	// Notification deadlines in the worker: each email try and the webhook
	// have their own timeout; the outcome is recorded on a context that
	// outlives the attempt, within NotifyRecordTimeout.
	EmailTryTimeout     = 10 * time.Second
	NotifyRecordTimeout = 5 * time.Second
)

// The local stack's timings (devstack/local): shorter than on AWS so that a
// report whose worker died completes well within 8 minutes of a restart
// (LocalLeaseDuration + LocalSweepInterval + one run), while keeping the
// relations of the AWS table (lease > function timeout).
const (
	LocalWorkerTimeout  = 3 * time.Minute
	LocalLeaseDuration  = LocalWorkerTimeout + time.Minute
	LocalSweepInterval  = 30 * time.Second
	LocalSweepRunAfter  = 3 * time.Minute
	LocalRecoveryTarget = 8 * time.Minute
)

// The sweep event: the constant input the schedule sends to the run function
// (infra/), and the local stack's timer too, which the worker tells apart from
// an SQS batch by its one field.
const (
	SweepEventField = "sweep"
	SweepEvent      = `{"` + SweepEventField + `":true}`
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

// Schedules table (spec 2.7): schedules and per-account schedule slot maps,
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

// The service's Lambda functions (functions/<name>; the Makefile's FUNCTIONS).
const (
	FunctionSubmit = "submit"
	FunctionStatus = "status"
	FunctionRun    = "run"
)

// Names are the physical names of one stage's resources.
type Names struct {
	Stage          string
	ReportsTable   string
	BillingTable   string
	SchedulesTable string
	JobsQueue      string
	JobsDLQ        string
	ReportsBucket  string // locally; on AWS the bucket name is generated by CloudFormation
	FunctionPrefix string // + FunctionSubmit etc. is a function's name
	EmailConfigSet string // the SES configuration set
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
		// The same function names locally (the gateway's and event source's
		// Lambda contexts) as on AWS.
		FunctionPrefix: p + "-",
		EmailConfigSet: p,
	}
}

// ReportObjectKey is the deterministic S3 key of a report's CSV: a retry
// overwrites the same object.
func ReportObjectKey(accountID, reportID string) string {
	return fmt.Sprintf("reports/%s/%s.csv", accountID, reportID)
}

// ShardEventBudget is the number of usage events one shard should read: 30 s
// of CPU at the measured 1.6 µs per event (1.53 µs decoding a Query page
// through the SDK plus about 0.04 µs rating; ddbstore/README.md) on
// WorkerMemoryMB's one vCPU (shardplan.Deployment.Budget with a 30 s
// ShardTime). Shards of 30 s run in parallel, so 100M events take about half
// a minute (shardplan/README.md), and leave WorkerTimeout's 5 minutes a wide
// margin for a slower store; a shard that still runs short hands its rest on.
const ShardEventBudget = 18_750_000

// WorkerMaxConcurrency caps the run function's concurrent invocations (the
// event source mapping's maximum concurrency): the shards of large reports
// run in parallel up to it.
const WorkerMaxConcurrency = 100

// PartialsPrefix holds the exact partial sums of sharded reports while
// their shards run; the finalize job deletes them, and a lifecycle rule on
// the prefix removes whatever a lost finalize left (PartialsExpireDays).
const PartialsPrefix = "partials/"

// PartialsExpireDays is the lifecycle backstop of PartialsPrefix: far longer
// than any report runs.
const PartialsExpireDays = 2

// PartialObjectKey is the deterministic S3 key of one shard's partial: a
// retried shard overwrites its own object, nothing is appended.
func PartialObjectKey(reportID, shardID string) string {
	return fmt.Sprintf("%s%s/%s.partial", PartialsPrefix, reportID, shardID)
}

// ReportFileName is the download name of a report's CSV.
func ReportFileName(start, end string) string {
	return fmt.Sprintf("billing-report-%s-to-%s.csv", start, end)
}
