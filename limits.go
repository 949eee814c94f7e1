package billing

import "time"

// Limits of the service's rules (spec 2.1, 2.3). They are the same on AWS and
// in the local stack, so they belong to the domain; resources/ holds what a
// deployment sets (names, timeouts, sizes, configurable defaults).
const (
	MaxActiveReports       = 10 // Queued or Running reports of one account at once
	MaxActiveCustomerRoles = 7  // of those, held by all its Customer-role callers together
	MaxActivePerCustomer   = 3  // of those, held by one Customer-role caller
	DefaultListLimit       = 50 // reports per page when the caller names no limit
	MaxListLimit           = 200
	MaxIdempotencyKey      = 255 // characters of an Idempotency-Key
	IdempotencyTTL         = 24 * time.Hour
)

// FairShare are the slot limits of spec 2.1 that submit enforces: 10 per
// account, of which Customer-role callers hold at most 7 together and 3 each,
// so that the account's Managers always have the rest.
func FairShare() SlotLimits {
	return SlotLimits{Account: MaxActiveReports, CustomerRoles: MaxActiveCustomerRoles, PerCustomer: MaxActivePerCustomer}
}

// ListLimit is the page size of a listing asked for n reports: DefaultListLimit
// for n <= 0, at most MaxListLimit.
func ListLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultListLimit
	case n > MaxListLimit:
		return MaxListLimit
	}
	return n
}
