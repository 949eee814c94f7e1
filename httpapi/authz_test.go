package httpapi

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	billing "github.com/evovoice/billing"
)

// TestAuthorizationMatrix runs every route as each role with its own account,
// another account and no account, and without a token, and checks the status
// and that no response ever names a report the caller may not read. (Expired
// tokens and wrong audiences never reach the handlers: API Gateway's JWT
// authorizer, and the local gateway, reject them with 401; see the gateway's
// tests and the end-to-end test.)
func TestAuthorizationMatrix(t *testing.T) {
	callers := matrixCallers()
	type route struct {
		name string
		r    req
		want map[string]int // caller name -> status; "*" default
	}
	submit := req{method: http.MethodPost, path: "/reports/billing", body: `{"accountId":"acct-acme","startDate":"2026-10-01","endDate":"2026-10-31"}`}
	routes := []route{
		{"submit", submit, map[string]int{"*": 403, "no token": 401,
			"SystemAdministrator/own": 200, "SystemAdministrator/other": 200, "SystemAdministrator/none": 200,
			"Manager/own": 200, "Customer/own": 200}},
		{"get unscoped report", req{path: "/reports/acmedone"}, map[string]int{"*": 404, "no token": 401,
			"Viewer/own": 403, "Viewer/other": 403, "Viewer/none": 403,
			"SystemAdministrator/own": 200, "SystemAdministrator/other": 200, "SystemAdministrator/none": 200, "Manager/own": 200}},
		{"get customer report", req{path: "/reports/acmelaw"}, map[string]int{"*": 404, "no token": 401,
			"Viewer/own": 403, "Viewer/other": 403, "Viewer/none": 403,
			"SystemAdministrator/own": 200, "SystemAdministrator/other": 200, "SystemAdministrator/none": 200, "Manager/own": 200, "Customer/own": 200}},
		{"get other account's report", req{path: "/reports/otherdone"}, map[string]int{"*": 404, "no token": 401,
			"Viewer/own": 403, "Viewer/other": 403, "Viewer/none": 403,
			"SystemAdministrator/own": 200, "SystemAdministrator/other": 200, "SystemAdministrator/none": 200}},
		{"get missing report", req{path: "/reports/nosuchreport"}, map[string]int{"*": 404, "no token": 401,
			"Viewer/own": 403, "Viewer/other": 403, "Viewer/none": 403}},
		{"list account", req{path: "/reports", query: "accountId=acct-acme"}, map[string]int{"*": 403, "no token": 401,
			"SystemAdministrator/own": 200, "SystemAdministrator/other": 200, "SystemAdministrator/none": 200, "Manager/own": 200, "Customer/own": 200}},
		{"list other account", req{path: "/reports", query: "accountId=acct-other"}, map[string]int{"*": 403, "no token": 401,
			"SystemAdministrator/own": 200, "SystemAdministrator/other": 200, "SystemAdministrator/none": 200}},
		{"list default", req{path: "/reports"}, map[string]int{"*": 200, "no token": 401,
			"Viewer/own": 403, "Viewer/other": 403, "Viewer/none": 403,
			"SystemAdministrator/none": 400, "Manager/none": 400, "Customer/none": 400}},
		{"download without token", req{path: "/reports/acmedone/download"}, map[string]int{"*": 403}},
	}
	for _, rt := range routes {
		for _, c := range callers {
			t.Run(rt.name+"/"+c.name, func(t *testing.T) {
				w, r, resp := runAs(t, rt.r, c.caller, rt.name == "submit")
				who := checkMatrixStatus(t, resp, rt.want, c)
				for _, rep := range w.reports() {
					id := rep.ID
					if strings.Contains(body(resp), id) && !who.CanRead(rep) && !strings.Contains(r.path, id) {
						t.Errorf("the response names report %s of %s, which %s may not read: %s", id, rep.AccountID, c.name, body(resp))
					}
				}
			})
		}
	}
}

// matrixCaller is one caller of the authorization matrices.
type matrixCaller struct {
	name   string
	caller *billing.Caller
}

// matrixCallers are no token, and each role (and a non-role) with its own
// account, another account and no account, all with custom:customerId c-law.
func matrixCallers() []matrixCaller {
	callers := []matrixCaller{{"no token", nil}}
	for _, role := range []string{"SystemAdministrator", "Manager", "Customer", "Viewer"} {
		for _, acct := range []struct{ name, ids string }{{"own", "acct-acme"}, {"other", "acct-third"}, {"none", ""}} {
			c := &billing.Caller{Subject: role + "-" + acct.name, CustomerID: "c-law"}
			if r := billing.Role(role); slices.Contains(billing.Roles(), r) {
				c.Roles = []billing.Role{r}
			}
			if acct.ids != "" {
				c.AccountIDs = []string{acct.ids}
			}
			callers = append(callers, matrixCaller{role + "/" + acct.name, c})
		}
	}
	return callers
}

// checkMatrixStatus checks one answer of a matrix: the status wanted for
// the caller (or for "*"), and the error shape of a refusal. It returns the
// caller.
func checkMatrixStatus(t *testing.T, resp response, want map[string]int, c matrixCaller) billing.Caller {
	t.Helper()
	w, ok := want[c.name]
	if !ok {
		w = want["*"]
	}
	if resp.StatusCode != w {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, w, body(resp))
	}
	if resp.StatusCode >= 400 {
		decodeError(t, resp)
	}
	var who billing.Caller
	if c.caller != nil {
		who = *c.caller
	}
	return who
}

// runAs sends r as caller to a fresh seeded world's submit handler (submit)
// or status handler, and returns the world, the request sent and the answer.
func runAs(t *testing.T, r req, caller *billing.Caller, submit bool) (*world, req, response) {
	t.Helper()
	w := newWorld()
	seed(w)
	r.caller = caller
	var h http.Handler = NewStatusHandler(w.statusDeps())
	if submit {
		h = NewSubmitHandler(w.submitDeps())
	}
	return w, r, invoke(t, h, r.request())
}
