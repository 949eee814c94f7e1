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
	"github.com/evovoice/billing/shardplan"
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
	shards     int
	result     *rating.Result
	plan       []shardplan.Shard // set instead of the rest when the report is split
}

// shortRead is what a run that ran short of time read: the first done days
// of shard, complete, in partial.
type shortRead struct {
	shard   shardplan.Shard
	partial *rating.Partial
	done    int
	read    int64 // events read in the time the run had, its measured capacity
}

// generate rates the report held by r's lease in this invocation and stores
// its CSV. A heartbeat publishes progress and extends the lease meanwhile;
// when it finds the lease lost, everything stops with errLeaseLost before
// the next write. When reading stops early (the invocation runs short of
// time), the days read completely come back as a shortRead with the error,
// so that the caller can hand the rest on as shards.
func (w *Worker) generate(ctx context.Context, log *slog.Logger, r *billing.Report, su *ratingSetup) (*generated, *shortRead, error) {
	var gen *generated
	var short *shortRead
	err := w.withHeartbeat(ctx, log, w.reportBeat(r), func(ctx context.Context, events *atomic.Int64) error {
		days := su.period.UTCDays()
		p, done, err := w.readShard(ctx, r.AccountID, su, days, events)
		if err != nil {
			short = &shortRead{partial: p, done: done, read: events.Load(), shard: shardplan.Shard{First: days[0], Last: days[len(days)-1]}}
			return err
		}
		gen, err = w.store(ctx, r, su, p)
		if gen != nil {
			gen.shards = 1
		}
		return err
	})
	return gen, short, err
}

// store rates the merged usage of a report and streams its CSV to its key.
func (w *Worker) store(ctx context.Context, r *billing.Report, su *ratingSetup, parts ...*rating.Partial) (*generated, error) {
	res, err := su.rate(parts...)
	if err != nil {
		return nil, err
	}
	key := resources.ReportObjectKey(r.AccountID, r.ID)
	n, err := w.upload(ctx, key, resources.ReportFileName(r.Request.StartDate.String(), r.Request.EndDate.String()), res, reportcsv.Options{IncludeCustomerIDs: r.Request.IncludeCustomerIDs})
	if err != nil {
		return nil, err
	}
	return &generated{
		key:        key,
		rows:       len(res.Rows),
		bytes:      n,
		events:     res.Counted,
		grandTotal: rating.FormatCents(res.Total.Total),
		zone:       su.period.Loc.String(),
		result:     res,
	}, nil
}

// withHeartbeat runs work while beat, every ProgressInterval, publishes the
// events counted so far and extends the lease; a beat that finds the lease
// lost (ECONFLICT) cancels work, and withHeartbeat returns errLeaseLost.
func (w *Worker) withHeartbeat(ctx context.Context, log *slog.Logger, beat func(ctx context.Context, events int64) error, work func(ctx context.Context, events *atomic.Int64) error) error {
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var events atomic.Int64
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		w.heartbeat(ctx, log, &events, stop, beat)
	}()
	defer func() { stop(nil); <-hbDone }()
	err := work(ctx, &events)
	if cause := context.Cause(ctx); errors.Is(cause, errLeaseLost) {
		return errLeaseLost
	}
	return err
}

// ratingSetup is what rating a report needs besides its usage: the
// account, its customers, and the period in the report's zone (the
// request's, else the account's, else UTC).
type ratingSetup struct {
	acct      billing.Account
	customers []billing.Customer
	period    rating.Period
	scope     string
}

func (w *Worker) ratingSetup(ctx context.Context, r *billing.Report) (*ratingSetup, error) {
	acct, err := w.d.Data.GetAccount(ctx, r.AccountID)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		return nil, billing.WrapError(billing.ENOTFOUND, err, "Account '%s' does not exist.", r.AccountID)
	} else if err != nil {
		return nil, fmt.Errorf("loading account: %w", err)
	}
	customers, err := w.d.Data.ListCustomers(ctx, r.AccountID)
	if err != nil {
		return nil, fmt.Errorf("loading customers: %w", err)
	}
	loc, err := billing.ReportZone(r.Request.TimeZoneID, acct.TimeZoneID)
	if err != nil {
		return nil, err
	}
	su := &ratingSetup{acct: *acct, customers: customers, scope: r.CustomerScope,
		period: rating.Period{Start: r.Request.StartDate, End: r.Request.EndDate, Loc: loc}}
	// Fail on a bad period or customer tree before any usage is read.
	if _, err := su.partialRater(); err != nil {
		return nil, err
	}
	return su, nil
}

