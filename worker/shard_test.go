package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/resources"
	"github.com/evovoice/billing/shardplan"
)

// drain delivers the queued jobs (each as a first receive) until the queue
// is empty, as the event source would, and returns the jobs it ran.
func (h *harness) drain() []billing.Job {
	h.t.Helper()
	var ran []billing.Job
	for round := 0; round < 100; round++ {
		jobs := h.queue.take()
		if len(jobs) == 0 {
			return ran
		}
		for i, j := range jobs {
			if h.deliver(context.Background(), jobDelivery(fmt.Sprintf("d-%d-%d", round, i), j, 1)) {
				h.t.Fatalf("job %+v asked for a retry; report %+v", j, h.reports.get(j.ReportID))
			}
		}
		ran = append(ran, jobs...)
	}
	h.t.Fatal("the queue did not drain")
	return nil
}

// ack delivers d and fails the test if it asked for a retry.
func (h *harness) ack(d Delivery) {
	h.t.Helper()
	if h.deliver(context.Background(), d) {
		h.t.Fatalf("delivery %s asked for a retry", d.MessageID)
	}
}

// retried delivers d and fails the test unless it asked for a retry.
func (h *harness) retried(d Delivery) {
	h.t.Helper()
	if !h.deliver(context.Background(), d) {
		h.t.Fatalf("delivery %s was acknowledged; want a retry", d.MessageID)
	}
}

// sweepRequeues runs the sweep and fails the test unless it sent n jobs.
func (h *harness) sweepRequeues(n int) {
	h.t.Helper()
	if res, err := h.w.Sweep(context.Background()); err != nil || res.Requeued != n {
		h.t.Fatalf("sweep = %+v, %v; want %d jobs sent", res, err, n)
	}
}

func jobDelivery(id string, j billing.Job, receives int) Delivery {
	body, _ := json.Marshal(j)
	return Delivery{MessageID: id, Body: string(body), ReceiveCount: receives}
}

func shardJobs(jobs []billing.Job) (shards []string, finalizes int) {
	for _, j := range jobs {
		if j.Finalize {
			finalizes++
		} else if j.Shard != "" {
			shards = append(shards, j.Shard)
		}
	}
	return shards, finalizes
}

// unshardedCSV is the reference: the same report run in one invocation.
func unshardedCSV(t *testing.T, req billing.ReportRequest) string {
	h := newHarness(t)
	h.seedSmall()
	h.queue1("r-1", req)
	if h.deliver(context.Background(), sqsMessage("m-1", "r-1", 1)) {
		t.Fatal("the unsharded report asked for a retry")
	}
	return string(h.files.objects[resources.ReportObjectKey("acct-a", "r-1")])
}

func TestShardedReportIsCountedOnceAndFinalizedOnce(t *testing.T) {
	want := unshardedCSV(t, billing.ReportRequest{})
	h := newHarnessWith(t, func(c *Config) { c.ShardDays = 7 })
	h.seedSmall()
	h.queue1("r-1", billing.ReportRequest{EmailAddressToNotify: "a@example.com"})
	h.ack(sqsMessage("m-1", "r-1", 1))
	r := h.reports.get("r-1")
	if len(r.Shards) != 5 || r.StatusMessage != "Processed 0 usage records (0 of 5 shards)" || h.files.puts != 0 {
		t.Fatalf("after planning: shards %v, %q, %d puts", r.Shards, r.StatusMessage, h.files.puts)
	}
	ran := h.drain()
	if shards, finalizes := shardJobs(ran); len(shards) != 5 || finalizes != 1 {
		t.Errorf("ran %d shard jobs and %d finalize jobs, want 5 and 1", len(shards), finalizes)
	}
	r = h.reports.get("r-1")
	if r.Status != billing.ReportCompleted || r.StatusMessage != "Completed: 15 usage records in 5 shards." || r.ShardCount != 5 {
		t.Fatalf("report %s %q, %d shards", r.Status, r.StatusMessage, r.ShardCount)
	}
	if got := string(h.files.objects[r.ObjectKey]); got != want {
		t.Fatalf("sharded CSV differs from the unsharded one:\n%s\nwant:\n%s", got, want)
	}
	if h.partials.count() != 0 || len(h.mailer.emails()) != 1 || !slices.Contains(h.reports.progressSeen(), "Processed 15 usage records (5 of 5 shards)") {
		t.Errorf("%d partials left, %d emails, progress %q", h.partials.count(), len(h.mailer.emails()), h.reports.progressSeen())
	}

	h.lateCopiesChangeNothing(ran, 5)
}

