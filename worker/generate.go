package worker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/rating"
	"github.com/evovoice/billing/reportcsv"
	"github.com/evovoice/billing/resources"
)

// errLeaseLost stops an attempt whose lease another attempt has taken: from then
// on it must write nothing.
var errLeaseLost = errors.New("the report's lease was taken by another attempt")

// generated is what one successful generation produced.
type generated struct {
	key        string
	rows       int
	bytes      int64
	events     int64
	grandTotal string
	zone       string
	result     *rating.Result
}

// generate rates the report held by r's lease and stores its CSV. A heartbeat
// publishes progress and extends the lease meanwhile; when it finds the lease
// lost, everything stops with errLeaseLost before the next write.
func (w *Worker) generate(ctx context.Context, log *slog.Logger, r *billing.Report) (*generated, error) {
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var events atomic.Int64
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		w.heartbeat(ctx, log, r, &events, stop)
	}()
	defer func() { stop(nil); <-hbDone }()

	res, loc, err := w.rate(ctx, r, &events)
	if cause := context.Cause(ctx); errors.Is(cause, errLeaseLost) {
		return nil, errLeaseLost
	}
	if err != nil {
		return nil, err
	}

	key := resources.ReportObjectKey(r.AccountID, r.ID)
	n, err := w.upload(ctx, key, resources.ReportFileName(r.Request.StartDate.String(), r.Request.EndDate.String()), res, reportcsv.Options{IncludeCustomerIDs: r.Request.IncludeCustomerIDs})
	if cause := context.Cause(ctx); errors.Is(cause, errLeaseLost) {
		return nil, errLeaseLost
	}
	if err != nil {
		return nil, err
	}
	return &generated{
		key:        key,
		rows:       len(res.Rows),
		bytes:      n,
		events:     events.Load(),
		grandTotal: rating.FormatCents(res.Total.Total),
		zone:       loc.String(),
		result:     res,
	}, nil
}

