package ddbstore

import (
	"context"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/resources"
)

// The shard state of a sharded report lives on its report item, so that
// every transition is one conditional UpdateItem (the emulator has no
// transactions) and one GetReport reads it all:
//
//	shards        SS  planned shard ids; hand-ons are ADDed
//	shardsDone    SS  ids counted done: ADD under NOT contains, so once
//	shardRecords  N   usage records of the done shards
//	shardOwner    M   shard id -> lease owner
//	shardExpires  M   shard id -> lease expiry (fixed-width time: byte order is time order)
//	shardTries    M   shard id -> leases taken
//	shardProgress N   the done count whose statusMessage is shown
//	shardCount    N   shards of the finished report
const (
	attrShards        = "shards"
	attrShardsDone    = "shardsDone"
	attrShardRecords  = "shardRecords"
	attrShardOwner    = "shardOwner"
	attrShardExpires  = "shardExpires"
	attrShardTries    = "shardTries"
	attrShardProgress = "shardProgress"
	attrShardCount    = "shardCount"
)

func shardNames() map[string]string {
	return map[string]string{
		"#status": attrStatus, "#shards": attrShards, "#done": attrShardsDone, "#records": attrShardRecords,
		"#owner": attrShardOwner, "#expires": attrShardExpires, "#tries": attrShardTries,
		"#dateUpdated": attrDateUpdated, "#updatedKey": resources.ReportsByStatusSK,
	}
}

func touchValues(id string, now time.Time, vals map[string]types.AttributeValue) map[string]types.AttributeValue {
	vals[":now"] = avS(timeKey(now))
	vals[":updatedKey"] = avS(timeIDKey(now, id))
	return withStatusValues(vals)
}

// StartShards records a report's plan, once, for the attempt holding its
// lease; the lease maps start empty so that shard leases can be set by path.
func (s *ReportStore) StartShards(ctx context.Context, id string, attempt int, shards []string, message string, now time.Time) (*billing.Report, error) {
	if len(shards) == 0 {
		return nil, billing.Errorf(billing.EINVALID, "A sharded report needs at least one shard.")
	}
	names := shardNames()
	names["#attempt"], names["#statusMessage"] = attrAttempt, attrStatusMessage
	empty := &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}
	return s.update(ctx, id, "recording the shards of report "+id, &ddb.UpdateItemInput{
		UpdateExpression: aws.String("SET #shards = :shards, #owner = :empty, #expires = :empty, #tries = :empty, " +
			"#statusMessage = :message, #dateUpdated = :now, #updatedKey = :updatedKey"),
		ConditionExpression:      aws.String("#status = :running AND #attempt = :attempt AND attribute_not_exists(#shards)"),
		ExpressionAttributeNames: names,
		ExpressionAttributeValues: touchValues(id, now, map[string]types.AttributeValue{
			":shards": avSS(shards...), ":empty": empty, ":message": avS(message), ":attempt": avInt(int64(attempt)),
		}),
	})
}

// AcquireShardLease takes the lease of shard (or "finalize") if it is not
// counted done and its lease, if any, expired before lease.Now.
func (s *ReportStore) AcquireShardLease(ctx context.Context, id, shard string, lease billing.Lease) (*billing.Report, error) {
	names := shardNames()
	names["#sid"] = shard
	return s.update(ctx, id, "acquiring the lease of shard "+shard+" of report "+id, &ddb.UpdateItemInput{
		UpdateExpression: aws.String("SET #owner.#sid = :owner, #expires.#sid = :expires, #tries.#sid = if_not_exists(#tries.#sid, :zero) + :one, " +
			"#dateUpdated = :now, #updatedKey = :updatedKey"),
		ConditionExpression: aws.String("#status = :running AND attribute_exists(#expires) AND NOT contains(#done, :sid) AND " +
			"(attribute_not_exists(#expires.#sid) OR #expires.#sid < :now)"),
		ExpressionAttributeNames: names,
		ExpressionAttributeValues: touchValues(id, lease.Now, map[string]types.AttributeValue{
			":owner": avS(lease.Server), ":expires": avS(timeKey(lease.Expires)), ":zero": avInt(0), ":one": avInt(1), ":sid": avS(shard),
		}),
	})
}

