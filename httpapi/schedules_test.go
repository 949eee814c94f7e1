package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
)

// seedSchedules stores schedules as the API would have made them: one of
// acct-acme for its Managers, one of acct-acme's c-law subtree, one of
// acct-other.
func seedSchedules(t testing.TB, w *world) {
	t.Helper()
	for _, s := range []struct{ id, account, scope string }{
		{"schedacme", "acct-acme", ""}, {"schedlaw", "acct-acme", "c-law"}, {"schedother", "acct-other", ""},
	} {
		sc := &billing.Schedule{ID: s.id, CustomerScope: s.scope, CreatedBy: "seed",
			Spec: billing.ScheduleSpec{AccountID: s.account, Frequency: billing.Monthly, DayOfMonth: 1, Hour: 6,
				TimeZoneID: "America/New_York", EmailAddressToNotify: "=cmd@example.com", Enabled: true},
			NextRunAt:   time.Date(2026, 12, 1, 11, 0, 0, 0, time.UTC),
			DateCreated: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), DateUpdated: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)}
		if err := w.schedules.CreateSchedule(context.Background(), sc, billing.MaxSchedulesPerAccount); err != nil {
			t.Fatal(err)
		}
	}
}

const monthlyJSON = `{"accountId":"acct-acme","frequency":"Monthly","dayOfMonth":1,"timeOfDay":"06:00","emailAddressToNotify":"billing@acme.example"}`

// TestScheduleAuthorizationMatrix runs every schedule route as each role
// with its own account, another account and no account, and without a
// token: the same rules as submit and status (another account's or
// subtree's schedule is 404), and no answer names a schedule the caller
// may not read.
func TestScheduleAuthorizationMatrix(t *testing.T) {
	callers := matrixCallers()
	viewer403 := map[string]int{"Viewer/own": 403, "Viewer/other": 403, "Viewer/none": 403, "no token": 401}
	with := func(base map[string]int, extra map[string]int) map[string]int {
		m := map[string]int{}
		for k, v := range viewer403 {
			m[k] = v
		}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	admins := func(status int) map[string]int {
		return map[string]int{"SystemAdministrator/own": status, "SystemAdministrator/other": status, "SystemAdministrator/none": status}
	}
	unscoped := func(status int) map[string]int {
		return with(admins(status), map[string]int{"*": 404, "Manager/own": status})
	}
	scoped := func(status int) map[string]int {
		return with(admins(status), map[string]int{"*": 404, "Manager/own": status, "Customer/own": status})
	}
	routes := []struct {
		name   string
		r      req
		submit bool
		want   map[string]int
	}{
		{"create", req{method: "POST", path: "/reports/schedules", body: monthlyJSON}, true,
			with(admins(201), map[string]int{"*": 403, "Manager/own": 201, "Customer/own": 201})},
		{"list", req{path: "/reports/schedules", query: "accountId=acct-acme"}, false,
			with(admins(200), map[string]int{"*": 403, "Manager/own": 200, "Customer/own": 200})},
		{"list other account", req{path: "/reports/schedules", query: "accountId=acct-other"}, false,
			with(admins(200), map[string]int{"*": 403})},
		{"get unscoped", req{path: "/reports/schedules/schedacme"}, false, unscoped(200)},
		{"get customer's", req{path: "/reports/schedules/schedlaw"}, false, scoped(200)},
		{"get other account's", req{path: "/reports/schedules/schedother"}, false, with(admins(200), map[string]int{"*": 404})},
		{"get missing", req{path: "/reports/schedules/nosuch"}, false, with(nil, map[string]int{"*": 404})},
		{"replace unscoped", req{method: "PUT", path: "/reports/schedules/schedacme", body: `{"frequency":"Weekly","dayOfWeek":"Monday"}`}, true, unscoped(200)},
		{"replace customer's", req{method: "PUT", path: "/reports/schedules/schedlaw", body: `{"frequency":"Weekly","dayOfWeek":"Monday"}`}, true, scoped(200)},
		{"replace other account's", req{method: "PUT", path: "/reports/schedules/schedother", body: `{"frequency":"Monthly"}`}, true, with(admins(200), map[string]int{"*": 404})},
		{"delete unscoped", req{method: "DELETE", path: "/reports/schedules/schedacme"}, true, unscoped(204)},
		{"delete customer's", req{method: "DELETE", path: "/reports/schedules/schedlaw"}, true, scoped(204)},
		{"delete other account's", req{method: "DELETE", path: "/reports/schedules/schedother"}, true, with(admins(204), map[string]int{"*": 404})},
		{"run unscoped", req{method: "POST", path: "/reports/schedules/schedacme/run", query: "period=2026-10-01..2026-10-31"}, true, unscoped(200)},
		{"run customer's", req{method: "POST", path: "/reports/schedules/schedlaw/run"}, true, scoped(200)},
		{"run other account's", req{method: "POST", path: "/reports/schedules/schedother/run"}, true, with(admins(200), map[string]int{"*": 404})},
	}
	for _, rt := range routes {
		for _, c := range callers {
			t.Run(rt.name+"/"+c.name, func(t *testing.T) {
				w := newWorld()
				seed(w)
				seedSchedules(t, w)
				r := rt.r
				r.caller = c.caller
				var h http.Handler = NewStatusHandler(w.statusDeps())
				if rt.submit {
					h = NewSubmitHandler(w.submitDeps())
				}
				resp := invoke(t, h, r.request())
				who := checkMatrixStatus(t, resp, rt.want, c)
				for _, id := range []string{"schedacme", "schedlaw", "schedother"} {
					sc, err := w.schedules.GetSchedule(context.Background(), id)
					if err != nil {
						continue // deleted by this request
					}
					if strings.Contains(body(resp), id) && !who.CanReadSchedule(sc) && !strings.Contains(r.path, id) {
						t.Errorf("the response names schedule %s, which %s may not read: %s", id, c.name, body(resp))
					}
				}
				// A refused write changed nothing.
				if resp.StatusCode >= 400 && rt.submit {
					if n := len(w.sentJobs()); n != 0 {
						t.Errorf("a refused request queued %d jobs", n)
					}
				}
			})
		}
	}
}

func decodeSchedule(t testing.TB, raw string) billing.BillingReportSchedule {
	t.Helper()
	var s billing.BillingReportSchedule
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		t.Fatalf("decoding a schedule: %v: %s", err, raw)
	}
	return s
}

