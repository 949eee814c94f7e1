package httpapi

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"unicode"
)

// FuzzSubmit: whatever the body, query string, content type and Accept header,
// the submit handler never panics, never answers 500, and every rejection has
// the ResponseStatus shape.
func FuzzSubmit(f *testing.F) {
	f.Add(validJSON, "", "application/json", "")
	f.Add(`{"startDate":"2026-10-01","endDate":"2026-10-01","includeCustomerIds":"maybe"}`, "format=csv", "text/csv", "")
	f.Add("StartDate=2026-10-01&EndDate=2026-10-31", "accountId=acct-acme", "application/x-www-form-urlencoded", "text/csv")
	f.Add(`{"startDate":[1,2],"endDate":{"a":null}}`, "endDate=2026-13-45", "application/json", "application/xml")
	f.Add(`{"webhookUrl":"https://[::1]:99999/x","emailAddressToNotify":"a@@b","timeZoneId":"../../etc/passwd"}`, "", "", "*/*;q=0")
	f.Add("\ufeff{\"startDate\":\"2026-02-29\"}", "format=", "multipart/form-data", "")
	f.Add(`{"startDate":"2026-10-01T25:00:00Z","endDate":"9999-12-31"}`, "includeCustomerIds=&format=json", "", "text/*")
	f.Fuzz(func(t *testing.T, reqBody, query, contentType, accept string) {
		query = rawQuery(query)
		w := newWorld()
		r := req{method: "POST", path: "/reports/billing", query: query, body: reqBody, caller: manager("acct-acme"),
			headers: map[string]string{"Content-Type": contentType, "Accept": accept}}
		resp := invoke(t, NewSubmitHandler(w.submitDeps()), r.request())
		checkFuzzResponse(t, resp.StatusCode, resp.Headers["Content-Type"], reqBody, []byte(body(resp)))
	})
}

// FuzzStatus does the same for the status routes' path and query.
func FuzzStatus(f *testing.F) {
	f.Add("/reports", "limit=5&status=Completed")
	f.Add("/reports/acmedone.csv", "format=json")
	f.Add("/reports/acmedone/download", "token=1.abc")
	f.Add("/reports", "nextToken=eyJ9.x&limit=-1")
	f.Add("/reports/%2e%2e/download", "token=99999999999999999999.x")
	f.Fuzz(func(t *testing.T, path, query string) {
		query = rawQuery(query)
		u, err := url.Parse(path)
		if err != nil || u.Path == "" || u.Path[0] != '/' {
			return
		}
		w := newWorld()
		seed(w)
		resp := invoke(t, NewStatusHandler(w.statusDeps()), req{path: u.EscapedPath(), query: query, caller: manager("acct-acme")}.request())
		checkFuzzResponse(t, resp.StatusCode, resp.Headers["Content-Type"], path+"?"+query, []byte(body(resp)))
	})
}

func checkFuzzResponse(t *testing.T, status int, contentType, input string, b []byte) {
	t.Helper()
	if status >= 500 {
		t.Fatalf("input %q: status %d: %s", input, status, b)
	}
	if status < 400 || contentType != contentTypeJSON {
		return
	}
	var e ErrorResponse
	if err := json.Unmarshal(b, &e); err != nil || e.ResponseStatus.ErrorCode == "" || e.ResponseStatus.Message == "" || e.ResponseStatus.Errors == nil {
		t.Fatalf("input %q: status %d without the error shape: %s", input, status, b)
	}
}

// rawQuery makes a fuzzed query string one API Gateway could deliver: the
// gateway never passes control characters or broken escapes raw.
func rawQuery(q string) string {
	if _, err := url.ParseQuery(q); err != nil || strings.ContainsFunc(q, unicode.IsControl) || strings.ContainsAny(q, " #") {
		return url.QueryEscape(q)
	}
	return q
}
