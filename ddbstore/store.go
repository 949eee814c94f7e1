package ddbstore

import (
	"context"
	"log/slog"
	"time"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// ReportsAPI is the part of the DynamoDB client ReportStore uses.
type ReportsAPI interface {
	GetItem(ctx context.Context, in *ddb.GetItemInput, optFns ...func(*ddb.Options)) (*ddb.GetItemOutput, error)
	PutItem(ctx context.Context, in *ddb.PutItemInput, optFns ...func(*ddb.Options)) (*ddb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *ddb.UpdateItemInput, optFns ...func(*ddb.Options)) (*ddb.UpdateItemOutput, error)
	Query(ctx context.Context, in *ddb.QueryInput, optFns ...func(*ddb.Options)) (*ddb.QueryOutput, error)
}

// BillingAPI is the part of the DynamoDB client BillingStore uses.
type BillingAPI interface {
	GetItem(ctx context.Context, in *ddb.GetItemInput, optFns ...func(*ddb.Options)) (*ddb.GetItemOutput, error)
	Query(ctx context.Context, in *ddb.QueryInput, optFns ...func(*ddb.Options)) (*ddb.QueryOutput, error)
	BatchWriteItem(ctx context.Context, in *ddb.BatchWriteItemInput, optFns ...func(*ddb.Options)) (*ddb.BatchWriteItemOutput, error)
}

// Options tune the stores. The zero value of each field means its default.
type Options struct {
	// Logger receives warnings about repairs the store leaves for later
	// (e.g. an active slot it could not release). Default slog.Default().
	Logger *slog.Logger

	// WriteConcurrency bounds the BatchWriteItem requests in flight per call of
	// PutUsage, PutAccounts or PutCustomers. Default 4.
	WriteConcurrency int
	// MaxWriteAttempts bounds the tries of one batch whose items DynamoDB left
	// unprocessed (throttling); then the write fails with EUNAVAILABLE.
	// Default 10.
	MaxWriteAttempts int
	// RetryBaseDelay and RetryMaxDelay shape the exponential backoff (with full
	// jitter) between those tries. Defaults 50ms and 5s.
	RetryBaseDelay, RetryMaxDelay time.Duration

	// UsagePageSize is the Limit of each usage Query page, bounding the memory
	// of one page. Default 1000 (DynamoDB also stops a page at 1 MB).
	UsagePageSize int
	// EventuallyConsistentUsage reads usage with eventually consistent queries
	// (half the read cost). By default reads are strongly consistent, so a
	// report run right after an import sees all of it.
	EventuallyConsistentUsage bool

	// Now is the store's clock, for the times it records itself (when a
	// schedule slot was taken). Default time.Now.
	Now func() time.Time
}

func (o Options) now() time.Time {
	if o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

func newOptions(optFns []func(*Options)) Options {
	o := Options{
		WriteConcurrency: 4,
		MaxWriteAttempts: 10,
		RetryBaseDelay:   50 * time.Millisecond,
		RetryMaxDelay:    5 * time.Second,
		UsagePageSize:    1000,
	}
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.WriteConcurrency < 1 {
		o.WriteConcurrency = 1
	}
	if o.MaxWriteAttempts < 1 {
		o.MaxWriteAttempts = 1
	}
	if o.UsagePageSize < 1 {
		o.UsagePageSize = 1000
	}
	return o
}
