package httpapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

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
				w, r, resp := runAs(t, rt.r, c.claims, rt.name == "submit")
				who := checkMatrixStatus(t, resp, rt.want, c)
				for id, rep := range w.reports {
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
	claims map[string]string
}

// matrixCallers are no token, and each role (and a non-role) with its own
// account, another account and no account, all with custom:customerId c-law.
func matrixCallers() []matrixCaller {
	callers := []matrixCaller{{"no token", nil}}
	for _, role := range []string{"SystemAdministrator", "Manager", "Customer", "Viewer"} {
		for _, acct := range []struct{ name, ids string }{{"own", "acct-acme"}, {"other", "acct-third"}, {"none", ""}} {
			c := map[string]string{"sub": role + "-" + acct.name, "cognito:groups": "[" + role + "]", "custom:customerId": "c-law"}
			if acct.ids != "" {
				c["custom:accountIds"] = acct.ids
			}
			callers = append(callers, matrixCaller{role + "/" + acct.name, c})
		}
	}
	return callers
}

// checkMatrixStatus checks one answer of a matrix: the status wanted for
// the caller (or for "*"), and the error shape of a refusal. It returns the
// caller the claims name.
func checkMatrixStatus(t *testing.T, resp events.APIGatewayV2HTTPResponse, want map[string]int, c matrixCaller) billing.Caller {
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
	if c.claims != nil {
		who, _ = CallerFromClaims(c.claims)
	}
	return who
}

func TestCallerFromClaims(t *testing.T) {
	for _, tc := range []struct {
		groups, accounts string
		roles, ids       string
	}{
		{"[Manager Customer]", "a,b", "[Manager Customer]", "[a b]"},
		{`["Manager","SystemAdministrator"]`, " a , b ", "[Manager SystemAdministrator]", "[a b]"},
		{"Customer", "a", "[Customer]", "[a]"},
		{"[]", "", "[]", "[]"},
		{"[Admin Manager]", "a,,b,", "[Manager]", "[a b]"},
		// The audit's reproductions (spec 2.6): ids split on commas only, and
		// an id that no import accepts is no account at all.
		{"[Manager]", "Acme Corp", "[Manager]", "[]"},
		{"[Manager]", "[acct-003]", "[Manager]", "[]"},
		{"[Manager]", "acct-1\tacct-2", "[Manager]", "[]"},
		{"[Manager]", "acct-1, acct-2 ,acct-1", "[Manager]", "[acct-1 acct-2]"},
		// Role names match exactly: a comma, a case change or extra spaces
		// grant nothing.
		{"[Guest,SystemAdministrator]", "a", "[]", "[a]"},
		{"Guest,SystemAdministrator", "a", "[]", "[a]"},
		{`["Guest,SystemAdministrator"]`, "a", "[]", "[a]"},
		{"[manager]", "a", "[]", "[a]"},
		{"[Guest  Manager]", "a", "[Manager]", "[a]"},
		{"[ Manager ]", "a", "[Manager]", "[a]"},
		{"Manager Customer", "a", "[]", "[a]"},
		{"[Manager]]", "a", "[]", "[a]"},
	} {
		c, err := CallerFromClaims(map[string]string{"sub": "s", "cognito:groups": tc.groups, "custom:accountIds": tc.accounts})
		if err != nil {
			t.Fatal(err)
		}
		if got := fmtList(c.Roles); got != tc.roles {
			t.Errorf("groups %q: roles %s, want %s", tc.groups, got, tc.roles)
		}
		if got := fmtList(c.AccountIDs); got != tc.ids {
			t.Errorf("accounts %q: %s, want %s", tc.accounts, got, tc.ids)
		}
	}
	for _, tc := range []struct{ claim, want string }{
		{"c-law", "c-law"}, {" c-law ", "c-law"}, {"c law", ""}, {"[c-law]", ""}, {"", ""},
	} {
		c, _ := CallerFromClaims(map[string]string{"sub": "s", "cognito:groups": "[Customer]", "custom:customerId": tc.claim})
		if c.CustomerID != tc.want {
			t.Errorf("customerId %q: %q, want %q", tc.claim, c.CustomerID, tc.want)
		}
	}
}

func fmtList[T ~string](xs []T) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = string(x)
	}
	return "[" + strings.Join(s, " ") + "]"
}

// The proxy adapter's non-context mode passes the request context in a header;
// a client can send that header itself, so it must never be trusted.
func TestSpoofedContextHeaderIgnored(t *testing.T) {
	w := newWorld()
	seed(w)
	spoof := `{"authorizer":{"jwt":{"claims":{"sub":"x","cognito:groups":"[SystemAdministrator]"}}}}`
	for _, h := range []http.Handler{NewSubmitHandler(w.submitDeps()), NewStatusHandler(w.statusDeps())} {
		r := req{method: "POST", path: "/reports/billing", body: validJSON, headers: map[string]string{"X-GoLambdaProxy-ApiGatewayContext": spoof}}
		if _, ok := h.(*statusHandler); ok {
			r = req{path: "/reports/otherdone", headers: r.headers}
		}
		if resp := invoke(t, h, r.event()); resp.StatusCode != 401 {
			t.Errorf("%s with a spoofed context header: %d %s", r.path, resp.StatusCode, body(resp))
		}
	}
}

// The audit's claim reproductions, through the handlers: a Manager of
// "[acct-acme]" or of "acct-acme corp" reads nothing of acct-acme, and a group
// named "Guest,SystemAdministrator" is no role at all (spec 2.6).
func TestLooseClaimsGrantNothing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		claims map[string]string
		want   int // for every route
	}{
		{"bracketed account", map[string]string{"sub": "m", "cognito:groups": "[Manager]", "custom:accountIds": "[acct-acme]"}, 403},
		{"account with a space", map[string]string{"sub": "m", "cognito:groups": "[Manager]", "custom:accountIds": "acct-acme corp"}, 403},
		{"account after a tab", map[string]string{"sub": "m", "cognito:groups": "[Manager]", "custom:accountIds": "x\tacct-acme"}, 403},
		{"comma in a group", map[string]string{"sub": "g", "cognito:groups": "[Guest,SystemAdministrator]", "custom:accountIds": "acct-other"}, 403},
		{"comma in a JSON group", map[string]string{"sub": "g", "cognito:groups": `["Guest,SystemAdministrator"]`}, 403},
	} {
		for _, rt := range []struct {
			name   string
			r      req
			submit bool
		}{
			{"submit", req{method: http.MethodPost, path: "/reports/billing", body: `{"accountId":"acct-acme","startDate":"2026-10-01","endDate":"2026-10-31"}`}, true},
			{"list", req{path: "/reports", query: "accountId=acct-acme"}, false},
			{"get", req{path: "/reports/acmedone"}, false},
		} {
			t.Run(tc.name+"/"+rt.name, func(t *testing.T) {
				_, _, resp := runAs(t, rt.r, tc.claims, rt.submit)
				want := tc.want
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

// runAs sends r with claims to a fresh seeded world's submit handler (submit)
// or status handler, and returns the world, the request sent and the answer.
func runAs(t *testing.T, r req, claims map[string]string, submit bool) (*world, req, events.APIGatewayV2HTTPResponse) {
	t.Helper()
	w := newWorld()
	seed(w)
	r.claims = claims
	var h http.Handler = NewStatusHandler(w.statusDeps())
	if submit {
		h = NewSubmitHandler(w.submitDeps())
	}
	return w, r, invoke(t, h, r.event())
}
