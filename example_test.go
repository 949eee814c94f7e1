package billing_test

import (
	"errors"
	"fmt"

	billing "github.com/evovoice/billing"
)

// Validation lists every failed field; the first one is also the top-level
// error, as ServiceStack's ResponseStatus has it.
func ExampleBillingReport_Validate() {
	_, err := billing.BillingReport{StartDate: "2026-10-31", EndDate: "2026-10-01", EmailAddressToNotify: "ops"}.Validate(nil)
	var e *billing.Error
	if errors.As(err, &e) {
		fmt.Println(e.FieldErrors[0].ErrorCode, e.Message)
		for _, f := range e.FieldErrors {
			fmt.Println("-", f.FieldName, f.ErrorCode)
		}
	}
	req, _ := billing.BillingReport{StartDate: "2026-10-01T08:00:00Z", EndDate: "2026-10-31"}.Validate(nil)
	fmt.Println(billing.ReportName(req.StartDate, req.EndDate))
	// Output:
	// GreaterThanOrEqual 'EndDate' must be greater than or equal to '2026-10-31'.
	// - EndDate GreaterThanOrEqual
	// - EmailAddressToNotify Email
	// Billing Report 2026-10-01 to 2026-10-31
}