// lateCopiesChangeNothing delivers every job of ran again, late: the report,
// the completions (completions of them), the queue and the mail stay as
// they are.
func (h *harness) lateCopiesChangeNothing(ran []billing.Job, completions int) {
	h.t.Helper()
	before := h.reports.get("r-1")
	for i, j := range ran {
		h.ack(jobDelivery(fmt.Sprintf("late-%d", i), j, 2))
	}
	after := h.reports.get("r-1")
	if after.StatusMessage != before.StatusMessage || after.ByteSize != before.ByteSize ||
		h.reports.completed() != completions || len(h.queue.take()) != 0 || len(h.mailer.emails()) != 1 {
		h.t.Errorf("late deliveries changed things: %+v, %d completions", after, h.reports.completed())
	}
}

// Two deliveries of one shard at once: one holds the lease, the other is
// retried and then finds the shard counted; nothing is counted twice.
func TestDuplicateShardDeliveriesNeverBothWrite(t *testing.T) {
	h := newHarnessWith(t, func(c *Config) { c.ShardDays = 31 })
	h.seedSmall()
	h.queue1("r-1", billing.ReportRequest{StartDate: billing.Date{Year: 2026, Month: 9, Day: 1}, EndDate: billing.Date{Year: 2026, Month: 10, Day: 31}})
	h.deliver(context.Background(), sqsMessage("m-1", "r-1", 1))
	jobs := h.queue.take()
	if len(jobs) != 2 {
		t.Fatalf("jobs %+v, want 2 shards", jobs)
	}
	oct := jobs[1]
	inComplete, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	h.reports.beforeComplete = func(id, shard string) error {
		if shard == oct.Shard {
			once.Do(func() { close(inComplete); <-release })
		}
		return nil
	}
	first := make(chan bool)
	go func() { first <- h.deliver(context.Background(), jobDelivery("s-1", oct, 1)) }()
	<-inComplete
	h.retried(jobDelivery("s-2", oct, 1)) // racing a live shard lease
	close(release)
	if <-first {
		t.Fatal("the lease holder asked for a retry")
	}
	h.ack(jobDelivery("s-2", oct, 2)) // the retried copy finds the shard counted
	h.ack(jobDelivery("s-0", jobs[0], 1))
	h.drain()
	r := h.reports.get("r-1")
	if r.Status != billing.ReportCompleted || h.reports.completed() != 2 || r.ShardRecords != 15 || h.partials.puts != 2 {
		t.Fatalf("report %s, %d completions, %d records, %d partial puts", r.Status, h.reports.completed(), r.ShardRecords, h.partials.puts)
	}
}

// A shard whose partial cannot be stored is retried and overwrites its own
// key; a shard whose delivery dies (its lease simply expires) and a lost
// finalize job are recovered by the sweep.
func TestRetriedKilledShardsAndLostFinalizeAreRecovered(t *testing.T) {
	want := unshardedCSV(t, billing.ReportRequest{})
	h := newHarnessWith(t, func(c *Config) { c.ShardDays = 10 })
	h.seedSmall()
	h.queue1("r-1", billing.ReportRequest{})
	h.ack(sqsMessage("m-1", "r-1", 1))
	jobs := h.queue.take() // 4 shards
	if len(jobs) != 4 {
		t.Fatalf("jobs %+v", jobs)
	}
	// Shard 0: the partial store fails once; SQS delivers it again.
	var putFails int
	h.partials.beforePut = func(key string) error {
		if strings.Contains(key, jobs[0].Shard) && putFails == 0 {
			putFails++
			return billing.Errorf(billing.EUNAVAILABLE, "S3 is unavailable.")
		}
		return nil
	}
	h.retried(jobDelivery("s-0", jobs[0], 1))
	h.ack(jobDelivery("s-0", jobs[0], 2))
	// Shard 1: its delivery takes the lease and dies.
	now := h.clock.Now()
	if _, err := h.reports.AcquireShardLease(context.Background(), "r-1", jobs[1].Shard, billing.Lease{Now: now, Expires: now.Add(resources.LeaseDuration), Server: "dead"}); err != nil {
		t.Fatal(err)
	}
	// Shards 2 and 3 run; the last count's finalize job is lost.
	h.ack(jobDelivery("s-2", jobs[2], 1))
	h.ack(jobDelivery("s-3", jobs[3], 1))
	if r := h.reports.get("r-1"); len(r.ShardsDone) != 3 || r.Status != billing.ReportRunning {
		t.Fatalf("after three shards: %+v", r)
	}
	// A sweep while the dead delivery's lease is live changes nothing.
	h.sweepRequeues(0)
	h.clock.Advance(resources.LeaseDuration + resources.SweepRunningAfter + time.Second)
	h.sweepRequeues(1) // the stuck shard
	if got := h.queue.take(); len(got) != 1 || got[0] != jobs[1] {
		t.Fatalf("sweep sent %+v, want %+v", got, jobs[1])
	}
	h.ack(jobDelivery("s-1b", jobs[1], 1))
	// Its count was the last: drop the finalize job, as a lost message.
	if got := h.queue.take(); len(got) != 1 || !got[0].Finalize {
		t.Fatalf("after the last shard: %+v, want one finalize job", got)
	}
	h.clock.Advance(resources.SweepRunningAfter + time.Second)
	h.sweepRequeues(1) // the lost finalize
	h.drain()
	r := h.reports.get("r-1")
	if r.Status != billing.ReportCompleted || h.reports.completed() != 4 || string(h.files.objects[r.ObjectKey]) != want {
		t.Fatalf("report %s %q, %d completions", r.Status, r.StatusMessage, h.reports.completed())
	}
}

