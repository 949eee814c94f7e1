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
	var res SweepResult
	var errs []error
	accounts := map[string]bool{}
	log := w.log.With("op", "sweep")
	now := w.now()

	queued, err := w.d.Reports.StaleReports(ctx, billing.ReportQueued, now.Add(-w.cfg.SweepQueuedAfter), w.cfg.SweepBatch)
	if err != nil {
		errs = append(errs, fmt.Errorf("listing stale queued reports: %w", err))
	}
	for _, r := range queued {
		if !w.requeueDue(r, now) {
			continue
		}
		msgID, err := w.d.Queue.Enqueue(ctx, billing.Job{ReportID: r.ID})
		if err != nil {
			errs = append(errs, fmt.Errorf("re-enqueuing report %s: %w", r.ID, err))
			continue
		}
		res.Requeued++
		accounts[r.AccountID] = true
		log.Warn("re-enqueued a report left Queued", "reportId", r.ID, "jobId", msgID, "dateUpdated", r.DateUpdated)
		if err := w.d.Reports.SetJobID(ctx, r.ID, msgID, w.now()); err != nil && billing.ErrorCode(err) != billing.ECONFLICT {
			// The job is sent; without the touch the next sweep sends another,
			// which the lease makes harmless.
			errs = append(errs, fmt.Errorf("recording job of report %s: %w", r.ID, err))
		}
	}

	running, err := w.d.Reports.StaleReports(ctx, billing.ReportRunning, now.Add(-w.cfg.SweepRunningAfter), w.cfg.SweepBatch)
	if err != nil {
		errs = append(errs, fmt.Errorf("listing stale running reports: %w", err))
	}
	for _, r := range running {
		if len(r.Shards) > 0 {
			accounts[r.AccountID] = true
			w.sweepSharded(ctx, log, r, &res, &errs)
			continue
		}
		if r.LeaseExpires.After(now) {
			continue // alive after all
		}
		accounts[r.AccountID] = true
		if r.Attempt >= w.cfg.SweepMaxAttempts {
			// Only the attempt seen expired may be failed: the index is
			// eventually consistent, and a redelivery may have taken the
			// lease over since, which attempt 0 ("any non-final") would kill.
			w.failAbandoned(ctx, log, r, fmt.Sprintf("The report failed: its worker stopped %d times before finishing.", r.Attempt), &res, &errs)
			continue
		}
		msgID, err := w.d.Queue.Enqueue(ctx, billing.Job{ReportID: r.ID})
		if err != nil {
			errs = append(errs, fmt.Errorf("re-enqueuing report %s: %w", r.ID, err))
			continue
		}
		res.Requeued++
		log.Warn("re-enqueued a running report whose lease expired", "reportId", r.ID, "jobId", msgID, "attempt", r.Attempt)
	}

	// Processes that died mid-way may have left active slots taken.
	for acct := range accounts {
		if err := w.d.Reports.ReconcileActive(ctx, acct); err != nil {
			errs = append(errs, fmt.Errorf("reconciling active reports of %s: %w", acct, err))
			continue
		}
		res.Reconciled++
	}
	if len(errs) > 0 {
		log.Error("sweep finished with errors", "errors", len(errs), "requeued", res.Requeued, "failed", res.Failed)
	} else {
		log.Info("sweep finished", "requeued", res.Requeued, "failed", res.Failed)
	}
	return res, errors.Join(errs...)
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
func (w *Worker) failAbandoned(ctx context.Context, log *slog.Logger, r *billing.Report, message string, res *SweepResult, errs *[]error) {
	fin, err := w.d.Reports.FinishReport(ctx, r.ID, r.Attempt, billing.Outcome{
		Status:        billing.ReportError,
		StatusMessage: message,
		Now:           w.now(),
	})
	if billing.ErrorCode(err) == billing.ECONFLICT {
		return // finished or taken over meanwhile
	} else if err != nil {
		*errs = append(*errs, fmt.Errorf("failing abandoned report %s: %w", r.ID, err))
		return
	}
	res.Failed++
	log.Error("failed a report whose workers kept stopping", "reportId", r.ID, "attempts", r.Attempt, "statusMessage", message)
	if err := w.notify(ctx, log.With("reportId", r.ID), fin, nil); err != nil {
		*errs = append(*errs, fmt.Errorf("notifying failed report %s: %w", r.ID, err))
	}
}

// sweepSharded recovers a sharded report untouched for SweepRunningAfter:
// a shard (or finalize) whose deliveries died SweepMaxAttempts times fails
// it; otherwise the jobs it misses are sent again: the finalize job once
// every shard is done (its job was lost), else every shard not done
// without a live lease (stuck). The report's own lease does not matter
// here: only its planning attempt held it.
func (w *Worker) sweepSharded(ctx context.Context, log *slog.Logger, r *billing.Report, res *SweepResult, errs *[]error) {
	if id, attempts, ok := w.exhaustedShard(r); ok {
		w.failAbandoned(ctx, log, r, fmt.Sprintf("The report failed: the worker of its shard %s stopped %d times before finishing.", id, attempts), res, errs)
		return
	}
	sent, err := w.recoverShards(ctx, log, r)
	res.Requeued += sent
	if err != nil {
		*errs = append(*errs, fmt.Errorf("recovering the shards of report %s: %w", r.ID, err))
	}
	if sent > 0 {
		log.Warn("re-sent the jobs of a stuck sharded report", "reportId", r.ID, "jobs", sent, "done", len(r.ShardsDone), "shards", len(r.Shards))
	}
}
