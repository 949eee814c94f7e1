package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/schedules/memstore"
)

// fakeReports is a hand-written fake of the report store: each method calls its
// function field, so a test replaces exactly the behaviour it is about.
type fakeReports struct {
	create func(ctx context.Context, r *billing.Report, limits billing.SlotLimits) error
	get    func(ctx context.Context, id string) (*billing.Report, error)
	list   func(ctx context.Context, f billing.ReportFilter) (billing.ReportPage, error)
	setJob func(ctx context.Context, id, jobID string, now time.Time) error
}

func (f *fakeReports) CreateReport(ctx context.Context, r *billing.Report, limits billing.SlotLimits) error {
	return f.create(ctx, r, limits)
}
func (f *fakeReports) GetReport(ctx context.Context, id string) (*billing.Report, error) {
	return f.get(ctx, id)
}
func (f *fakeReports) ListReports(ctx context.Context, fl billing.ReportFilter) (billing.ReportPage, error) {
	return f.list(ctx, fl)
}
func (f *fakeReports) SetJobID(ctx context.Context, id, jobID string, now time.Time) error {
	return f.setJob(ctx, id, jobID, now)
}

type fakeIdempotency struct {
	put func(ctx context.Context, rec billing.IdempotencyRecord, now time.Time) error
	get func(ctx context.Context, key string, now time.Time) (*billing.IdempotencyRecord, error)
}

func (f *fakeIdempotency) PutIdempotency(ctx context.Context, rec billing.IdempotencyRecord, now time.Time) error {
	return f.put(ctx, rec, now)
}
func (f *fakeIdempotency) GetIdempotency(ctx context.Context, key string, now time.Time) (*billing.IdempotencyRecord, error) {
	return f.get(ctx, key, now)
}

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

// world is an in-memory service behind the fakes: reports, idempotency
// records, accounts and the queue, with the store's semantics (active limit,
// conditional create, account/scope/status filters, newest first, cursor).
type world struct {
	mu       sync.Mutex
	reports  map[string]*billing.Report
	idem     map[string]billing.IdempotencyRecord
	accounts map[string]bool
	sent     []billing.Job
	now      time.Time
	ids      int

	reportsFake *fakeReports
	idemFake    *fakeIdempotency
	accountFake *fakeAccounts
	queueFake   *fakeQueue
	presignFake *fakePresigner
	schedules   *memstore.Store
}

var testKey = []byte("0123456789abcdef0123456789abcdef-test-signing-key")

func newWorld() *world {
	w := &world{
		reports:   map[string]*billing.Report{},
		idem:      map[string]billing.IdempotencyRecord{},
		accounts:  map[string]bool{"acct-acme": true, "acct-other": true, "acct-third": true},
		now:       time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC),
		schedules: memstore.New(),
	}
	w.reportsFake = &fakeReports{
		create: func(_ context.Context, r *billing.Report, limits billing.SlotLimits) error {
			w.mu.Lock()
			defer w.mu.Unlock()
			if _, ok := w.reports[r.ID]; ok {
				return billing.Errorf(billing.ECONFLICT, "exists")
			}
			// The adapter's rule (dynamodb: one conditional write over the
			// account's sets), counted here under the lock.
			if e := limits.RefusalAmong(r, slices.Collect(maps.Values(w.reports))); e != nil {
				return e
			}
			c := *r
			w.reports[r.ID] = &c
			return nil
		},
		get: func(_ context.Context, id string) (*billing.Report, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			r, ok := w.reports[id]
			if !ok {
				return nil, billing.Errorf(billing.ENOTFOUND, "no report")
			}
			c := *r
			return &c, nil
		},
		list: func(_ context.Context, f billing.ReportFilter) (billing.ReportPage, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			var all []*billing.Report
			for _, r := range w.reports {
				if (f.AccountID == "" || r.AccountID == f.AccountID) && (f.CustomerScope == "" || r.CustomerScope == f.CustomerScope) && (f.Status == "" || r.Status == f.Status) {
					c := *r
					all = append(all, &c)
				}
			}
			sort.Slice(all, func(i, j int) bool {
				if !all[i].DateCreated.Equal(all[j].DateCreated) {
					return all[i].DateCreated.After(all[j].DateCreated)
				}
				return all[i].ID > all[j].ID
			})
			start := 0
			if f.Cursor != "" {
				start = len(all)
				for i, r := range all {
					if r.ID == f.Cursor {
						start = i + 1
					}
				}
			}
			page := billing.ReportPage{Reports: all[start:]}
			if len(page.Reports) > f.Limit {
				page.Reports = page.Reports[:f.Limit]
				page.Cursor = page.Reports[f.Limit-1].ID
			}
			return page, nil
		},
		setJob: func(_ context.Context, id, jobID string, now time.Time) error {
			w.mu.Lock()
			defer w.mu.Unlock()
			r, ok := w.reports[id]
			if !ok || r.Status != billing.ReportQueued {
				return billing.Errorf(billing.ECONFLICT, "not queued")
			}
			r.JobID, r.DateUpdated = jobID, now
			return nil
		},
	}
	w.idemFake = &fakeIdempotency{
		put: func(_ context.Context, rec billing.IdempotencyRecord, now time.Time) error {
			w.mu.Lock()
			defer w.mu.Unlock()
			if prev, ok := w.idem[rec.Key]; ok && prev.ExpiresAt.After(now) {
				return billing.Errorf(billing.ECONFLICT, "key used")
			}
			w.idem[rec.Key] = rec
			return nil
		},
		get: func(_ context.Context, key string, now time.Time) (*billing.IdempotencyRecord, error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			rec, ok := w.idem[key]
			if !ok || !rec.ExpiresAt.After(now) {
				return nil, billing.Errorf(billing.ENOTFOUND, "no record")
			}
			return &rec, nil
		},
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
	return SubmitDeps{Reports: w.reportsFake, Idempotency: w.idemFake, Accounts: w.accountFake, Jobs: w.queueFake, Schedules: w.schedules, Now: w.clock, NewID: w.newID, Logger: discard}
}

