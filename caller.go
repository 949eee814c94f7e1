package billing

import "slices"

// Role is a Cognito group that grants access (spec 2.6).
type Role string

// The roles, strongest first.
const (
	RoleSystemAdministrator Role = "SystemAdministrator"
	RoleManager             Role = "Manager"
	RoleCustomer            Role = "Customer"
)

// Caller is who makes a request, as read from the validated token's claims.
type Caller struct {
	Subject    string
	Roles      []Role
	AccountIDs []string // custom:accountIds
	CustomerID string   // custom:customerId, for Customer-role callers
}

// Has reports whether the caller holds role.
func (c Caller) Has(role Role) bool { return slices.Contains(c.Roles, role) }

// Roles are every role, strongest first: the Cognito groups infra/ creates.
func Roles() []Role { return []Role{RoleSystemAdministrator, RoleManager, RoleCustomer} }

// EffectiveRole is the strongest role the caller holds, or "" for none.
func (c Caller) EffectiveRole() Role {
	for _, r := range Roles() {
		if c.Has(r) {
			return r
		}
	}
	return ""
}

// ScopeForAccount decides whether the caller may ask for a report on accountID and,
// for Customer-role callers, which customer subtree it is limited to. It returns
// EFORBIDDEN when the caller has no role or the account is outside its scope.
func (c Caller) ScopeForAccount(accountID string) (customerScope string, err error) {
	switch c.EffectiveRole() {
	case RoleSystemAdministrator:
		return "", nil
	case RoleManager:
		if slices.Contains(c.AccountIDs, accountID) {
			return "", nil
		}
	case RoleCustomer:
		if c.CustomerID == "" {
			return "", Errorf(EFORBIDDEN, "Customer role without a customer.")
		}
		if slices.Contains(c.AccountIDs, accountID) {
			return c.CustomerID, nil
		}
	default:
		return "", Forbidden("Invalid Role")
	}
	return "", Forbidden("Account '" + accountID + "' is outside the caller's scope.")
}

// CanRead reports whether the caller may see r. Every read of a report goes through
// here (OWASP API1, BOLA): a Customer sees only reports scoped to its own customer;
// a Manager only its accounts' reports. Callers must answer ENOTFOUND, never
// EFORBIDDEN, when this is false, so that no report's existence leaks.
func (c Caller) CanRead(r *Report) bool {
	switch c.EffectiveRole() {
	case RoleSystemAdministrator:
		return true
	case RoleManager:
		return slices.Contains(c.AccountIDs, r.AccountID)
	case RoleCustomer:
		return c.CustomerID != "" && r.CustomerScope == c.CustomerID && slices.Contains(c.AccountIDs, r.AccountID)
	}
	return false
}
