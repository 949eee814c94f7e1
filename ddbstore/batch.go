package ddbstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/resources"
)

// maxBatchWrite is DynamoDB's limit of items per BatchWriteItem.
const maxBatchWrite = 25

// batchPut writes items in batches of 25 with at most WriteConcurrency
// requests in flight. Items DynamoDB leaves unprocessed (throttling) are sent
// again after exponential backoff with full jitter. Writes are PutItems keyed
// by id, so a retried call rewrites the same items.
func (s *BillingStore) batchPut(ctx context.Context, what string, items []map[string]types.AttributeValue) error {
	items = dedupeByKey(items)
	if len(items) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []types.WriteRequest)
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	for range min(s.opts.WriteConcurrency, (len(items)+maxBatchWrite-1)/maxBatchWrite) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range batches {
				if err := s.writeBatch(ctx, batch); err != nil {
					once.Do(func() { firstErr = err; cancel() })
				}
			}
		}()
	}
send:
	for start := 0; start < len(items); start += maxBatchWrite {
		batch := make([]types.WriteRequest, 0, maxBatchWrite)
		for _, it := range items[start:min(start+maxBatchWrite, len(items))] {
			batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: it}})
		}
		select {
		case batches <- batch:
		case <-ctx.Done():
			break send
		}
	}
	close(batches)
	wg.Wait()
	if firstErr != nil {
		return fmt.Errorf("writing %s: %w", what, firstErr)
	}
	return ctx.Err()
}

func (s *BillingStore) writeBatch(ctx context.Context, batch []types.WriteRequest) error {
	for attempt := 1; ; attempt++ {
		out, err := s.client.BatchWriteItem(ctx, &ddb.BatchWriteItemInput{
			RequestItems: map[string][]types.WriteRequest{s.table: batch},
		})
		if err != nil {
			return translate(err, "writing a batch of items")
		}
		batch = out.UnprocessedItems[s.table]
		if len(batch) == 0 {
			return nil
		}
		if attempt >= s.opts.MaxWriteAttempts {
			return billing.Errorf(billing.EUNAVAILABLE, "The data store is throttling writes (%d items still unprocessed after %d tries); try again later.", len(batch), attempt)
		}
		select {
		case <-time.After(s.backoff(attempt)):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// backoff is the delay before try attempt+1: exponential with full jitter, so
// concurrent writers that were throttled together do not retry together.
func (s *BillingStore) backoff(attempt int) time.Duration {
	ceiling := s.opts.RetryBaseDelay << min(attempt-1, 20)
	if ceiling <= 0 || ceiling > s.opts.RetryMaxDelay {
		ceiling = s.opts.RetryMaxDelay
	}
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling) + 1
}

// dedupeByKey keeps the last of items with the same key: BatchWriteItem
// rejects a batch with duplicate keys, and the last write would win anyway.
func dedupeByKey(items []map[string]types.AttributeValue) []map[string]types.AttributeValue {
	seen := make(map[[2]string]int, len(items))
	out := items[:0:0]
	for _, it := range items {
		k := [2]string{getS(it, resources.BillingPK), getS(it, resources.BillingSK)}
		if i, ok := seen[k]; ok {
			out[i] = it
			continue
		}
		seen[k] = len(out)
		out = append(out, it)
	}
	return out
}
