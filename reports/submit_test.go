package reports

import (
	"testing"

	billing "github.com/evovoice/billing"
)

// The behaviour of Submit is tested through its two callers: httpapi's
// submit tests (every rule of spec 2.1) and the schedules' tick tests
// (firings, derived ids). These are the helpers' own rules.

func TestDerivedReportID(t *testing.T) {
	a, b := DerivedReportID("schedule:s-1:2026-10-01..2026-10-31"), DerivedReportID("schedule:s-1:2026-10-01..2026-10-31")
	c := DerivedReportID("schedule:s-1:2026-11-01..2026-11-30")
	if a != b || a == c || len(a) != 26 || !billing.ValidID(a) {
		t.Fatalf("derived ids %q %q %q: want equal for the same name, different otherwise, 26 valid id characters", a, b, c)
	}
	if n := NewReportID(); n == NewReportID() || len(n) != 26 || !billing.ValidID(n) {
		t.Fatalf("random id %q", n)
	}
}

func TestCheckAccountID(t *testing.T) {
	if CheckAccountID("") != nil || CheckAccountID("acct-1") != nil {
		t.Fatal("a valid or omitted account id was refused")
	}
	if fe := CheckAccountID("acct 1"); fe == nil || fe.FieldName != "AccountId" {
		t.Fatalf("CheckAccountID(%q) = %v", "acct 1", fe)
	}
}
