package billing

import (
	"testing"
	"time"
)

func mustSpec(t *testing.T, b BillingReportSchedule) ScheduleSpec {
	t.Helper()
	s, err := b.Validate(nil)
	if err != nil {
		t.Fatalf("Validate(%+v): %v", b, err)
	}
	return s
}

func TestScheduleValidateFieldErrors(t *testing.T) {
	f := false
	cases := []struct {
		in    BillingReportSchedule
		field string
		code  string
	}{
		{BillingReportSchedule{}, "Frequency", "NotEmpty"},
		{BillingReportSchedule{Frequency: "Daily"}, "Frequency", "InvalidFormat"},
		{BillingReportSchedule{Frequency: "Monthly", DayOfMonth: 29}, "DayOfMonth", "LessThanOrEqual"},
		{BillingReportSchedule{Frequency: "Monthly", DayOfMonth: -1}, "DayOfMonth", "GreaterThanOrEqual"},
		{BillingReportSchedule{Frequency: "Monthly", DayOfWeek: "Monday"}, "DayOfWeek", "InvalidFormat"},
		{BillingReportSchedule{Frequency: "Weekly"}, "DayOfWeek", "NotEmpty"},
		{BillingReportSchedule{Frequency: "Weekly", DayOfWeek: "Funday"}, "DayOfWeek", "InvalidFormat"},
		{BillingReportSchedule{Frequency: "Weekly", DayOfWeek: "Monday", DayOfMonth: 3}, "DayOfMonth", "InvalidFormat"},
		{BillingReportSchedule{Frequency: "Monthly", TimeOfDay: "6:00"}, "TimeOfDay", "InvalidFormat"},
		{BillingReportSchedule{Frequency: "Monthly", TimeOfDay: "24:00"}, "TimeOfDay", "InvalidFormat"},
		{BillingReportSchedule{Frequency: "Monthly", TimeOfDay: "06:00:00"}, "TimeOfDay", "InvalidFormat"},
		{BillingReportSchedule{Frequency: "Monthly", TimeZoneID: "Mars/Olympus"}, "TimeZoneId", "InvalidFormat"},
		{BillingReportSchedule{Frequency: "Monthly", TimeZoneID: "Local"}, "TimeZoneId", "InvalidFormat"},
		{BillingReportSchedule{Frequency: "Monthly", EmailAddressToNotify: "not-an-address"}, "EmailAddressToNotify", "Email"},
		{BillingReportSchedule{Frequency: "Monthly", WebhookURL: "http://example.com/x"}, "WebhookUrl", "InvalidFormat"},
		{BillingReportSchedule{Frequency: "Monthly", AccountID: "a b"}, "AccountId", "InvalidFormat"},
	}
	for _, c := range cases {
		_, err := c.in.Validate(nil)
		e, ok := err.(*Error)
		if !ok || e.Code != EINVALID || len(e.FieldErrors) == 0 {
			t.Errorf("Validate(%+v) = %v, want a field error", c.in, err)
			continue
		}
		if fe := e.FieldErrors[0]; fe.FieldName != c.field || fe.ErrorCode != c.code {
			t.Errorf("Validate(%+v): first field error %+v, want %s on %s", c.in, fe, c.code, c.field)
		}
	}
	// Every failed field is listed, not just the first.
	_, err := BillingReportSchedule{Frequency: "Monthly", DayOfMonth: 30, TimeOfDay: "x", TimeZoneID: "Nope"}.Validate(nil)
	if e := err.(*Error); len(e.FieldErrors) != 3 {
		t.Errorf("field errors = %+v, want 3", e.FieldErrors)
	}
	s := mustSpec(t, BillingReportSchedule{Frequency: "monthly", Enabled: &f})
	if s.Frequency != Monthly || s.DayOfMonth != 1 || s.Hour != 6 || s.Minute != 0 || s.Enabled {
		t.Errorf("defaults: %+v", s)
	}
	if s := mustSpec(t, BillingReportSchedule{Frequency: "Weekly", DayOfWeek: "sunday", TimeOfDay: "23:59"}); s.DayOfWeek != time.Sunday || s.Hour != 23 || s.Minute != 59 || !s.Enabled {
		t.Errorf("weekly: %+v", s)
	}
}

