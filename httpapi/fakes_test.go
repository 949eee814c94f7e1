package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/memstore"
)

type fakeAccounts struct {
	get func(ctx context.Context, id string) (*billing.Account, error)
}

func (f *fakeAccounts) GetAccount(ctx context.Context, id string) (*billing.Account, error) {
	return f.get(ctx, id)
}

type fakeQueue struct {
	enqueue func(ctx context.Context, job billing.Job) (string, error)
}

func (f *fakeQueue) Enqueue(ctx context.Context, job billing.Job) (string, error) {
	return f.enqueue(ctx, job)
}

type fakePresigner struct {
	presign func(ctx context.Context, key, fileName string, ttl time.Duration) (string, error)
}

func (f *fakePresigner) PresignGet(ctx context.Context, key, fileName string, ttl time.Duration) (string, error) {
	return f.presign(ctx, key, fileName, ttl)
}

// world is the service's surroundings in memory: the one in-memory report
// store (memstore, which keeps the DynamoDB adapter's contract), accounts,
// the queue and the presigner.
type world struct {
	mu       sync.Mutex
	store    *memstore.Reports
	accounts map[string]bool
	sent     []billing.Job
	now      time.Time
	ids      int

	accountFake *fakeAccounts
	queueFake   *fakeQueue
	presignFake *fakePresigner
	schedules   *memstore.Schedules
}

var testKey = []byte("0123456789abcdef0123456789abcdef-test-signing-key")

func newWorld() *world {
	w := &world{
		store:     memstore.NewReports(),
		accounts:  map[string]bool{"acct-acme": true, "acct-other": true, "acct-third": true},
		now:       time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC),
		schedules: memstore.NewSchedules(),
	}
	w.accountFake = &fakeAccounts{get: func(_ context.Context, id string) (*billing.Account, error) {
		if w.accounts[id] {
			// acct-acme is in New York, as in the fixture: submit checks a
			// period without a zone in the account's.
			zone := map[string]string{"acct-acme": "America/New_York"}[id]
			return &billing.Account{ID: id, Name: id, TimeZoneID: zone}, nil
		}
		return nil, billing.Errorf(billing.ENOTFOUND, "no account")
	}}
	w.queueFake = &fakeQueue{enqueue: func(_ context.Context, job billing.Job) (string, error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.sent = append(w.sent, job)
		return "msg-" + job.ReportID, nil
	}}
	w.presignFake = &fakePresigner{presign: func(_ context.Context, key, fileName string, ttl time.Duration) (string, error) {
		return "https://files.example/" + key + "?name=" + url.QueryEscape(fileName) + "&ttl=" + ttl.String() + "&at=" + w.clock().Format(time.RFC3339Nano), nil
	}}
	return w
}

// report is the stored report id, nil when there is none.
func (w *world) report(id string) *billing.Report {
	r, err := w.store.GetReport(context.Background(), id)
	if err != nil {
		return nil
	}
	return r
}

// reports are all the stored reports.
func (w *world) reports() []*billing.Report { return w.store.All() }

// failing makes the store's method fail as a store that is down, until the
// returned function is called.
func (w *world) failing(method string) (restore func()) {
	w.store.Hook = func(m string) error {
		if m == method {
			return billing.Errorf(billing.EUNAVAILABLE, "store down")
		}
		return nil
	}
	return func() { w.store.Hook = nil }
}

func (w *world) clock() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

func (w *world) advance(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.now = w.now.Add(d)
}

func (w *world) newID() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ids++
	return "rep" + strings.Repeat("0", 6-len(itoa(w.ids))) + itoa(w.ids)
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func (w *world) sentJobs() []billing.Job {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]billing.Job(nil), w.sent...)
}

func (w *world) submitDeps() SubmitDeps {
	return SubmitDeps{Reports: w.store, Idempotency: w.store, Accounts: w.accountFake, Jobs: w.queueFake, Schedules: w.schedules, Now: w.clock, NewID: w.newID, Logger: discard}
}

func (w *world) statusDeps() StatusDeps {
	return StatusDeps{Reports: w.store, Files: w.presignFake, Schedules: w.schedules, SigningKey: testKey, Now: w.clock, Logger: discard}
}

// put stores a report directly, as the worker would have left it.
func (w *world) put(r billing.Report) { w.store.Put(r) }

// The test callers, as the edge (lambdaedge) puts them in the context.
func manager(accounts ...string) *billing.Caller {
	return &billing.Caller{Subject: "user-manager", Roles: []billing.Role{billing.RoleManager}, AccountIDs: accounts}
}

func customer(account, customerID string) *billing.Caller {
	return &billing.Caller{Subject: "user-customer-" + customerID, Roles: []billing.Role{billing.RoleCustomer}, AccountIDs: []string{account}, CustomerID: customerID}
}

func sysadmin() *billing.Caller {
	return &billing.Caller{Subject: "user-admin", Roles: []billing.Role{billing.RoleSystemAdministrator}}
}

func noRole(accounts ...string) *billing.Caller {
	return &billing.Caller{Subject: "user-norole", AccountIDs: accounts}
}

// req is one HTTP request as a test writes it; request turns it into the
// *http.Request the handler gets behind the edge, the caller in its context.
type req struct {
	method  string
	path    string
	query   string
	headers map[string]string
	body    string
	caller  *billing.Caller // nil: no caller (public route or missing token)
}

func (r req) request() *http.Request {
	method := r.method
	if method == "" {
		method = http.MethodGet
	}
	hr := httptest.NewRequest(method, "http://api.example.com/", strings.NewReader(r.body))
	hr.URL.Path, hr.URL.RawPath = r.path, ""
	if u, err := url.Parse(r.path); err == nil {
		hr.URL.Path, hr.URL.RawPath = u.Path, u.RawPath
	}
	hr.URL.RawQuery = r.query
	hr.RequestURI = hr.URL.RequestURI()
	hr.Header.Set("User-Agent", "go-test")
	for k, v := range r.headers {
		hr.Header.Set(k, v)
	}
	if r.caller != nil {
		hr = hr.WithContext(WithCaller(hr.Context(), *r.caller))
	}
	return hr
}

// response is a handler's answer: Headers has each header's values joined
// with commas, as API Gateway's payload does.
type response struct {
	StatusCode int
	Headers    map[string]string
	header     http.Header
	body       string
}

// invoke runs h on hr as httptest does.
func invoke(t testing.TB, h http.Handler, hr *http.Request) response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, hr)
	resp := response{StatusCode: rec.Code, Headers: map[string]string{}, header: rec.Header(), body: rec.Body.String()}
	for k, v := range rec.Header() {
		resp.Headers[k] = strings.Join(v, ",")
	}
	return resp
}

func body(resp response) string { return resp.body }

func decodeError(t testing.TB, resp response) ErrorResponse {
	t.Helper()
	var e ErrorResponse
	if err := json.Unmarshal([]byte(body(resp)), &e); err != nil || e.ResponseStatus.ErrorCode == "" || e.ResponseStatus.Message == "" {
		t.Fatalf("status %d: body is not the error shape (%v): %s", resp.StatusCode, err, body(resp))
	}
	return e
}

func decodeInfo(t testing.TB, resp response) billing.ReportInfo {
	t.Helper()
	var ri billing.ReportInfo
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body(resp))
	}
	if err := json.Unmarshal([]byte(body(resp)), &ri); err != nil {
		t.Fatalf("decoding ReportInfo: %v: %s", err, body(resp))
	}
	return ri
}
