package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/linktoken"
	"github.com/evovoice/billing/memstore"
)

// seed stores reports of three accounts; acme has a customer-scoped one.
func seed(w *world) {
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	rep := func(id, account, scope string, st billing.ReportStatus, minutes int) billing.Report {
		r := billing.Report{ID: id, AccountID: account, CustomerScope: scope, Status: st, Name: "Billing Report 2026-10-01 to 2026-10-31",
			Request:     billing.ReportRequest{AccountID: account, StartDate: d(2026, 10, 1), EndDate: d(2026, 10, 31), EmailAddressToNotify: "=cmd@example.com"},
			DateCreated: base.Add(time.Duration(minutes) * time.Minute), DateUpdated: base.Add(time.Duration(minutes+1) * time.Minute)}
		if st == billing.ReportCompleted {
			r.ObjectKey = "reports/" + account + "/" + id + ".csv"
		}
		return r
	}
	w.put(rep("acmedone", "acct-acme", "", billing.ReportCompleted, 1))
	w.put(rep("acmerun", "acct-acme", "", billing.ReportRunning, 2))
	w.put(rep("acmelaw", "acct-acme", "c-law", billing.ReportCompleted, 3))
	w.put(rep("otherdone", "acct-other", "", billing.ReportCompleted, 4))
	w.put(rep("otherlaw", "acct-other", "c-law", billing.ReportQueued, 5))
}

func TestGetReport(t *testing.T) {
	w := newWorld()
	seed(w)
	h := NewStatusHandler(w.statusDeps())
	ri := decodeInfo(t, invoke(t, h, req{path: "/reports/acmedone", caller: manager("acct-acme")}.request()))
	wantLink := "https://files.example/reports/acct-acme/acmedone.csv?name=billing-report-2026-10-01-to-2026-10-31.csv&ttl=15m0s&at=2026-11-26T07:00:00Z"
	if ri.Status != billing.ReportCompleted || ri.DownloadLink != wantLink || ri.DateCreated != "2026-11-01T00:01:00Z" {
		t.Errorf("info = %+v", ri)
	}
	w.advance(time.Minute)
	again := decodeInfo(t, invoke(t, h, req{path: "/reports/acmedone", caller: manager("acct-acme")}.request()))
	if again.DownloadLink == ri.DownloadLink {
		t.Error("the download link was not made fresh on the second call")
	}
	if ri := decodeInfo(t, invoke(t, h, req{path: "/reports/acmerun", caller: manager("acct-acme")}.request())); ri.DownloadLink != "" || ri.Status != billing.ReportRunning {
		t.Errorf("running report: %+v", ri)
	}
	// CSV with formula escaping of the user's email address.
	resp := invoke(t, h, req{path: "/reports/acmerun.csv", caller: manager("acct-acme")}.request())
	if !strings.Contains(body(resp), ",'=cmd@example.com,") || resp.StatusCode != 200 {
		t.Errorf("csv: %d %q", resp.StatusCode, body(resp))
	}
	w.presignFake.presign = func(context.Context, string, string, time.Duration) (string, error) {
		return "", errors.New("no credentials")
	}
	resp = invoke(t, h, req{path: "/reports/acmedone", caller: manager("acct-acme")}.request())
	if e := decodeError(t, resp); resp.StatusCode != 503 || strings.Contains(body(resp), "credentials") {
		t.Errorf("presign failure: %d %+v", resp.StatusCode, e)
	}
}

func listIDs(t *testing.T, resp string) ([]string, string) {
	t.Helper()
	var l ReportList
	if err := json.Unmarshal([]byte(resp), &l); err != nil {
		t.Fatalf("%v: %s", err, resp)
	}
	var ids []string
	for _, r := range l.Results {
		ids = append(ids, r.ID)
	}
	return ids, l.NextToken
}

