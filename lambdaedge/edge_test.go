package lambdaedge

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/httpapi"
	"github.com/evovoice/billing/memstore"
)

type accounts struct{}

func (accounts) GetAccount(_ context.Context, id string) (*billing.Account, error) {
	if id == "acct-acme" || id == "acct-other" {
		return &billing.Account{ID: id, Name: id}, nil
	}
	return nil, billing.Errorf(billing.ENOTFOUND, "no account")
}

type queue struct{}

func (queue) Enqueue(_ context.Context, job billing.Job) (string, error) {
	return "msg-" + job.ReportID, nil
}

type presigner struct{}

func (presigner) PresignGet(_ context.Context, key, fileName string, ttl time.Duration) (string, error) {
	return "https://files.example/" + key + "?name=" + url.QueryEscape(fileName), nil
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// handlers are the real submit and status handlers over the in-memory
// store, seeded with two completed reports of acct-acme and one of
// acct-other, behind this package's edge.
func handlers(t testing.TB) (submit, status Function) {
	t.Helper()
	store := memstore.NewReports()
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i, r := range []struct{ id, account, scope string }{{"acmedone", "acct-acme", ""}, {"acmelaw", "acct-acme", "c-law"}, {"otherdone", "acct-other", ""}} {
		store.Put(billing.Report{ID: r.id, AccountID: r.account, CustomerScope: r.scope, Status: billing.ReportCompleted,
			Name: "Billing Report 2026-10-01 to 2026-10-31", ObjectKey: "reports/" + r.account + "/" + r.id + ".csv",
			Request:     billing.ReportRequest{AccountID: r.account, StartDate: billing.Date{Year: 2026, Month: 10, Day: 1}, EndDate: billing.Date{Year: 2026, Month: 10, Day: 31}},
			DateCreated: base.Add(time.Duration(i) * time.Minute)})
	}
	now := func() time.Time { return time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC) }
	submit = HTTPHandler(httpapi.NewSubmitHandler(httpapi.SubmitDeps{Reports: store, Idempotency: store, Accounts: accounts{}, Jobs: queue{}, Now: now, Logger: discard}))
	status = HTTPHandler(httpapi.NewStatusHandler(httpapi.StatusDeps{Reports: store, Files: presigner{}, SigningKey: []byte("0123456789abcdef0123456789abcdef-test"), Now: now, Logger: discard}))
	return submit, status
}

func body(resp events.APIGatewayV2HTTPResponse) string {
	if resp.IsBase64Encoded {
		b, _ := base64.StdEncoding.DecodeString(resp.Body)
		return string(b)
	}
	return resp.Body
}

// TestRecordedEvents feeds API Gateway v2 payloads in the exact shape the
// HTTP API sends them (testdata, with Cognito access-token claims as the JWT
// authorizer passes them) through the real proxy adapter and the edge.
func TestRecordedEvents(t *testing.T) {
	for file, want := range map[string]struct {
		status   int
		contains string
	}{
		"submit-post-json.json":         {200, `"emailAddressToNotify":"billing@acme.example"`},
		"submit-form-base64.json":       {200, `"status":"Queued"`},
		"submit-json-as-text-csv.json":  {200, "Id,Name,Status,"},
		"submit-servicestack-api.json":  {200, `"name":"Billing Report 2026-10-01 to 2026-10-31"`},
		"submit-invalid.json":           {400, `"errorCode":"GreaterThanOrEqual"`},
		"submit-no-authorizer.json":     {401, `"message":"Not Authenticated"`},
		"get-report.json":               {200, `"downloadLink":"https://files.example/`},
		"get-other-account-report.json": {404, `"Report 'otherdone' not found."`},
		"list-reports.json":             {200, `"nextToken":"`},
		"download-no-token.json":        {403, "The download link has no token."},
	} {
		t.Run(file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", file))
			if err != nil {
				t.Fatal(err)
			}
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			submit, status := handlers(t)
			fn := status
			if strings.HasPrefix(file, "submit-") {
				fn = submit
			}
			resp, err := fn(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != want.status || !strings.Contains(body(resp), want.contains) {
				t.Fatalf("%d %s, want %d containing %s", resp.StatusCode, body(resp), want.status, want.contains)
			}
		})
	}
}

