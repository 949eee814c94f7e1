package httpapi

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// TestRecordedEvents feeds API Gateway v2 payloads in the exact shape the HTTP
// API sends them (testdata/events, with Cognito access-token claims as the JWT
// authorizer passes them) through the real proxy adapter.
func TestRecordedEvents(t *testing.T) {
	router := openAPIRouter(t)
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
			raw, err := os.ReadFile(filepath.Join("testdata", "events", file))
			if err != nil {
				t.Fatal(err)
			}
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			w := newWorld()
			seed(w)
			var h http.Handler = NewStatusHandler(w.statusDeps())
			if strings.HasPrefix(file, "submit-") {
				h = NewSubmitHandler(w.submitDeps())
			}
			resp := invoke(t, h, ev)
			if resp.StatusCode != want.status || !strings.Contains(body(resp), want.contains) {
				t.Fatalf("%d %s, want %d containing %s", resp.StatusCode, body(resp), want.status, want.contains)
			}
			validateAgainstOpenAPI(t, router, ev.RequestContext.HTTP.Method, ev.RawPath, ev.RawQueryString, resp.StatusCode, proxyHeader(resp), []byte(body(resp)))
		})
	}
}
