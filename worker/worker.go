package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/resources"
)

// WebhookSender posts a signed body to a report's webhook URL (package webhook
// implements it, with its SSRF guard and retries).
type WebhookSender interface {
	Send(ctx context.Context, url string, body []byte) error
}

// Config holds the worker's settings. Zero values take the defaults of package
// resources, so production and tests differ only where a test says so.
type Config struct {
	PublicAPIURL string        // base of the emailed download link, e.g. https://api.example.com
	SigningKey   []byte        // linktoken key of the emailed link
	TokenTTL     time.Duration // lifetime of the emailed link's token
	LinkTTL      time.Duration // lifetime of presigned S3 URLs handed to webhooks
	FunctionName string        // recorded in Report.Server

	LeaseDuration      time.Duration // how long an attempt owns a Running report without a heartbeat
	ProgressInterval   time.Duration // heartbeat: statusMessage update and lease extension
	MaxReceiveCount    int           // the queue's redrive limit: the last receive is final
	DayReadConcurrency int           // usage days read at once

	SweepQueuedAfter   time.Duration // a Queued report untouched this long is re-enqueued
	SweepQueuedMaxWait time.Duration // cap of the doubling wait between re-enqueues of one Queued report
	SweepRunningAfter  time.Duration // a Running report with an expired lease untouched this long has lost its message
	SweepMaxAttempts   int           // a Running report whose lease expired this often is failed
	SweepBatch         int           // reports handled per status and sweep

	// DeadlineMargin is kept free before the invocation's deadline: generation
	// stops there, so that the attempt can still record why (and, on the last
	// receive, fail the report and notify) instead of being killed mid-way by
	// the function timeout and left for the sweep.
	DeadlineMargin time.Duration

	EmailAttempts int           // tries of one email
	EmailBackoff  time.Duration // before the second try, doubled after
	TopCustomers  int           // largest customers listed in the email
	// EmailTryTimeout bounds one email try, so a hung SES call costs one try,
	// not the report's whole deadline; NotifyRecordTimeout bounds the write
	// of the notification's outcome, made on a context that outlives the
	// attempt's own.
	EmailTryTimeout     time.Duration
	NotifyRecordTimeout time.Duration

	// ShardDays caps the UTC days of one shard (reportctl dev --shard-days,
	// the function's SHARD_DAYS); 0: no cap.
	ShardDays int
	// ShardBudget is the number of usage events one invocation reads within
	// its time limit, margin included (default resources.ShardEventBudget).
	ShardBudget int64

	// RetryBackoff is how long a message whose receiveCount-th delivery
	// failed stays hidden before SQS delivers it again (default
	// resources.RetryBackoff); it needs Deps.Retries.
	RetryBackoff func(receiveCount int) time.Duration
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt := func(d *int, v int) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.TokenTTL, resources.DefaultTokenTTL)
	def(&c.LinkTTL, resources.DefaultLinkTTL)
	def(&c.LeaseDuration, resources.LeaseDuration)
	def(&c.ProgressInterval, 5*time.Second)
	def(&c.DeadlineMargin, resources.DeadlineMargin)
	defInt(&c.MaxReceiveCount, resources.MaxReceiveCount)
	defInt(&c.DayReadConcurrency, resources.DayReadConcurrency)
	def(&c.SweepQueuedAfter, resources.SweepQueuedAfter)
	def(&c.SweepQueuedMaxWait, time.Hour)
	// A report released for a retry comes back within the longest backoff;
	// one untouched for longer, with its lease expired, lost its worker.
	def(&c.SweepRunningAfter, resources.SweepRunningAfter)
	defInt(&c.SweepMaxAttempts, resources.SweepMaxAttempts)
	defInt(&c.SweepBatch, 100)
	defInt(&c.EmailAttempts, 3)
	def(&c.EmailBackoff, 500*time.Millisecond)
	def(&c.EmailTryTimeout, resources.EmailTryTimeout)
	def(&c.NotifyRecordTimeout, resources.NotifyRecordTimeout)
	if c.RetryBackoff == nil {
		c.RetryBackoff = resources.RetryBackoff
	}
	defInt(&c.TopCustomers, 5)
	if c.ShardBudget <= 0 {
		c.ShardBudget = resources.ShardEventBudget
	}
	if c.FunctionName == "" {
		c.FunctionName = "run"
	}
}