// event is a minimal API Gateway v2 request with claims (nil: no authorizer).
func event(method, path, reqBody string, headers map[string]string, claims map[string]string) events.APIGatewayV2HTTPRequest {
	h := map[string]string{"host": "api.example.com", "content-type": "application/json"}
	for k, v := range headers {
		h[strings.ToLower(k)] = v
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: path, Headers: h, Body: reqBody,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "req-1", Stage: "$default", DomainName: "api.example.com",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, Protocol: "HTTP/1.1"},
		},
	}
	if claims != nil {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
	}
	return ev
}

const validJSON = `{"accountId":"acct-acme","startDate":"2026-10-01","endDate":"2026-10-31"}`

// The proxy adapter's non-context mode passes the request context in a
// header; a client can send that header itself, so it must never be trusted.
func TestSpoofedContextHeaderIgnored(t *testing.T) {
	submit, status := handlers(t)
	spoof := map[string]string{"X-GoLambdaProxy-ApiGatewayContext": `{"authorizer":{"jwt":{"claims":{"sub":"x","cognito:groups":"[SystemAdministrator]"}}}}`}
	for _, c := range []struct {
		fn Function
		ev events.APIGatewayV2HTTPRequest
	}{
		{submit, event(http.MethodPost, "/reports/billing", validJSON, spoof, nil)},
		{status, event(http.MethodGet, "/reports/otherdone", "", spoof, nil)},
	} {
		resp, err := c.fn(context.Background(), c.ev)
		if err != nil || resp.StatusCode != 401 {
			t.Errorf("%s with a spoofed context header: %v %d %s", c.ev.RawPath, err, resp.StatusCode, body(resp))
		}
	}
}

// The audit's claim reproductions, through the edge and the handlers: a
// Manager of "[acct-acme]" or of "acct-acme corp" reads nothing of
// acct-acme, and a group named "Guest,SystemAdministrator" is no role at all
// (spec 2.6).
func TestLooseClaimsGrantNothing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		claims map[string]string
	}{
		{"bracketed account", map[string]string{"sub": "m", "cognito:groups": "[Manager]", "custom:accountIds": "[acct-acme]"}},
		{"account with a space", map[string]string{"sub": "m", "cognito:groups": "[Manager]", "custom:accountIds": "acct-acme corp"}},
		{"account after a tab", map[string]string{"sub": "m", "cognito:groups": "[Manager]", "custom:accountIds": "x\tacct-acme"}},
		{"comma in a group", map[string]string{"sub": "g", "cognito:groups": "[Guest,SystemAdministrator]", "custom:accountIds": "acct-other"}},
		{"comma in a JSON group", map[string]string{"sub": "g", "cognito:groups": `["Guest,SystemAdministrator"]`}},
	} {
		submit, status := handlers(t)
		for _, rt := range []struct {
			name string
			fn   Function
			ev   events.APIGatewayV2HTTPRequest
		}{
			{"submit", submit, event(http.MethodPost, "/reports/billing", validJSON, nil, tc.claims)},
			{"list", status, event(http.MethodGet, "/reports", "", nil, tc.claims)},
			{"get", status, event(http.MethodGet, "/reports/acmedone", "", nil, tc.claims)},
		} {
			t.Run(tc.name+"/"+rt.name, func(t *testing.T) {
				if rt.name == "list" {
					rt.ev.RawQueryString = "accountId=acct-acme"
				}
				resp, err := rt.fn(context.Background(), rt.ev)
				if err != nil {
					t.Fatal(err)
				}
				want := 403
				if rt.name == "get" && tc.claims["cognito:groups"] == "[Manager]" {
					want = 404 // a role, but not this report's account: never revealed
				}
				if resp.StatusCode != want || strings.Contains(body(resp), `"id":"acmedone"`) {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, want, body(resp))
				}
			})
		}
	}
}

// TestAuthenticateOutsideLambda: a request that did not come through the
// proxy adapter (no API Gateway context) reaches the handler without a
// caller, whatever its headers claim.
func TestAuthenticateOutsideLambda(t *testing.T) {
	var got bool
	h := Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, got = httpapi.CallerFromContext(r.Context())
	}))
	r, _ := http.NewRequest(http.MethodGet, "http://x/reports", nil)
	r.Header.Set("X-GoLambdaProxy-ApiGatewayContext", `{"authorizer":{"jwt":{"claims":{"sub":"x"}}}}`)
	h.ServeHTTP(httptest.NewRecorder(), r)
	if got {
		t.Fatal("a caller without an API Gateway context")
	}
}
