package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	billing "github.com/evovoice/billing"
)

// SweepResult counts what one sweep did.
type SweepResult struct {
	Requeued   int `json:"requeued"`   // jobs sent again for reports whose message was lost
	Failed     int `json:"failed"`     // reports failed after too many expired leases
	Reconciled int `json:"reconciled"` // accounts whose active-report set was repaired
}

// Sweep repairs what a dead process can leave behind (spec 4):
//   - a report Queued for longer than SweepQueuedAfter whose job never reached
//     the queue (the submit function died between the write and the send, or
//     the send failed) is enqueued again; SetJobID touches it so the next sweep
//     leaves it alone while the new job is pending, for a wait that doubles
//     (requeueDue) because the job may just be waiting in a long backlog;
//   - a report Running with an expired lease, untouched for longer than the
//     queue would take to redeliver its message, has lost that message: it is
//     enqueued again, or failed (and notified) once its lease has expired
//     SweepMaxAttempts times, since its worker keeps dying.
//
// A job sent twice is harmless: the lease lets only one attempt run and a
// finished report acknowledges duplicates. Errors of single reports are
// collected and returned after the others were handled.
func (w *Worker) Sweep(ctx context.Context) (SweepResult, error) {
	sw := &sweep{log: w.log.With("op", "sweep"), now: w.now(), accounts: map[string]bool{}}
	w.requeueQueued(ctx, sw)
	w.takeOverRunning(ctx, sw)
	w.repairActive(ctx, sw)
	if len(sw.errs) > 0 {
		sw.log.Error("sweep finished with errors", "errors", len(sw.errs), "requeued", sw.res.Requeued, "failed", sw.res.Failed)
	} else {
		sw.log.Info("sweep finished", "requeued", sw.res.Requeued, "failed", sw.res.Failed)
	}
	return sw.res, errors.Join(sw.errs...)
}

// sweep is the state of one Sweep, shared by its jobs.
type sweep struct {
	log      *slog.Logger
	now      time.Time
	res      SweepResult
	errs     []error
	accounts map[string]bool // whose active sets to repair
}

// requeueQueued sends the job of each report left Queued again, when due.
func (w *Worker) requeueQueued(ctx context.Context, sw *sweep) {
	queued, err := w.d.Reports.StaleReports(ctx, billing.ReportQueued, sw.now.Add(-w.cfg.SweepQueuedAfter), w.cfg.SweepBatch)
	if err != nil {
		sw.errs = append(sw.errs, fmt.Errorf("listing stale queued reports: %w", err))
	}
	for _, r := range queued {
		if !w.requeueDue(r, sw.now) {
			continue
		}
		msgID, err := w.d.Queue.Enqueue(ctx, billing.Job{ReportID: r.ID})
		if err != nil {
			sw.errs = append(sw.errs, fmt.Errorf("re-enqueuing report %s: %w", r.ID, err))
			continue
		}
		sw.res.Requeued++
		sw.accounts[r.AccountID] = true
		sw.log.Warn("re-enqueued a report left Queued", "reportId", r.ID, "jobId", msgID, "dateUpdated", r.DateUpdated)
		if err := w.d.Reports.SetJobID(ctx, r.ID, msgID, w.now()); err != nil && billing.ErrorCode(err) != billing.ECONFLICT {
			// The job is sent; without the touch the next sweep sends another,
			// which the lease makes harmless.
			sw.errs = append(sw.errs, fmt.Errorf("recording job of report %s: %w", r.ID, err))
		}
	}
}

// takeOverRunning handles the stale Running reports: a sharded one gets its
// shards and finalize recovered (sweepSharded); an unsharded one whose lease
// expired is failed when its worker kept dying, else enqueued again.
func (w *Worker) takeOverRunning(ctx context.Context, sw *sweep) {
	running, err := w.d.Reports.StaleReports(ctx, billing.ReportRunning, sw.now.Add(-w.cfg.SweepRunningAfter), w.cfg.SweepBatch)
	if err != nil {
		sw.errs = append(sw.errs, fmt.Errorf("listing stale running reports: %w", err))
	}
	for _, r := range running {
		switch {
		case len(r.Shards) > 0:
			sw.accounts[r.AccountID] = true
			w.sweepSharded(ctx, sw, r)
		case r.LeaseExpires.After(sw.now):
			// alive after all
		case r.Attempt >= w.cfg.SweepMaxAttempts:
			// Only the attempt seen expired may be failed: the index is
			// eventually consistent, and a redelivery may have taken the
			// lease over since, which attempt 0 ("any non-final") would kill.
			sw.accounts[r.AccountID] = true
			w.failAbandoned(ctx, sw, r, fmt.Sprintf("The report failed: its worker stopped %d times before finishing.", r.Attempt))
		default:
			sw.accounts[r.AccountID] = true
			msgID, err := w.d.Queue.Enqueue(ctx, billing.Job{ReportID: r.ID})
			if err != nil {
				sw.errs = append(sw.errs, fmt.Errorf("re-enqueuing report %s: %w", r.ID, err))
				continue
			}
			sw.res.Requeued++
			sw.log.Warn("re-enqueued a running report whose lease expired", "reportId", r.ID, "jobId", msgID, "attempt", r.Attempt)
		}
	}
}