func TestScheduleLifecycleOverHTTP(t *testing.T) {
	w := newWorld()
	seed(w)
	submit, status := NewSubmitHandler(w.submitDeps()), NewStatusHandler(w.statusDeps())
	m := manager("acct-acme")

	// Create: defaults filled in, the account's zone, the next run.
	resp := invoke(t, submit, req{method: "POST", path: "/reports/schedules", body: `{"accountId":"acct-acme","frequency":"Monthly"}`, caller: m}.request())
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, body(resp))
	}
	sc := decodeSchedule(t, body(resp))
	if sc.Frequency != "Monthly" || sc.DayOfMonth != 1 || sc.TimeOfDay != "06:00" || sc.TimeZoneID != "America/New_York" ||
		sc.Enabled == nil || !*sc.Enabled || sc.NextRunAt != "2026-12-01T11:00:00Z" || sc.DateCreated != "2026-11-26T07:00:00Z" {
		t.Fatalf("created %+v", sc)
	}
	if loc := resp.Headers["Location"]; loc != "/reports/schedules/"+sc.ID {
		t.Errorf("Location %q", loc)
	}

	// Form and query binding, case-insensitive names, CSV out.
	resp = invoke(t, submit, req{method: "POST", path: "/reports/schedules.csv", query: "ACCOUNTID=acct-acme",
		headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		body:    "frequency=weekly&dayofweek=friday&timeOfDay=23:30&timeZoneId=Europe/Berlin&enabled=false&includeCustomerIds=true", caller: m}.request())
	if resp.StatusCode != 201 || !strings.HasPrefix(body(resp), "Id,AccountId,Frequency,DayOfMonth,DayOfWeek,TimeOfDay,TimeZoneId,IncludeCustomerIds,") ||
		!strings.Contains(body(resp), ",acct-acme,Weekly,,Friday,23:30,Europe/Berlin,true,,,false,,") {
		t.Fatalf("form create: %d %s", resp.StatusCode, body(resp))
	}

	// Get and list.
	resp = invoke(t, status, req{path: "/reports/schedules/" + sc.ID, caller: m}.request())
	if got := decodeSchedule(t, body(resp)); resp.StatusCode != 200 || got.ID != sc.ID {
		t.Fatalf("get: %d %s", resp.StatusCode, body(resp))
	}
	resp = invoke(t, status, req{path: "/reports/schedules", query: "limit=1", caller: m}.request())
	var list ScheduleList
	if err := json.Unmarshal([]byte(body(resp)), &list); err != nil || resp.StatusCode != 200 || len(list.Results) != 1 || list.NextToken == "" {
		t.Fatalf("list page 1: %d %s", resp.StatusCode, body(resp))
	}
	resp = invoke(t, status, req{path: "/reports/schedules", query: "limit=1&nextToken=" + list.NextToken, caller: m}.request())
	var page2 ScheduleList
	if err := json.Unmarshal([]byte(body(resp)), &page2); err != nil || len(page2.Results) != 1 || page2.Results[0].ID == list.Results[0].ID || page2.NextToken != "" {
		t.Fatalf("list page 2: %d %s", resp.StatusCode, body(resp))
	}
	// A reports cursor, or one of another account, is not a schedules cursor.
	resp = invoke(t, status, req{path: "/reports/schedules", query: "nextToken=" + list.NextToken, caller: manager("acct-acme", "acct-other")}.request())
	if resp.StatusCode != 400 {
		t.Fatalf("a cursor without the account it was issued for: %d %s", resp.StatusCode, body(resp))
	}

	// Run the previous month now: a Queued report, the same one every time.
	run := req{method: "POST", path: "/reports/schedules/" + sc.ID + "/run", caller: m}
	first := decodeInfo(t, invoke(t, submit, run.request()))
	again := decodeInfo(t, invoke(t, submit, run.request()))
	if first.Name != "Billing Report 2026-10-01 to 2026-10-31" || first.Status != billing.ReportQueued || again.ID != first.ID || len(w.sentJobs()) != 1 {
		t.Fatalf("run: %+v then %+v, %d jobs", first, again, len(w.sentJobs()))
	}
	run.query = "period=2026-11-01..2026-11-30"
	if resp := invoke(t, submit, run.request()); resp.StatusCode != 400 || decodeError(t, resp).ResponseStatus.Errors[0].FieldName != "Period" {
		t.Fatalf("running an unfinished period: %d %s", resp.StatusCode, body(resp))
	}

	// Replace keeps the id and account; the account cannot change.
	resp = invoke(t, submit, req{method: "PUT", path: "/reports/schedules/" + sc.ID, body: `{"frequency":"Weekly","dayOfWeek":"Monday","timeZoneId":"UTC"}`, caller: m}.request())
	if got := decodeSchedule(t, body(resp)); resp.StatusCode != 200 || got.Frequency != "Weekly" || got.NextRunAt != "2026-11-30T06:00:00Z" || got.DateCreated != sc.DateCreated {
		t.Fatalf("replace: %d %s", resp.StatusCode, body(resp))
	}
	resp = invoke(t, submit, req{method: "PUT", path: "/reports/schedules/" + sc.ID, body: `{"accountId":"acct-other","frequency":"Monthly"}`, caller: manager("acct-acme", "acct-other")}.request())
	if resp.StatusCode != 400 {
		t.Fatalf("moving a schedule to another account: %d %s", resp.StatusCode, body(resp))
	}

	// Delete, then it is gone.
	if resp := invoke(t, submit, req{method: "DELETE", path: "/reports/schedules/" + sc.ID, caller: m}.request()); resp.StatusCode != 204 || body(resp) != "" {
		t.Fatalf("delete: %d %s", resp.StatusCode, body(resp))
	}
	for _, r := range []req{{path: "/reports/schedules/" + sc.ID, caller: m}, {method: "DELETE", path: "/reports/schedules/" + sc.ID, caller: m}} {
		h := status
		if r.method == "DELETE" {
			h = submit
		}
		if resp := invoke(t, h, r.request()); resp.StatusCode != 404 {
			t.Fatalf("%s after delete: %d", r.method, resp.StatusCode)
		}
	}
}