func TestListReports(t *testing.T) {
	w := newWorld()
	seed(w)
	h := NewStatusHandler(w.statusDeps())
	list := func(query string, caller *billing.Caller) (int, string) {
		resp := invoke(t, h, req{path: "/reports", query: query, caller: caller}.request())
		return resp.StatusCode, body(resp)
	}
	for _, tc := range []struct {
		query  string
		caller *billing.Caller
		want   string
	}{
		{"", manager("acct-acme"), "[acmelaw acmerun acmedone]"},
		{"accountId=acct-acme&status=Completed", manager("acct-acme"), "[acmelaw acmedone]"},
		{"ACCOUNTID=acct-acme&status=completed", manager("acct-acme", "acct-other"), "[acmelaw acmedone]"},
		{"", customer("acct-acme", "c-law"), "[acmelaw]"},
		{"accountId=acct-other", sysadmin(), "[otherlaw otherdone]"},
	} {
		status, b := list(tc.query, tc.caller)
		if status != 200 {
			t.Errorf("%q: %d %s", tc.query, status, b)
			continue
		}
		if ids, _ := listIDs(t, b); fmt.Sprint(ids) != tc.want {
			t.Errorf("%q as %v: %v, want %s", tc.query, tc.caller.Roles, ids, tc.want)
		}
	}
	if _, b := list("", manager("acct-third")); b != `{"results":[]}` {
		t.Errorf("empty list = %s", b)
	}

	// Paging: every report once, in order, and the token only works for its query.
	var seen []string
	tok := ""
	for page := 0; page < 5; page++ {
		q := "accountId=acct-acme&limit=1"
		if tok != "" {
			q += "&nextToken=" + url.QueryEscape(tok)
		}
		status, b := list(q, manager("acct-acme", "acct-other"))
		if status != 200 {
			t.Fatalf("page %d: %d %s", page, status, b)
		}
		ids, next := listIDs(t, b)
		seen = append(seen, ids...)
		if next == "" {
			break
		}
		tok = next
		if strings.Contains(next, "acme") {
			t.Errorf("token %q shows the store's cursor in clear", next)
		}
	}
	if fmt.Sprint(seen) != "[acmelaw acmerun acmedone]" {
		t.Errorf("paged = %v", seen)
	}
	_, b := list("accountId=acct-acme&limit=1", manager("acct-acme", "acct-other"))
	_, next := listIDs(t, b)
	for name, q := range map[string]string{
		"replayed for another account": "accountId=acct-other&nextToken=" + url.QueryEscape(next),
		"with another status":          "accountId=acct-acme&status=Completed&nextToken=" + url.QueryEscape(next),
		"tampered":                     "accountId=acct-acme&nextToken=" + url.QueryEscape("b3RoZXJkb25l"+next[strings.IndexByte(next, '.'):]),
		"garbage":                      "accountId=acct-acme&nextToken=%00%01",
	} {
		status, b := list(q, manager("acct-acme", "acct-other"))
		if status != 400 || !strings.Contains(b, `"fieldName":"NextToken"`) {
			t.Errorf("%s: %d %s", name, status, b)
		}
	}

	for q, want := range map[string]string{
		"limit=0":                               "GreaterThanOrEqual",
		"limit=201":                             "LessThanOrEqual",
		"limit=ten":                             "InvalidFormat",
		"status=Done":                           "InvalidFormat",
		"accountId=":                            "", // one account in the token: fine
		"format=yaml":                           "NotAcceptable",
		"accountId=acct-x":                      "Forbidden",
		"accountId=" + strings.Repeat("a", 257): "InvalidFormat",
		"accountId=acct%7Fx":                    "InvalidFormat",
	} {
		status, b := list(q, manager("acct-acme"))
		if want == "" {
			if status != 200 {
				t.Errorf("%q: %d %s", q, status, b)
			}
			continue
		}
		if !strings.Contains(b, `"errorCode":"`+want+`"`) {
			t.Errorf("%q: %d %s, want %s", q, status, b, want)
		}
	}
	for _, c := range []*billing.Caller{manager("acct-acme", "acct-other"), sysadmin()} {
		if status, b := list("", c); status != 400 || !strings.Contains(b, "'AccountId' must not be empty.") {
			t.Errorf("%v, no account chosen: %d %s", c, status, b)
		}
	}

	// CSV: header, one row per report, the token in a header.
	resp := invoke(t, h, req{path: "/reports.csv", query: "limit=2", caller: manager("acct-acme")}.request())
	rows := strings.Split(strings.TrimSuffix(body(resp), "\r\n"), "\r\n")
	if resp.StatusCode != 200 || len(rows) != 3 || !strings.HasPrefix(rows[0], "Id,Name,Status") || resp.Headers["X-Next-Token"] == "" {
		t.Errorf("csv list: %d %q %v", resp.StatusCode, body(resp), resp.Headers)
	}
}

// foreignLister lists another account's report whatever the filter.
type foreignLister struct{ *memstore.Reports }

func (f foreignLister) ListReports(ctx context.Context, _ billing.ReportFilter) (billing.ReportPage, error) {
	r, err := f.GetReport(ctx, "otherdone")
	return billing.ReportPage{Reports: []*billing.Report{r}}, err
}

// A store that returns a report it should not have (a bug, or a bad index) must
// still not leak it.
func TestListDropsForeignReports(t *testing.T) {
	w := newWorld()
	seed(w)
	d := w.statusDeps()
	d.Reports = foreignLister{w.store}
	resp := invoke(t, NewStatusHandler(d), req{path: "/reports", caller: manager("acct-acme")}.request())
	if body(resp) != `{"results":[]}` {
		t.Errorf("leaked: %s", body(resp))
	}
}