// repairActive reconciles the active-report sets of the accounts touched:
// processes that died mid-way may have left slots taken.
func (w *Worker) repairActive(ctx context.Context, sw *sweep) {
	for acct := range sw.accounts {
		if err := w.d.Reports.ReconcileActive(ctx, acct); err != nil {
			sw.errs = append(sw.errs, fmt.Errorf("reconciling active reports of %s: %w", acct, err))
			continue
		}
		sw.res.Reconciled++
	}
}

// requeueDue reports whether a stale Queued report gets its job sent again now.
// The sweep cannot see whether the last job is lost or only waiting in a long
// backlog, so the wait doubles: a report is re-enqueued once it has been left
// alone for as long as it had already waited when it was last touched
// (DateUpdated - DateCreated), at least SweepQueuedAfter and at most
// SweepQueuedMaxWait. A job lost at submit is re-sent at the first sweep after
// SweepQueuedAfter, as before; a report stuck behind a backlog gets a new copy
// after about 5, 10, 20, 40, 80 minutes and then every SweepQueuedMaxWait,
// instead of one per sweep. The wait needs no counter: the report's own
// timestamps carry it.
func (w *Worker) requeueDue(r *billing.Report, now time.Time) bool {
	wait := r.DateUpdated.Sub(r.DateCreated)
	if r.DateCreated.IsZero() {
		wait = 0
	}
	wait = min(max(wait, w.cfg.SweepQueuedAfter), w.cfg.SweepQueuedMaxWait)
	return now.Sub(r.DateUpdated) >= wait
}

// failAbandoned fails a report whose worker keeps dying, with message, and
// notifies; a report finished or taken over meanwhile is left alone.
func (w *Worker) failAbandoned(ctx context.Context, sw *sweep, r *billing.Report, message string) {
	fin, err := w.d.Reports.FinishReport(ctx, r.ID, r.Attempt, billing.Outcome{
		Status:        billing.ReportError,
		StatusMessage: message,
		Now:           w.now(),
	})
	if billing.ErrorCode(err) == billing.ECONFLICT {
		return // finished or taken over meanwhile
	} else if err != nil {
		sw.errs = append(sw.errs, fmt.Errorf("failing abandoned report %s: %w", r.ID, err))
		return
	}
	sw.res.Failed++
	sw.log.Error("failed a report whose workers kept stopping", "reportId", r.ID, "attempts", r.Attempt, "statusMessage", message)
	if err := w.notify(ctx, sw.log.With("reportId", r.ID), fin, nil); err != nil {
		sw.errs = append(sw.errs, fmt.Errorf("notifying failed report %s: %w", r.ID, err))
	}
}

// sweepSharded recovers a sharded report untouched for SweepRunningAfter:
// a shard (or finalize) whose deliveries died SweepMaxAttempts times fails
// it; otherwise the jobs it misses are sent again: the finalize job once
// every shard is done (its job was lost), else every shard not done
// without a live lease (stuck). The report's own lease does not matter
// here: only its planning attempt held it.
func (w *Worker) sweepSharded(ctx context.Context, sw *sweep, r *billing.Report) {
	if id, attempts, ok := w.exhaustedShard(r); ok {
		w.failAbandoned(ctx, sw, r, fmt.Sprintf("The report failed: the worker of its shard %s stopped %d times before finishing.", id, attempts))
		return
	}
	sent, err := w.recoverShards(ctx, sw.log, r)
	sw.res.Requeued += sent
	if err != nil {
		sw.errs = append(sw.errs, fmt.Errorf("recovering the shards of report %s: %w", r.ID, err))
	}
	if sent > 0 {
		sw.log.Warn("re-sent the jobs of a stuck sharded report", "reportId", r.ID, "jobs", sent, "done", len(r.ShardsDone), "shards", len(r.Shards))
	}
}
