package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
)

const validJSON = `{"accountId":"acct-acme","startDate":"2026-10-01","endDate":"2026-10-31"}`

func post(body string, caller *billing.Caller) req {
	return req{method: http.MethodPost, path: "/reports/billing", headers: map[string]string{"Content-Type": "application/json"}, body: body, caller: caller}
}

func TestSubmitQueuesAndEnqueues(t *testing.T) {
	w := newWorld()
	h := NewSubmitHandler(w.submitDeps())
	resp := invoke(t, h, post(`{"accountId":"acct-acme","startDate":"2026-10-01","endDate":"2026-10-31","emailAddressToNotify":"ops@example.com","includeCustomerIds":true}`, manager("acct-acme")).request())
	ri := decodeInfo(t, resp)
	if ri.Status != billing.ReportQueued || ri.Name != "Billing Report 2026-10-01 to 2026-10-31" || ri.JobID != "msg-"+ri.ID ||
		ri.EmailAddressToNotify != "ops@example.com" || ri.DateCreated != "2026-11-26T07:00:00Z" || ri.DownloadLink != "" {
		t.Errorf("ReportInfo = %+v", ri)
	}
	if got := w.sentJobs(); len(got) != 1 || got[0].ReportID != ri.ID {
		t.Errorf("sent = %+v", got)
	}
	stored := w.report(ri.ID)
	if stored.JobID != ri.JobID || stored.AccountID != "acct-acme" || !stored.Request.IncludeCustomerIDs || stored.CreatedBy != "user-manager" || stored.CustomerScope != "" {
		t.Errorf("stored = %+v", stored)
	}
	if resp.Headers["Content-Type"] != contentTypeJSON || resp.Headers["Cache-Control"] != "no-store" {
		t.Errorf("headers = %v", resp.Headers)
	}
}

func TestSubmitCustomerScopeRecorded(t *testing.T) {
	w := newWorld()
	ri := decodeInfo(t, invoke(t, NewSubmitHandler(w.submitDeps()), post(validJSON, customer("acct-acme", "c-law")).request()))
	if got := w.report(ri.ID).CustomerScope; got != "c-law" {
		t.Errorf("CustomerScope = %q, want c-law", got)
	}
}

func TestSubmitAccountFromToken(t *testing.T) {
	w := newWorld()
	h := NewSubmitHandler(w.submitDeps())
	ri := decodeInfo(t, invoke(t, h, post(`{"startDate":"2026-10-01","endDate":"2026-10-01"}`, manager("acct-other")).request()))
	if w.report(ri.ID).AccountID != "acct-other" {
		t.Errorf("account = %q", w.report(ri.ID).AccountID)
	}
	resp := invoke(t, h, post(`{"startDate":"2026-10-01","endDate":"2026-10-01"}`, manager("acct-acme", "acct-other")).request())
	if e := decodeError(t, resp); resp.StatusCode != 400 || e.ResponseStatus.Errors[0].FieldName != "AccountId" || e.ResponseStatus.ErrorCode != "NotEmpty" {
		t.Errorf("two accounts, none given: %d %+v", resp.StatusCode, e)
	}
}

const hookMsg = "'WebhookUrl' must be an absolute https URL of a public host."

// The local stack's submit accepts what its sender sends to (http and
// loopback receivers on the developer's machine) and still refuses the rest.
func TestSubmitWebhookGuardLocally(t *testing.T) {
	for _, tc := range []struct {
		url    string
		status int
	}{
		{"http://127.0.0.1:9000/hook", 200},
		{"http://localhost:9000/hook", 200},
		{"http://10.0.0.1/hook", 400},
		{"http://169.254.169.254/latest", 400},
	} {
		w := newWorld()
		d := w.submitDeps()
		d.AllowInsecureWebhooks = true
		resp := invoke(t, NewSubmitHandler(d), post(`{"startDate":"2026-10-01","endDate":"2026-10-01","webhookUrl":"`+tc.url+`"}`, manager("acct-acme")).request())
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.url, resp.StatusCode, tc.status, body(resp))
		}
	}
}

