package billing

import (
	"strings"
	"testing"
)

func TestListLimit(t *testing.T) {
	for n, want := range map[int]int{-1: DefaultListLimit, 0: DefaultListLimit, 1: 1, MaxListLimit: MaxListLimit, MaxListLimit + 1: MaxListLimit} {
		if got := ListLimit(n); got != want {
			t.Errorf("ListLimit(%d) = %d, want %d", n, got, want)
		}
	}
}

// The fair share only works if the Customer-role callers together cannot take
// every slot, and one of them not all of theirs (spec 2.1).
func TestFairShareLeavesManagersSlots(t *testing.T) {
	l := FairShare()
	if l.Account != MaxActiveReports || !(0 < l.PerCustomer && l.PerCustomer < l.CustomerRoles && l.CustomerRoles < l.Account) {
		t.Fatalf("FairShare() = %+v", l)
	}
}

func TestIDRuleStatesTheRule(t *testing.T) {
	if IDRule != "1 to 128 characters of A-Z a-z 0-9 . _ : @ -" {
		t.Errorf("IDRule = %q", IDRule)
	}
	for _, c := range strings.Fields(IDRule)[6:] {
		if !ValidID(c) {
			t.Errorf("IDRule names %q, which ValidID refuses", c)
		}
	}
}