// Reports is what the worker needs of billing.ReportStore: the state machine,
// the notification claim and the sweep's queries. It never creates or lists
// reports, so the run function's role needs no PutItem (infra derives the role
// from these methods and checks it).
type Reports interface {
	GetReport(ctx context.Context, id string) (*billing.Report, error)
	SetJobID(ctx context.Context, id, jobID string, now time.Time) error
	AcquireLease(ctx context.Context, id string, lease billing.Lease) (*billing.Report, error)
	UpdateProgress(ctx context.Context, id string, attempt int, message string, now, leaseExpires time.Time) error
	FinishReport(ctx context.Context, id string, attempt int, out billing.Outcome) (*billing.Report, error)
	ClaimNotification(ctx context.Context, id string, now time.Time) error
	RecordNotification(ctx context.Context, id string, emailResult, webhookResult string, now time.Time) error
	StaleReports(ctx context.Context, status billing.ReportStatus, cutoff time.Time, limit int) ([]*billing.Report, error)
	ReconcileActive(ctx context.Context, accountID string) error

	// Shards of a report too large for one invocation (spec 4). StartShards
	// records the plan once, for the attempt that holds the report's lease.
	// AcquireShardLease takes a shard's (or "finalize"'s) lease if it is not
	// done and no live lease holds it, counting the attempt;
	// ExtendShardLease extends (or, with expires = now, releases) it for its
	// owner. CompleteShard counts a shard done once, for its owner, adding
	// its records and any hand-on shards to the plan in the same
	// conditional write, and returns the report after it; ShardProgress sets
	// the progress message unless a later count has set it already.
	StartShards(ctx context.Context, id string, attempt int, shards []string, message string, now time.Time) (*billing.Report, error)
	AcquireShardLease(ctx context.Context, id, shard string, lease billing.Lease) (*billing.Report, error)
	ExtendShardLease(ctx context.Context, id, shard, owner string, now, expires time.Time) error
	CompleteShard(ctx context.Context, id, shard, owner string, records int64, handOn []string, now time.Time) (*billing.Report, error)
	ShardProgress(ctx context.Context, id string, done int, message string, now time.Time) error
}

// MessageVisibility changes how long a received job message stays hidden:
// the worker shortens it for a message it fails, so that the retry comes
// after a short backoff instead of the queue's whole visibility timeout
// (package sqsqueue implements it).
type MessageVisibility interface {
	ChangeVisibility(ctx context.Context, receiptHandle string, timeout time.Duration) error
}

// Deps are what a Worker works with. Reports, Data, Files, Mailer, Queue and
// Partials are required; Webhooks may be nil when no report will ask for one (a report that
// does gets the outcome "webhooks are not configured"); Retries may be nil,
// and a failed message then waits out the queue's visibility timeout.
type Deps struct {
	Reports  Reports
	Data     billing.BillingData
	Files    billing.ReportFiles
	Mailer   billing.Mailer
	Queue    billing.JobQueue
	Webhooks WebhookSender
	Retries  MessageVisibility
	Partials Partials
	Clock    func() time.Time // default time.Now
	Log      *slog.Logger     // default slog.Default()
	Config   Config
}

// Worker runs report jobs and the sweep.
type Worker struct {
	d   Deps
	cfg Config
	log *slog.Logger
}

