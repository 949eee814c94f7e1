package billing

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestParseDecimal(t *testing.T) {
	good := map[string]string{"0": "0", "3600": "3600", "0.0166666667": "166666667/10000000000", "1e3": "1000", "2.5E-1": "1/4"}
	for in, want := range good {
		r, err := ParseDecimal(in)
		if err != nil || r.RatString() != want {
			t.Errorf("ParseDecimal(%q) = %v, %v; want %s", in, r, err, want)
		}
	}
	for _, in := range []string{"", "-1", "+1", "1.", ".5", "1/3", "0x10", "NaN", "1e", "1e1000", "1 ", "１"} {
		if _, err := ParseDecimal(in); err == nil {
			t.Errorf("ParseDecimal(%q) accepted", in)
		}
	}
}

func TestDateArithmetic(t *testing.T) {
	d := Date{2026, time.October, 31}
	if got := d.AddDays(1).String(); got != "2026-11-01" {
		t.Fatal(got)
	}
	if got := (Date{2026, time.March, 1}).AddDays(-1).String(); got != "2026-02-28" {
		t.Fatal(got)
	}
	if n := (Date{2026, time.January, 1}).DaysUntil(Date{2027, time.January, 1}); n != 365 {
		t.Fatal(n)
	}
	ny, _ := time.LoadLocation("America/New_York")
	// The day DST ends in New York has 25 hours: its start is still midnight local.
	if s := (Date{2026, time.November, 1}).In(ny); s.Hour() != 0 || s.UTC().Hour() != 4 {
		t.Fatal(s)
	}
}

func TestCallerScope(t *testing.T) {
	admin := Caller{Roles: []Role{RoleSystemAdministrator}}
	mgr := Caller{Roles: []Role{RoleManager}, AccountIDs: []string{"a1"}}
	cust := Caller{Roles: []Role{RoleCustomer}, AccountIDs: []string{"a1"}, CustomerID: "c1"}
	none := Caller{AccountIDs: []string{"a1"}}
	mine := &Report{AccountID: "a1"}
	custs := &Report{AccountID: "a1", CustomerScope: "c1"}
	other := &Report{AccountID: "a2"}
	otherCust := &Report{AccountID: "a1", CustomerScope: "c2"}
	cases := []struct {
		c    Caller
		r    *Report
		want bool
	}{
		{admin, other, true}, {mgr, mine, true}, {mgr, custs, true}, {mgr, other, false},
		{cust, custs, true}, {cust, mine, false}, {cust, otherCust, false}, {cust, other, false},
		{none, mine, false},
	}
	for i, c := range cases {
		if got := c.c.CanRead(c.r); got != c.want {
			t.Errorf("case %d: CanRead = %v, want %v", i, got, c.want)
		}
	}
	if s, err := cust.ScopeForAccount("a1"); err != nil || s != "c1" {
		t.Fatal(s, err)
	}
	if _, err := mgr.ScopeForAccount("a2"); ErrorCode(err) != EFORBIDDEN {
		t.Fatal(err)
	}
	if _, err := none.ScopeForAccount("a1"); ErrorMessage(err) != "Invalid Role" {
		t.Fatal(err)
	}
}

func TestErrorHelpers(t *testing.T) {
	base := Errorf(ENOTFOUND, "Report not found.")
	wrapped := fmt.Errorf("getting report: %w", base)
	if ErrorCode(wrapped) != ENOTFOUND || ErrorMessage(wrapped) != "Report not found." {
		t.Fatal(ErrorCode(wrapped), ErrorMessage(wrapped))
	}
	plain := errors.New("boom: secret detail")
	if ErrorCode(plain) != EINTERNAL || ErrorMessage(plain) != "Internal error." {
		t.Fatal("internal details must not leak")
	}
	if !IsRetryable(Errorf(EUNAVAILABLE, "down")) || IsRetryable(base) || !IsRetryable(plain) || IsRetryable(fmt.Errorf("x: %w", PermanentError(plain))) {
		t.Fatal("IsRetryable")
	}
	if p := PermanentError(plain); ErrorMessage(p) != "Internal error." || !errors.Is(p, plain) || !IsInternal(ErrorCode(p)) {
		t.Fatalf("PermanentError: %q", ErrorMessage(p))
	}
	inv := Invalid(FieldError{ErrorCode: "NotEmpty", FieldName: "A", Message: "'A' must not be empty."}, FieldError{ErrorCode: "InvalidFormat", FieldName: "B", Message: "b"})
	if ErrorCode(inv) != EINVALID || ErrorMessage(inv) != "'A' must not be empty." || Invalid() != nil {
		t.Fatalf("Invalid: %v", inv)
	}
}

func TestAccountCurrency(t *testing.T) {
	for s, want := range map[string]bool{"USD": true, "EUR": true, "usd": false, "US": false, "USDT": false, "U$D": false, "": false, "ÜSD": false} {
		if got := ValidCurrency(s); got != want {
			t.Errorf("ValidCurrency(%q) = %v, want %v", s, got, want)
		}
	}
	if got := (&Account{}).CurrencyCode(); got != "USD" {
		t.Errorf("default currency %q, want USD", got)
	}
	if got := (&Account{Currency: "GBP"}).CurrencyCode(); got != "GBP" {
		t.Errorf("currency %q, want GBP", got)
	}
}