// rate loads the report's account, customers and zone (the request's, else
// the account's, else UTC) and rates the period's usage, counting in events
// the events of the report's scope.
func (w *Worker) rate(ctx context.Context, r *billing.Report, events *atomic.Int64) (*rating.Result, *time.Location, error) {
	acct, err := w.d.Data.GetAccount(ctx, r.AccountID)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		return nil, nil, billing.WrapError(billing.ENOTFOUND, err, "Account '%s' does not exist.", r.AccountID)
	} else if err != nil {
		return nil, nil, fmt.Errorf("loading account: %w", err)
	}
	customers, err := w.d.Data.ListCustomers(ctx, r.AccountID)
	if err != nil {
		return nil, nil, fmt.Errorf("loading customers: %w", err)
	}
	zone := r.Request.TimeZoneID
	if zone == "" {
		zone = acct.TimeZoneID
	}
	loc, err := billing.LoadZone(zone)
	if err != nil {
		return nil, nil, err
	}
	period := rating.Period{Start: r.Request.StartDate, End: r.Request.EndDate, Loc: loc}
	rater, err := rating.NewRater(*acct, customers, period, r.CustomerScope)
	if err != nil {
		return nil, nil, err
	}
	from, to := period.Bounds()
	err = readDays(ctx, w.d.Data, r.AccountID, period.UTCDays(), from, to, w.cfg.DayReadConcurrency, func(page []billing.UsageEvent) error {
		for i := range page {
			if err := rater.Add(&page[i]); err != nil {
				return err
			}
		}
		// Only the events of the report's scope: every event of the account
		// is read, but a Customer-scoped report's progress, email and
		// webhook must not reveal the account's volume (spec 2.6).
		events.Store(rater.Counted())
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return rater.Result(), loc, nil
}

// regenerate rebuilds what the notification of a Completed report shows (its
// rows, largest customers and zone) when the attempt that produced it could
// not send it: a crash or a store outage came between FinishReport and the
// notification claim, and only a redelivery is left to do it. It re-rates the
// usage, which costs a read like the report's own, but only on that rare path
// and only while the notification is unclaimed. Usage may have changed since
// (a late import): the rows are used only if they add up to the stored row
// count and grand total, so the email and the webhook never contradict the
// CSV; otherwise, or on a permanent failure, the notification goes without
// them (nil). Only a retryable failure is returned, so the message can be
// retried while the store is down.
func (w *Worker) regenerate(ctx context.Context, log *slog.Logger, r *billing.Report) (*generated, error) {
	if r.Status != billing.ReportCompleted || !r.NotifiedAt.IsZero() ||
		r.Request.EmailAddressToNotify == "" && r.Request.WebhookURL == "" {
		return nil, nil
	}
	var events atomic.Int64
	res, loc, err := w.rate(ctx, r, &events)
	if err != nil {
		if billing.IsRetryable(err) {
			return nil, fmt.Errorf("re-rating for the notification: %w", err)
		}
		log.Warn("re-rating for the notification failed; notifying without rows", "err", err)
		return nil, nil
	}
	total := rating.FormatCents(res.Total.Total)
	if len(res.Rows) != r.RowCount || total != r.GrandTotal {
		log.Warn("usage changed since the report was produced; notifying without rows",
			"rows", len(res.Rows), "storedRows", r.RowCount, "total", total, "storedTotal", r.GrandTotal)
		return nil, nil
	}
	return &generated{
		key: r.ObjectKey, rows: r.RowCount, bytes: r.ByteSize, events: events.Load(),
		grandTotal: total, zone: loc.String(), result: res,
	}, nil
}

// heartbeat publishes "Processed N usage records" every ProgressInterval and
// extends the lease with it. ECONFLICT means another attempt took the lease:
// the generation is cancelled with errLeaseLost. Other errors are only logged,
// since the lease has a margin of a whole invocation.
func (w *Worker) heartbeat(ctx context.Context, log *slog.Logger, r *billing.Report, events *atomic.Int64, stop context.CancelCauseFunc) {
	t := time.NewTicker(w.cfg.ProgressInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := w.now()
		msg := fmt.Sprintf("Processed %d usage records", events.Load())
		err := w.d.Reports.UpdateProgress(ctx, r.ID, r.Attempt, msg, now, now.Add(w.cfg.LeaseDuration))
		if billing.ErrorCode(err) == billing.ECONFLICT {
			stop(errLeaseLost)
			return
		} else if err != nil && ctx.Err() == nil {
			log.Warn("updating progress", "err", err)
		}
	}
}

// upload streams the CSV of res into the store through a pipe, so the file is
// never held in memory, and returns its size.
func (w *Worker) upload(ctx context.Context, key, fileName string, res *rating.Result, opts reportcsv.Options) (int64, error) {
	pr, pw := io.Pipe()
	written := make(chan int64, 1)
	go func() {
		cw := &countingWriter{w: pw}
		bw := bufio.NewWriterSize(cw, 64<<10)
		err := reportcsv.Write(bw, res, opts)
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
		written <- cw.n
	}()
	stored, err := w.d.Files.PutReport(ctx, key, pr, fileName)
	// Unblocks the writer if the store gave up before reading everything.
	pr.CloseWithError(errors.New("upload stopped"))
	n := <-written
	if err != nil {
		return 0, fmt.Errorf("storing the report file: %w", err)
	}
	if stored != n {
		return 0, billing.Errorf(billing.EUNAVAILABLE, "The report file store kept %d of %d bytes.", stored, n)
	}
	return n, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// readDays reads the usage of days, at most concurrency days at once, each
// paginated by the store, and hands every page to consume on the calling
// goroutine (the rater is not safe for concurrent use). Pages are copied into
// recycled buffers because the store reuses its slice; at most 2×concurrency+1
// pages exist at a time, so memory does not grow with the number of events.
func readDays(ctx context.Context, data billing.BillingData, accountID string, days []billing.Date, from, to time.Time, concurrency int, consume func([]billing.UsageEvent) error) error {
	if concurrency < 1 {
		concurrency = 1
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	pages := make(chan *[]billing.UsageEvent, concurrency)
	buffers := sync.Pool{New: func() any { return new([]billing.UsageEvent) }}
	dayIndex := make(chan int)
	var producers sync.WaitGroup
	for range min(concurrency, len(days)) {
		producers.Add(1)
		go func() {
			defer producers.Done()
			for i := range dayIndex {
				q := billing.UsageQuery{AccountID: accountID, Day: days[i], From: from, To: to}
				err := data.QueryUsage(ctx, q, func(page []billing.UsageEvent) error {
					if len(page) == 0 {
						return nil
					}
					buf := buffers.Get().(*[]billing.UsageEvent)
					*buf = append((*buf)[:0], page...)
					select {
					case pages <- buf:
						return nil
					case <-ctx.Done():
						return context.Cause(ctx)
					}
				})
				if err != nil {
					cancel(fmt.Errorf("reading usage of %s: %w", days[i], err))
					return
				}
			}
		}()
	}
	go func() {
		defer close(dayIndex)
		for i := range days {
			select {
			case dayIndex <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		producers.Wait()
		close(pages)
	}()

	var consumeErr error
	for buf := range pages {
		if consumeErr == nil {
			if consumeErr = consume(*buf); consumeErr != nil {
				cancel(consumeErr)
			}
		}
		clear(*buf) // drop string references before the buffer waits in the pool
		buffers.Put(buf)
	}
	if consumeErr != nil {
		return consumeErr
	}
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return nil
}
