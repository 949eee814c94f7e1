//go:build integration

package ddbstore

import (
	"context"
	"slices"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
)

// The shard transitions against the emulator: the plan is recorded once,
// a shard has one live lease, a completion counts each shard id once (a
// duplicate or late one changes nothing), and hand-ons join the plan.
func TestShardsAreCountedOnce(t *testing.T) {
	s, ctx := reportStore(), context.Background()
	r := newReport(uniq("acct"), t0)
	mustCreate(t, s, r, 10)
	if _, err := s.AcquireLease(ctx, r.ID, billing.Lease{Now: t0, Expires: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	_, err := s.StartShards(ctx, r.ID, 2, []string{"a", "b"}, "m", t0)
	wantCode(t, err, billing.ECONFLICT) // not the lease's attempt
	got, err := s.StartShards(ctx, r.ID, 1, []string{"b", "a"}, "Processed 0 usage records (0 of 2 shards)", t0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Shards, []string{"a", "b"}) || got.StatusMessage != "Processed 0 usage records (0 of 2 shards)" {
		t.Fatalf("after StartShards: %+v", got)
	}
	_, err = s.StartShards(ctx, r.ID, 1, []string{"c"}, "m", t0)
	wantCode(t, err, billing.ECONFLICT) // once

	lease := billing.Lease{Now: t0, Expires: t0.Add(time.Minute), Server: "d-1"}
	held, err := s.AcquireShardLease(ctx, r.ID, "a", lease)
	if err != nil {
		t.Fatal(err)
	}
	if l := held.ShardLeases["a"]; l.Owner != "d-1" || !l.Expires.Equal(t0.Add(time.Minute)) || l.Attempts != 1 {
		t.Fatalf("lease of a: %+v", l)
	}
	_, err = s.AcquireShardLease(ctx, r.ID, "a", billing.Lease{Now: t0.Add(time.Second), Expires: t0.Add(2 * time.Minute), Server: "d-2"})
	wantCode(t, err, billing.ECONFLICT) // live lease
	if err := s.ExtendShardLease(ctx, r.ID, "a", "d-2", t0, t0.Add(time.Hour)); billing.ErrorCode(err) != billing.ECONFLICT {
		t.Fatalf("a non-owner extended the lease: %v", err)
	}
	if err := s.ExtendShardLease(ctx, r.ID, "a", "d-1", t0, t0.Add(-time.Millisecond)); err != nil {
		t.Fatalf("releasing: %v", err)
	}
	// Released: d-2 takes it over (second attempt), and d-1 may not count it.
	if held, err = s.AcquireShardLease(ctx, r.ID, "a", billing.Lease{Now: t0, Expires: t0.Add(time.Minute), Server: "d-2"}); err != nil || held.ShardLeases["a"].Attempts != 2 {
		t.Fatalf("takeover: %+v, %v", held, err)
	}
	_, err = s.CompleteShard(ctx, r.ID, "a", "d-1", 5, nil, t0)
	wantCode(t, err, billing.ECONFLICT)
	done, err := s.CompleteShard(ctx, r.ID, "a", "d-2", 5, []string{"c"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(done.ShardsDone, []string{"a"}) || !slices.Equal(done.Shards, []string{"a", "b", "c"}) || done.ShardRecords != 5 || done.AllShardsDone() {
		t.Fatalf("after counting a: %+v", done)
	}
	_, err = s.CompleteShard(ctx, r.ID, "a", "d-2", 5, nil, t0) // duplicate
	wantCode(t, err, billing.ECONFLICT)
	_, err = s.AcquireShardLease(ctx, r.ID, "a", billing.Lease{Now: t0.Add(time.Hour), Expires: t0.Add(2 * time.Hour), Server: "late"})
	wantCode(t, err, billing.ECONFLICT) // done shards take no lease

	for _, sid := range []string{"b", "c"} {
		if _, err := s.AcquireShardLease(ctx, r.ID, sid, lease); err != nil {
			t.Fatal(err)
		}
		if done, err = s.CompleteShard(ctx, r.ID, sid, "d-1", 1, nil, t0); err != nil {
			t.Fatal(err)
		}
	}
	if !done.AllShardsDone() || done.ShardRecords != 7 {
		t.Fatalf("after all: %+v", done)
	}
	// Progress never goes back.
	if err := s.ShardProgress(ctx, r.ID, 3, "Processed 7 usage records (3 of 3 shards)", t0); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.ShardProgress(ctx, r.ID, 2, "Processed 6 usage records (2 of 3 shards)", t0), billing.ECONFLICT)
	if _, err := s.AcquireShardLease(ctx, r.ID, "finalize", lease); err != nil {
		t.Fatal(err)
	}
	fin, err := s.FinishReport(ctx, r.ID, 1, billing.Outcome{Status: billing.ReportCompleted, StatusMessage: "Completed: 7 usage records in 3 shards.", Shards: 3, Now: t0})
	if err != nil || fin.ShardCount != 3 {
		t.Fatalf("finish: %+v, %v", fin, err)
	}
	again, err := s.GetReport(ctx, r.ID)
	if err != nil || again.ShardCount != 3 || again.StatusMessage != "Completed: 7 usage records in 3 shards." {
		t.Fatalf("read back: %+v, %v", again, err)
	}
}