func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestScheduleNextRunDST(t *testing.T) {
	cases := []struct {
		name  string
		spec  BillingReportSchedule
		after string
		want  string // RFC 3339 UTC
	}{
		// 02:30 does not exist in New York on 2026-03-08 (02:00 EST -> 03:00 EDT):
		// it fires at the jump, 03:00 EDT = 07:00Z.
		{"NY spring-forward", BillingReportSchedule{Frequency: "Weekly", DayOfWeek: "Sunday", TimeOfDay: "02:30", TimeZoneID: "America/New_York"}, "2026-03-07T12:00:00Z", "2026-03-08T07:00:00Z"},
		{"NY the week after", BillingReportSchedule{Frequency: "Weekly", DayOfWeek: "Sunday", TimeOfDay: "02:30", TimeZoneID: "America/New_York"}, "2026-03-08T07:00:00Z", "2026-03-15T06:30:00Z"},
		{"NY the week before", BillingReportSchedule{Frequency: "Weekly", DayOfWeek: "Sunday", TimeOfDay: "02:30", TimeZoneID: "America/New_York"}, "2026-02-28T00:00:00Z", "2026-03-01T07:30:00Z"},
		// 02:30 happens twice in Berlin on 2026-10-25 (03:00 CEST -> 02:00 CET):
		// it fires at the first, 02:30 CEST = 00:30Z, and not at the second
		// (01:30Z): the next firing is a week later.
		{"Berlin fall-back", BillingReportSchedule{Frequency: "Weekly", DayOfWeek: "Sunday", TimeOfDay: "02:30", TimeZoneID: "Europe/Berlin"}, "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z"},
		{"Berlin once only", BillingReportSchedule{Frequency: "Weekly", DayOfWeek: "Sunday", TimeOfDay: "02:30", TimeZoneID: "Europe/Berlin"}, "2026-10-25T00:30:00Z", "2026-11-01T01:30:00Z"},
		{"Berlin 02:00 repeated", BillingReportSchedule{Frequency: "Weekly", DayOfWeek: "Sunday", TimeOfDay: "02:00", TimeZoneID: "Europe/Berlin"}, "2026-10-24T12:00:00Z", "2026-10-25T00:00:00Z"},
		{"Berlin 03:00 after", BillingReportSchedule{Frequency: "Weekly", DayOfWeek: "Sunday", TimeOfDay: "03:00", TimeZoneID: "Europe/Berlin"}, "2026-10-24T12:00:00Z", "2026-10-25T02:00:00Z"},
		{"NY 01:30 repeated", BillingReportSchedule{Frequency: "Weekly", DayOfWeek: "Sunday", TimeOfDay: "01:30", TimeZoneID: "America/New_York"}, "2026-10-31T12:00:00Z", "2026-11-01T05:30:00Z"},
		{"monthly NY", BillingReportSchedule{Frequency: "Monthly", DayOfMonth: 8, TimeOfDay: "02:30", TimeZoneID: "America/New_York"}, "2026-02-10T00:00:00Z", "2026-03-08T07:00:00Z"},
		{"year end", BillingReportSchedule{Frequency: "Monthly", TimeOfDay: "06:00", TimeZoneID: "America/New_York"}, "2026-12-01T11:00:00Z", "2027-01-01T11:00:00Z"},
		{"same day later", BillingReportSchedule{Frequency: "Monthly", TimeOfDay: "06:00"}, "2026-11-01T05:59:59Z", "2026-11-01T06:00:00Z"},
		{"exactly at", BillingReportSchedule{Frequency: "Monthly", TimeOfDay: "06:00"}, "2026-11-01T06:00:00Z", "2026-12-01T06:00:00Z"},
		{"day 28 in February", BillingReportSchedule{Frequency: "Monthly", DayOfMonth: 28, TimeOfDay: "00:00"}, "2027-01-28T00:00:00Z", "2027-02-28T00:00:00Z"},
		{"weekly across the year", BillingReportSchedule{Frequency: "Weekly", DayOfWeek: "Friday", TimeOfDay: "09:00"}, "2026-12-26T00:00:00Z", "2027-01-01T09:00:00Z"},
	}
	for _, c := range cases {
		got := mustSpec(t, c.spec).NextRunAfter(at(t, c.after)).UTC().Format(time.RFC3339)
		if got != c.want {
			t.Errorf("%s: NextRunAfter(%s) = %s, want %s", c.name, c.after, got, c.want)
		}
	}
}