func TestScheduleValidationAndLimits(t *testing.T) {
	w := newWorld()
	submit := NewSubmitHandler(w.submitDeps())
	m := manager("acct-acme")
	for _, tc := range []struct {
		body, field, code string
	}{
		{`{"frequency":"Monthly","dayOfMonth":29}`, "DayOfMonth", "LessThanOrEqual"},
		{`{"frequency":"Monthly","dayOfMonth":0}`, "DayOfMonth", "GreaterThanOrEqual"},
		{`{"frequency":"Monthly","dayOfMonth":"x"}`, "DayOfMonth", "InvalidFormat"},
		{`{"frequency":"Monthly","timeOfDay":"6am"}`, "TimeOfDay", "InvalidFormat"},
		{`{"frequency":"Monthly","timeZoneId":"Mars/Base"}`, "TimeZoneId", "InvalidFormat"},
		{`{"frequency":"Hourly"}`, "Frequency", "InvalidFormat"},
		{`{}`, "Frequency", "NotEmpty"},
		{`{"frequency":"Weekly","dayOfWeek":"Someday"}`, "DayOfWeek", "InvalidFormat"},
		{`{"frequency":"Monthly","emailAddressToNotify":"a@b"}`, "EmailAddressToNotify", "Email"},
		{`{"frequency":"Monthly","webhookUrl":"https://127.0.0.1/hook"}`, "WebhookUrl", "InvalidFormat"},
		{`{"frequency":"Monthly","enabled":"maybe"}`, "Enabled", "InvalidFormat"},
		{`{"frequency":"Monthly","accountId":"a b"}`, "AccountId", "InvalidFormat"},
		{`{"frequency":["Monthly"]}`, "Frequency", "InvalidFormat"},
	} {
		resp := invoke(t, submit, req{method: "POST", path: "/reports/schedules", body: tc.body, caller: m}.request())
		if resp.StatusCode != 400 {
			t.Errorf("%s: status %d, want 400: %s", tc.body, resp.StatusCode, body(resp))
			continue
		}
		e := decodeError(t, resp)
		if len(e.ResponseStatus.Errors) == 0 || e.ResponseStatus.Errors[0].FieldName != tc.field || e.ResponseStatus.Errors[0].ErrorCode != tc.code {
			t.Errorf("%s: %+v, want %s on %s", tc.body, e.ResponseStatus, tc.code, tc.field)
		}
	}
	for i := 0; i < billing.MaxSchedulesPerAccount; i++ {
		if resp := invoke(t, submit, req{method: "POST", path: "/reports/schedules", body: monthlyJSON, caller: m}.request()); resp.StatusCode != 201 {
			t.Fatalf("schedule %d: %d %s", i+1, resp.StatusCode, body(resp))
		}
	}
	resp := invoke(t, submit, req{method: "POST", path: "/reports/schedules", body: monthlyJSON, caller: m}.request())
	if resp.StatusCode != 429 || !strings.Contains(decodeError(t, resp).ResponseStatus.Message, fmt.Sprint(billing.MaxSchedulesPerAccount)) {
		t.Fatalf("the 21st schedule: %d %s", resp.StatusCode, body(resp))
	}
	resp = invoke(t, submit, req{method: "GET", path: "/reports/schedules", caller: m}.request())
	if resp.StatusCode != 405 || resp.Headers["Allow"] != "POST" {
		t.Fatalf("GET on the submit function's collection: %d %v", resp.StatusCode, resp.Headers)
	}
	resp = invoke(t, submit, req{method: "POST", path: "/reports/schedules/x/y", caller: m}.request())
	if resp.StatusCode != 404 {
		t.Fatalf("an unknown schedule action: %d", resp.StatusCode)
	}
}

