package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/worker"
)

// ShardStore is a report store with the worker's shard methods (the port is
// declared once, as worker.Reports).
type ShardStore interface {
	Store
	worker.Reports
}

// RunShards runs the shard contract (ddbstore/shards.go's conditions)
// against the stores newStore returns.
func RunShards(t *testing.T, newStore func(t *testing.T) ShardStore) {
	runAll(t, newStore, map[string]func(*testing.T, ShardStore){
		"ShardPlan":             testShardPlan,
		"ShardLeases":           testShardLeases,
		"ShardsCountedOnce":     testShardsCountedOnce,
		"ShardsCountedOnceRace": testShardsCountedOnceRace,
		"ShardProgress":         testShardProgress,
	})
}

// runningReport creates a report and takes its lease (attempt 1).
func runningReport(t *testing.T, s ShardStore) *billing.Report {
	t.Helper()
	ctx := context.Background()
	r := NewReport(uniq("acct"), t0)
	if err := s.CreateReport(ctx, r, billing.SlotLimits{Account: 10}); err != nil {
		t.Fatal(err)
	}
	return must[*billing.Report](t, "the report lease")(s.AcquireLease(ctx, r.ID, billing.Lease{Now: t0, Expires: t0.Add(time.Minute), Server: "w"}))
}

// shardedReport is runningReport with the plan shards recorded.
func shardedReport(t *testing.T, s ShardStore, shards ...string) *billing.Report {
	t.Helper()
	r := runningReport(t, s)
	return must[*billing.Report](t, "the plan")(s.StartShards(context.Background(), r.ID, 1, shards, "planned", t0))
}

func lease(owner string, now time.Time) billing.Lease {
	return billing.Lease{Now: now, Expires: now.Add(time.Minute), Server: owner}
}

func testShardPlan(t *testing.T, s ShardStore) {
	ctx := context.Background()
	q := NewReport(uniq("acct"), t0)
	if err := s.CreateReport(ctx, q, billing.SlotLimits{Account: 10}); err != nil {
		t.Fatal(err)
	}
	_, err := s.StartShards(ctx, q.ID, 0, []string{"a"}, "m", t0)
	code(t, "a plan of a Queued report", err, billing.ECONFLICT)
	_, err = s.AcquireShardLease(ctx, q.ID, "a", lease("d", t0))
	code(t, "a shard lease before the plan", err, billing.ECONFLICT)

	r := runningReport(t, s)
	_, err = s.StartShards(ctx, r.ID, 1, nil, "m", t0)
	code(t, "an empty plan", err, billing.EINVALID)
	_, err = s.StartShards(ctx, r.ID, 2, []string{"a", "b"}, "m", t0)
	code(t, "a plan of another attempt", err, billing.ECONFLICT)
	later := t0.Add(time.Second)
	got := must[*billing.Report](t, "the plan")(s.StartShards(ctx, r.ID, 1, []string{"b", "a"}, "Processed 0 usage records (0 of 2 shards)", later))
	if !slices.Equal(got.Shards, []string{"a", "b"}) || len(got.ShardsDone) != 0 || got.ShardLeases == nil || len(got.ShardLeases) != 0 ||
		got.StatusMessage != "Processed 0 usage records (0 of 2 shards)" || !got.DateUpdated.Equal(later) {
		t.Fatalf("after StartShards: %+v", got)
	}
	_, err = s.StartShards(ctx, r.ID, 1, []string{"c"}, "m", t0)
	code(t, "a second plan", err, billing.ECONFLICT)
	if again := must[*billing.Report](t, "get")(s.GetReport(ctx, r.ID)); !slices.Equal(again.Shards, []string{"a", "b"}) {
		t.Fatalf("read back shards %v", again.Shards)
	}
	missing := uniq("missing")
	_, err = s.StartShards(ctx, missing, 1, []string{"a"}, "m", t0)
	code(t, "a plan of a missing report", err, billing.ENOTFOUND)
	_, err = s.AcquireShardLease(ctx, missing, "a", lease("d", t0))
	code(t, "a shard lease of a missing report", err, billing.ENOTFOUND)
	_, err = s.CompleteShard(ctx, missing, "a", "d", 1, nil, t0)
	code(t, "completing a shard of a missing report", err, billing.ENOTFOUND)
}