// TestSubmitValidation covers every rule of spec 2.1 and the binding errors:
// status, top-level code and message (= the first field error) and each field.
func TestSubmitValidation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		r      req
		status int
		code   string
		fields []billing.FieldError
	}{
		{"empty body", post(`{}`, manager("acct-acme")), 400, "NotEmpty", []billing.FieldError{
			fe("NotEmpty", "StartDate", "'StartDate' must not be empty."), fe("NotEmpty", "EndDate", "'EndDate' must not be empty.")}},
		{"no body at all", req{method: "POST", path: "/reports/billing", caller: manager("acct-acme")}, 400, "NotEmpty", []billing.FieldError{
			fe("NotEmpty", "StartDate", "'StartDate' must not be empty."), fe("NotEmpty", "EndDate", "'EndDate' must not be empty.")}},
		{"bad start", post(`{"startDate":"10/01/2026","endDate":"2026-10-31"}`, manager("acct-acme")), 400, "InvalidFormat", []billing.FieldError{
			fe("InvalidFormat", "StartDate", "'StartDate' must be a date in the format YYYY-MM-DD.")}},
		{"bad end", post(`{"startDate":"2026-10-01","endDate":"2026-13-01"}`, manager("acct-acme")), 400, "InvalidFormat", []billing.FieldError{
			fe("InvalidFormat", "EndDate", "'EndDate' must be a date in the format YYYY-MM-DD.")}},
		{"end before start", post(`{"startDate":"2026-10-02","endDate":"2026-10-01"}`, manager("acct-acme")), 400, "GreaterThanOrEqual", []billing.FieldError{
			fe("GreaterThanOrEqual", "EndDate", "'EndDate' must be greater than or equal to '2026-10-02'.")}},
		{"over 366 days", post(`{"startDate":"2026-01-01","endDate":"2027-01-02"}`, manager("acct-acme")), 400, "LessThanOrEqual", []billing.FieldError{
			fe("LessThanOrEqual", "EndDate", "'EndDate' must be less than or equal to '2027-01-01' (a report covers at most 366 days).")}},
		{"bad zone", post(`{"startDate":"2026-10-01","endDate":"2026-10-01","timeZoneId":"Mars/Olympus"}`, manager("acct-acme")), 400, "InvalidFormat", []billing.FieldError{
			fe("InvalidFormat", "TimeZoneId", "'TimeZoneId' must be an IANA time zone such as 'America/New_York'.")}},
		{"bad email", post(`{"startDate":"2026-10-01","endDate":"2026-10-01","emailAddressToNotify":"not an email"}`, manager("acct-acme")), 400, "Email", []billing.FieldError{
			fe("Email", "EmailAddressToNotify", "'EmailAddressToNotify' is not a valid email address.")}},
		{"http webhook", post(`{"startDate":"2026-10-01","endDate":"2026-10-01","webhookUrl":"http://example.com/hook"}`, manager("acct-acme")), 400, "InvalidFormat", []billing.FieldError{
			fe("InvalidFormat", "WebhookUrl", hookMsg)}},
		// Spec 2.6: the sender's own guard, at submit.
		{"private webhook", post(`{"startDate":"2026-10-01","endDate":"2026-10-01","webhookUrl":"https://10.0.0.1/hook"}`, manager("acct-acme")), 400, "InvalidFormat", []billing.FieldError{
			fe("InvalidFormat", "WebhookUrl", hookMsg)}},
		{"metadata webhook", post(`{"startDate":"2026-10-01","endDate":"2026-10-01","webhookUrl":"https://169.254.169.254/latest"}`, manager("acct-acme")), 400, "InvalidFormat", []billing.FieldError{
			fe("InvalidFormat", "WebhookUrl", hookMsg)}},
		{"CGNAT webhook", post(`{"startDate":"2026-10-01","endDate":"2026-10-01","webhookUrl":"https://100.64.0.1/hook"}`, manager("acct-acme")), 400, "InvalidFormat", []billing.FieldError{
			fe("InvalidFormat", "WebhookUrl", hookMsg)}},
		{"loopback webhook", post(`{"startDate":"2026-10-01","endDate":"2026-10-01","webhookUrl":"https://127.0.0.1:8443/hook"}`, manager("acct-acme")), 400, "InvalidFormat", []billing.FieldError{
			fe("InvalidFormat", "WebhookUrl", hookMsg)}},
		{"IPv6 link-local webhook", post(`{"startDate":"2026-10-01","endDate":"2026-10-01","webhookUrl":"https://[fe80::1]/hook"}`, manager("acct-acme")), 400, "InvalidFormat", []billing.FieldError{
			fe("InvalidFormat", "WebhookUrl", hookMsg)}},
		{"localhost webhook", post(`{"startDate":"2026-10-01","endDate":"2026-10-01","webhookUrl":"https://LocalHost./hook"}`, manager("acct-acme")), 400, "InvalidFormat", []billing.FieldError{
			fe("InvalidFormat", "WebhookUrl", hookMsg)}},
		// Spec 2.1: UTC bounds outside the years 1 to 9999, in the zone given
		// or, without one, the account's (acct-acme is in New York).
		{"period into 10000 in the account's zone", post(`{"startDate":"9999-12-31","endDate":"9999-12-31"}`, manager("acct-acme")), 400, "LessThanOrEqual", []billing.FieldError{
			fe("LessThanOrEqual", "EndDate", "'EndDate' must end before the year 10000 in UTC (in time zone America/New_York).")}},
		{"period into 10000 in the given zone", post(`{"startDate":"9999-12-31","endDate":"9999-12-31","timeZoneId":"America/New_York"}`, manager("acct-other")), 400, "LessThanOrEqual", []billing.FieldError{
			fe("LessThanOrEqual", "EndDate", "'EndDate' must end before the year 10000 in UTC (in time zone America/New_York).")}},
		{"period before year 1", post(`{"startDate":"0001-01-01","endDate":"0001-01-01","timeZoneId":"Asia/Tokyo"}`, manager("acct-acme")), 400, "GreaterThanOrEqual", []billing.FieldError{
			fe("GreaterThanOrEqual", "StartDate", "'StartDate' must not begin before the year 1 in UTC (in time zone Asia/Tokyo).")}},
		// Spec 2.1: refused, not mangled into U+FFFD and mailed.
		{"email with invalid UTF-8 in JSON", post("{\"startDate\":\"2026-10-01\",\"endDate\":\"2026-10-01\",\"emailAddressToNotify\":\"ops\xff@example.com\"}", manager("acct-acme")), 400, "Email", []billing.FieldError{
			fe("Email", "EmailAddressToNotify", "'EmailAddressToNotify' is not a valid email address.")}},
		{"email with invalid UTF-8 in the query", req{method: "POST", path: "/reports/billing", query: "startDate=2026-10-01&endDate=2026-10-01&emailAddressToNotify=ops%FF@example.com", caller: manager("acct-acme")}, 400, "Email", []billing.FieldError{
			fe("Email", "EmailAddressToNotify", "'EmailAddressToNotify' is not a valid email address.")}},
		{"email with a bidi override", post(`{"startDate":"2026-10-01","endDate":"2026-10-01","emailAddressToNotify":"moc.elpmaxe@\u202eops"}`, manager("acct-acme")), 400, "Email", []billing.FieldError{
			fe("Email", "EmailAddressToNotify", "'EmailAddressToNotify' is not a valid email address.")}},
		{"email with an escaped control character", post(`{"startDate":"2026-10-01","endDate":"2026-10-01","emailAddressToNotify":"ops\u0007@example.com"}`, manager("acct-acme")), 400, "Email", []billing.FieldError{
			fe("Email", "EmailAddressToNotify", "'EmailAddressToNotify' is not a valid email address.")}},
		{"bad bool in query", req{method: "POST", path: "/reports/billing", query: "startDate=2026-10-01&endDate=2026-10-01&includeCustomerIds=maybe", caller: manager("acct-acme")}, 400, "InvalidFormat", []billing.FieldError{
			fe("InvalidFormat", "IncludeCustomerIds", "'IncludeCustomerIds' must be true or false.")}},
		{"object for a field", post(`{"startDate":{"x":1},"endDate":"2026-10-01"}`, manager("acct-acme")), 400, "InvalidFormat", []billing.FieldError{
			fe("InvalidFormat", "StartDate", "'StartDate' must be a single value.")}},
		{"malformed JSON", post(`{"startDate":`, manager("acct-acme")), 400, "SerializationException", nil},
		{"trailing data", post(`{"startDate":"2026-10-01"} {}`, manager("acct-acme")), 400, "SerializationException", nil},
		{"JSON array body", post(`[1]`, manager("acct-acme")), 400, "SerializationException", nil},
		{"idempotency key too long", req{method: "POST", path: "/reports/billing", body: validJSON, headers: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}, caller: manager("acct-acme")}, 400, "InvalidFormat", []billing.FieldError{
			fe("InvalidFormat", "Idempotency-Key", "'Idempotency-Key' must be at most 255 characters.")}},
		{"body too large", post(`{"startDate":"2026-10-01","x":"`+strings.Repeat("a", 70000)+`"}`, manager("acct-acme")), 413, "RequestEntityTooLarge", nil},
		{"no token", post(validJSON, nil), 401, "Unauthorized", nil},
		{"token without subject", post(validJSON, &billing.Caller{Roles: []billing.Role{billing.RoleManager}, AccountIDs: []string{"acct-acme"}}), 401, "Unauthorized", nil},
		{"no role", post(validJSON, noRole("acct-acme")), 403, "Forbidden", nil},
		{"other account", post(validJSON, manager("acct-other")), 403, "Forbidden", nil},
		{"customer without customer id", post(validJSON, &billing.Caller{Subject: "x", Roles: []billing.Role{billing.RoleCustomer}, AccountIDs: []string{"acct-acme"}}), 403, "Forbidden", nil},
		{"account id too long", post(`{"accountId":"`+strings.Repeat("a", 129)+`","startDate":"2026-10-01","endDate":"2026-10-01"}`, sysadmin()), 400, "InvalidFormat", []billing.FieldError{
			fe("InvalidFormat", "AccountId", "'AccountId' must be 1 to 128 characters of A-Z a-z 0-9 . _ : @ -.")}},
		{"account id with a control character", req{method: "POST", path: "/reports/billing", query: "accountId=acct%00acme&startDate=2026-10-01&endDate=2026-10-01", caller: sysadmin()}, 400, "InvalidFormat", []billing.FieldError{
			fe("InvalidFormat", "AccountId", "'AccountId' must be 1 to 128 characters of A-Z a-z 0-9 . _ : @ -.")}},
		{"account id with a space", post(`{"accountId":"Acme Corp","startDate":"2026-10-01","endDate":"2026-10-01"}`, sysadmin()), 400, "InvalidFormat", []billing.FieldError{
			fe("InvalidFormat", "AccountId", "'AccountId' must be 1 to 128 characters of A-Z a-z 0-9 . _ : @ -.")}},
		{"account id in brackets", post(`{"accountId":"[acct-acme]","startDate":"2026-10-01","endDate":"2026-10-01"}`, sysadmin()), 400, "InvalidFormat", []billing.FieldError{
			fe("InvalidFormat", "AccountId", "'AccountId' must be 1 to 128 characters of A-Z a-z 0-9 . _ : @ -.")}},
		{"unknown account", post(`{"accountId":"acct-nope","startDate":"2026-10-01","endDate":"2026-10-01"}`, sysadmin()), 404, "NotFound", nil},
		{"unknown route", req{method: "POST", path: "/reports/billingx", body: validJSON, caller: manager("acct-acme")}, 404, "NotFound", nil},
		{"unknown format", req{method: "POST", path: "/reports/billing", query: "format=xml", body: validJSON, caller: manager("acct-acme")}, 406, "NotAcceptable", nil},
		{"unknown suffix", req{method: "POST", path: "/reports/billing.xml", body: validJSON, caller: manager("acct-acme")}, 406, "NotAcceptable", nil},
		{"unsupported Accept", req{method: "POST", path: "/reports/billing", body: validJSON, headers: map[string]string{"Accept": "application/xml"}, caller: manager("acct-acme")}, 406, "NotAcceptable", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			resp := invoke(t, NewSubmitHandler(w.submitDeps()), tc.r.request())
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tc.status, body(resp))
			}
			e := decodeError(t, resp).ResponseStatus
			if e.ErrorCode != tc.code {
				t.Errorf("errorCode = %q, want %q", e.ErrorCode, tc.code)
			}
			if tc.fields != nil {
				if fmt.Sprint(e.Errors) != fmt.Sprint(tc.fields) {
					t.Errorf("errors = %+v\nwant     %+v", e.Errors, tc.fields)
				}
				if e.Message != tc.fields[0].Message {
					t.Errorf("message = %q, want the first field error's", e.Message)
				}
			}
			if len(w.reports()) != 0 || len(w.sentJobs()) != 0 {
				t.Errorf("a rejected request wrote something: %d reports, %d jobs", len(w.reports()), len(w.sentJobs()))
			}
		})
	}
}