// ExtendShardLease moves the expiry of owner's lease of shard (an expiry in
// the past releases it).
func (s *ReportStore) ExtendShardLease(ctx context.Context, id, shard, owner string, now, expires time.Time) error {
	names := shardNames()
	names["#sid"] = shard
	_, err := s.update(ctx, id, "extending the lease of shard "+shard+" of report "+id, &ddb.UpdateItemInput{
		UpdateExpression:         aws.String("SET #expires.#sid = :expires, #dateUpdated = :now, #updatedKey = :updatedKey"),
		ConditionExpression:      aws.String("#status = :running AND #owner.#sid = :owner AND NOT contains(#done, :sid)"),
		ExpressionAttributeNames: names,
		ExpressionAttributeValues: touchValues(id, now, map[string]types.AttributeValue{
			":owner": avS(owner), ":expires": avS(timeKey(expires)), ":sid": avS(shard),
		}),
	})
	return err
}

// CompleteShard counts shard done for its lease owner, once: the condition
// NOT contains(shardsDone) makes a duplicate or late completion an
// ECONFLICT that changes nothing. The records and the hand-on shards are
// added in the same write.
func (s *ReportStore) CompleteShard(ctx context.Context, id, shard, owner string, records int64, handOn []string, now time.Time) (*billing.Report, error) {
	names := shardNames()
	names["#sid"] = shard
	vals := map[string]types.AttributeValue{
		":owner": avS(owner), ":sid": avS(shard), ":sidSet": avSS(shard), ":records": avInt(records),
	}
	add := "ADD #done :sidSet, #records :records"
	if len(handOn) > 0 {
		add += ", #shards :handOn"
		vals[":handOn"] = avSS(handOn...)
	}
	return s.update(ctx, id, "counting shard "+shard+" of report "+id+" done", &ddb.UpdateItemInput{
		UpdateExpression:          aws.String("SET #dateUpdated = :now, #updatedKey = :updatedKey " + add),
		ConditionExpression:       aws.String("#status = :running AND #owner.#sid = :owner AND NOT contains(#done, :sid)"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: touchValues(id, now, vals),
	})
}

// ShardProgress shows message unless the message of a later count is
// shown already (completions may record their progress out of order).
func (s *ReportStore) ShardProgress(ctx context.Context, id string, done int, message string, now time.Time) error {
	names := shardNames()
	names["#progress"], names["#statusMessage"] = attrShardProgress, attrStatusMessage
	_, err := s.update(ctx, id, "updating the progress of report "+id, &ddb.UpdateItemInput{
		UpdateExpression:         aws.String("SET #statusMessage = :message, #progress = :done, #dateUpdated = :now, #updatedKey = :updatedKey"),
		ConditionExpression:      aws.String("#status = :running AND (attribute_not_exists(#progress) OR #progress < :done)"),
		ExpressionAttributeNames: names,
		ExpressionAttributeValues: touchValues(id, now, map[string]types.AttributeValue{
			":message": avS(message), ":done": avInt(int64(done)),
		}),
	})
	return err
}

// decodeShards reads the shard attributes of a report item into r.
func decodeShards(it item, r *billing.Report) {
	r.Shards = slices.Sorted(slices.Values(getSS(it, attrShards)))
	r.ShardsDone = slices.Sorted(slices.Values(getSS(it, attrShardsDone)))
	if len(r.Shards) == 0 {
		r.Shards, r.ShardsDone = nil, nil
	}
	r.ShardRecords = getInt(it, attrShardRecords)
	r.ShardCount = int(getInt(it, attrShardCount))
	owners, _ := it[attrShardOwner].(*types.AttributeValueMemberM)
	if owners == nil {
		return
	}
	expires, _ := it[attrShardExpires].(*types.AttributeValueMemberM)
	tries, _ := it[attrShardTries].(*types.AttributeValueMemberM)
	r.ShardLeases = make(map[string]billing.ShardLease, len(owners.Value))
	for sid := range owners.Value {
		l := billing.ShardLease{Owner: getS(owners.Value, sid)}
		if expires != nil {
			l.Expires = getTime(expires.Value, sid)
		}
		if tries != nil {
			l.Attempts = int(getInt(tries.Value, sid))
		}
		r.ShardLeases[sid] = l
	}
}
