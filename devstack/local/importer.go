package local

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/importfile"
)

// ImportOptions tune Import; the zero value is ready to use.
type ImportOptions struct {
	// Progress, if set, is told how far the import has got, about every chunk.
	Progress func(ImportProgress)
	// ChunkSize is how many usage events go to one PutUsage call; default 25,
	// one BatchWriteItem request, so that each writer has exactly one request
	// in flight and the number in flight stays Writers from start to end (a
	// bigger chunk idles at its tail while its last requests finish).
	ChunkSize int
	// Writers is how many PutUsage calls run at once; default 8. Reading the
	// file goes on meanwhile.
	Writers int
}

// ImportProgress is how far an import has got.
type ImportProgress struct {
	Phase string // "validating" or "writing"
	Done  int64  // bytes read while validating; usage events written while writing
	Total int64  // file size while validating; usage events to write while writing
}

// ImportSummary says what an import found and wrote.
type ImportSummary struct {
	importfile.Summary
	UsageWritten int64
	Validation   time.Duration
	Writing      time.Duration
}

// Import validates the whole of src first (spec 3.1: every bad line is
// reported and nothing is written if any line is bad), then writes accounts,
// customers and usage events through w. Writes are puts keyed by id, so
// importing the same file again changes nothing.
func Import(ctx context.Context, src importfile.Source, w billing.BillingDataWriter, opts ImportOptions) (ImportSummary, error) {
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = 25
	}
	if opts.Writers <= 0 {
		opts.Writers = 8
	}
	report := func(p ImportProgress) {
		if opts.Progress != nil {
			opts.Progress(p)
		}
	}
	var sum ImportSummary
	start := time.Now()
	ds, err := importfile.Validate(ctx, src, importfile.Options{Progress: func(p importfile.Progress) {
		report(ImportProgress{Phase: "validating", Done: p.Done, Total: p.Total})
	}})
	if err != nil {
		return sum, err
	}
	sum.Summary = ds.Summary
	sum.Validation = time.Since(start)

	start = time.Now()
	total := ds.Summary.UsageEvents
	report(ImportProgress{Phase: "writing", Total: total})
	if err := w.PutAccounts(ctx, ds.Accounts); err != nil {
		return sum, fmt.Errorf("writing %d accounts: %w", len(ds.Accounts), err)
	}
	if err := w.PutCustomers(ctx, ds.Customers); err != nil {
		return sum, fmt.Errorf("writing %d customers: %w", len(ds.Customers), err)
	}

	written, err := writeUsage(ctx, ds, src, w, opts, func(done int64) {
		report(ImportProgress{Phase: "writing", Done: done, Total: total})
	})
	sum.UsageWritten = written
	sum.Writing = time.Since(start)
	if err != nil {
		return sum, err
	}
	return sum, nil
}

// writeUsage streams ds's usage events from src to w in chunks of
// opts.ChunkSize, opts.Writers at once; the first write that fails stops the
// rest. progress gets the number written so far.
func writeUsage(ctx context.Context, ds *importfile.Dataset, src importfile.Source, w billing.BillingDataWriter, opts ImportOptions, progress func(done int64)) (int64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	chunks := make(chan []billing.UsageEvent, opts.Writers)
	var written atomic.Int64
	var wg sync.WaitGroup
	for range opts.Writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for chunk := range chunks {
				if ctx.Err() != nil {
					continue // drain, so the reader never blocks
				}
				if err := w.PutUsage(ctx, chunk); err != nil {
					cancel(fmt.Errorf("writing usage events: %w", err))
					continue
				}
				progress(written.Add(int64(len(chunk))))
			}
		}()
	}
	chunk := make([]billing.UsageEvent, 0, opts.ChunkSize)
	streamErr := ds.Usage(ctx, src, func(e *billing.UsageEvent) error {
		chunk = append(chunk, *e) // e is reused by the decoder
		if len(chunk) == opts.ChunkSize {
			select {
			case chunks <- chunk:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
			chunk = make([]billing.UsageEvent, 0, opts.ChunkSize)
		}
		return nil
	})
	if streamErr == nil && len(chunk) > 0 {
		chunks <- chunk
	}
	close(chunks)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && err != context.Canceled {
		return written.Load(), err
	}
	if streamErr != nil {
		return written.Load(), fmt.Errorf("reading usage events: %w", streamErr)
	}
	return written.Load(), nil
}