// TestScheduleResponsesMatchOpenAPI checks real answers of every schedule
// route, success and error, against openapi.json.
func TestScheduleResponsesMatchOpenAPI(t *testing.T) {
	m := manager("acct-acme")
	full := func(w *world) {
		for i := 0; i < 10; i++ {
			w.put(billing.Report{ID: "busy" + string(rune('a'+i)), AccountID: "acct-acme", Status: billing.ReportQueued})
		}
	}
	calls := []apiCall{
		{r: req{method: "POST", path: "/reports/schedules", body: monthlyJSON, caller: m}, submit: true, status: 201},
		{r: req{method: "POST", path: "/reports/schedules.csv", body: monthlyJSON, caller: m}, submit: true, status: 201},
		{r: req{method: "POST", path: "/reports/schedules", body: `{"frequency":"Monthly","dayOfMonth":31}`, caller: m}, submit: true, status: 400},
		{r: req{method: "POST", path: "/reports/schedules", body: monthlyJSON}, submit: true, status: 401},
		{r: req{method: "POST", path: "/reports/schedules", body: monthlyJSON, caller: manager("acct-other")}, submit: true, status: 403},
		{r: req{method: "POST", path: "/reports/schedules", body: `{"accountId":"nope","frequency":"Monthly"}`, caller: sysadmin()}, submit: true, status: 404},
		{r: req{method: "POST", path: "/reports/schedules", query: "format=xml", body: monthlyJSON, caller: m}, submit: true, status: 406},
		{r: req{method: "POST", path: "/reports/schedules", body: `{"x":"` + strings.Repeat("a", 70000) + `"}`, caller: m}, submit: true, status: 413},
		{r: req{method: "POST", path: "/reports/schedules", body: monthlyJSON, caller: m}, submit: true, status: 429, setup: func(w *world) {
			for i := 0; i < billing.MaxSchedulesPerAccount; i++ {
				sc := &billing.Schedule{ID: fmt.Sprintf("fill%d", i), Spec: billing.ScheduleSpec{AccountID: "acct-acme", Frequency: billing.Monthly, DayOfMonth: 1}, DateCreated: w.now}
				w.schedules.CreateSchedule(context.Background(), sc, billing.MaxSchedulesPerAccount)
			}
		}},
		{r: req{path: "/reports/schedules", caller: m}, status: 200},
		{r: req{path: "/reports/schedules.csv", caller: m}, status: 200},
		{r: req{path: "/reports/schedules.json", query: "limit=1", caller: m}, status: 200},
		{r: req{path: "/reports/schedules", query: "limit=500", caller: m}, status: 400},
		{r: req{path: "/reports/schedules", query: "accountId=acct-other", caller: m}, status: 403},
		{r: req{path: "/reports/schedules/schedacme", caller: m}, status: 200},
		{r: req{path: "/reports/schedules/schedacme.csv", caller: m}, status: 200},
		{r: req{path: "/reports/schedules/schedother", caller: m}, status: 404},
		{r: req{method: "PUT", path: "/reports/schedules/schedacme", body: `{"frequency":"Weekly","dayOfWeek":"Sunday"}`, caller: m}, submit: true, status: 200},
		{r: req{method: "PUT", path: "/reports/schedules/schedacme", body: `{"frequency":"Weekly"}`, caller: m}, submit: true, status: 400},
		{r: req{method: "DELETE", path: "/reports/schedules/schedacme", caller: m}, submit: true, status: 204},
		{r: req{method: "DELETE", path: "/reports/schedules/schedother", caller: m}, submit: true, status: 404},
		{r: req{method: "POST", path: "/reports/schedules/schedacme/run", caller: m}, submit: true, status: 200},
		{r: req{method: "POST", path: "/reports/schedules/schedacme/run", query: "period=2026-10-01..2026-10-30", caller: m}, submit: true, status: 400},
		{r: req{method: "POST", path: "/reports/schedules/schedacme/run", caller: m}, submit: true, status: 429, setup: full},
	}
	checkCallsAgainstOpenAPI(t, calls, func(w *world) { seedSchedules(t, w) })
}

// A schedule's text cells are user text: CSV defuses formulas in them too.
func TestScheduleCSVEscapesFormulas(t *testing.T) {
	w := newWorld()
	seedSchedules(t, w)
	resp := invoke(t, NewStatusHandler(w.statusDeps()), req{path: "/reports/schedules/schedacme.csv", caller: manager("acct-acme")}.request())
	if resp.StatusCode != 200 || !strings.Contains(body(resp), ",'=cmd@example.com,") || strings.Contains(body(resp), ",=cmd") {
		t.Fatalf("CSV %d: %s", resp.StatusCode, body(resp))
	}
}
