package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/rating"
	"github.com/evovoice/billing/resources"
	"github.com/evovoice/billing/shardplan"
)

// finalizeLease is the shard-lease name of a report's finalize job: one
// finalize at a time, like one delivery per shard.
const finalizeLease = "finalize"

// Partials stores the exact partial sums of shards (package s3files implements
// it, under resources.PartialsPrefix). A Put overwrites: a retried shard
// replaces its own partial, nothing is appended.
type Partials interface {
	PutPartial(ctx context.Context, key string, data []byte) error
	GetPartial(ctx context.Context, key string) ([]byte, error)
	DeletePartial(ctx context.Context, key string) error
}

// UsageCounter is optional on Deps.Data (the DynamoDB store has it): a
// cheap count of one UTC day's usage, for the planner's estimate.
type UsageCounter interface {
	CountUsage(ctx context.Context, q billing.UsageQuery) (int64, error)
}

// plan splits a report into shards (spec 4, "Reports of any size") from
// what is cheap to know: its UTC days, the cap Config.ShardDays, and the
// density of its usage estimated from a count of its first, middle and last
// UTC days (estimateDensity). Without an estimate a report is one shard
// unless the cap splits it; either way a shard that runs short of time
// hands the rest of its days on, sized from what it measured (handOn).
func (w *Worker) plan(ctx context.Context, log *slog.Logger, r *billing.Report, su *ratingSetup) ([]shardplan.Shard, error) {
	days := su.period.UTCDays()
	if len(days) == 0 {
		return nil, billing.Errorf(billing.EINVALID, "The report's period has no days.")
	}
	return shardplan.Plan(shardplan.Input{First: days[0], Last: days[len(days)-1], Budget: w.cfg.ShardBudget, MaxDays: w.cfg.ShardDays,
		EventsPerDay: w.estimateDensity(ctx, log, r.AccountID, days)})
}

// estimateDensity is the mean usage of the first, middle and last of days
// (three Select COUNT queries, a few read units against the report's own
// reads), or 0 (unknown) when the store cannot count or a count fails: the
// hand-on then corrects the plan.
func (w *Worker) estimateDensity(ctx context.Context, log *slog.Logger, accountID string, days []billing.Date) float64 {
	counter, ok := w.d.Data.(UsageCounter)
	if !ok || len(days) < 2 {
		return 0
	}
	samples := slices.Compact([]billing.Date{days[0], days[len(days)/2], days[len(days)-1]})
	var total int64
	for _, d := range samples {
		n, err := counter.CountUsage(ctx, billing.UsageQuery{AccountID: accountID, Day: d})
		if err != nil {
			log.Warn("estimating the report's usage; planning without it", "err", err)
			return 0
		}
		total += n
	}
	return float64(total) / float64(len(samples))
}

func shardIDs(shards []shardplan.Shard) []string {
	ids := make([]string, len(shards))
	for i, s := range shards {
		ids[i] = s.ID()
	}
	return ids
}

// startShards records the plan on the report and enqueues one job per
// shard. A failed send is retried through the planning message: its
// redelivery finds the plan and sends the missing jobs (recoverShards).
func (w *Worker) startShards(ctx context.Context, log *slog.Logger, r *billing.Report, shards []shardplan.Shard) (retry bool) {
	ids := shardIDs(shards)
	started, err := w.d.Reports.StartShards(ctx, r.ID, r.Attempt, ids, progressMessage(0, 0, len(ids)), w.now())
	if err != nil {
		log.Warn("recording the shards; SQS will retry", "err", err, "shards", len(ids))
		return true
	}
	log.Info("report split into shards", "shards", len(ids), "first", ids[0], "last", ids[len(ids)-1])
	_, err = w.recoverShards(ctx, log, started)
	return err != nil
}

// enqueueShards sends the jobs of shards of report id.
func (w *Worker) enqueueShards(ctx context.Context, id string, shards []string) error {
	for _, s := range shards {
		if _, err := w.d.Queue.Enqueue(ctx, billing.Job{ReportID: id, Shard: s}); err != nil {
			return fmt.Errorf("enqueuing shard %s: %w", s, err)
		}
	}
	return nil
}