// TestSubmitBinding checks ServiceStack's order (JSON, then query, then form),
// case-insensitive names, JSON labelled as something else, and every route.
func TestSubmitBinding(t *testing.T) {
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	for _, tc := range []struct {
		name string
		r    req
		want billing.ReportRequest
	}{
		{"json camel", post(validJSON, manager("acct-acme")), billing.ReportRequest{AccountID: "acct-acme", StartDate: d(2026, 10, 1), EndDate: d(2026, 10, 31)}},
		{"json pascal", post(`{"AccountId":"acct-acme","StartDate":"2026-10-01T00:00:00Z","ENDDATE":"2026-10-02","IncludeCustomerIds":"true","TimeZoneID":"Europe/London"}`, manager("acct-acme")),
			billing.ReportRequest{AccountID: "acct-acme", StartDate: d(2026, 10, 1), EndDate: d(2026, 10, 2), IncludeCustomerIDs: true, TimeZoneID: "Europe/London"}},
		{"json labelled text/csv", req{method: "POST", path: "/reports/billing", headers: map[string]string{"Content-Type": "text/csv"}, body: "  " + validJSON, caller: manager("acct-acme")},
			billing.ReportRequest{AccountID: "acct-acme", StartDate: d(2026, 10, 1), EndDate: d(2026, 10, 31)}},
		{"query overrides json", req{method: "POST", path: "/reports/billing", query: "enddate=2026-10-05&includeCustomerIds=True", body: validJSON, caller: manager("acct-acme")},
			billing.ReportRequest{AccountID: "acct-acme", StartDate: d(2026, 10, 1), EndDate: d(2026, 10, 5), IncludeCustomerIDs: true}},
		{"form overrides query", req{method: "POST", path: "/reports/billing", query: "startDate=2026-09-01&endDate=2026-09-30", headers: form, body: "EndDate=2026-09-15&accountid=acct-acme&unknown=1", caller: manager("acct-acme")},
			billing.ReportRequest{AccountID: "acct-acme", StartDate: d(2026, 9, 1), EndDate: d(2026, 9, 15)}},
		{"GET with query", req{method: "GET", path: "/reports/billing", query: "accountId=acct-acme&startDate=2026-10-01&endDate=2026-10-01&emailAddressToNotify=a%40b.co", caller: manager("acct-acme")},
			billing.ReportRequest{AccountID: "acct-acme", StartDate: d(2026, 10, 1), EndDate: d(2026, 10, 1), EmailAddressToNotify: "a@b.co"}},
		{"api route", req{method: "POST", path: "/api/BillingReport", body: validJSON, caller: manager("acct-acme")}, billing.ReportRequest{AccountID: "acct-acme", StartDate: d(2026, 10, 1), EndDate: d(2026, 10, 31)}},
		{"json reply route", req{method: "POST", path: "/json/reply/BillingReport", body: validJSON, caller: manager("acct-acme")}, billing.ReportRequest{AccountID: "acct-acme", StartDate: d(2026, 10, 1), EndDate: d(2026, 10, 31)}},
		{"json numbers and null", post(`{"accountId":"acct-acme","startDate":"2026-10-01","endDate":"2026-10-01","timeZoneId":null,"includeCustomerIds":1}`, manager("acct-acme")),
			billing.ReportRequest{AccountID: "acct-acme", StartDate: d(2026, 10, 1), EndDate: d(2026, 10, 1), IncludeCustomerIDs: true}},
		{"last duplicate wins", post(`{"accountId":"acct-acme","startDate":"2026-10-01","endDate":"2026-10-01","EndDate":"2026-10-03"}`, manager("acct-acme")),
			billing.ReportRequest{AccountID: "acct-acme", StartDate: d(2026, 10, 1), EndDate: d(2026, 10, 3)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			ri := decodeInfo(t, invoke(t, NewSubmitHandler(w.submitDeps()), tc.r.request()))
			if got := w.report(ri.ID).Request; got != tc.want {
				t.Errorf("request = %+v\nwant      %+v", got, tc.want)
			}
		})
	}
}

