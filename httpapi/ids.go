package httpapi

import (
	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/reports"
)

// NewReportID returns a random, unguessable report id (reports.NewReportID).
func NewReportID() string { return reports.NewReportID() }

// validReportID rejects path segments that cannot be report ids (spec 2.6's id
// rule) before any lookup, so junk never reaches the store.
func validReportID(id string) bool { return billing.ValidID(id) }

// checkAccountID rejects a given account id that no import accepts (spec 2.6)
// with a field error (reports.CheckAccountID).
func checkAccountID(id string) *billing.FieldError { return reports.CheckAccountID(id) }