// New checks deps and returns a Worker.
func New(d Deps) (*Worker, error) {
	var missing []string
	for name, ok := range map[string]bool{
		"Reports": d.Reports != nil, "Data": d.Data != nil, "Files": d.Files != nil,
		"Mailer": d.Mailer != nil, "Queue": d.Queue != nil, "Partials": d.Partials != nil,
		"Config.PublicAPIURL": d.Config.PublicAPIURL != "", "Config.SigningKey": len(d.Config.SigningKey) > 0,
	} {
		if !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("worker: missing %v", missing)
	}
	if d.Clock == nil {
		d.Clock = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	d.Config.defaults()
	return &Worker{d: d, cfg: d.Config, log: d.Log}, nil
}

func (w *Worker) now() time.Time { return w.d.Clock().UTC() }

// Delivery is one received job message, as the event source hands it over:
// the worker's core takes plain deliveries, so that it needs nothing of
// Lambda's event types (package lambdaedge converts an SQS batch).
type Delivery struct {
	MessageID     string
	Body          string
	ReceiveCount  int    // ApproximateReceiveCount; below 1 counts as the first
	ReceiptHandle string // for the retry backoff; empty: none
	Invocation    string // the invocation's request id, recorded in Report.Server; empty: the message id
}

// HandleDeliveries runs the jobs of one batch concurrently and returns the
// message ids to deliver again (the batch item failures). It never fails as a
// whole: a failed batch would make SQS retry every message, re-running
// reports that succeeded.
//
// Each message runs on its own context, ending NotifyRecordTimeout before the
// invocation's deadline so that its last writes and the batch's answer still
// fit; every dependency call in it is bounded (appconfig's SDK deadlines, the
// email and webhook tries' timeouts), so one hung dependency delays only the
// reports that call it, by a bounded time. A message to retry gets a short
// visibility (RetryBackoff by receive count) before it is reported failed.
func (w *Worker) HandleDeliveries(ctx context.Context, batch []Delivery) (retryIDs []string) {
	retry := make([]bool, len(batch))
	var wg sync.WaitGroup
	for i, msg := range batch {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mctx, cancel := w.reportContext(ctx)
			defer cancel()
			defer func() {
				// A bug in one report must not take the batch's other reports
				// down with the process; this one is retried (then DLQ).
				if p := recover(); p != nil {
					w.log.Error("panic handling a message", "messageId", msg.MessageID, "panic", p, "stack", string(debug.Stack()))
					retry[i] = true
				}
				if retry[i] {
					w.backOff(ctx, msg)
				}
			}()
			w.holdWhileRunning(mctx, msg)
			retry[i] = w.handleMessage(mctx, msg)
		}()
	}
	wg.Wait()
	retryIDs = []string{}
	for i, r := range retry {
		if r {
			retryIDs = append(retryIDs, batch[i].MessageID)
		}
	}
	return retryIDs
}

// reportContext is the context of one message of a batch: its own, ending
// NotifyRecordTimeout before the invocation's deadline.
func (w *Worker) reportContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if deadline, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, deadline.Add(-w.cfg.NotifyRecordTimeout))
	}
	return context.WithCancel(ctx)
}

// holdWhileRunning hides a message for the lease's length while it runs,
// instead of the queue's whole visibility timeout: a message whose invocation
// is killed (a crash, out of memory, the function timeout) then comes back
// soon after its report's lease expires, so a message that kills the worker
// every time reaches the DLQ in about MaxReceiveCount leases, not hours. A
// live invocation never outlasts the lease (it is longer than the function
// timeout), and a failure here only leaves the queue's longer timeout.
func (w *Worker) holdWhileRunning(ctx context.Context, msg Delivery) {
	if w.d.Retries == nil || msg.ReceiptHandle == "" {
		return
	}
	if err := w.d.Retries.ChangeVisibility(ctx, msg.ReceiptHandle, w.cfg.LeaseDuration); err != nil {
		w.log.Warn("hiding a running message for its lease failed; after a crash it returns after the queue's visibility timeout",
			"messageId", msg.MessageID, "err", err)
	}
}

