package worker

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
)

// fakeClock is a settable clock shared by the worker and the fakes.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// unavailableIfDone mimics an SDK call made with a cancelled context: it fails,
// which is what a killed or timed-out invocation's last writes do.
func unavailableIfDone(ctx context.Context) error {
	if ctx.Err() != nil {
		return billing.WrapError(billing.EUNAVAILABLE, ctx.Err(), "The report store is unavailable.")
	}
	return nil
}

// memReports is an in-memory billing.ReportStore with the state machine of
// ports.go. The before* fields inject failures: a non-nil error is returned
// instead of doing the operation.
type memReports struct {
	mu       sync.Mutex
	reports  map[string]*billing.Report
	progress []string // every UpdateProgress message accepted
	claims   int
	reconc   []string

	beforeAcquire  func(id string) error
	beforeFinish   func(id string, attempt int, out billing.Outcome) error
	beforeProgress func(id string, attempt int, msg string) error
	beforeClaim    func(id string) error

	beforeShardLease func(id, shard string) error
	beforeComplete   func(id, shard string) error
	completions      int            // shards counted done
	progressDone     map[string]int // ShardProgress's latest count by report
}

func newMemReports() *memReports { return &memReports{reports: map[string]*billing.Report{}} }

func conflict(format string, args ...any) error {
	return billing.Errorf(billing.ECONFLICT, format, args...)
}

func (m *memReports) put(r *billing.Report) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := cloneReport(r)
	m.reports[r.ID] = c
}

func (m *memReports) get(id string) billing.Report {
	m.mu.Lock()
	defer m.mu.Unlock()
	return *cloneReport(m.reports[id])
}

// cloneReport copies r deeply: the worker must not see the store's slices.
func cloneReport(r *billing.Report) *billing.Report {
	c := *r
	c.Shards, c.ShardsDone, c.ShardLeases = slices.Clone(r.Shards), slices.Clone(r.ShardsDone), maps.Clone(r.ShardLeases)
	return &c
}

// The shard methods follow the conditions of the DynamoDB adapter.

func (m *memReports) StartShards(ctx context.Context, id string, attempt int, shards []string, message string, now time.Time) (*billing.Report, error) {
	if err := unavailableIfDone(ctx); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.reports[id]
	if r == nil || r.Status != billing.ReportRunning || r.Attempt != attempt || len(r.Shards) > 0 {
		return nil, conflict("not the planner")
	}
	r.Shards = slices.Sorted(slices.Values(shards))
	r.ShardLeases = map[string]billing.ShardLease{}
	r.StatusMessage, r.DateUpdated = message, now
	m.progress = append(m.progress, message)
	return cloneReport(r), nil
}