func d(y int, m time.Month, day int) billing.Date { return billing.Date{Year: y, Month: m, Day: day} }

func TestSubmitCSV(t *testing.T) {
	for _, r := range []req{
		{method: "POST", path: "/reports/billing.csv", body: validJSON},
		{method: "POST", path: "/reports/billing", query: "format=csv", body: validJSON},
		{method: "POST", path: "/reports/billing", headers: map[string]string{"Accept": "text/csv"}, body: validJSON},
		{method: "POST", path: "/csv/reply/BillingReport", body: validJSON},
		{method: "POST", path: "/reports/billing.json", query: "format=csv", body: validJSON},
	} {
		w := newWorld()
		r.caller = manager("acct-acme")
		resp := invoke(t, NewSubmitHandler(w.submitDeps()), r.request())
		want := "Id,Name,Status,StatusMessage,DateCreated,DateUpdated,DownloadLink,JobId,EmailAddressToNotify,Server\r\n" +
			"rep000001,Billing Report 2026-10-01 to 2026-10-31,Queued,,2026-11-26T07:00:00Z,2026-11-26T07:00:00Z,,msg-rep000001,,\r\n"
		if resp.StatusCode != 200 || body(resp) != want || resp.Headers["Content-Type"] != contentTypeCSV {
			t.Errorf("%s %s?%s: %d %q %v", r.method, r.path, r.query, resp.StatusCode, body(resp), resp.Headers)
		}
	}
	// Errors in CSV when CSV was asked for.
	w := newWorld()
	resp := invoke(t, NewSubmitHandler(w.submitDeps()), req{method: "POST", path: "/reports/billing.csv", body: `{}`, caller: manager("acct-acme")}.request())
	want := "ErrorCode,FieldName,Message\r\nNotEmpty,,'StartDate' must not be empty.\r\nNotEmpty,StartDate,'StartDate' must not be empty.\r\nNotEmpty,EndDate,'EndDate' must not be empty.\r\n"
	if resp.StatusCode != 400 || body(resp) != want {
		t.Errorf("CSV error: %d %q", resp.StatusCode, body(resp))
	}
}

