package memstore

import (
	"context"
	"slices"
	"time"

	billing "github.com/evovoice/billing"
)

// The shard methods of the worker's port (worker.Reports), with the
// conditions of ddbstore/shards.go, one conditional write each there and one
// locked change here. storetest.RunShards checks the two agree.

func running(r *billing.Report) bool { return r.Status == billing.ReportRunning }

// ownedOpen is the adapter's "#owner.#sid = :owner AND NOT contains(#done,
// :sid)": a shard with no lease has no owner, not the empty one.
func ownedOpen(r *billing.Report, shard, owner string) bool {
	l, ok := r.ShardLeases[shard]
	return running(r) && ok && l.Owner == owner && !slices.Contains(r.ShardsDone, shard)
}

// union is the sorted set of a and b, as a DynamoDB string set ADD leaves it.
func union(a []string, b ...string) []string {
	out := slices.Sorted(slices.Values(append(slices.Clone(a), b...)))
	return slices.Compact(out)
}

// StartShards records a report's plan, once, for the attempt holding its
// lease; the lease map starts empty, which is what lets shard leases be taken.
func (m *Reports) StartShards(ctx context.Context, id string, attempt int, shards []string, message string, now time.Time) (*billing.Report, error) {
	if len(shards) == 0 {
		return nil, billing.Errorf(billing.EINVALID, "A sharded report needs at least one shard.")
	}
	return m.update(ctx, "StartShards", "recording its shards", id, func(r *billing.Report) bool {
		return running(r) && r.Attempt == attempt && len(r.Shards) == 0
	}, func(r *billing.Report) {
		r.Shards, r.ShardLeases = union(nil, shards...), map[string]billing.ShardLease{}
		r.StatusMessage, r.DateUpdated = message, now.UTC()
	})
}

// AcquireShardLease takes the lease of shard (or "finalize") if the plan is
// recorded, the shard is not counted done and its lease, if any, expired
// before lease.Now.
func (m *Reports) AcquireShardLease(ctx context.Context, id, shard string, lease billing.Lease) (*billing.Report, error) {
	return m.update(ctx, "AcquireShardLease", "a shard lease", id, func(r *billing.Report) bool {
		l, held := r.ShardLeases[shard]
		return running(r) && r.ShardLeases != nil && !slices.Contains(r.ShardsDone, shard) && (!held || l.Expires.Before(lease.Now))
	}, func(r *billing.Report) {
		tries := r.ShardLeases[shard].Attempts
		r.ShardLeases[shard] = billing.ShardLease{Owner: lease.Server, Expires: lease.Expires.UTC(), Attempts: tries + 1}
		r.DateUpdated = lease.Now.UTC()
	})
}

// ExtendShardLease moves the expiry of owner's lease of shard (an expiry in
// the past releases it).
func (m *Reports) ExtendShardLease(ctx context.Context, id, shard, owner string, now, expires time.Time) error {
	_, err := m.update(ctx, "ExtendShardLease", "extending a shard lease", id, func(r *billing.Report) bool {
		return ownedOpen(r, shard, owner)
	}, func(r *billing.Report) {
		l := r.ShardLeases[shard]
		l.Expires = expires.UTC()
		r.ShardLeases[shard], r.DateUpdated = l, now.UTC()
	})
	return err
}

// CompleteShard counts shard done for its lease owner, once: a duplicate or
// late completion is an ECONFLICT that changes nothing. The records and the
// hand-on shards are added in the same change.
func (m *Reports) CompleteShard(ctx context.Context, id, shard, owner string, records int64, handOn []string, now time.Time) (*billing.Report, error) {
	return m.update(ctx, "CompleteShard", "counting a shard done", id, func(r *billing.Report) bool {
		return ownedOpen(r, shard, owner)
	}, func(r *billing.Report) {
		r.ShardsDone, r.Shards = union(r.ShardsDone, shard), union(r.Shards, handOn...)
		r.ShardRecords += records
		r.DateUpdated = now.UTC()
	})
}

// ShardProgress shows message unless the message of the same or a later
// count is shown already (completions may record their progress out of
// order).
func (m *Reports) ShardProgress(ctx context.Context, id string, done int, message string, now time.Time) error {
	_, err := m.update(ctx, "ShardProgress", "its progress", id, func(r *billing.Report) bool {
		shown, ok := m.progress[id]
		return running(r) && (!ok || shown < done)
	}, func(r *billing.Report) {
		m.progress[id] = done
		r.StatusMessage, r.DateUpdated = message, now.UTC()
	})
	return err
}