// handOnInline turns a report run in one invocation that ran short of time
// into a sharded one: the days it read completely become a shard of their
// own (so that a re-run of it reads exactly those days), stored at once,
// and the rest are new shards. Only this rare path pays the writes of
// sharding.
func (w *Worker) handOnInline(ctx context.Context, log *slog.Logger, r *billing.Report, short *shortRead, owner string) (retry bool) {
	rest := w.handOn(short.shard, short.done, short.partial.Counted, short.read)
	ids := shardIDs(rest)
	var self string
	if short.done > 0 {
		self = shardplan.Shard{First: short.shard.First, Last: short.shard.First.AddDays(short.done - 1)}.ID()
		ids = append(ids, self)
	}
	slices.Sort(ids)
	if _, err := w.d.Reports.StartShards(ctx, r.ID, r.Attempt, ids, progressMessage(0, 0, len(ids)), w.now()); err != nil {
		log.Warn("recording the hand-on shards; SQS will retry", "err", err)
		return true
	}
	log.Warn("ran short of time; handing the unread days on", "daysRead", short.done, "handedOn", len(rest))
	if self != "" {
		shardLog := log.With("shardId", self)
		if _, err := w.d.Reports.AcquireShardLease(ctx, r.ID, self, w.shardLease(owner)); err != nil {
			shardLog.Warn("taking the lease of the read days; their shard is run again", "err", err)
			return true
		}
		if w.storeShard(ctx, shardLog, r, self, owner, false, short.partial, nil) {
			return true
		}
	}
	if err := w.enqueueShards(ctx, r.ID, shardIDs(rest)); err != nil {
		// Planned already: the redelivery (or the sweep) sends them.
		log.Warn("enqueuing the hand-on shards; SQS will retry", "err", err)
		return true
	}
	return false
}

// handOn splits the days of s a short run did not read (it read the first
// done completely, counted events in them, and read events in all in the
// time it had). It is sized from what the run measured: the density of the
// days it read and, as the budget, three quarters of what it read in one
// invocation, so a low first estimate is corrected at once; never fewer
// shards than shardplan.Rest's two.
func (w *Worker) handOn(s shardplan.Shard, done int, counted, read int64) []shardplan.Shard {
	rest := shardplan.Rest(s, done)
	if done == 0 || counted == 0 || read == 0 || len(rest) == 0 {
		return rest
	}
	plan, err := shardplan.Plan(shardplan.Input{
		First: rest[0].First, Last: rest[len(rest)-1].Last,
		EventsPerDay: float64(counted) / float64(done), Budget: max(read*3/4, 1), MaxDays: w.cfg.ShardDays,
	})
	if err != nil || len(plan) < len(rest) {
		return rest
	}
	return plan
}

func (w *Worker) shardLease(owner string) billing.Lease {
	now := w.now()
	return billing.Lease{Now: now, Expires: now.Add(w.cfg.LeaseDuration), Server: owner}
}

// shardBeat extends a shard's (or the finalize job's) lease.
func (w *Worker) shardBeat(r *billing.Report, shard, owner string) func(ctx context.Context, events int64) error {
	return func(ctx context.Context, _ int64) error {
		now := w.now()
		return w.d.Reports.ExtendShardLease(ctx, r.ID, shard, owner, now, now.Add(w.cfg.LeaseDuration))
	}
}