func TestSubmitIdempotency(t *testing.T) {
	w := newWorld()
	h := NewSubmitHandler(w.submitDeps())
	keyed := func(body, key string, caller *billing.Caller) req {
		r := post(body, caller)
		r.headers["Idempotency-Key"] = key
		return r
	}
	first := decodeInfo(t, invoke(t, h, keyed(validJSON, "k1", manager("acct-acme")).request()))
	w.advance(time.Hour)
	again := decodeInfo(t, invoke(t, h, keyed(`{"ACCOUNTID":"acct-acme","startDate":"2026-10-01T10:00:00Z","endDate":"2026-10-31"}`, "k1", manager("acct-acme")).request()))
	if again != first {
		t.Errorf("repeat = %+v, want the original %+v", again, first)
	}
	if len(w.reports()) != 1 || len(w.sentJobs()) != 1 {
		t.Errorf("repeat created %d reports, %d jobs", len(w.reports()), len(w.sentJobs()))
	}
	resp := invoke(t, h, keyed(`{"accountId":"acct-acme","startDate":"2026-10-01","endDate":"2026-10-30"}`, "k1", manager("acct-acme")).request())
	if e := decodeError(t, resp); resp.StatusCode != 409 || e.ResponseStatus.ErrorCode != "Conflict" {
		t.Errorf("other parameters: %d %+v", resp.StatusCode, e)
	}
	// The same key of another caller is another key.
	other := &billing.Caller{Subject: "someone-else", Roles: []billing.Role{billing.RoleManager}, AccountIDs: []string{"acct-acme"}}
	if ri := decodeInfo(t, invoke(t, h, keyed(validJSON, "k1", other).request())); ri.ID == first.ID {
		t.Error("another caller's key returned the first caller's report")
	}
	// After 24 h the key is free again.
	w.advance(24 * time.Hour)
	if ri := decodeInfo(t, invoke(t, h, keyed(validJSON, "k1", manager("acct-acme")).request())); ri.ID == first.ID {
		t.Error("an expired key still returned the old report")
	}
}

