//go:build integration

package wiring_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/golang-jwt/jwt/v5"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/appconfig"
	"github.com/evovoice/billing/ddbstore"
	"github.com/evovoice/billing/devstack/devauth"
	"github.com/evovoice/billing/devstack/emulators"
	"github.com/evovoice/billing/devstack/gateway"
	"github.com/evovoice/billing/httpapi"
	"github.com/evovoice/billing/httpapi/wiring"
	"github.com/evovoice/billing/lambdaedge"
	"github.com/evovoice/billing/linktoken"
	"github.com/evovoice/billing/resources"
	"github.com/evovoice/billing/s3files"
	"github.com/evovoice/billing/sqsqueue"
)

const signingSecret = "e2e-signing-secret-0123456789abcdef0123456789"

// localAPI is the API as `make run` serves it: the real handlers with the real
// adapters against the emulators, behind the local gateway and its JWT
// validation, over HTTP.
type localAPI struct {
	stack   *emulators.Stack
	url     string
	key     *devauth.Key
	keyDir  string
	reports *ddbstore.ReportStore
	queue   *sqsqueue.Queue
	cfg     appconfig.Config
}

func startLocalAPI(t *testing.T) *localAPI { return startLocalAPIB(t) }

// startLocalAPIB is startLocalAPI for tests and benchmarks alike.
func startLocalAPIB(t testing.TB) *localAPI {
	t.Helper()
	stack := emulators.StartForTest(t)
	for k, v := range stack.Env() {
		t.Setenv(k, v) // the SDK finds the emulators through AWS_ENDPOINT_URL_* as on AWS
	}
	t.Setenv(resources.EnvSigningSecret, signingSecret)
	t.Setenv(resources.EnvAllowInsecureHooks, "true")
	t.Setenv(resources.EnvLogFormat, "text")
	ctx := context.Background()
	cfg, err := appconfig.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	submit, err := wiring.Submit(cfg)
	if err != nil {
		t.Fatal(err)
	}
	status, err := wiring.Status(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := awsddb.NewFromConfig(cfg.AWS)
	if err := ddbstore.NewBillingStore(db, cfg.BillingTable).PutAccounts(ctx, []billing.Account{
		{ID: "acct-acme", Name: "Acme"}, {ID: "acct-other", Name: "Other"}, {ID: "acct-busy", Name: "Busy"}, {ID: "acct-flaky", Name: "Flaky"}, {ID: "acct-matrix", Name: "Matrix"},
		{ID: "acct-fair", Name: "Fair"},
	}); err != nil {
		t.Fatal(err)
	}
	keyDir := t.TempDir()
	key, err := devauth.LoadOrCreateKey(keyDir)
	if err != nil {
		t.Fatal(err)
	}
	gw := gateway.New(gateway.Config{
		Functions: map[gateway.Target]gateway.Function{
			gateway.Submit: lambdaedge.HTTPHandler(submit),
			gateway.Status: lambdaedge.HTTPHandler(status),
		},
		Authorizer: devauth.NewValidator(key.Public(), devauth.Issuer, devauth.Audience),
	})
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	return &localAPI{stack: stack, url: srv.URL, key: key, keyDir: keyDir, cfg: cfg,
		reports: ddbstore.NewReportStore(db, cfg.ReportsTable),
		queue:   sqsqueue.New(awssqs.NewFromConfig(cfg.AWS), cfg.JobsQueueURL)}
}

func (a *localAPI) token(t *testing.T, c devauth.Claims, now time.Time) string {
	t.Helper()
	if c.TTL == 0 {
		c.TTL = time.Hour
	}
	tok, err := a.key.Mint(c, now)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (a *localAPI) do(t *testing.T, method, path, token string, body string, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, a.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, b}
}

func info(t *testing.T, r response) billing.ReportInfo {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var ri billing.ReportInfo
	if err := json.Unmarshal(r.body, &ri); err != nil {
		t.Fatal(err)
	}
	return ri
}

func errorCode(t *testing.T, r response) string {
	t.Helper()
	var e httpapi.ErrorResponse
	if err := json.Unmarshal(r.body, &e); err != nil || e.ResponseStatus.Message == "" {
		t.Fatalf("status %d without the error shape: %s", r.status, r.body)
	}
	return e.ResponseStatus.ErrorCode
}

func TestEndToEnd(t *testing.T) {
	api := startLocalAPI(t)
	now := time.Now()
	mgr := api.token(t, devauth.Claims{Subject: "mgr", Roles: []string{"Manager"}, AccountIDs: []string{"acct-acme"}}, now)
	other := api.token(t, devauth.Claims{Subject: "other", Roles: []string{"Manager"}, AccountIDs: []string{"acct-other"}}, now)
	const body = `{"accountId":"acct-acme","startDate":"2026-10-01","endDate":"2026-10-31"}`

	var first billing.ReportInfo
	t.Run("submit, get, job on the queue", func(t *testing.T) {
		first = info(t, api.do(t, "POST", "/reports/billing", mgr, body))
		if first.Status != billing.ReportQueued || first.JobID == "" {
			t.Fatalf("submitted: %+v", first)
		}
		got := info(t, api.do(t, "GET", "/reports/"+first.ID, mgr, ""))
		if got.ID != first.ID || got.JobID != first.JobID || got.Status != billing.ReportQueued {
			t.Errorf("get = %+v, submitted %+v", got, first)
		}
		msgs, err := api.queue.Receive(context.Background(), 10, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, m := range msgs {
			var job billing.Job
			json.Unmarshal([]byte(m.Body), &job)
			found = found || job.ReportID == first.ID && m.MessageID == first.JobID
			api.queue.Delete(context.Background(), m.ReceiptHandle)
		}
		if !found {
			t.Errorf("the job of %s is not on the queue: %+v", first.ID, msgs)
		}
	})

	t.Run("another account's report is 404", func(t *testing.T) {
		if first.ID == "" {
			t.Fatal("needs the report submitted by the first subtest: run the whole TestEndToEnd")
		}
		r := api.do(t, "GET", "/reports/"+first.ID, other, "")
		if r.status != 404 || bytes.Contains(r.body, []byte("acct-acme")) {
			t.Errorf("%d %s", r.status, r.body)
		}
		r = api.do(t, "GET", "/reports?accountId=acct-acme", other, "")
		if r.status != 403 || bytes.Contains(r.body, []byte(first.ID)) {
			t.Errorf("list: %d %s", r.status, r.body)
		}
	})

	t.Run("list and paging", func(t *testing.T) {
		for i := 0; i < 3; i++ {
			info(t, api.do(t, "POST", "/reports/billing", mgr, body))
		}
		seen := map[string]bool{}
		next, pages := "", 0
		for {
			path := "/reports?limit=2"
			if next != "" {
				path += "&nextToken=" + url.QueryEscape(next)
			}
			r := api.do(t, "GET", path, mgr, "")
			var l httpapi.ReportList
			if r.status != 200 || json.Unmarshal(r.body, &l) != nil {
				t.Fatalf("%d %s", r.status, r.body)
			}
			for _, ri := range l.Results {
				if seen[ri.ID] {
					t.Errorf("%s listed twice", ri.ID)
				}
				seen[ri.ID] = true
			}
			pages++
			if next = l.NextToken; next == "" || pages > 5 {
				break
			}
		}
		if len(seen) != 4 || pages < 2 {
			t.Errorf("listed %d reports in %d pages, want 4 in at least 2", len(seen), pages)
		}
		r := api.do(t, "GET", "/reports?limit=2", mgr, "")
		var l httpapi.ReportList
		json.Unmarshal(r.body, &l)
		if r := api.do(t, "GET", "/reports?accountId=acct-other&nextToken="+url.QueryEscape(l.NextToken), other, ""); r.status != 400 {
			t.Errorf("a cursor replayed by another account: %d %s", r.status, r.body)
		}
	})

	t.Run("idempotent repeat and 409", func(t *testing.T) {
		b := `{"accountId":"acct-other","startDate":"2026-09-01","endDate":"2026-09-30"}`
		a := info(t, api.do(t, "POST", "/reports/billing", other, b, "Idempotency-Key", "e2e-1"))
		again := info(t, api.do(t, "POST", "/reports/billing", other, b, "Idempotency-Key", "e2e-1"))
		if a.ID != again.ID || a.JobID != again.JobID {
			t.Errorf("repeat made %+v, first %+v", again, a)
		}
		r := api.do(t, "POST", "/reports/billing", other, strings.Replace(b, "09-30", "09-29", 1), "Idempotency-Key", "e2e-1")
		if r.status != 409 || errorCode(t, r) != "Conflict" {
			t.Errorf("other parameters: %d %s", r.status, r.body)
		}
	})

	t.Run("429 over 10 active reports", func(t *testing.T) {
		busy := api.token(t, devauth.Claims{Subject: "busy", Roles: []string{"Manager"}, AccountIDs: []string{"acct-busy"}}, now)
		for i := 0; i < billing.MaxActiveReports; i++ {
			info(t, api.do(t, "POST", "/reports/billing", busy, `{"startDate":"2026-10-01","endDate":"2026-10-02"}`))
		}
		r := api.do(t, "POST", "/reports/billing", busy, `{"startDate":"2026-10-01","endDate":"2026-10-02"}`)
		if r.status != 429 || errorCode(t, r) != "TooManyRequests" {
			t.Errorf("11th: %d %s", r.status, r.body)
		}
	})

	// Spec 2.1's fair share through the deployed wiring and dynalite: 3 per
	// Customer-role caller, 7 for them together, and the Managers keep 3.
	t.Run("429 past the Customer-role share", func(t *testing.T) {
		const b = `{"startDate":"2026-10-01","endDate":"2026-10-02"}`
		cust := func(sub string) string {
			return api.token(t, devauth.Claims{Subject: sub, Roles: []string{"Customer"}, AccountIDs: []string{"acct-fair"}, CustomerID: "c-" + sub}, now)
		}
		mgr := api.token(t, devauth.Claims{Subject: "fair-manager", Roles: []string{"Manager"}, AccountIDs: []string{"acct-fair"}}, now)
		for _, step := range []struct {
			token  string
			status int
		}{
			{cust("a"), 200}, {cust("a"), 200}, {cust("a"), 200}, {cust("a"), 429},
			{cust("b"), 200}, {cust("b"), 200}, {cust("b"), 200},
			{cust("c"), 200}, {cust("c"), 429},
			{mgr, 200}, {mgr, 200}, {mgr, 200}, {mgr, 429},
		} {
			if r := api.do(t, "POST", "/reports/billing", step.token, b); r.status != step.status {
				t.Fatalf("status %d, want %d: %s", r.status, step.status, r.body)
			}
		}
	})

	t.Run("503 with SQS stopped, completed by the retry", func(t *testing.T) {
		flaky := api.token(t, devauth.Claims{Subject: "flaky", Roles: []string{"Manager"}, AccountIDs: []string{"acct-flaky"}}, now)
		if err := api.stack.StopService(emulators.SQS); err != nil {
			t.Fatal(err)
		}
		restarted := false
		defer func() {
			if !restarted {
				api.stack.StartService(context.Background(), emulators.SQS)
			}
		}()
		const b = `{"startDate":"2026-10-01","endDate":"2026-10-31"}`
		r := api.do(t, "POST", "/reports/billing", flaky, b, "Idempotency-Key", "flaky-1")
		if r.status != 503 || errorCode(t, r) != "ServiceUnavailable" {
			t.Fatalf("SQS down: %d %s", r.status, r.body)
		}
		page, err := api.reports.ListReports(context.Background(), billing.ReportFilter{AccountID: "acct-flaky", Limit: 10})
		if err != nil || len(page.Reports) != 1 || page.Reports[0].Status != billing.ReportQueued || page.Reports[0].JobID != "" {
			t.Fatalf("the Queued report was not left for the sweep: %v %+v", err, page.Reports)
		}
		if err := api.stack.StartService(context.Background(), emulators.SQS); err != nil {
			t.Fatal(err)
		}
		restarted = true
		ri := info(t, api.do(t, "POST", "/reports/billing", flaky, b, "Idempotency-Key", "flaky-1"))
		if ri.ID != page.Reports[0].ID || ri.JobID == "" {
			t.Errorf("retry: %+v, want report %s with a job", ri, page.Reports[0].ID)
		}
	})

	t.Run("completed report: fresh link and emailed download link", func(t *testing.T) {
		ctx := context.Background()
		rep := info(t, api.do(t, "POST", "/reports/billing", mgr, `{"accountId":"acct-acme","startDate":"2026-11-01","endDate":"2026-11-02"}`))
		csv := "Customer,Total\r\nTotal,0.00\r\n"
		key := resources.ReportObjectKey("acct-acme", rep.ID)
		files := s3files.NewFromConfig(api.cfg.AWS, api.cfg.ReportsBucket, func(o *s3files.Options) { o.UsePathStyle = true })
		if _, err := files.PutReport(ctx, key, strings.NewReader(csv), "r.csv"); err != nil {
			t.Fatal(err)
		}
		leased, err := api.reports.AcquireLease(ctx, rep.ID, billing.Lease{Now: time.Now(), Expires: time.Now().Add(time.Minute), Server: "e2e"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := api.reports.FinishReport(ctx, rep.ID, leased.Attempt, billing.Outcome{Status: billing.ReportCompleted, ObjectKey: key, Now: time.Now(), GrandTotal: "0.00"}); err != nil {
			t.Fatal(err)
		}
		got := info(t, api.do(t, "GET", "/reports/"+rep.ID, mgr, ""))
		if got.Status != billing.ReportCompleted || got.DownloadLink == "" {
			t.Fatalf("completed: %+v", got)
		}
		if b := fetch(t, got.DownloadLink); b != csv {
			t.Errorf("downloadLink gave %q", b)
		}
		tok := linktoken.Sign([]byte(signingSecret), rep.ID, time.Now().Add(time.Hour))
		r := api.do(t, "GET", "/reports/"+rep.ID+"/download?token="+url.QueryEscape(tok), "", "")
		if r.status != 302 || r.header.Get("Referrer-Policy") != "no-referrer" {
			t.Fatalf("download: %d %v %s", r.status, r.header, r.body)
		}
		if b := fetch(t, r.header.Get("Location")); b != csv {
			t.Errorf("download redirect gave %q", b)
		}
		for name, q := range map[string]string{
			"missing": "",
			"expired": "?token=" + url.QueryEscape(linktoken.Sign([]byte(signingSecret), rep.ID, time.Now().Add(-time.Minute))),
			"forged":  "?token=" + url.QueryEscape(linktoken.Sign([]byte("not the service's key, not at all....."), rep.ID, time.Now().Add(time.Hour))),
		} {
			if r := api.do(t, "GET", "/reports/"+rep.ID+"/download"+q, "", ""); r.status != 403 || errorCode(t, r) != "Forbidden" {
				t.Errorf("%s token: %d %s", name, r.status, r.body)
			}
		}
	})

	// DynamoDB refuses keys over 2048 bytes with a ValidationException, which
	// the adapter rightly treats as a bug (500); an account id no account can
	// have must be the caller's 400 before any store sees it.
	t.Run("an impossible account id is 400, never 500", func(t *testing.T) {
		admin := api.token(t, devauth.Claims{Subject: "admin", Roles: []string{"SystemAdministrator"}}, now)
		long := strings.Repeat("a", 3000)
		for _, r := range []response{
			api.do(t, "POST", "/reports/billing", admin, `{"accountId":"`+long+`","startDate":"2026-10-01","endDate":"2026-10-31"}`),
			api.do(t, "GET", "/reports?accountId="+long, admin, ""),
		} {
			if r.status != 400 || errorCode(t, r) != "InvalidFormat" || !bytes.Contains(r.body, []byte(`"fieldName":"AccountId"`)) {
				t.Errorf("%d %.300s", r.status, r.body)
			}
		}
	})

	// Bad tokens never reach a handler: the gateway's validator answers 401
	// with the spec's body on every authorized route, as the authorizer does.
	t.Run("expired token and wrong audience", func(t *testing.T) {
		expired := api.token(t, devauth.Claims{Subject: "mgr", Roles: []string{"Manager"}, AccountIDs: []string{"acct-acme"}, TTL: time.Minute}, now.Add(-time.Hour))
		wrongAudience := mintForAudience(t, api.keyDir, "someone-elses-api")
		own := info(t, api.do(t, "POST", "/reports/billing", mgr, body))
		// Control: the same token with the right audience is accepted, so the
		// 401 below is about the audience alone.
		if r := api.do(t, "GET", "/reports", mintForAudience(t, api.keyDir, devauth.Audience), ""); r.status != 200 {
			t.Fatalf("control token: %d %s", r.status, r.body)
		}
		for _, route := range []struct{ method, path string }{
			{"POST", "/reports/billing"}, {"POST", "/api/BillingReport"}, {"POST", "/json/reply/BillingReport"},
			{"GET", "/reports/" + own.ID}, {"GET", "/reports"},
		} {
			for name, tok := range map[string]string{"none": "", "expired": expired, "wrong audience": wrongAudience, "garbage": "not.a.jwt"} {
				r := api.do(t, route.method, route.path, tok, body)
				if r.status != 401 || errorCode(t, r) != "Unauthorized" || bytes.Contains(r.body, []byte(own.ID)) {
					t.Errorf("%s %s with %s token: %d %s", route.method, route.path, name, r.status, r.body)
				}
			}
		}
	})

	t.Run("authorization matrix through the gateway", func(t *testing.T) {
		authorizationMatrix(t, api)
	})

	t.Run("ServiceStack JsonServiceClient", func(t *testing.T) {
		runServiceStackClient(t, api.url, mgr)
	})
}

// mintForAudience signs, with the API's own dev key and issuer, a token that
// is valid in every respect but its audience.
func mintForAudience(t *testing.T, keyDir, aud string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(keyDir, devauth.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatal("the dev key is not PEM")
	}
	priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"sub": "mgr", "iss": devauth.Issuer, "aud": aud, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"cognito:groups": []string{"Manager"}, "custom:accountIds": "acct-acme",
	}).SignedString(priv.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func fetch(t *testing.T, link string) string {
	t.Helper()
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", link, resp.StatusCode, b)
	}
	return string(b)
}

// runServiceStackClient runs _clienttest/client.mjs (ServiceStack's npm client,
// pinned by its own lockfile) against the local API. It fails, never skips,
// when Node or the package cannot be installed.
func runServiceStackClient(t *testing.T, baseURL, token string) {
	dir, err := filepath.Abs(filepath.Join("..", "_clienttest"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@servicestack", "client", "package.json")); err != nil {
		ci := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		ci.Dir = dir
		if out, err := ci.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "client.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BASE_URL="+baseURL, "TOKEN="+token, "ACCOUNT_ID=acct-acme")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node client.mjs: %v\n%s\n%s", err, out, stderr.String())
	}
	var seen struct {
		API, Reply billing.ReportInfo
		ReplyURL   string
		Error      httpapi.ResponseStatus
	}
	if err := json.Unmarshal(out, &seen); err != nil {
		t.Fatalf("client output %q: %v", out, err)
	}
	if seen.API.Status != billing.ReportQueued || seen.Reply.Status != billing.ReportQueued || !strings.HasSuffix(seen.ReplyURL, "/json/reply/") {
		t.Errorf("client saw %+v", seen)
	}
	if seen.Error.ErrorCode != "NotEmpty" || len(seen.Error.Errors) != 2 {
		t.Errorf("client read the error as %+v", seen.Error)
	}
}

// authorizationMatrix runs every route with real tokens of each role for its
// own account, another account and no account, and checks the status and
// that no response names a report of an account the caller may not see.
func authorizationMatrix(t *testing.T, api *localAPI) {
	now := time.Now()
	mint := func(sub string, roles []string, accounts []string, customer string) string {
		return api.token(t, devauth.Claims{Subject: sub, Roles: roles, AccountIDs: accounts, CustomerID: customer}, now)
	}
	const submitBody = `{"accountId":"acct-matrix","startDate":"2026-10-01","endDate":"2026-10-31"}`
	own := info(t, api.do(t, "POST", "/reports/billing", mint("setup", []string{"Manager"}, []string{"acct-matrix"}, ""), submitBody))
	scoped := info(t, api.do(t, "POST", "/reports/billing", mint("setup-c", []string{"Customer"}, []string{"acct-matrix"}, "c-law"), submitBody))
	foreign := info(t, api.do(t, "POST", "/reports/billing", mint("setup-o", []string{"Manager"}, []string{"acct-other"}, ""),
		`{"accountId":"acct-other","startDate":"2026-10-01","endDate":"2026-10-31"}`))
	foreignIDs := []string{foreign.ID}

	type caller struct{ name, token string }
	callers := []caller{{"no token", ""}}
	for _, role := range []string{"SystemAdministrator", "Manager", "Customer", "Viewer"} {
		for _, acct := range []struct {
			name string
			ids  []string
		}{{"own", []string{"acct-matrix"}}, {"other", []string{"acct-third"}}, {"none", nil}} {
			callers = append(callers, caller{role + "/" + acct.name, mint(role+"-"+acct.name, []string{role}, acct.ids, "c-law")})
		}
	}
	admin := map[string]int{"SystemAdministrator/own": 200, "SystemAdministrator/other": 200, "SystemAdministrator/none": 200}
	with := func(base map[string]int, extra map[string]int) map[string]int {
		m := map[string]int{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	viewer403 := map[string]int{"Viewer/own": 403, "Viewer/other": 403, "Viewer/none": 403}
	routes := []struct {
		name, method, path, body string
		want                     map[string]int
	}{
		{"submit", "POST", "/reports/billing", submitBody, with(admin, map[string]int{"*": 403, "no token": 401, "Manager/own": 200, "Customer/own": 200})},
		{"get own", "GET", "/reports/" + own.ID, "", with(with(admin, viewer403), map[string]int{"*": 404, "no token": 401, "Manager/own": 200})},
		{"get customer's", "GET", "/reports/" + scoped.ID, "", with(with(admin, viewer403), map[string]int{"*": 404, "no token": 401, "Manager/own": 200, "Customer/own": 200})},
		{"get foreign", "GET", "/reports/" + foreign.ID, "", with(with(admin, viewer403), map[string]int{"*": 404, "no token": 401})},
		{"list", "GET", "/reports?accountId=acct-matrix", "", with(admin, map[string]int{"*": 403, "no token": 401, "Manager/own": 200, "Customer/own": 200})},
		{"list foreign", "GET", "/reports?accountId=acct-other", "", with(admin, map[string]int{"*": 403, "no token": 401})},
		{"download without token", "GET", "/reports/" + own.ID + "/download", "", map[string]int{"*": 403}},
	}
	for _, rt := range routes {
		for _, c := range callers {
			want, ok := rt.want[c.name]
			if !ok {
				want = rt.want["*"]
			}
			r := api.do(t, rt.method, rt.path, c.token, rt.body)
			if r.status != want {
				t.Errorf("%s as %s: %d, want %d: %s", rt.name, c.name, r.status, want, r.body)
				continue
			}
			if r.status >= 400 {
				errorCode(t, r)
			}
			if !strings.HasPrefix(c.name, "SystemAdministrator") {
				for _, id := range foreignIDs {
					if bytes.Contains(r.body, []byte(id)) && !strings.Contains(rt.path, id) {
						t.Errorf("%s as %s leaked report %s of another account: %s", rt.name, c.name, id, r.body)
					}
				}
				if c.name != "Manager/own" && c.name != "Customer/own" && bytes.Contains(r.body, []byte(own.ID)) && !strings.Contains(rt.path, own.ID) {
					t.Errorf("%s as %s leaked report %s: %s", rt.name, c.name, own.ID, r.body)
				}
			}
			if c.name == "Customer/own" && rt.name == "list" && (bytes.Contains(r.body, []byte(own.ID)) || !bytes.Contains(r.body, []byte(scoped.ID))) {
				t.Errorf("a Customer's list must hold only its own subtree's reports: %s", r.body)
			}
		}
	}
}