// backOff hides a message to retry for RetryBackoff(receive count), so SQS
// delivers it again after seconds to minutes instead of the queue's whole
// visibility timeout, and a poison message reaches the DLQ in minutes. It
// runs on a context that outlives a message's own (which may have ended: that
// is often why it failed). A failure only costs the short retry: the message
// then comes back after the visibility timeout.
func (w *Worker) backOff(ctx context.Context, msg Delivery) {
	if w.d.Retries == nil || msg.ReceiptHandle == "" || ctx.Err() != nil {
		// No queue to tell, or the invocation itself is over: a process at its
		// deadline is about to be frozen and writes nothing, like a crash.
		return
	}
	delay := w.cfg.RetryBackoff(msg.receives())
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.cfg.NotifyRecordTimeout)
	defer cancel()
	if err := w.d.Retries.ChangeVisibility(bctx, msg.ReceiptHandle, delay); err != nil {
		w.log.Warn("shortening the retry of a message failed; it returns after the queue's visibility timeout",
			"messageId", msg.MessageID, "err", err)
		return
	}
	w.log.Info("message to retry", "messageId", msg.MessageID, "receiveCount", msg.receives(), "retryIn", delay)
}

// beforeDeadline is ctx ending DeadlineMargin before ctx's own deadline, if it
// has one (Lambda's context always does).
func (w *Worker) beforeDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if deadline, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, deadline.Add(-w.cfg.DeadlineMargin))
	}
	return context.WithCancel(ctx)
}

// handleMessage runs one job and says whether SQS should deliver it again.
func (w *Worker) handleMessage(ctx context.Context, msg Delivery) (retry bool) {
	log := w.log.With("messageId", msg.MessageID)
	var job billing.Job
	if err := json.Unmarshal([]byte(msg.Body), &job); err != nil || job.ReportID == "" {
		// Nothing names a report to fail; keep the message for ops, who find it
		// in the DLQ after the redrive limit.
		log.Error("malformed job message", "err", err, "bodyBytes", len(msg.Body))
		return true
	}
	receives := msg.receives()
	last := receives >= w.cfg.MaxReceiveCount
	log = log.With("reportId", job.ReportID, "receiveCount", receives)

	r, err := w.d.Reports.GetReport(ctx, job.ReportID)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		log.Warn("job of an unknown report dropped")
		return false
	} else if err != nil {
		// Not even on the last receive is the report failed here: its state is
		// unknown, and failing it could kill a healthy attempt. The message
		// goes to the DLQ and the sweep picks the report up once the store is
		// back.
		log.Error("reading report", "err", err)
		return true
	}
	server := msg.server(w.cfg.FunctionName)
	// A shard lease's owner is one delivery: two copies of a shard in one
	// batch share the invocation but not the message.
	owner := server
	if msg.Invocation != "" {
		owner += " " + msg.MessageID
	}
	switch {
	case job.Finalize:
		return w.finalize(ctx, log, r, last, owner)
	case job.Shard != "":
		return w.runShard(ctx, log, r, job.Shard, last, owner)
	}
	return w.run(ctx, log, r, last, server, owner)
}

