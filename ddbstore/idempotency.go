package ddbstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/resources"
)

const (
	attrRequestHash = "requestHash"
	attrReportID    = "reportId"
)

// idempKey hashes the caller's key so that neither its length nor its text
// (which may identify the caller) is stored.
func idempKey(key string) map[string]types.AttributeValue {
	sum := sha256.Sum256([]byte(key))
	return map[string]types.AttributeValue{resources.ReportsPK: avS(idempPrefix + hex.EncodeToString(sum[:]))}
}

// PutIdempotency stores rec unless an unexpired record with the same key
// exists (ECONFLICT). A record is expired once now reaches ExpiresAt; the
// check is the code's own, as DynamoDB TTL deletes late and emulators never.
func (s *ReportStore) PutIdempotency(ctx context.Context, rec billing.IdempotencyRecord, now time.Time) error {
	if rec.Key == "" || rec.ReportID == "" || !rec.ExpiresAt.After(now) {
		return billing.Errorf(billing.EINVALID, "An idempotency record needs a key, a report and an expiry after now.")
	}
	it := idempKey(rec.Key)
	it[attrRequestHash] = avS(rec.RequestHash)
	it[attrReportID] = avS(rec.ReportID)
	it[resources.TTLAttribute] = avInt(rec.ExpiresAt.Unix())
	_, err := s.client.PutItem(ctx, &ddb.PutItemInput{
		TableName:                 aws.String(s.table),
		Item:                      it,
		ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #expiresAt <= :now"),
		ExpressionAttributeNames:  map[string]string{"#pk": resources.ReportsPK, "#expiresAt": resources.TTLAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": avInt(now.Unix())},
	})
	if err = translate(err, "storing an idempotency record"); isConflict(err) {
		return billing.WrapError(billing.ECONFLICT, err, "The Idempotency-Key was already used.")
	}
	return err
}

// GetIdempotency returns the unexpired record for key, or ENOTFOUND.
func (s *ReportStore) GetIdempotency(ctx context.Context, key string, now time.Time) (*billing.IdempotencyRecord, error) {
	out, err := s.client.GetItem(ctx, &ddb.GetItemInput{TableName: aws.String(s.table), Key: idempKey(key), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, translate(err, "reading an idempotency record")
	}
	if out.Item == nil || getInt(out.Item, resources.TTLAttribute) <= now.Unix() {
		return nil, billing.Errorf(billing.ENOTFOUND, "No idempotency record for this key.")
	}
	return &billing.IdempotencyRecord{
		Key:         key,
		RequestHash: getS(out.Item, attrRequestHash),
		ReportID:    getS(out.Item, attrReportID),
		ExpiresAt:   time.Unix(getInt(out.Item, resources.TTLAttribute), 0).UTC(),
	}, nil
}