func TestSubmitTooMany(t *testing.T) {
	w := newWorld()
	h := NewSubmitHandler(w.submitDeps())
	for i := 0; i < 10; i++ {
		decodeInfo(t, invoke(t, h, post(validJSON, manager("acct-acme")).request()))
	}
	resp := invoke(t, h, post(validJSON, manager("acct-acme")).request())
	if e := decodeError(t, resp); resp.StatusCode != 429 || e.ResponseStatus.ErrorCode != "TooManyRequests" || !strings.Contains(e.ResponseStatus.Message, "10 reports") {
		t.Errorf("11th: %d %+v", resp.StatusCode, e)
	}
	decodeInfo(t, invoke(t, h, post(`{"accountId":"acct-other","startDate":"2026-10-01","endDate":"2026-10-31"}`, manager("acct-other")).request()))
}

// TestSubmitQueueDown: the send fails -> 503, the Queued report stays for the
// sweep, and a retry with the same key completes it without a second report.
func TestSubmitQueueDown(t *testing.T) {
	w := newWorld()
	works := w.queueFake.enqueue
	w.queueFake.enqueue = func(context.Context, billing.Job) (string, error) {
		return "", billing.WrapError(billing.EUNAVAILABLE, errors.New("connection refused"), "queue down")
	}
	h := NewSubmitHandler(w.submitDeps())
	r := post(validJSON, manager("acct-acme"))
	r.headers["Idempotency-Key"] = "retry-me"
	resp := invoke(t, h, r.request())
	e := decodeError(t, resp)
	if resp.StatusCode != 503 || e.ResponseStatus.ErrorCode != "ServiceUnavailable" || strings.Contains(body(resp), "connection refused") {
		t.Fatalf("queue down: %d %s", resp.StatusCode, body(resp))
	}
	if len(w.reports()) != 1 {
		t.Fatalf("reports = %d, want the Queued one left for the sweep", len(w.reports()))
	}
	for _, rep := range w.reports() {
		if rep.Status != billing.ReportQueued || rep.JobID != "" {
			t.Errorf("left report = %+v", rep)
		}
	}
	w.queueFake.enqueue = works
	ri := decodeInfo(t, invoke(t, h, r.request()))
	if len(w.reports()) != 1 || ri.JobID == "" || len(w.sentJobs()) != 1 || w.report(ri.ID).JobID != ri.JobID {
		t.Errorf("retry: %d reports, %d jobs, info %+v", len(w.reports()), len(w.sentJobs()), ri)
	}
	// A further repeat does not send again.
	decodeInfo(t, invoke(t, h, r.request()))
	if len(w.sentJobs()) != 1 {
		t.Errorf("jobs = %d after a repeat of a queued report", len(w.sentJobs()))
	}
}