func (w *Worker) run(ctx context.Context, log *slog.Logger, r *billing.Report, last bool, server, owner string) (retry bool) {
	if r.Status.Final() {
		return w.finishedDuplicate(ctx, log, r, last)
	}
	if len(r.Shards) > 0 {
		return w.replan(ctx, log, r, last)
	}
	held, retry, ok := w.takeLease(ctx, log, r, last, server)
	if !ok {
		return retry
	}
	log = log.With("attempt", held.Attempt)
	log.Info("report running")

	genCtx, cancel := w.beforeDeadline(ctx)
	gen, short, err := w.planAndGenerate(genCtx, log, held)
	timedOut := errors.Is(genCtx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
	cancel()
	switch {
	case errors.Is(err, errSharded):
		return w.startShards(ctx, log, held, gen.plan)
	case err != nil && timedOut && short != nil && (short.done > 0 || short.shard.Days() > 1):
		return w.handOnInline(ctx, log, held, short, owner)
	}
	act, err := decide(attempt{err: err, timedOut: timedOut, last: last})
	switch act {
	case actFinish:
		return w.complete(ctx, log, r, held.Attempt, gen, last)
	case actDrop:
		log.Warn("lease lost to another attempt; stopping without writing")
		return false
	case actRetry:
		log.Warn("report attempt failed; SQS will retry", "err", err)
		// Give the lease back so the redelivery need not wait for it to expire.
		// ECONFLICT here means it was already lost, which is fine too.
		if rerr := w.d.Reports.UpdateProgress(ctx, r.ID, held.Attempt, "Attempt "+strconv.Itoa(held.Attempt)+" failed, retrying: "+billing.ErrorMessage(err), w.now(), w.now()); rerr != nil {
			log.Warn("releasing the lease", "err", rerr)
		}
		return true
	}
	log.Error("report failed", "err", err, "retryable", act == actFailToDLQ)
	return w.failAndAnswer(ctx, log, r.ID, held.Attempt, err, act)
}

// replan answers the planning message of a report already sharded (its
// first delivery died after the plan, or the sweep re-sent it): it sends
// what the shards miss.
func (w *Worker) replan(ctx context.Context, log *slog.Logger, r *billing.Report, last bool) (retry bool) {
	if _, err := w.recoverShards(ctx, log, r); err != nil {
		log.Warn("re-sending the jobs of a sharded report; SQS will retry", "err", err)
		return !last
	}
	return false
}

// takeLease takes the report's lease for this delivery; when it cannot
// (another attempt holds it, or the store is down), ok is false and retry
// is the answer for the message.
func (w *Worker) takeLease(ctx context.Context, log *slog.Logger, r *billing.Report, last bool, server string) (held *billing.Report, retry, ok bool) {
	now := w.now()
	if r.Status == billing.ReportRunning && r.LeaseExpires.After(now) {
		return nil, w.leaseBusy(log, r, last), false
	}
	held, err := w.d.Reports.AcquireLease(ctx, r.ID, billing.Lease{Now: now, Expires: now.Add(w.cfg.LeaseDuration), Server: server})
	if billing.ErrorCode(err) == billing.ECONFLICT {
		// Another delivery won the race for the lease (or finished meanwhile).
		return nil, w.leaseBusy(log, r, last), false
	} else if err != nil {
		// As for a failed read: the store is down, so it could not record an
		// Error either; the sweep finishes the job.
		log.Error("taking the lease", "err", err)
		return nil, true, false
	}
	return held, false, true
}

// failAndAnswer fails the report for good (actFail or actFailToDLQ) and
// answers the message: a retryable failure on the last receive goes on to
// the DLQ for ops; a permanent one is simply done; a store that could not
// record the failure gets the message again.
func (w *Worker) failAndAnswer(ctx context.Context, log *slog.Logger, id string, attempt int, err error, act action) (retry bool) {
	switch w.failFinally(ctx, log, id, attempt, err) {
	case failed:
		return act == actFailToDLQ
	case failNotNeeded:
		return false
	default:
		return true
	}
}

// errSharded says that planAndGenerate split the report instead of running it.
var errSharded = errors.New("the report is split into shards")

// planAndGenerate plans the report; one that fits one invocation is run
// here, with no writes beyond the unsharded path's. A report of several
// shards comes back as errSharded with the plan in gen.plan.
func (w *Worker) planAndGenerate(ctx context.Context, log *slog.Logger, r *billing.Report) (*generated, *shortRead, error) {
	su, err := w.ratingSetup(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	shards, err := w.plan(ctx, log, r, su)
	if err != nil {
		return nil, nil, err
	}
	if len(shards) > 1 {
		return &generated{plan: shards}, nil, errSharded
	}
	return w.generate(ctx, log, r, su)
}

// complete finishes a generated report as Completed and notifies.
func (w *Worker) complete(ctx context.Context, log *slog.Logger, r *billing.Report, attempt int, gen *generated, last bool) (retry bool) {
	fin, err := w.d.Reports.FinishReport(ctx, r.ID, attempt, billing.Outcome{
		Status:        billing.ReportCompleted,
		StatusMessage: completedMessage(gen.events, gen.shards),
		ObjectKey:     gen.key,
		RowCount:      gen.rows,
		ByteSize:      gen.bytes,
		GrandTotal:    gen.grandTotal,
		Shards:        gen.shards,
		Now:           w.now(),
	})
	if billing.ErrorCode(err) == billing.ECONFLICT {
		// The lease expired and another attempt owns the report; it writes the
		// same object under the same key and finishes it.
		log.Warn("lease lost before completing; the owner finishes the report")
		return false
	} else if err != nil {
		log.Error("completing the report", "err", err)
		return true
	}
	log.Info("report completed", "rows", gen.rows, "bytes", gen.bytes, "events", gen.events, "shards", gen.shards)
	if err := w.notify(ctx, log, fin, gen); err != nil {
		// The report is done; a redelivery only has the notification left to do.
		log.Error("notifying", "err", err)
		return !last
	}
	return false
}

// finishedDuplicate acknowledges a duplicate or late delivery of a finished
// report. The only work that may be left is a notification that a crash
// after FinishReport did not send.
func (w *Worker) finishedDuplicate(ctx context.Context, log *slog.Logger, r *billing.Report, last bool) (retry bool) {
	gen, err := w.regenerate(ctx, log, r)
	if err != nil && !last {
		log.Warn("rebuilding the notification's rows; SQS will retry", "err", err)
		return true
	}
	if err := w.notify(ctx, log, r, gen); err != nil {
		log.Error("notifying a finished report", "err", err)
		return !last
	}
	log.Info("duplicate delivery of a finished report acknowledged", "status", r.Status)
	return false
}

// leaseBusy decides about a delivery that found another attempt's live lease.
// Retrying is the safe answer: it comes back after its backoff and then finds
// the report finished (acknowledged), still running (retried again) or its
// lease expired (taken over). On the last receive the
// holder's own message is the one that matters, so this one is dropped instead
// of feeding the DLQ.
func (w *Worker) leaseBusy(log *slog.Logger, r *billing.Report, last bool) bool {
	log.Info("report is being run by another attempt", "attempt", r.Attempt, "leaseExpires", r.LeaseExpires)
	return !last
}

// failResult is what failFinally achieved.
type failResult int

const (
	failed        failResult = iota // the report is now Error and notified
	failNotNeeded                   // it was finished or taken over meanwhile
	failStoreDown                   // the store could not record it; try again later
)

// failFinally marks the report Error with cause's reason and notifies.
func (w *Worker) failFinally(ctx context.Context, log *slog.Logger, id string, attempt int, cause error) failResult {
	reason := failureReason(cause)
	fin, err := w.d.Reports.FinishReport(ctx, id, attempt, billing.Outcome{
		Status:        billing.ReportError,
		StatusMessage: reason,
		Now:           w.now(),
	})
	if billing.ErrorCode(err) == billing.ECONFLICT {
		log.Warn("report was finished or taken over meanwhile; not failing it", "err", err)
		return failNotNeeded
	} else if err != nil {
		log.Error("marking the report Error", "err", err)
		return failStoreDown
	}
	if err := w.notify(ctx, log, fin, nil); err != nil {
		log.Error("notifying a failed report", "err", err)
	}
	return failed
}

// failureReason is the statusMessage of a failed report: caller-safe text only,
// never an internal error's details.
func failureReason(err error) string {
	if billing.IsRetryable(err) {
		if billing.ErrorCode(err) == billing.EINTERNAL {
			return "The report failed after repeated attempts."
		}
		return "The report failed after repeated attempts: " + billing.ErrorMessage(err)
	}
	return "The report failed: " + billing.ErrorMessage(err)
}

// server names the attempt in Report.Server: the function and its
// invocation, else the message.
func (d Delivery) server(function string) string {
	if d.Invocation != "" {
		return function + " " + d.Invocation
	}
	return function + " " + d.MessageID
}

// receives is the delivery's receive count, at least 1.
func (d Delivery) receives() int { return max(d.ReceiveCount, 1) }
