package ddbstore

// Tests of this file need no emulator: they drive the stores through
// hand-written fakes of the SDK client, so they run in `make test-unit`. The
// dynalite tests are in the files tagged `integration`.

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	billing "github.com/evovoice/billing"
)

var t0 = time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := billing.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func usageEvent(acct, id string, at time.Time, qty string) billing.UsageEvent {
	return billing.UsageEvent{ID: id, AccountID: acct, CustomerID: "c-1", Time: at, Item: billing.ItemInboundVoiceCalls, RawQuantity: qty}
}

func TestBatchWritesRetryUnprocessedItems(t *testing.T) {
	var mu sync.Mutex
	written, throttled := map[string]int{}, map[string]bool{}
	calls := 0
	fake := &fakeBillingAPI{batchWriteItem: func(in *ddb.BatchWriteItemInput) (*ddb.BatchWriteItemOutput, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		var unprocessed []types.WriteRequest
		for _, reqs := range in.RequestItems {
			if len(reqs) > maxBatchWrite {
				return nil, fmt.Errorf("batch of %d items", len(reqs))
			}
			for i, r := range reqs {
				// Throttle every other item the first time it is seen.
				sk := getS(r.PutRequest.Item, "sk")
				if i%2 == 1 && !throttled[sk] {
					throttled[sk] = true
					unprocessed = append(unprocessed, r)
					continue
				}
				written[sk]++
			}
		}
		out := &ddb.BatchWriteItemOutput{}
		if len(unprocessed) > 0 {
			out.UnprocessedItems = map[string][]types.WriteRequest{"t": unprocessed}
		}
		return out, nil
	}}
	s := NewBillingStore(fake, "t", func(o *Options) { o.RetryBaseDelay, o.RetryMaxDelay = time.Millisecond, 5*time.Millisecond })
	var events []billing.UsageEvent
	for i := range 100 {
		events = append(events, usageEvent("a", fmt.Sprintf("u-%03d", i), t0.Add(time.Duration(i)*time.Second), "1"))
	}
	if err := s.PutUsage(context.Background(), events); err != nil {
		t.Fatalf("PutUsage: %v", err)
	}
	for _, ev := range events {
		if n := written[usageSortKey(ev.Time, ev.ID)]; n != 1 {
			t.Fatalf("event %s written %d times, want 1", ev.ID, n)
		}
	}
	if calls != 8 {
		t.Errorf("%d BatchWriteItem calls, want 4 batches + 4 retries", calls)
	}

	// A table that never accepts is EUNAVAILABLE after MaxWriteAttempts tries.
	tries := 0
	stuck := &fakeBillingAPI{batchWriteItem: func(in *ddb.BatchWriteItemInput) (*ddb.BatchWriteItemOutput, error) {
		tries++
		return &ddb.BatchWriteItemOutput{UnprocessedItems: in.RequestItems}, nil
	}}
	s = NewBillingStore(stuck, "t", func(o *Options) {
		o.MaxWriteAttempts, o.RetryBaseDelay, o.RetryMaxDelay = 3, time.Millisecond, time.Millisecond
	})
	err := s.PutUsage(context.Background(), events[:1])
	wantCode(t, err, billing.EUNAVAILABLE)
	if tries != 3 {
		t.Errorf("%d tries, want 3", tries)
	}
}

func TestFitsNumber(t *testing.T) {
	for s, want := range map[string]bool{
		"0": true, "0.000": true, "1": true, "3600": true, "0.0100": true,
		"12345678901234567890123456789012345678":         true,  // 38 digits
		"123456789012345678901234567890123456789":        false, // 39
		"1234567890123456789012345678901234567800":       true,  // 38 significant
		"0.00000000000000000000000000000000000000001234": true,
		"1e125": true, "9.99e125": true, "1e126": false,
		"1e-130": true, "1e-131": false, "0.1e-129": true,
	} {
		if got := fitsNumber(s); got != want {
			t.Errorf("fitsNumber(%q) = %v, want %v", s, got, want)
		}
	}
}

// fakeBillingAPI is a hand-written BillingAPI whose calls tests choose.
type fakeBillingAPI struct {
	getItem        func(*ddb.GetItemInput) (*ddb.GetItemOutput, error)
	query          func(*ddb.QueryInput) (*ddb.QueryOutput, error)
	batchWriteItem func(*ddb.BatchWriteItemInput) (*ddb.BatchWriteItemOutput, error)
}

func (f *fakeBillingAPI) GetItem(_ context.Context, in *ddb.GetItemInput, _ ...func(*ddb.Options)) (*ddb.GetItemOutput, error) {
	return f.getItem(in)
}

func (f *fakeBillingAPI) Query(_ context.Context, in *ddb.QueryInput, _ ...func(*ddb.Options)) (*ddb.QueryOutput, error) {
	return f.query(in)
}

func (f *fakeBillingAPI) BatchWriteItem(_ context.Context, in *ddb.BatchWriteItemInput, _ ...func(*ddb.Options)) (*ddb.BatchWriteItemOutput, error) {
	return f.batchWriteItem(in)
}