// TestSubmitRetryAfterCreateFailed: the first request reserved the key but the
// store failed before the report existed; the retry creates it under the
// reserved id.
func TestSubmitRetryAfterCreateFailed(t *testing.T) {
	w := newWorld()
	restore := w.failing("CreateReport")
	h := NewSubmitHandler(w.submitDeps())
	r := post(validJSON, manager("acct-acme"))
	r.headers["Idempotency-Key"] = "k"
	if resp := invoke(t, h, r.request()); resp.StatusCode != 503 {
		t.Fatalf("store down: %d", resp.StatusCode)
	}
	restore()
	ri := decodeInfo(t, invoke(t, h, r.request()))
	if ri.ID != "rep000001" || len(w.reports()) != 1 {
		t.Errorf("retry made %+v (%d reports), want the reserved id rep000001", ri, len(w.reports()))
	}
}

func TestSubmitDependencyErrorsNeverLeak(t *testing.T) {
	w := newWorld()
	w.accountFake.get = func(context.Context, string) (*billing.Account, error) {
		return nil, errors.New("dial tcp 10.0.0.1:443: secret internal detail")
	}
	resp := invoke(t, NewSubmitHandler(w.submitDeps()), post(validJSON, manager("acct-acme")).request())
	e := decodeError(t, resp)
	if resp.StatusCode != 500 || e.ResponseStatus.Message != "Internal error." || strings.Contains(body(resp), "secret") {
		t.Errorf("%d %s", resp.StatusCode, body(resp))
	}
}