func (w *world) statusDeps() StatusDeps {
	return StatusDeps{Reports: w.reportsFake, Files: w.presignFake, Schedules: w.schedules, SigningKey: testKey, Now: w.clock, Logger: discard}
}

// put stores a report directly, as the worker would have left it.
func (w *world) put(r billing.Report) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.reports[r.ID] = &r
}

// claims of the test callers.
func manager(accounts ...string) map[string]string {
	return map[string]string{"sub": "user-manager", "cognito:groups": "[Manager]", "custom:accountIds": strings.Join(accounts, ",")}
}

func customer(account, customerID string) map[string]string {
	return map[string]string{"sub": "user-customer-" + customerID, "cognito:groups": "[Customer]", "custom:accountIds": account, "custom:customerId": customerID}
}

func sysadmin() map[string]string {
	return map[string]string{"sub": "user-admin", "cognito:groups": "[SystemAdministrator]"}
}

func noRole(accounts ...string) map[string]string {
	return map[string]string{"sub": "user-norole", "cognito:groups": "[Viewer]", "custom:accountIds": strings.Join(accounts, ",")}
}

// req is one HTTP request as a test writes it; event turns it into the
// API Gateway v2 payload the HTTP API sends to Lambda.
type req struct {
	method  string
	path    string
	query   string
	headers map[string]string
	body    string
	claims  map[string]string // nil: no authorizer context (public route or missing token)
}

func (r req) event() events.APIGatewayV2HTTPRequest {
	method := r.method
	if method == "" {
		method = http.MethodGet
	}
	headers := map[string]string{"host": "api.example.com", "user-agent": "go-test"}
	for k, v := range r.headers {
		headers[strings.ToLower(k)] = v
	}
	qs := map[string]string{}
	if vals, err := url.ParseQuery(r.query); err == nil {
		for k, v := range vals {
			qs[k] = strings.Join(v, ",")
		}
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              "$default",
		RawPath:               r.path,
		RawQueryString:        r.query,
		Headers:               headers,
		QueryStringParameters: qs,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			AccountID:  "123456789012",
			APIID:      "api",
			DomainName: "api.example.com",
			RequestID:  "req-1",
			Stage:      "$default",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: method, Path: r.path, Protocol: "HTTP/1.1", SourceIP: "203.0.113.9", UserAgent: "go-test",
			},
		},
		Body:            base64.StdEncoding.EncodeToString([]byte(r.body)),
		IsBase64Encoded: true,
	}
	if r.claims != nil {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: r.claims},
		}
	}
	return ev
}

// invoke runs h as the Lambda would: through the real proxy adapter.
func invoke(t testing.TB, h http.Handler, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	resp, err := httpadapter.NewV2(h).ProxyWithContext(context.Background(), ev)
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	return resp
}

func body(resp events.APIGatewayV2HTTPResponse) string {
	if resp.IsBase64Encoded {
		b, _ := base64.StdEncoding.DecodeString(resp.Body)
		return string(b)
	}
	return resp.Body
}

func decodeError(t testing.TB, resp events.APIGatewayV2HTTPResponse) ErrorResponse {
	t.Helper()
	var e ErrorResponse
	if err := json.Unmarshal([]byte(body(resp)), &e); err != nil || e.ResponseStatus.ErrorCode == "" || e.ResponseStatus.Message == "" {
		t.Fatalf("status %d: body is not the error shape (%v): %s", resp.StatusCode, err, body(resp))
	}
	return e
}

func decodeInfo(t testing.TB, resp events.APIGatewayV2HTTPResponse) billing.ReportInfo {
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