func TestDownload(t *testing.T) {
	w := newWorld()
	seed(w)
	h := NewStatusHandler(w.statusDeps())
	tok := func(id string, exp time.Duration) string { return linktoken.Sign(testKey, id, w.clock().Add(exp)) }
	dl := func(id, query string) (int, map[string]string, string) {
		resp := invoke(t, h, req{path: "/reports/" + id + "/download", query: query}.request())
		return resp.StatusCode, resp.Headers, body(resp)
	}
	status, hdr, _ := dl("acmedone", "token="+tok("acmedone", time.Hour))
	if status != 302 || !strings.HasPrefix(hdr["Location"], "https://files.example/reports/acct-acme/acmedone.csv?") ||
		hdr["Cache-Control"] != "no-store" || hdr["Referrer-Policy"] != "no-referrer" {
		t.Errorf("valid token: %d %v", status, hdr)
	}
	for name, tc := range map[string]struct {
		id, query string
		status    int
		message   string
	}{
		"missing":        {"acmedone", "", 403, "The download link has no token."},
		"other report":   {"otherdone", "token=" + tok("acmedone", time.Hour), 403, "The download link's token is not valid for this report."},
		"tampered":       {"acmedone", "token=" + url.QueryEscape(tok("acmedone", time.Hour)+"x"), 403, "The download link's token is not valid for this report."},
		"garbage":        {"acmedone", "token=%FF%FE", 403, "The download link's token is not valid for this report."},
		"expired":        {"acmedone", "token=" + tok("acmedone", -time.Second), 403, "The download link has expired; ask for a new one with GET /reports/{id}."},
		"other key":      {"acmedone", "token=" + linktoken.Sign([]byte("another key another key another key"), "acmedone", w.clock().Add(time.Hour)), 403, "The download link's token is not valid for this report."},
		"not completed":  {"acmerun", "token=" + tok("acmerun", time.Hour), 409, "Report 'acmerun' has no file to download (status Running)."},
		"deleted report": {"gone", "token=" + tok("gone", time.Hour), 404, "Report 'gone' no longer exists."},
	} {
		status, _, b := dl(tc.id, tc.query)
		var e ErrorResponse
		json.Unmarshal([]byte(b), &e)
		if status != tc.status || e.ResponseStatus.Message != tc.message {
			t.Errorf("%s: %d %s", name, status, b)
		}
	}
}

func TestStatusRoutingAndMethods(t *testing.T) {
	w := newWorld()
	seed(w)
	h := NewStatusHandler(w.statusDeps())
	for _, tc := range []struct {
		r      req
		status int
	}{
		{req{method: "POST", path: "/reports/acmedone", caller: manager("acct-acme")}, 405},
		{req{path: "/reports/acmedone/other", caller: manager("acct-acme")}, 404},
		{req{path: "/elsewhere", caller: manager("acct-acme")}, 404},
		{req{path: "/reports/a/b/c", caller: manager("acct-acme")}, 404},
		{req{path: "/reports/acmedone", headers: map[string]string{"Accept": "text/html, */*;q=0.1"}, caller: manager("acct-acme")}, 200},
		{req{path: "/reports/acmedone", headers: map[string]string{"Accept": "text/html"}, caller: manager("acct-acme")}, 406},
		{req{path: "/reports/acmedone", headers: map[string]string{"Accept": "text/csv;q=0.9, application/json;q=0.5"}, caller: manager("acct-acme")}, 200},
	} {
		resp := invoke(t, h, tc.r.request())
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s %v: %d, want %d: %s", tc.r.method, tc.r.path, tc.r.headers, resp.StatusCode, tc.status, body(resp))
		}
		if resp.StatusCode >= 400 {
			decodeError(t, resp)
		}
	}
	resp := invoke(t, h, req{path: "/reports/acmedone", headers: map[string]string{"Accept": "text/csv;q=0.9, application/json;q=0.5"}, caller: manager("acct-acme")}.request())
	if resp.Headers["Content-Type"] != contentTypeCSV {
		t.Errorf("Accept q-values: got %s", resp.Headers["Content-Type"])
	}
	resp = invoke(t, h, req{path: "/openapi.json"}.request())
	if resp.StatusCode != 200 || body(resp) != string(OpenAPIDocument) {
		t.Errorf("openapi: %d", resp.StatusCode)
	}
}

// TestListQueryCaseVariantsLastWins: as for submit, the later of two names
// that differ only in case wins, every time.
func TestListQueryCaseVariantsLastWins(t *testing.T) {
	w := newWorld()
	seed(w)
	h := NewStatusHandler(w.statusDeps())
	for i := 0; i < 40; i++ {
		resp := invoke(t, h, req{path: "/reports", query: "accountId=acct-acme&status=Running&STATUS=Completed", caller: manager("acct-acme")}.request())
		if ids, _ := listIDs(t, body(resp)); fmt.Sprint(ids) != "[acmelaw acmedone]" {
			t.Fatalf("run %d: %v, want the Completed ones (the last status given)", i, ids)
		}
	}
}