func TestSetJobIDFailureStillAnswers(t *testing.T) {
	w := newWorld()
	w.failing("SetJobID")
	ri := decodeInfo(t, invoke(t, NewSubmitHandler(w.submitDeps()), post(validJSON, manager("acct-acme")).request()))
	if ri.JobID == "" || len(w.sentJobs()) != 1 {
		t.Errorf("info %+v, jobs %d", ri, len(w.sentJobs()))
	}
}

func fe(code, field, msg string) billing.FieldError {
	return billing.FieldError{ErrorCode: code, FieldName: field, Message: msg}
}

// TestSubmitBindingCaseVariantsLastWins: names that differ only in case are
// one field, and the later one in the query string or form body wins every
// time (ranging over a parsed url.Values made the winner random).
func TestSubmitBindingCaseVariantsLastWins(t *testing.T) {
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	for _, tc := range []struct {
		name string
		r    req
	}{
		{"query", req{method: "POST", path: "/reports/billing", query: "accountId=acct-acme&startDate=2026-10-01&endDate=2026-10-05&ENDDATE=2026-10-06", caller: manager("acct-acme")}},
		{"form", req{method: "POST", path: "/reports/billing", headers: form, body: "accountId=acct-acme&startDate=2026-10-01&EndDate=2026-10-05&endDATE=2026-10-06", caller: manager("acct-acme")}},
	} {
		for i := 0; i < 40; i++ {
			w := newWorld()
			ri := decodeInfo(t, invoke(t, NewSubmitHandler(w.submitDeps()), tc.r.request()))
			if got := w.report(ri.ID).Request.EndDate; got != d(2026, 10, 6) {
				t.Fatalf("%s, run %d: EndDate = %v, want the last one, 2026-10-06", tc.name, i, got)
			}
		}
	}
}

// The audit's lock-out: Customer-role users cannot fill the account. One holds
// at most 3 active reports, all of them together at most 7, and the account's
// Managers still get the remaining 3; each refusal is a 429 naming its limit.
func TestSubmitFairShare(t *testing.T) {
	w := newWorld()
	h := NewSubmitHandler(w.submitDeps())
	submit := func(caller *billing.Caller) (int, string) {
		resp := invoke(t, h, post(validJSON, caller).request())
		if resp.StatusCode == 200 {
			return 200, ""
		}
		return resp.StatusCode, decodeError(t, resp).ResponseStatus.Message
	}
	for i := range 3 {
		if st, msg := submit(customer("acct-acme", "c-1")); st != 200 {
			t.Fatalf("c-1's report %d: %d %s", i+1, st, msg)
		}
	}
	if st, msg := submit(customer("acct-acme", "c-1")); st != 429 || !strings.Contains(msg, "You already have 3 reports") {
		t.Fatalf("c-1's 4th report: %d %q, want 429 for the per-Customer limit", st, msg)
	}
	for _, c := range []string{"c-2", "c-2", "c-2", "c-3"} {
		if st, msg := submit(customer("acct-acme", c)); st != 200 {
			t.Fatalf("%s: %d %s", c, st, msg)
		}
	}
	if st, msg := submit(customer("acct-acme", "c-4")); st != 429 || !strings.Contains(msg, "7 reports of Customer-role users") {
		t.Fatalf("8th Customer-role report: %d %q, want 429 for the Customer-role limit", st, msg)
	}
	for i := range 3 {
		if st, msg := submit(manager("acct-acme")); st != 200 {
			t.Fatalf("Manager's report %d beside 7 Customer ones: %d %s", i+1, st, msg)
		}
	}
	if st, msg := submit(manager("acct-acme")); st != 429 || !strings.Contains(msg, "already has 10 reports") {
		t.Fatalf("11th report: %d %q, want 429 for the account limit", st, msg)
	}
	// Another account has its own share.
	resp := invoke(t, h, post(`{"accountId":"acct-other","startDate":"2026-10-01","endDate":"2026-10-31"}`, customer("acct-other", "c-1")).request())
	if resp.StatusCode != 200 {
		t.Fatalf("c-1 of another account: %d %s", resp.StatusCode, body(resp))
	}
}