func (su *ratingSetup) partialRater() (*rating.PartialRater, error) {
	return rating.NewPartialRater(su.acct, su.customers, su.period, su.scope)
}

// rate merges partials (in the order given: shard order) and rates them.
func (su *ratingSetup) rate(parts ...*rating.Partial) (*rating.Result, error) {
	merged, err := rating.MergePartials(parts...)
	if err != nil {
		return nil, fmt.Errorf("merging partials: %w", err)
	}
	rater, err := rating.NewRater(su.acct, su.customers, su.period, su.scope)
	if err != nil {
		return nil, err
	}
	if err := rater.AddPartial(merged); err != nil {
		return nil, fmt.Errorf("rating partials: %w", err)
	}
	return rater.Result(), nil
}

// rate rates the whole period's usage of r in this invocation, counting in
// events the events of the report's scope.
func (w *Worker) rate(ctx context.Context, r *billing.Report, events *atomic.Int64) (*rating.Result, *time.Location, error) {
	su, err := w.ratingSetup(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	days := su.period.UTCDays()
	p, _, err := w.readShard(ctx, r.AccountID, su, days, events)
	if err != nil {
		return nil, nil, err
	}
	res, err := su.rate(p)
	if err != nil {
		return nil, nil, err
	}
	return res, su.period.Loc, nil
}

// readShard reads days (concurrently, DayReadConcurrency at once) into an
// exact partial. Each day has its own partial until it is read completely;
// complete days join the result in day order. When reading stops early (the
// invocation runs short of time), the result holds exactly the first done
// days, complete, with the error: the caller can hand the other days on.
// events counts the events of the report's scope as they are read (spec
// 2.6: a Customer-scoped report must not reveal the account's volume).
func (w *Worker) readShard(ctx context.Context, accountID string, su *ratingSetup, days []billing.Date, events *atomic.Int64) (_ *rating.Partial, done int, _ error) {
	seed, err := su.partialRater()
	if err != nil {
		return nil, 0, err
	}
	// The days read completely so far, merged as each joins, so memory is
	// bounded by customers × items × months, not by days.
	acc := seed.Partial()
	raters := map[int]*rating.PartialRater{}
	finished := map[int]*rating.Partial{}
	from, to := su.period.Bounds()
	readErr := readDays(ctx, w.d.Data, accountID, days, from, to, w.cfg.DayReadConcurrency, func(day int, page []billing.UsageEvent) error {
		pr := raters[day]
		if pr == nil {
			if pr, err = su.partialRater(); err != nil {
				return err
			}
			raters[day] = pr
		}
		before := pr.Counted()
		for i := range page {
			if err := pr.Add(&page[i]); err != nil {
				return err
			}
		}
		events.Add(pr.Counted() - before)
		return nil
	}, func(day int) error {
		if pr := raters[day]; pr != nil {
			finished[day] = pr.Partial()
			delete(raters, day)
		} else {
			finished[day] = nil // a day without usage
		}
		for {
			p, ok := finished[done]
			if !ok {
				return nil
			}
			delete(finished, done)
			if p != nil {
				if acc, err = rating.MergePartials(acc, p); err != nil {
					return fmt.Errorf("merging days: %w", err)
				}
			}
			done++
		}
	})
	return acc, done, readErr
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

// heartbeat calls beat every ProgressInterval. ECONFLICT means another
// attempt took the lease: the work is cancelled with errLeaseLost. Other
// errors are only logged, since the lease has a margin of a whole invocation.
func (w *Worker) heartbeat(ctx context.Context, log *slog.Logger, events *atomic.Int64, stop context.CancelCauseFunc, beat func(ctx context.Context, events int64) error) {
	t := time.NewTicker(w.cfg.ProgressInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := beat(ctx, events.Load())
		if billing.ErrorCode(err) == billing.ECONFLICT {
			stop(errLeaseLost)
			return
		} else if err != nil && ctx.Err() == nil {
			log.Warn("updating progress", "err", err)
		}
	}
}

// reportBeat publishes the progress of a report run in one invocation
// ("Processed N usage records (0 of 1 shard)") and extends its lease.
func (w *Worker) reportBeat(r *billing.Report) func(ctx context.Context, events int64) error {
	return func(ctx context.Context, events int64) error {
		now := w.now()
		return w.d.Reports.UpdateProgress(ctx, r.ID, r.Attempt, progressMessage(events, 0, 1), now, now.Add(w.cfg.LeaseDuration))
	}
}

// progressMessage is the statusMessage of a running report (spec 4).
func progressMessage(events int64, done, shards int) string {
	return fmt.Sprintf("Processed %d usage records (%d of %d %s)", events, done, shards, shardWord(shards))
}

// completedMessage is the statusMessage of a completed report (spec 4), the
// same for one shard and many.
func completedMessage(events int64, shards int) string {
	return fmt.Sprintf("Completed: %d usage records in %d %s.", events, shards, shardWord(shards))
}

// shardWord is "shard" or "shards" for n: the message is read by people
// ("in 1 shard.", "in 12 shards.").
func shardWord(n int) string {
	if n == 1 {
		return "shard"
	}
	return "shards"
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
// paginated by the store, and hands every page to consume, with the index of
// its day, on the calling goroutine (raters are not safe for concurrent
// use); after a day's last page, dayDone (if not nil) learns that the day
// was read completely. Pages are copied into recycled buffers because the
// store reuses its slice; at most 2×concurrency+1 pages exist at a time, so
// memory does not grow with the number of events.
func readDays(ctx context.Context, data billing.BillingData, accountID string, days []billing.Date, from, to time.Time, concurrency int,
	consume func(day int, page []billing.UsageEvent) error, dayDone func(day int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r := &dayReader{ctx: ctx, cancel: cancel, pieces: make(chan dayPiece, max(concurrency, 1)),
		buffers: sync.Pool{New: func() any { return new([]billing.UsageEvent) }}}
	r.start(data, billing.UsageQuery{AccountID: accountID, From: from, To: to}, days, max(concurrency, 1))

	var consumeErr error
	for p := range r.pieces {
		if consumeErr == nil {
			if p.page == nil {
				if dayDone != nil {
					consumeErr = dayDone(p.day)
				}
			} else {
				consumeErr = consume(p.day, *p.page)
			}
			if consumeErr != nil {
				cancel(consumeErr)
			}
		}
		if p.page != nil {
			clear(*p.page) // drop string references before the buffer waits in the pool
			r.buffers.Put(p.page)
		}
	}
	if consumeErr != nil {
		return consumeErr
	}
	return context.Cause(ctx)
}

// dayPiece is a page of one day's usage; a nil page marks the day as read
// completely.
type dayPiece struct {
	day  int
	page *[]billing.UsageEvent
}

// dayReader is readDays' producer side: concurrency goroutines taking days
// in order and sending their pages, closing pieces when all are done.
type dayReader struct {
	ctx     context.Context
	cancel  context.CancelCauseFunc
	pieces  chan dayPiece
	buffers sync.Pool
}

func (r *dayReader) send(p dayPiece) error {
	select {
	case r.pieces <- p:
		return nil
	case <-r.ctx.Done():
		return context.Cause(r.ctx)
	}
}

func (r *dayReader) start(data billing.BillingData, q billing.UsageQuery, days []billing.Date, concurrency int) {
	dayIndex := make(chan int)
	var producers sync.WaitGroup
	for range min(concurrency, len(days)) {
		producers.Add(1)
		go func() {
			defer producers.Done()
			for i := range dayIndex {
				if err := r.readDay(data, q, days[i], i); err != nil {
					r.cancel(fmt.Errorf("reading usage of %s: %w", days[i], err))
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
			case <-r.ctx.Done():
				return
			}
		}
	}()
	go func() {
		producers.Wait()
		close(r.pieces)
	}()
}

// readDay sends the pages of one day, then its end.
func (r *dayReader) readDay(data billing.BillingData, q billing.UsageQuery, day billing.Date, i int) error {
	q.Day = day
	err := data.QueryUsage(r.ctx, q, func(page []billing.UsageEvent) error {
		if len(page) == 0 {
			return nil
		}
		buf := r.buffers.Get().(*[]billing.UsageEvent)
		*buf = append((*buf)[:0], page...)
		return r.send(dayPiece{day: i, page: buf})
	})
	if err != nil {
		return err
	}
	return r.send(dayPiece{day: i})
}