func (m *memReports) AcquireShardLease(ctx context.Context, id, shard string, l billing.Lease) (*billing.Report, error) {
	if err := unavailableIfDone(ctx); err != nil {
		return nil, err
	}
	if m.beforeShardLease != nil {
		if err := m.beforeShardLease(id, shard); err != nil {
			return nil, err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.reports[id]
	if r == nil || r.Status != billing.ReportRunning || slices.Contains(r.ShardsDone, shard) {
		return nil, conflict("shard not open")
	}
	if old, ok := r.ShardLeases[shard]; ok && !old.Expires.Before(l.Now) {
		return nil, conflict("shard lease held")
	}
	old := r.ShardLeases[shard]
	r.ShardLeases[shard] = billing.ShardLease{Owner: l.Server, Expires: l.Expires, Attempts: old.Attempts + 1}
	r.DateUpdated = l.Now
	return cloneReport(r), nil
}

func (m *memReports) ExtendShardLease(ctx context.Context, id, shard, owner string, now, expires time.Time) error {
	if err := unavailableIfDone(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.reports[id]
	if r == nil || r.Status != billing.ReportRunning || r.ShardLeases[shard].Owner != owner || slices.Contains(r.ShardsDone, shard) {
		return conflict("shard lease lost")
	}
	l := r.ShardLeases[shard]
	l.Expires = expires
	r.ShardLeases[shard] = l
	r.DateUpdated = now
	return nil
}

func (m *memReports) CompleteShard(ctx context.Context, id, shard, owner string, records int64, handOn []string, now time.Time) (*billing.Report, error) {
	if err := unavailableIfDone(ctx); err != nil {
		return nil, err
	}
	if m.beforeComplete != nil {
		if err := m.beforeComplete(id, shard); err != nil {
			return nil, err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.reports[id]
	if r == nil || r.Status != billing.ReportRunning || r.ShardLeases[shard].Owner != owner || slices.Contains(r.ShardsDone, shard) {
		return nil, conflict("shard lease lost or shard counted")
	}
	r.ShardsDone = slices.Sorted(slices.Values(append(r.ShardsDone, shard)))
	r.Shards = slices.Sorted(slices.Values(append(r.Shards, handOn...)))
	r.ShardRecords += records
	r.DateUpdated = now
	m.completions++
	return cloneReport(r), nil
}

func (m *memReports) ShardProgress(ctx context.Context, id string, done int, message string, now time.Time) error {
	if err := unavailableIfDone(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.reports[id]
	if r == nil || r.Status != billing.ReportRunning || done < m.progressDone[id] {
		return conflict("later progress recorded")
	}
	if m.progressDone == nil {
		m.progressDone = map[string]int{}
	}
	m.progressDone[id] = done
	r.StatusMessage, r.DateUpdated = message, now
	m.progress = append(m.progress, message)
	return nil
}

func (m *memReports) CreateReport(ctx context.Context, r *billing.Report, limits billing.SlotLimits) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.reports[r.ID]; ok {
		return conflict("exists")
	}
	// The adapter's rule, counted under the lock.
	if e := limits.RefusalAmong(r, slices.Collect(maps.Values(m.reports))); e != nil {
		return e
	}
	c := cloneReport(r)
	m.reports[r.ID] = c
	return nil
}

func (m *memReports) GetReport(ctx context.Context, id string) (*billing.Report, error) {
	if err := unavailableIfDone(ctx); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.reports[id]
	if !ok {
		return nil, billing.Errorf(billing.ENOTFOUND, "Report not found.")
	}
	c := cloneReport(r)
	return c, nil
}

func (m *memReports) ListReports(context.Context, billing.ReportFilter) (billing.ReportPage, error) {
	return billing.ReportPage{}, errors.New("not used by the worker")
}

func (m *memReports) SetJobID(ctx context.Context, id, jobID string, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.reports[id]
	if !ok || r.Status != billing.ReportQueued {
		return conflict("not queued")
	}
	r.JobID, r.DateUpdated = jobID, now
	return nil
}

func (m *memReports) AcquireLease(ctx context.Context, id string, l billing.Lease) (*billing.Report, error) {
	if err := unavailableIfDone(ctx); err != nil {
		return nil, err
	}
	if m.beforeAcquire != nil {
		if err := m.beforeAcquire(id); err != nil {
			return nil, err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.reports[id]
	if !ok {
		return nil, billing.Errorf(billing.ENOTFOUND, "Report not found.")
	}
	if !(r.Status == billing.ReportQueued || r.Status == billing.ReportRunning && r.LeaseExpires.Before(l.Now)) {
		return nil, conflict("lease held")
	}
	r.Status, r.Attempt, r.LeaseExpires, r.Server, r.DateUpdated = billing.ReportRunning, r.Attempt+1, l.Expires, l.Server, l.Now
	c := cloneReport(r)
	return c, nil
}

func (m *memReports) UpdateProgress(ctx context.Context, id string, attempt int, msg string, now, leaseExpires time.Time) error {
	if err := unavailableIfDone(ctx); err != nil {
		return err
	}
	if m.beforeProgress != nil {
		if err := m.beforeProgress(id, attempt, msg); err != nil {
			return err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.reports[id]
	if r == nil || r.Status != billing.ReportRunning || r.Attempt != attempt {
		return conflict("lease lost")
	}
	r.StatusMessage, r.DateUpdated, r.LeaseExpires = msg, now, leaseExpires
	m.progress = append(m.progress, msg)
	return nil
}

func (m *memReports) FinishReport(ctx context.Context, id string, attempt int, out billing.Outcome) (*billing.Report, error) {
	if err := unavailableIfDone(ctx); err != nil {
		return nil, err
	}
	if m.beforeFinish != nil {
		if err := m.beforeFinish(id, attempt, out); err != nil {
			return nil, err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.reports[id]
	if r == nil || r.Status.Final() || attempt > 0 && (r.Status != billing.ReportRunning || r.Attempt != attempt) {
		return nil, conflict("not the lease holder")
	}
	r.Status, r.StatusMessage, r.DateUpdated = out.Status, out.StatusMessage, out.Now
	r.ObjectKey, r.RowCount, r.ByteSize, r.GrandTotal = out.ObjectKey, out.RowCount, out.ByteSize, out.GrandTotal
	if out.Shards > 0 {
		r.ShardCount = out.Shards
	}
	c := cloneReport(r)
	return c, nil
}

func (m *memReports) ClaimNotification(ctx context.Context, id string, now time.Time) error {
	if err := unavailableIfDone(ctx); err != nil {
		return err
	}
	if m.beforeClaim != nil {
		if err := m.beforeClaim(id); err != nil {
			return err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.reports[id]
	if r == nil || !r.NotifiedAt.IsZero() {
		return conflict("claimed")
	}
	r.NotifiedAt = now
	m.claims++
	return nil
}

func (m *memReports) RecordNotification(ctx context.Context, id, email, hook string, now time.Time) error {
	if err := unavailableIfDone(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.reports[id]
	r.NotifyResult, r.WebhookResult = email, hook
	return nil
}

func (m *memReports) StaleReports(ctx context.Context, status billing.ReportStatus, cutoff time.Time, limit int) ([]*billing.Report, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*billing.Report
	for _, r := range m.reports {
		if r.Status == status && r.DateUpdated.Before(cutoff) && len(out) < limit {
			c := cloneReport(r)
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (m *memReports) ReconcileActive(ctx context.Context, accountID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reconc = append(m.reconc, accountID)
	return nil
}

// memData is an in-memory billing.BillingData. Like the DynamoDB adapter it
// reuses one page slice per query, so a consumer that keeps it sees garbage.
type memData struct {
	accounts  map[string]billing.Account
	customers map[string][]billing.Customer
	usage     map[string][]billing.UsageEvent // by UTC day "YYYY-MM-DD"
	pageSize  int
	pageDelay time.Duration // added to every page, like a remote store

	mu          sync.Mutex
	inFlight    int
	maxInFlight int
	queryErr    func(q billing.UsageQuery) error
	onPage      func() // called after each page was consumed
}

func newMemData() *memData {
	return &memData{accounts: map[string]billing.Account{}, customers: map[string][]billing.Customer{}, usage: map[string][]billing.UsageEvent{}, pageSize: 3}
}

func (d *memData) addUsage(events ...billing.UsageEvent) {
	for _, e := range events {
		day := billing.DateOf(e.Time.UTC()).String()
		d.usage[day] = append(d.usage[day], e)
	}
}

func (d *memData) GetAccount(ctx context.Context, id string) (*billing.Account, error) {
	a, ok := d.accounts[id]
	if !ok {
		return nil, billing.Errorf(billing.ENOTFOUND, "Account not found.")
	}
	return &a, nil
}

func (d *memData) ListCustomers(ctx context.Context, accountID string) ([]billing.Customer, error) {
	return d.customers[accountID], nil
}

func (d *memData) QueryUsage(ctx context.Context, q billing.UsageQuery, fn func([]billing.UsageEvent) error) error {
	d.mu.Lock()
	d.inFlight++
	d.maxInFlight = max(d.maxInFlight, d.inFlight)
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.inFlight--
		d.mu.Unlock()
	}()
	if d.queryErr != nil {
		if err := d.queryErr(q); err != nil {
			return err
		}
	}
	var match []billing.UsageEvent
	for _, e := range d.usage[q.Day.String()] {
		if e.AccountID == q.AccountID && !e.Time.Before(q.From) && e.Time.Before(q.To) {
			match = append(match, e)
		}
	}
	sort.SliceStable(match, func(i, j int) bool { return match[i].Time.Before(match[j].Time) })
	page := make([]billing.UsageEvent, 0, d.pageSize)
	for start := 0; start < len(match); start += d.pageSize {
		if d.pageDelay > 0 {
			select {
			case <-time.After(d.pageDelay):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		page = append(page[:0], match[start:min(start+d.pageSize, len(match))]...)
		if err := fn(page); err != nil {
			return err
		}
		for i := range page {
			page[i] = billing.UsageEvent{ID: "overwritten", CustomerID: "overwritten"}
		}
		if d.onPage != nil {
			d.onPage()
		}
	}
	return nil
}

// memFiles is an in-memory billing.ReportFiles.
type memFiles struct {
	mu      sync.Mutex
	objects map[string][]byte
	names   map[string]string
	puts    int
	// beforePut may replace the upload: it gets the try number (1-based) and
	// the body; returning a non-nil error fails that upload.
	beforePut func(ctx context.Context, try int, body io.Reader) error
}

func newMemFiles() *memFiles {
	return &memFiles{objects: map[string][]byte{}, names: map[string]string{}}
}

func (f *memFiles) PutReport(ctx context.Context, key string, body io.Reader, fileName string) (int64, error) {
	f.mu.Lock()
	f.puts++
	try := f.puts
	f.mu.Unlock()
	if f.beforePut != nil {
		if err := f.beforePut(ctx, try, body); err != nil {
			return 0, err
		}
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, body); err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.objects[key] = buf.Bytes()
	f.names[key] = fileName
	return int64(buf.Len()), nil
}

func (f *memFiles) PresignGet(ctx context.Context, key, fileName string, ttl time.Duration) (string, error) {
	return "https://files.example/" + key + "?ttl=" + ttl.String(), nil
}

// memMailer records sent mail; sendErr fails the n-th send (1-based).
type memMailer struct {
	mu      sync.Mutex
	tries   int
	sent    []billing.Email
	sendErr func(n int) error
}

func (m *memMailer) Send(ctx context.Context, e billing.Email) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tries++
	if m.sendErr != nil {
		if err := m.sendErr(m.tries); err != nil {
			return "", err
		}
	}
	m.sent = append(m.sent, e)
	return "ses-" + strconv.Itoa(len(m.sent)), nil
}

func (m *memMailer) emails() []billing.Email {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]billing.Email(nil), m.sent...)
}

// memQueue records enqueued jobs.
type memQueue struct {
	mu   sync.Mutex
	jobs []billing.Job
}

func (q *memQueue) Enqueue(ctx context.Context, j billing.Job) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append(q.jobs, j)
	return "msg-" + strconv.Itoa(len(q.jobs)), nil
}

// take removes and returns the queued jobs.
func (q *memQueue) take() []billing.Job {
	q.mu.Lock()
	defer q.mu.Unlock()
	jobs := q.jobs
	q.jobs = nil
	return jobs
}

// memPartials is an in-memory Partials; beforeGet and beforePut inject
// failures.
type memPartials struct {
	mu        sync.Mutex
	objects   map[string][]byte
	puts      int
	beforePut func(key string) error
	beforeGet func(key string) error
}

func newMemPartials() *memPartials { return &memPartials{objects: map[string][]byte{}} }

func (p *memPartials) PutPartial(ctx context.Context, key string, data []byte) error {
	if err := unavailableIfDone(ctx); err != nil {
		return err
	}
	if p.beforePut != nil {
		if err := p.beforePut(key); err != nil {
			return err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.puts++
	p.objects[key] = slices.Clone(data)
	return nil
}

func (p *memPartials) GetPartial(ctx context.Context, key string) ([]byte, error) {
	if p.beforeGet != nil {
		if err := p.beforeGet(key); err != nil {
			return nil, err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	data, ok := p.objects[key]
	if !ok {
		return nil, billing.Errorf(billing.ENOTFOUND, "No partial %s.", key)
	}
	return slices.Clone(data), nil
}

func (p *memPartials) DeletePartial(ctx context.Context, key string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.objects, key)
	return nil
}

func (p *memPartials) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.objects)
}

// fakeWebhooks records webhook bodies.
type fakeWebhooks struct {
	mu     sync.Mutex
	bodies map[string][]byte
	err    error
}

func (f *fakeWebhooks) Send(ctx context.Context, url string, body []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.bodies == nil {
		f.bodies = map[string][]byte{}
	}
	f.bodies[url] = body
	return f.err
}

// harness wires a Worker to the fakes.
type harness struct {
	t        *testing.T
	clock    *fakeClock
	reports  *memReports
	data     *memData
	files    *memFiles
	mailer   *memMailer
	queue    *memQueue
	hooks    *fakeWebhooks
	partials *memPartials
	w        *Worker
}

var testKey = []byte("0123456789abcdef0123456789abcdef")

func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWith(t, nil)
}

// newHarnessWith is newHarness with tune applied to the worker's settings.
func newHarnessWith(t *testing.T, tune func(*Config)) *harness {
	t.Helper()
	h := &harness{
		partials: newMemPartials(),
		t:        t,
		clock:    &fakeClock{t: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)},
		reports:  newMemReports(),
		data:     newMemData(),
		files:    newMemFiles(),
		mailer:   &memMailer{},
		queue:    &memQueue{},
		hooks:    &fakeWebhooks{},
	}
	cfg := Config{
		PublicAPIURL:     "https://api.example.com",
		SigningKey:       testKey,
		FunctionName:     "billing-run",
		ProgressInterval: 5 * time.Millisecond,
		EmailBackoff:     time.Millisecond,
	}
	if tune != nil {
		tune(&cfg)
	}
	w, err := New(Deps{
		Reports: h.reports, Data: h.data, Files: h.files, Mailer: h.mailer, Queue: h.queue, Webhooks: h.hooks,
		Partials: h.partials,
		Clock:    h.clock.Now,
		Log:      slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		Config:   cfg,
	})
	if err != nil {
		t.Fatal(err)
	}
	h.w = w
	return h
}

// testWriter sends logs to t.Log, shown only when a test fails.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func sqsMessage(id, reportID string, receiveCount int) Delivery {
	return Delivery{MessageID: id, Body: `{"reportId":"` + reportID + `"}`, ReceiveCount: receiveCount}
}

// handle hands a batch to the worker, with the response shape of the SQS
// adapter, and fails the test on a failure naming no message of the batch.
func (h *harness) handle(ctx context.Context, batch []Delivery) (batchResponse, error) {
	h.t.Helper()
	var resp batchResponse
	for _, id := range h.w.HandleDeliveries(ctx, batch) {
		if !slices.ContainsFunc(batch, func(d Delivery) bool { return d.MessageID == id }) {
			h.t.Fatalf("batch item failure for unknown message %q", id)
		}
		resp.BatchItemFailures = append(resp.BatchItemFailures, batchItemFailure{ItemIdentifier: id})
	}
	return resp, nil
}

type batchResponse struct{ BatchItemFailures []batchItemFailure }
type batchItemFailure struct{ ItemIdentifier string }

// deliver hands one message to the worker and says whether it asked for a retry.
func (h *harness) deliver(ctx context.Context, msg Delivery) bool {
	h.t.Helper()
	resp, _ := h.handle(ctx, []Delivery{msg})
	return len(resp.BatchItemFailures) == 1
}
