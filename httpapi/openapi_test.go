package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/linktoken"
)

// openAPIRouter loads the checked-in document, validates it as OpenAPI 3.1 and
// returns a router over it.
func openAPIRouter(t testing.TB) routers.Router {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPIDocument)
	if err != nil {
		t.Fatalf("loading openapi.json: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi.json is %s, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not valid: %v", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return router
}

// validateAgainstOpenAPI checks that the request is described and that the
// real response matches the document's status, content type and schema.
func validateAgainstOpenAPI(t testing.TB, router routers.Router, method, path, query string, status int, header http.Header, respBody []byte) {
	t.Helper()
	if err := checkOpenAPI(router, method, path, query, status, header, respBody); err != nil {
		t.Errorf("%s %s?%s -> %d does not match openapi.json: %v\n%s", method, path, query, status, err, respBody)
	}
}

func checkOpenAPI(router routers.Router, method, path, query string, status int, header http.Header, respBody []byte) error {
	u := &url.URL{Scheme: "https", Host: "api.example.com", Path: path, RawQuery: query}
	httpReq, _ := http.NewRequest(method, u.String(), nil)
	route, params, err := router.FindRoute(httpReq)
	if err != nil {
		return fmt.Errorf("%s %s is not in openapi.json: %w", method, path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: httpReq, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(respBody)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	return openapi3filter.ValidateResponse(context.Background(), in)
}

// The validator must catch drift, or the test above proves nothing.
func TestOpenAPIValidatorCatchesDrift(t *testing.T) {
	router := openAPIRouter(t)
	h := http.Header{"Content-Type": {contentTypeJSON}}
	for name, b := range map[string]string{
		"unknown status": `{"id":"x","name":"n","status":"Bogus"}`,
		"extra field":    `{"id":"x","name":"n","status":"Queued","accountId":"a"}`,
		"error shape":    `{"responseStatus":{"errorCode":"X"}}`,
	} {
		status := 200
		if strings.HasPrefix(b, `{"responseStatus"`) {
			status = 400
		}
		if err := checkOpenAPI(router, "GET", "/reports/x", "", status, h, []byte(b)); err == nil {
			t.Errorf("%s: %s passed validation", name, b)
		}
	}
	if err := checkOpenAPI(router, "GET", "/reports/x", "", 418, h, []byte(`{}`)); err == nil {
		t.Error("an undocumented status passed validation")
	}
}

// apiCall is one request of an OpenAPI check, its handler and its status.
type apiCall struct {
	r      req
	submit bool
	status int
	setup  func(w *world)
}

// checkCallsAgainstOpenAPI sends each call to a fresh seeded world (seed,
// then prepare, then the call's own setup) and validates the real answer
// against openapi.json.
func checkCallsAgainstOpenAPI(t *testing.T, calls []apiCall, prepare func(w *world)) {
	t.Helper()
	router := openAPIRouter(t)
	for _, c := range calls {
		w := newWorld()
		seed(w)
		if prepare != nil {
			prepare(w)
		}
		if c.setup != nil {
			c.setup(w)
		}
		var h http.Handler = NewStatusHandler(w.statusDeps())
		if c.submit {
			h = NewSubmitHandler(w.submitDeps())
		}
		resp := invoke(t, h, c.r.request())
		if resp.StatusCode != c.status {
			t.Errorf("%s %s: status %d, want %d: %s", c.r.method, c.r.path, resp.StatusCode, c.status, body(resp))
			continue
		}
		method := c.r.method
		if method == "" {
			method = "GET"
		}
		validateAgainstOpenAPI(t, router, method, c.r.path, c.r.query, resp.StatusCode, resp.header, []byte(body(resp)))
	}
}

func TestResponsesMatchOpenAPI(t *testing.T) {
	type call = apiCall
	queueDown := func(w *world) {
		w.queueFake.enqueue = func(context.Context, billing.Job) (string, error) { return "", errors.New("down") }
	}
	full := func(w *world) {
		for i := 0; i < 10; i++ {
			w.put(billing.Report{ID: "busy" + string(rune('a'+i)), AccountID: "acct-acme", Status: billing.ReportQueued})
		}
	}
	tok := linktoken.Sign(testKey, "acmedone", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	runTok := linktoken.Sign(testKey, "acmerun", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	keyed := post(validJSON, manager("acct-acme"))
	keyed.headers["Idempotency-Key"] = "used"
	calls := []call{
		{r: post(validJSON, manager("acct-acme")), submit: true, status: 200},
		{r: req{method: "POST", path: "/reports/billing.csv", body: validJSON, caller: manager("acct-acme")}, submit: true, status: 200},
		{r: req{method: "GET", path: "/api/BillingReport", query: "startDate=2026-10-01&endDate=2026-10-01", caller: manager("acct-acme")}, submit: true, status: 200},
		{r: req{method: "POST", path: "/json/reply/BillingReport", body: `{}`, caller: manager("acct-acme")}, submit: true, status: 400},
		{r: req{method: "POST", path: "/reports/billing.csv", body: `{}`, caller: manager("acct-acme")}, submit: true, status: 400},
		{r: post(validJSON, nil), submit: true, status: 401},
		{r: post(validJSON, manager("acct-other")), submit: true, status: 403},
		{r: post(`{"accountId":"nope","startDate":"2026-10-01","endDate":"2026-10-01"}`, sysadmin()), submit: true, status: 404},
		{r: req{method: "POST", path: "/reports/billing", query: "format=xml", body: validJSON, caller: manager("acct-acme")}, submit: true, status: 406},
		{r: keyed, submit: true, status: 409, setup: func(w *world) {
			rec := billing.IdempotencyRecord{Key: IdempotencyRecordKey("user-manager", "used"), RequestHash: "other", ReportID: "r", ExpiresAt: w.now.Add(time.Hour)}
			if err := w.store.PutIdempotency(context.Background(), rec, w.now); err != nil {
				t.Fatal(err)
			}
		}},
		{r: post(`{"x":"`+strings.Repeat("a", 70000)+`"}`, manager("acct-acme")), submit: true, status: 413},
		{r: post(validJSON, manager("acct-acme")), submit: true, status: 429, setup: full},
		{r: post(validJSON, manager("acct-acme")), submit: true, status: 503, setup: queueDown},
		{r: req{path: "/reports/acmedone", caller: manager("acct-acme")}, status: 200},
		{r: req{path: "/reports/acmedone.csv", caller: manager("acct-acme")}, status: 200},
		{r: req{path: "/reports/otherdone", caller: manager("acct-acme")}, status: 404},
		{r: req{path: "/reports/acmedone", caller: noRole("acct-acme")}, status: 403},
		{r: req{path: "/reports", query: "limit=1", caller: manager("acct-acme")}, status: 200},
		{r: req{path: "/reports.csv", caller: manager("acct-acme")}, status: 200},
		{r: req{path: "/reports", query: "limit=0", caller: manager("acct-acme")}, status: 400},
		{r: req{path: "/reports", query: "format=xml", caller: manager("acct-acme")}, status: 406},
		{r: req{path: "/reports/acmedone/download", query: "token=" + url.QueryEscape(tok)}, status: 302},
		{r: req{path: "/reports/acmedone/download", query: "token=bad"}, status: 403},
		{r: req{path: "/reports/acmerun/download", query: "token=" + url.QueryEscape(runTok)}, status: 409},
		{r: req{path: "/openapi.json"}, status: 200},
	}
	checkCallsAgainstOpenAPI(t, calls, nil)
}
