package lambdaedge

import (
	"strings"
	"testing"
)

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