// runShard reads one shard's days into an exact partial and stores it.
func (w *Worker) runShard(ctx context.Context, log *slog.Logger, r *billing.Report, shardID string, last bool, owner string) (retry bool) {
	log = log.With("shardId", shardID)
	if retry, open := w.shardOpen(ctx, log, r, shardID, last); !open {
		return retry
	}
	held, err := w.d.Reports.AcquireShardLease(ctx, r.ID, shardID, w.shardLease(owner))
	if billing.ErrorCode(err) == billing.ECONFLICT {
		return w.shardBusy(log, r.ShardLeases[shardID], last)
	} else if err != nil {
		log.Error("taking the shard's lease", "err", err)
		return true
	}
	log = log.With("shardAttempt", held.ShardLeases[shardID].Attempts)
	log.Info("shard running")
	shard, err := shardplan.ParseID(shardID)
	if err != nil {
		// The planner wrote this id, so this is a bug, not bad input.
		return w.shardFailed(ctx, log, r, shardID, owner, attempt{err: billing.WrapError(billing.EINTERNAL, err, "Shard %q is malformed.", shardID), last: true})
	}
	su, err := w.ratingSetup(ctx, r)
	if err != nil {
		return w.shardFailed(ctx, log, r, shardID, owner, attempt{err: err, last: last})
	}
	days := make([]billing.Date, shard.Days())
	for i := range days {
		days[i] = shard.First.AddDays(i)
	}
	readCtx, cancel := w.beforeDeadline(ctx)
	var partial *rating.Partial
	var done int
	var read int64
	err = w.withHeartbeat(readCtx, log, w.shardBeat(r, shardID, owner), func(ctx context.Context, events *atomic.Int64) error {
		var err error
		partial, done, err = w.readShard(ctx, r.AccountID, su, days, events)
		read = events.Load()
		return err
	})
	timedOut := errors.Is(readCtx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
	cancel()
	switch {
	case errors.Is(err, errLeaseLost):
		log.Warn("shard lease lost to another delivery; stopping without writing")
		return false
	case err != nil && timedOut && (done > 0 || shard.Days() > 1):
		rest := w.handOn(shard, done, partial.Counted, read)
		log.Warn("shard ran short of time; handing the unread days on", "daysRead", done, "handedOn", len(rest))
		return w.storeShard(ctx, log, r, shardID, owner, last, partial, shardIDs(rest))
	case err != nil:
		return w.shardFailed(ctx, log, r, shardID, owner, attempt{err: err, timedOut: timedOut, last: last})
	}
	return w.storeShard(ctx, log, r, shardID, owner, last, partial, nil)
}

// shardOpen says whether a delivery of shard may run it: not when the
// report is finished, does not plan the shard, has counted it already (a
// duplicate or late delivery: if the write that counted the last shard
// could not send the finalize job, this sends it), or another delivery
// holds its lease. When it may not, retry is the message's answer.
func (w *Worker) shardOpen(ctx context.Context, log *slog.Logger, r *billing.Report, shardID string, last bool) (retry, open bool) {
	switch {
	case r.Status.Final():
		log.Info("shard of a finished report dropped", "status", r.Status)
		return false, false
	case !slices.Contains(r.Shards, shardID):
		log.Warn("job of a shard the report does not plan dropped")
		return false, false
	case slices.Contains(r.ShardsDone, shardID):
		log.Info("duplicate delivery of a done shard acknowledged")
		_, err := w.recoverFinalize(ctx, log, r)
		return err != nil && !last, false
	}
	if l, ok := r.ShardLeases[shardID]; ok && l.Expires.After(w.now()) {
		return w.shardBusy(log, l, last), false
	}
	return false, true
}

// shardBusy decides about a delivery of a shard another delivery holds, as
// leaseBusy does for a report.
func (w *Worker) shardBusy(log *slog.Logger, l billing.ShardLease, last bool) bool {
	log.Info("shard is being run by another delivery", "owner", l.Owner, "leaseExpires", l.Expires)
	return !last
}

// shardFailed decides after a failed attempt at a shard (or finalize): it
// gives the lease back for a retry, or fails the report with the shard's
// reason (and the failure email).
func (w *Worker) shardFailed(ctx context.Context, log *slog.Logger, r *billing.Report, shardID, owner string, a attempt) (retry bool) {
	act, err := decide(a)
	switch act {
	case actFinish, actDrop:
		return false
	case actRetry:
		log.Warn("shard attempt failed; SQS will retry", "err", err)
		// Expired just before now, so the redelivery can take it at once.
		now := w.now()
		if rerr := w.d.Reports.ExtendShardLease(ctx, r.ID, shardID, owner, now, now.Add(-time.Millisecond)); rerr != nil {
			log.Warn("releasing the shard's lease", "err", rerr)
		}
		return true
	}
	log.Error("shard failed; failing the report", "err", err, "retryable", act == actFailToDLQ)
	return w.failAndAnswer(ctx, log, r.ID, r.Attempt, err, act)
}

// storeShard writes a shard's partial under its deterministic key, counts
// the shard done (once: the store's conditional write), records any hand-on
// shards in the same write, enqueues them, and, when this write counted the
// last shard, enqueues the finalize job.
func (w *Worker) storeShard(ctx context.Context, log *slog.Logger, r *billing.Report, shardID, owner string, last bool, p *rating.Partial, handOn []string) (retry bool) {
	data, err := p.MarshalText()
	if err != nil {
		return w.shardFailed(ctx, log, r, shardID, owner, attempt{err: fmt.Errorf("encoding the partial: %w", err), last: true})
	}
	if err := w.d.Partials.PutPartial(ctx, resources.PartialObjectKey(r.ID, shardID), data); err != nil {
		return w.shardFailed(ctx, log, r, shardID, owner, attempt{err: fmt.Errorf("storing the partial: %w", err), last: last})
	}
	fin, err := w.d.Reports.CompleteShard(ctx, r.ID, shardID, owner, p.Counted, handOn, w.now())
	if billing.ErrorCode(err) == billing.ECONFLICT {
		log.Warn("shard counted by another delivery, or its lease was lost; not counting it")
		return false
	} else if err != nil {
		log.Warn("counting the shard done; SQS will retry", "err", err)
		return true
	}
	k, n := len(fin.ShardsDone), len(fin.Shards)
	log.Info("shard done", "records", p.Counted, "done", k, "shards", n)
	if err := w.d.Reports.ShardProgress(ctx, r.ID, k, progressMessage(fin.ShardRecords, k, n), w.now()); err != nil && billing.ErrorCode(err) != billing.ECONFLICT {
		log.Warn("updating progress", "err", err)
	}
	if err := w.enqueueShards(ctx, r.ID, handOn); err != nil {
		// Counted and planned: the sweep sends the job of a planned shard
		// nobody runs.
		log.Warn("enqueuing the hand-on shards; the sweep sends them", "err", err)
	}
	if fin.AllShardsDone() {
		if _, err := w.d.Queue.Enqueue(ctx, billing.Job{ReportID: r.ID, Finalize: true}); err != nil {
			// The redelivery finds the shard done and sends it (runShard).
			log.Warn("enqueuing the finalize job; SQS will retry", "err", err)
			return true
		}
		log.Info("last shard counted; finalize enqueued", "shards", n)
	}
	return false
}

// finalize merges the partials of every shard in shard order, rates them,
// streams the CSV, finishes the report, notifies once and removes the
// partials.
func (w *Worker) finalize(ctx context.Context, log *slog.Logger, r *billing.Report, last bool, owner string) (retry bool) {
	log = log.With("shardId", finalizeLease)
	if r.Status.Final() {
		return w.finishedDuplicate(ctx, log, r, last)
	}
	if !r.AllShardsDone() {
		log.Warn("finalize job before every shard is done dropped", "done", len(r.ShardsDone), "shards", len(r.Shards))
		return false
	}
	if l, ok := r.ShardLeases[finalizeLease]; ok && l.Expires.After(w.now()) {
		return w.shardBusy(log, l, last)
	}
	if _, err := w.d.Reports.AcquireShardLease(ctx, r.ID, finalizeLease, w.shardLease(owner)); billing.ErrorCode(err) == billing.ECONFLICT {
		return w.shardBusy(log, r.ShardLeases[finalizeLease], last)
	} else if err != nil {
		log.Error("taking the finalize lease", "err", err)
		return true
	}
	genCtx, cancel := w.beforeDeadline(ctx)
	var gen *generated
	err := w.withHeartbeat(genCtx, log, w.shardBeat(r, finalizeLease, owner), func(ctx context.Context, _ *atomic.Int64) error {
		su, err := w.ratingSetup(ctx, r)
		if err != nil {
			return err
		}
		parts, err := w.loadPartials(ctx, r)
		if err != nil {
			return err
		}
		gen, err = w.store(ctx, r, su, parts...)
		return err
	})
	timedOut := errors.Is(genCtx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
	cancel()
	if errors.Is(err, errLeaseLost) {
		log.Warn("finalize lease lost; stopping without writing")
		return false
	} else if err != nil {
		return w.shardFailed(ctx, log, r, finalizeLease, owner, attempt{err: err, timedOut: timedOut, last: last})
	}
	gen.shards = len(r.Shards)
	retry = w.complete(ctx, log, r, r.Attempt, gen, last)
	if !retry {
		w.deletePartials(ctx, log, r)
	}
	return retry
}

// loadPartials reads every shard's partial, in shard order (ids sort by
// their first day).
func (w *Worker) loadPartials(ctx context.Context, r *billing.Report) ([]*rating.Partial, error) {
	parts := make([]*rating.Partial, 0, len(r.Shards))
	for _, id := range slices.Sorted(slices.Values(r.Shards)) {
		data, err := w.d.Partials.GetPartial(ctx, resources.PartialObjectKey(r.ID, id))
		if err != nil {
			return nil, fmt.Errorf("reading the partial of shard %s: %w", id, err)
		}
		p, err := rating.ParsePartial(data)
		if err != nil {
			return nil, billing.WrapError(billing.EINTERNAL, err, "The partial of shard %s is unreadable.", id)
		}
		parts = append(parts, p)
	}
	return parts, nil
}

// deletePartials removes a finished report's partials; what it misses, the
// bucket's lifecycle rule on the partials prefix removes.
func (w *Worker) deletePartials(ctx context.Context, log *slog.Logger, r *billing.Report) {
	for _, id := range r.Shards {
		if err := w.d.Partials.DeletePartial(ctx, resources.PartialObjectKey(r.ID, id)); err != nil {
			log.Warn("deleting a partial; the lifecycle rule removes it", "err", err, "partialShard", id)
			return
		}
	}
}

// recoverFinalize sends the finalize job of a report whose shards are all
// done and that nobody finalizes (its job was lost).
func (w *Worker) recoverFinalize(ctx context.Context, log *slog.Logger, r *billing.Report) (sent bool, err error) {
	if r.Status != billing.ReportRunning || !r.AllShardsDone() {
		return false, nil
	}
	if l, ok := r.ShardLeases[finalizeLease]; ok && l.Expires.After(w.now()) {
		return false, nil
	}
	if _, err := w.d.Queue.Enqueue(ctx, billing.Job{ReportID: r.ID, Finalize: true}); err != nil {
		return false, fmt.Errorf("enqueuing the finalize job of report %s: %w", r.ID, err)
	}
	log.Info("finalize job sent", "reportId", r.ID)
	return true, nil
}

// recoverShards sends the jobs a sharded report is missing: the finalize
// job once every shard is done, else the job of every shard not done whose
// lease is not live (never taken, or its delivery died). Duplicates are
// harmless: the shard leases let one delivery run a shard, and the
// completion write counts it once. It returns the jobs sent.
func (w *Worker) recoverShards(ctx context.Context, log *slog.Logger, r *billing.Report) (int, error) {
	if r.AllShardsDone() {
		sent, err := w.recoverFinalize(ctx, log, r)
		if sent {
			return 1, err
		}
		return 0, err
	}
	var missing []string
	for _, id := range r.Shards {
		if slices.Contains(r.ShardsDone, id) {
			continue
		}
		if l, ok := r.ShardLeases[id]; ok && l.Expires.After(w.now()) {
			continue
		}
		missing = append(missing, id)
	}
	return len(missing), w.enqueueShards(ctx, r.ID, missing)
}

// exhaustedShard is a shard (or the finalize job) of r whose lease expired
// SweepMaxAttempts times: its deliveries keep dying, so the report fails.
func (w *Worker) exhaustedShard(r *billing.Report) (string, int, bool) {
	for _, id := range append(slices.Clone(r.Shards), finalizeLease) {
		l, ok := r.ShardLeases[id]
		if ok && !slices.Contains(r.ShardsDone, id) && l.Attempts >= w.cfg.SweepMaxAttempts && !l.Expires.After(w.now()) {
			return id, l.Attempts, true
		}
	}
	return "", 0, false
}