// testShardLeases: one live lease per shard, counted attempts, and only the
// owner extends or releases it.
func testShardLeases(t *testing.T, s ShardStore) {
	ctx := context.Background()
	r := shardedReport(t, s, "a", "b")
	held := must[*billing.Report](t, "lease a")(s.AcquireShardLease(ctx, r.ID, "a", lease("d-1", t0)))
	if l := held.ShardLeases["a"]; l.Owner != "d-1" || !l.Expires.Equal(t0.Add(time.Minute)) || l.Attempts != 1 {
		t.Fatalf("lease of a: %+v", l)
	}
	_, err := s.AcquireShardLease(ctx, r.ID, "a", lease("d-2", t0.Add(time.Second)))
	code(t, "a live shard lease", err, billing.ECONFLICT)
	_, err = s.AcquireShardLease(ctx, r.ID, "a", lease("d-2", t0.Add(time.Minute)))
	code(t, "a lease expiring at now", err, billing.ECONFLICT)
	// Another shard's lease is its own.
	other := must[*billing.Report](t, "lease b")(s.AcquireShardLease(ctx, r.ID, "b", lease("d-2", t0)))
	if other.ShardLeases["b"].Owner != "d-2" || other.ShardLeases["a"].Owner != "d-1" {
		t.Fatalf("leases: %+v", other.ShardLeases)
	}
	code(t, "a non-owner's extension", s.ExtendShardLease(ctx, r.ID, "a", "d-2", t0, t0.Add(time.Hour)), billing.ECONFLICT)
	code(t, "an extension without a lease", s.ExtendShardLease(ctx, r.ID, "finalize", "", t0, t0.Add(time.Hour)), billing.ECONFLICT)
	if err := s.ExtendShardLease(ctx, r.ID, "a", "d-1", t0.Add(time.Second), t0.Add(time.Hour)); err != nil {
		t.Fatalf("extending: %v", err)
	}
	_, err = s.AcquireShardLease(ctx, r.ID, "a", lease("d-2", t0.Add(2*time.Minute)))
	code(t, "a lease the owner extended", err, billing.ECONFLICT)
	if err := s.ExtendShardLease(ctx, r.ID, "a", "d-1", t0, t0.Add(-time.Millisecond)); err != nil {
		t.Fatalf("releasing: %v", err)
	}
	// Released: d-2 takes it over (second attempt), and d-1 may not count it.
	over := must[*billing.Report](t, "takeover")(s.AcquireShardLease(ctx, r.ID, "a", lease("d-2", t0)))
	if l := over.ShardLeases["a"]; l.Owner != "d-2" || l.Attempts != 2 {
		t.Fatalf("after the takeover: %+v", l)
	}
	_, err = s.CompleteShard(ctx, r.ID, "a", "d-1", 5, nil, t0)
	code(t, "the old owner's completion", err, billing.ECONFLICT)
	fin := must[*billing.Report](t, "lease finalize")(s.AcquireShardLease(ctx, r.ID, "finalize", lease("f", t0)))
	if fin.ShardLeases["finalize"].Owner != "f" || slices.Contains(fin.Shards, "finalize") {
		t.Fatalf("finalize lease: %+v", fin)
	}
	if _, err := s.FinishReport(ctx, r.ID, 1, billing.Outcome{Status: billing.ReportError, StatusMessage: "x", Now: t0}); err != nil {
		t.Fatal(err)
	}
	_, err = s.AcquireShardLease(ctx, r.ID, "b", lease("d-3", t0.Add(time.Hour)))
	code(t, "a shard lease of a final report", err, billing.ECONFLICT)
	code(t, "extending a lease of a final report", s.ExtendShardLease(ctx, r.ID, "b", "d-2", t0, t0.Add(time.Hour)), billing.ECONFLICT)
}

func testShardsCountedOnce(t *testing.T, s ShardStore) {
	ctx := context.Background()
	r := shardedReport(t, s, "a", "b")
	must[*billing.Report](t, "lease a")(s.AcquireShardLease(ctx, r.ID, "a", lease("d", t0)))
	done := must[*billing.Report](t, "count a")(s.CompleteShard(ctx, r.ID, "a", "d", 5, []string{"c", "b"}, t0.Add(time.Second)))
	if !slices.Equal(done.ShardsDone, []string{"a"}) || !slices.Equal(done.Shards, []string{"a", "b", "c"}) || done.ShardRecords != 5 ||
		done.AllShardsDone() || !done.DateUpdated.Equal(t0.Add(time.Second)) {
		t.Fatalf("after counting a: %+v", done)
	}
	_, err := s.CompleteShard(ctx, r.ID, "a", "d", 5, []string{"x"}, t0)
	code(t, "a duplicate completion", err, billing.ECONFLICT)
	_, err = s.AcquireShardLease(ctx, r.ID, "a", lease("late", t0.Add(time.Hour)))
	code(t, "a lease of a done shard", err, billing.ECONFLICT)
	code(t, "extending a done shard", s.ExtendShardLease(ctx, r.ID, "a", "d", t0, t0.Add(time.Hour)), billing.ECONFLICT)
	_, err = s.CompleteShard(ctx, r.ID, "b", "d", 1, nil, t0)
	code(t, "completing without a lease", err, billing.ECONFLICT)
	for _, sid := range []string{"b", "c"} {
		must[*billing.Report](t, "lease "+sid)(s.AcquireShardLease(ctx, r.ID, sid, lease("d", t0)))
		done = must[*billing.Report](t, "count "+sid)(s.CompleteShard(ctx, r.ID, sid, "d", 1, nil, t0))
	}
	if !done.AllShardsDone() || done.ShardRecords != 7 || !slices.Equal(done.Shards, []string{"a", "b", "c"}) {
		t.Fatalf("after all: %+v", done)
	}
	must[*billing.Report](t, "lease finalize")(s.AcquireShardLease(ctx, r.ID, "finalize", lease("f", t0)))
	fin := must[*billing.Report](t, "finish")(s.FinishReport(ctx, r.ID, 1, billing.Outcome{
		Status: billing.ReportCompleted, StatusMessage: "Completed: 7 usage records in 3 shards.", Shards: 3, Now: t0,
	}))
	if fin.ShardCount != 3 {
		t.Fatalf("finished shard count %d", fin.ShardCount)
	}
	again := must[*billing.Report](t, "get")(s.GetReport(ctx, r.ID))
	if again.ShardCount != 3 || again.ShardRecords != 7 || len(again.ShardsDone) != 3 || again.StatusMessage != "Completed: 7 usage records in 3 shards." {
		t.Fatalf("read back: %+v", again)
	}
	_, err = s.CompleteShard(ctx, r.ID, "finalize", "f", 1, nil, t0)
	code(t, "a completion after the finish", err, billing.ECONFLICT)
}