// A shard that fails for good fails the report with its reason and the
// failure email, once; the other shards' later deliveries change nothing.
func TestShardFailingForGoodFailsTheReport(t *testing.T) {
	h := newHarnessWith(t, func(c *Config) { c.ShardDays = 1 })
	h.seedSmall()
	h.data.addUsage(billing.UsageEvent{ID: "bad", AccountID: "acct-a", CustomerID: "c-unknown", Time: time.Date(2026, 10, 2, 9, 0, 0, 0, time.UTC), Item: billing.ItemOutboundSmsMessages, RawQuantity: "1"})
	h.queue1("r-1", billing.ReportRequest{EmailAddressToNotify: "a@example.com"})
	h.deliver(context.Background(), sqsMessage("m-1", "r-1", 1))
	for _, j := range h.queue.take() {
		h.deliver(context.Background(), jobDelivery("s-"+j.Shard, j, 1))
	}
	r := h.reports.get("r-1")
	if r.Status != billing.ReportError || !strings.HasPrefix(r.StatusMessage, "The report failed: ") || !strings.Contains(r.StatusMessage, "c-unknown") {
		t.Fatalf("report %s %q", r.Status, r.StatusMessage)
	}
	if m := h.mailer.emails(); len(m) != 1 || !strings.Contains(m[0].Subject, "failed") {
		t.Fatalf("emails %+v", m)
	}
	if jobs := h.queue.take(); len(jobs) != 0 {
		t.Errorf("a failed report enqueued %+v", jobs)
	}
}

// A shard that runs short of time stores the days it read completely and
// hands the rest on as new shards, sized from what it measured: it read one
// day of 5 events in the time it had, so the other 30 days become shards of
// one day each. The report is still byte-identical.
func TestShortShardHandsOn(t *testing.T) {
	want := unshardedCSV(t, billing.ReportRequest{})
	h := newHarness(t) // no cap: the report is one shard
	h.seedSmall()
	h.w.cfg.DeadlineMargin = 200 * time.Millisecond
	h.w.cfg.NotifyRecordTimeout = 20 * time.Millisecond
	h.w.cfg.DayReadConcurrency = 1
	h.data.pageSize = 1
	slow := true
	h.data.queryErr = func(q billing.UsageQuery) error {
		// Oct 2 and later are slow in the first invocation only.
		if slow && q.Day.Day >= 2 {
			time.Sleep(300 * time.Millisecond)
		}
		return nil
	}
	h.queue1("r-1", billing.ReportRequest{})
	// Reading stops at 500 - 20 - 200 = 280 ms, while Oct 2 is being read.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	retry := h.deliver(ctx, sqsMessage("m-1", "r-1", 1))
	cancel()
	if retry {
		t.Fatal("the short run asked for a retry; want its days handed on")
	}
	slow = false
	r := h.reports.get("r-1")
	if len(r.Shards) != 31 || len(r.ShardsDone) != 1 || r.ShardRecords != 5 {
		t.Fatalf("after the short run: shards %v, done %v, %d records", r.Shards, r.ShardsDone, r.ShardRecords)
	}
	h.drain()
	r = h.reports.get("r-1")
	if r.Status != billing.ReportCompleted || r.StatusMessage != "Completed: 15 usage records in 31 shards." || string(h.files.objects[r.ObjectKey]) != want {
		t.Fatalf("report %s %q", r.Status, r.StatusMessage)
	}
}

