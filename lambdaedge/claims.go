package lambdaedge

import (
	"encoding/json"
	"slices"
	"strings"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/httpapi"
)

// JWT claims the authorizer passes on (spec 2.6).
const (
	ClaimSubject    = "sub"
	ClaimGroups     = "cognito:groups"
	ClaimAccountIDs = "custom:accountIds"
	ClaimCustomerID = "custom:customerId"
)

// a function: every value a string, array claims flattened to "[a b]" (or, from
// other issuers, a JSON array). A token without a subject is not a caller.
// Parsing is strict (spec 2.6): a loose split is a way into another account.
func CallerFromClaims(claims map[string]string) (billing.Caller, error) {
	sub := strings.TrimSpace(claims[ClaimSubject])
	if sub == "" {
		return billing.Caller{}, httpapi.ErrNotAuthenticated()
	}
	c := billing.Caller{Subject: sub}
	if id := strings.TrimSpace(claims[ClaimCustomerID]); billing.ValidID(id) {
		// An id no import accepts names no customer; without one a
		// Customer-role caller is refused (ScopeForAccount).
		c.CustomerID = id
	}
	for _, g := range groupNames(claims[ClaimGroups]) {
		switch role := billing.Role(g); role {
		case billing.RoleSystemAdministrator, billing.RoleManager, billing.RoleCustomer:
			if !c.Has(role) {
				c.Roles = append(c.Roles, role)
			}
		}
	}
	c.AccountIDs = accountIDs(claims[ClaimAccountIDs])
	return c, nil
}

// accountIDs splits custom:accountIds on commas only, trims whitespace around
// each entry and drops empty ones and those that are not ids (no account has
// such an id, and the single-account default must not pick one). Splitting on
// spaces or stripping brackets would turn the account "Acme Corp" into the
// accounts "Acme" and "Corp".
func accountIDs(v string) []string {
	var out []string
	for _, id := range strings.Split(v, ",") {
		if id = strings.TrimSpace(id); billing.ValidID(id) && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// groupNames reads cognito:groups as a JSON array of strings, or API Gateway's
// flattened "[A B]" form split on single spaces, or a bare single name. Names
// are returned as they are; a role is granted only by an exact match, so a
// group named "Guest,SystemAdministrator" grants nothing.
func groupNames(v string) []string {
	if strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") {
		var list []string
		if json.Unmarshal([]byte(v), &list) == nil {
			return list
		}
		inner := v[1 : len(v)-1]
		if inner == "" {
			return nil
		}
		return strings.Split(inner, " ")
	}
	if v == "" {
		return nil
	}
	return []string{v}
}