func TestSchedulePeriods(t *testing.T) {
	monthly := mustSpec(t, BillingReportSchedule{Frequency: "Monthly", TimeZoneID: "America/New_York"})
	weekly := mustSpec(t, BillingReportSchedule{Frequency: "Weekly", DayOfWeek: "Monday", TimeZoneID: "Europe/Berlin"})
	cases := []struct {
		spec ScheduleSpec
		at   string
		want string
	}{
		{monthly, "2026-11-01T10:00:00Z", "2026-10-01..2026-10-31"},
		{monthly, "2027-01-01T11:00:00Z", "2026-12-01..2026-12-31"}, // year end
		{monthly, "2026-03-01T11:00:00Z", "2026-02-01..2026-02-28"},
		{monthly, "2028-03-01T11:00:00Z", "2028-02-01..2028-02-29"}, // leap year
		// 2026-11-01T03:00Z is still October 31 in New York: the period is the local one.
		{monthly, "2026-11-01T03:00:00Z", "2026-09-01..2026-09-30"},
		{weekly, "2027-01-04T05:00:00Z", "2026-12-28..2027-01-03"}, // across the year end
		{weekly, "2026-11-02T05:00:00Z", "2026-10-26..2026-11-01"}, // across a month end
	}
	for _, c := range cases {
		if got := c.spec.PeriodFor(at(t, c.at)).String(); got != c.want {
			t.Errorf("PeriodFor(%s) = %s, want %s", c.at, got, c.want)
		}
	}
	for _, c := range []struct {
		spec ScheduleSpec
		p    string
		ok   bool
	}{
		{monthly, "2026-10-01..2026-10-31", true},
		{monthly, "2026-10-01..2026-10-30", false},
		{monthly, "2026-10-02..2026-11-01", false},
		{weekly, "2026-10-26..2026-11-01", true},
		{weekly, "2026-10-27..2026-11-02", false},
	} {
		p, ok := ParsePeriod(c.p)
		if !ok {
			t.Fatalf("ParsePeriod(%s) failed", c.p)
		}
		if _, got := c.spec.IsPeriod(p); got != c.ok {
			t.Errorf("IsPeriod(%s) = %v, want %v", c.p, got, c.ok)
		}
	}
	for _, bad := range []string{"", "2026-10-01", "2026-10-31..2026-10-01", "2026-10-01..x", "2026-10-01...2026-10-31"} {
		if _, ok := ParsePeriod(bad); ok {
			t.Errorf("ParsePeriod(%q) accepted", bad)
		}
	}
}

func TestScheduleCallerAndKey(t *testing.T) {
	s := &Schedule{ID: "s-1", Spec: ScheduleSpec{AccountID: "acct-1"}, CustomerScope: "c-9"}
	c := s.Caller()
	if scope, err := c.ScopeForAccount("acct-1"); err != nil || scope != "c-9" {
		t.Fatalf("scope = %q, %v", scope, err)
	}
	if _, err := c.ScopeForAccount("acct-2"); err == nil {
		t.Fatal("a schedule's caller reached another account")
	}
	p := Period{Date{2026, 10, 1}, Date{2026, 10, 31}}
	if k := s.IdempotencyKey(p); k != "schedule:s-1:2026-10-01..2026-10-31" {
		t.Fatal(k)
	}
	mgr := Caller{Roles: []Role{RoleManager}, AccountIDs: []string{"acct-1"}}
	other := Caller{Roles: []Role{RoleCustomer}, AccountIDs: []string{"acct-1"}, CustomerID: "c-1"}
	if !mgr.CanReadSchedule(s) || other.CanReadSchedule(s) {
		t.Fatal("CanReadSchedule")
	}
}

// A stored spec that cannot fire (never made by Validate) has no next run
// instead of looping or panicking.
func TestNextRunOfACorruptSpec(t *testing.T) {
	bad := ScheduleSpec{Frequency: Monthly, DayOfMonth: 0}
	if got := bad.NextRunAfter(time.Now()); !got.IsZero() {
		t.Fatalf("NextRunAfter = %v, want zero", got)
	}
	if _, ok := bad.LatestPeriod(time.Now()); ok {
		t.Fatal("LatestPeriod of a spec that never fires")
	}
}