func TestDecideAfterAnAttempt(t *testing.T) {
	perm := billing.Errorf(billing.EINVALID, "Customer 'c-x' is unknown.")
	down := billing.Errorf(billing.EUNAVAILABLE, "DynamoDB is unavailable.")
	for _, c := range []struct {
		name string
		in   attempt
		want action
		msg  string // of the error to record
	}{
		{"done", attempt{}, actFinish, ""},
		{"lease lost", attempt{err: errLeaseLost}, actDrop, ""},
		{"lease lost on the last receive", attempt{err: errLeaseLost, last: true}, actDrop, ""},
		{"store down", attempt{err: down}, actRetry, "DynamoDB is unavailable."},
		{"store down on the last receive", attempt{err: down, last: true}, actFailToDLQ, "DynamoDB is unavailable."},
		{"bad data", attempt{err: perm}, actFail, "Customer 'c-x' is unknown."},
		{"bad data on the last receive", attempt{err: perm, last: true}, actFail, "Customer 'c-x' is unknown."},
		{"timed out", attempt{err: context.DeadlineExceeded, timedOut: true}, actRetry, "The report did not finish within the worker's time limit."},
		{"timed out on the last receive", attempt{err: context.DeadlineExceeded, timedOut: true, last: true}, actFailToDLQ, "The report did not finish within the worker's time limit."},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := decide(c.in)
			if got != c.want {
				t.Errorf("action %d, want %d", got, c.want)
			}
			if c.msg != "" && billing.ErrorMessage(err) != c.msg {
				t.Errorf("error %q, want %q", billing.ErrorMessage(err), c.msg)
			}
		})
	}
}

func TestHandOnIsSizedFromWhatTheRunMeasured(t *testing.T) {
	w := newHarness(t).w
	oct := shardplan.Shard{First: billing.Date{Year: 2026, Month: 10, Day: 1}, Last: billing.Date{Year: 2026, Month: 10, Day: 31}}
	for _, c := range []struct {
		name          string
		done          int
		counted, read int64
		want          []string
	}{
		{"nothing read: in two", 0, 0, 0, []string{"2026-10-01_2026-10-16", "2026-10-17_2026-10-31"}},
		{"days read, no events: in two", 10, 0, 0, []string{"2026-10-11_2026-10-21", "2026-10-22_2026-10-31"}},
		// 1,000 events a day; 4,000 read in the time it had: 3 days a shard.
		{"measured", 2, 2000, 4000, []string{"2026-10-03_2026-10-05", "2026-10-06_2026-10-08", "2026-10-09_2026-10-11", "2026-10-12_2026-10-14",
			"2026-10-15_2026-10-17", "2026-10-18_2026-10-20", "2026-10-21_2026-10-23", "2026-10-24_2026-10-26", "2026-10-27_2026-10-29", "2026-10-30_2026-10-31"}},
		// A fast run: the rest would fit one shard, but never fewer than two.
		{"never fewer than two", 30, 30, 1000000, []string{"2026-10-31_2026-10-31"}},
		{"all read", 31, 31, 100, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := shardIDs(w.handOn(oct, c.done, c.counted, c.read)); !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
				t.Errorf("hand-on %v, want %v", got, c.want)
			}
		})
	}
}

// countingData is the harness's store with the planner's cheap count.
type countingData struct {
	*memData
	counted []string
}

func (d *countingData) CountUsage(ctx context.Context, q billing.UsageQuery) (int64, error) {
	d.counted = append(d.counted, q.Day.String())
	return int64(len(d.usage[q.Day.String()])), nil
}

// The plan uses the estimate: 5 events a day (the mean of the first, middle
// and last days' counts) on a budget of 10 events is 2 days a shard.
func TestPlanUsesTheCountedDensity(t *testing.T) {
	want := unshardedCSV(t, billing.ReportRequest{StartDate: billing.Date{Year: 2026, Month: 10, Day: 1}, EndDate: billing.Date{Year: 2026, Month: 10, Day: 3}})
	h := newHarnessWith(t, func(c *Config) { c.ShardBudget = 10 })
	h.seedSmall()
	data := &countingData{memData: h.data}
	h.w.d.Data = data
	h.queue1("r-1", billing.ReportRequest{StartDate: billing.Date{Year: 2026, Month: 10, Day: 1}, EndDate: billing.Date{Year: 2026, Month: 10, Day: 3}})
	h.ack(sqsMessage("m-1", "r-1", 1))
	if r := h.reports.get("r-1"); !slices.Equal(r.Shards, []string{"2026-10-01_2026-10-02", "2026-10-03_2026-10-03"}) ||
		!slices.Equal(data.counted, []string{"2026-10-01", "2026-10-02", "2026-10-03"}) {
		t.Fatalf("planned %v from counts of %v", r.Shards, data.counted)
	}
	h.drain()
	if r := h.reports.get("r-1"); r.Status != billing.ReportCompleted || string(h.files.objects[r.ObjectKey]) != want {
		t.Fatalf("report %s %q", r.Status, r.StatusMessage)
	}
}
