package worker

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/memstore"
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

// hookedReports is the one in-memory report store (memstore.Reports, which
// keeps ddbstore's contract) with the worker tests' failure hooks: a non-nil
// error from a before* hook is returned instead of doing the call. It also
// records every progress message the store accepted and the shards counted
// done, which the tests assert on.
type hookedReports struct {
	*memstore.Reports

	beforeAcquire    func(id string) error
	beforeFinish     func(id string, attempt int, out billing.Outcome) error
	beforeProgress   func(id string, attempt int, msg string) error
	beforeClaim      func(id string) error
	beforeShardLease func(id, shard string) error
	beforeComplete   func(id, shard string) error

	mu          sync.Mutex
	progress    []string // messages accepted by UpdateProgress, StartShards and ShardProgress
	completions int      // shards counted done
}

func newHookedReports() *hookedReports { return &hookedReports{Reports: memstore.NewReports()} }

// put stores r as it is (a report as a crashed process or the API left it).
func (m *hookedReports) put(r *billing.Report) { m.Put(*r) }

// get reads report id, which the test must have stored.
func (m *hookedReports) get(id string) billing.Report {
	r, err := m.GetReport(context.Background(), id)
	if err != nil {
		panic("reading report " + id + ": " + err.Error())
	}
	return *r
}

// change applies edit to stored report id, as another writer would.
func (m *hookedReports) change(id string, edit func(*billing.Report)) {
	r := m.get(id)
	edit(&r)
	m.Put(r)
}

// accepted records message if err is nil.
func (m *hookedReports) accepted(message string, err error) {
	if err == nil {
		m.mu.Lock()
		m.progress = append(m.progress, message)
		m.mu.Unlock()
	}
}

// progressSeen returns a copy of the accepted progress messages.
func (m *hookedReports) progressSeen() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.progress)
}

func (m *hookedReports) completed() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.completions
}

func (m *hookedReports) AcquireLease(ctx context.Context, id string, l billing.Lease) (*billing.Report, error) {
	if m.beforeAcquire != nil {
		if err := m.beforeAcquire(id); err != nil {
			return nil, err
		}
	}
	return m.Reports.AcquireLease(ctx, id, l)
}

func (m *hookedReports) UpdateProgress(ctx context.Context, id string, attempt int, msg string, now, leaseExpires time.Time) error {
	if m.beforeProgress != nil {
		if err := m.beforeProgress(id, attempt, msg); err != nil {
			return err
		}
	}
	err := m.Reports.UpdateProgress(ctx, id, attempt, msg, now, leaseExpires)
	m.accepted(msg, err)
	return err
}

func (m *hookedReports) FinishReport(ctx context.Context, id string, attempt int, out billing.Outcome) (*billing.Report, error) {
	if m.beforeFinish != nil {
		if err := m.beforeFinish(id, attempt, out); err != nil {
			return nil, err
		}
	}
	return m.Reports.FinishReport(ctx, id, attempt, out)
}

func (m *hookedReports) ClaimNotification(ctx context.Context, id string, now time.Time) error {
	if m.beforeClaim != nil {
		if err := m.beforeClaim(id); err != nil {
			return err
		}
	}
	return m.Reports.ClaimNotification(ctx, id, now)
}

func (m *hookedReports) StartShards(ctx context.Context, id string, attempt int, shards []string, message string, now time.Time) (*billing.Report, error) {
	r, err := m.Reports.StartShards(ctx, id, attempt, shards, message, now)
	m.accepted(message, err)
	return r, err
}

func (m *hookedReports) AcquireShardLease(ctx context.Context, id, shard string, l billing.Lease) (*billing.Report, error) {
	if m.beforeShardLease != nil {
		if err := m.beforeShardLease(id, shard); err != nil {
			return nil, err
		}
	}
	return m.Reports.AcquireShardLease(ctx, id, shard, l)
}

func (m *hookedReports) CompleteShard(ctx context.Context, id, shard, owner string, records int64, handOn []string, now time.Time) (*billing.Report, error) {
	if m.beforeComplete != nil {
		if err := m.beforeComplete(id, shard); err != nil {
			return nil, err
		}
	}
	r, err := m.Reports.CompleteShard(ctx, id, shard, owner, records, handOn, now)
	if err == nil {
		m.mu.Lock()
		m.completions++
		m.mu.Unlock()
	}
	return r, err
}

func (m *hookedReports) ShardProgress(ctx context.Context, id string, done int, message string, now time.Time) error {
	err := m.Reports.ShardProgress(ctx, id, done, message, now)
	m.accepted(message, err)
	return err
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
	reports  *hookedReports
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
		reports:  newHookedReports(),
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