// testShardsCountedOnceRace: copies of one completion racing (SQS
// delivers at least once) count the shard and its records once.
func testShardsCountedOnceRace(t *testing.T, s ShardStore) {
	ctx := context.Background()
	const shards, copies = 4, 4
	ids := make([]string, shards)
	for i := range ids {
		ids[i] = fmt.Sprintf("s%d", i)
	}
	r := shardedReport(t, s, ids...)
	for _, sid := range ids {
		must[*billing.Report](t, "lease "+sid)(s.AcquireShardLease(ctx, r.ID, sid, lease("d-"+sid, t0)))
	}
	var wins, conflicts atomic.Int64
	var wg sync.WaitGroup
	for _, sid := range ids {
		for range copies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.CompleteShard(ctx, r.ID, sid, "d-"+sid, 10, nil, t0)
				switch billing.ErrorCode(err) {
				case "":
					wins.Add(1)
				case billing.ECONFLICT:
					conflicts.Add(1)
				default:
					t.Errorf("completing %s: %v", sid, err)
				}
			}()
		}
	}
	wg.Wait()
	if wins.Load() != shards || conflicts.Load() != shards*(copies-1) {
		t.Fatalf("%d completions counted and %d refused, want %d and %d", wins.Load(), conflicts.Load(), shards, shards*(copies-1))
	}
	got := must[*billing.Report](t, "get")(s.GetReport(ctx, r.ID))
	if !got.AllShardsDone() || got.ShardRecords != 10*shards || !slices.Equal(got.ShardsDone, ids) {
		t.Fatalf("after the race: %+v", got)
	}
}

// testShardProgress: the shown count only moves forward, whatever order the
// completions record it in.
func testShardProgress(t *testing.T, s ShardStore) {
	ctx := context.Background()
	r := shardedReport(t, s, "a", "b", "c")
	msg := func(n int) string { return fmt.Sprintf("Processed %d usage records (%d of 3 shards)", n, n) }
	if err := s.ShardProgress(ctx, r.ID, 2, msg(2), t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	code(t, "an earlier count", s.ShardProgress(ctx, r.ID, 1, msg(1), t0), billing.ECONFLICT)
	code(t, "the same count again", s.ShardProgress(ctx, r.ID, 2, "again", t0), billing.ECONFLICT)
	got := must[*billing.Report](t, "get")(s.GetReport(ctx, r.ID))
	if got.StatusMessage != msg(2) || !got.DateUpdated.Equal(t0.Add(time.Second)) {
		t.Fatalf("after an earlier count: %q at %v", got.StatusMessage, got.DateUpdated)
	}
	// Concurrent counts: the highest is shown.
	var wg sync.WaitGroup
	for n := 3; n <= 8; n++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.ShardProgress(ctx, r.ID, n, msg(n), t0); err != nil && billing.ErrorCode(err) != billing.ECONFLICT {
				t.Errorf("count %d: %v", n, err)
			}
		}()
	}
	wg.Wait()
	if got := must[*billing.Report](t, "get")(s.GetReport(ctx, r.ID)); got.StatusMessage != msg(8) {
		t.Fatalf("after concurrent counts: %q, want %q", got.StatusMessage, msg(8))
	}
	if _, err := s.FinishReport(ctx, r.ID, 1, billing.Outcome{Status: billing.ReportError, StatusMessage: "failed", Now: t0}); err != nil {
		t.Fatal(err)
	}
	code(t, "progress of a final report", s.ShardProgress(ctx, r.ID, 9, msg(9), t0), billing.ECONFLICT)
	code(t, "progress of a missing report", s.ShardProgress(ctx, uniq("missing"), 1, "m", t0), billing.ENOTFOUND)
}
