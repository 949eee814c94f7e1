package billing

import (
	"errors"
	"testing"
)

func TestBillingReportValidate(t *testing.T) {
	ok := BillingReport{AccountID: "acct-acme", StartDate: "2026-10-01", EndDate: "2026-10-31"}
	cases := []struct {
		name      string
		mutate    func(*BillingReport)
		wantCode  string // "" = valid
		wantField string
	}{
		{"valid", func(*BillingReport) {}, "", ""},
		{"date-time start uses the date part", func(b *BillingReport) { b.StartDate = "2026-10-01T23:59:59Z" }, "", ""},
		{"date-time with offset", func(b *BillingReport) { b.EndDate = "2026-10-31T10:00:00-04:00" }, "", ""},
		{"missing start", func(b *BillingReport) { b.StartDate = "" }, "NotEmpty", "StartDate"},
		{"blank end", func(b *BillingReport) { b.EndDate = "  " }, "NotEmpty", "EndDate"},
		{"bad start", func(b *BillingReport) { b.StartDate = "10/01/2026" }, "InvalidFormat", "StartDate"},
		{"impossible date", func(b *BillingReport) { b.StartDate = "2026-02-30" }, "InvalidFormat", "StartDate"},
		{"junk after date", func(b *BillingReport) { b.EndDate = "2026-10-31xyz" }, "InvalidFormat", "EndDate"},
		{"end before start", func(b *BillingReport) { b.EndDate = "2026-09-30" }, "GreaterThanOrEqual", "EndDate"},
		{"one day", func(b *BillingReport) { b.EndDate = "2026-10-01" }, "", ""},
		{"366 days", func(b *BillingReport) { b.StartDate, b.EndDate = "2026-01-01", "2027-01-01" }, "", ""},
		{"367 days", func(b *BillingReport) { b.StartDate, b.EndDate = "2026-01-01", "2027-01-02" }, "LessThanOrEqual", "EndDate"},
		{"zone", func(b *BillingReport) { b.TimeZoneID = "Europe/London" }, "", ""},
		{"bad zone", func(b *BillingReport) { b.TimeZoneID = "Mars/Base" }, "InvalidFormat", "TimeZoneId"},
		{"Local is no IANA zone", func(b *BillingReport) { b.TimeZoneID = "Local" }, "InvalidFormat", "TimeZoneId"},
		{"email", func(b *BillingReport) { b.EmailAddressToNotify = "ops@example.com" }, "", ""},
		{"bad email", func(b *BillingReport) { b.EmailAddressToNotify = "not-an-email" }, "Email", "EmailAddressToNotify"},
		{"email with name", func(b *BillingReport) { b.EmailAddressToNotify = "Ops <ops@example.com>" }, "Email", "EmailAddressToNotify"},
		{"header injection", func(b *BillingReport) { b.EmailAddressToNotify = "a@b.com\r\nBcc: x@y.com" }, "Email", "EmailAddressToNotify"},
		{"https webhook", func(b *BillingReport) { b.WebhookURL = "https://hooks.example.com/x" }, "", ""},
		{"http webhook", func(b *BillingReport) { b.WebhookURL = "http://hooks.example.com/x" }, "InvalidFormat", "WebhookUrl"},
		{"relative webhook", func(b *BillingReport) { b.WebhookURL = "/x" }, "InvalidFormat", "WebhookUrl"},
		// Spec 2.1: a period whose UTC bounds leave the years 1 to 9999.
		{"period into year 10000 UTC", period("9999-12-01", "9999-12-31", "America/New_York"), "LessThanOrEqual", "EndDate"},
		{"last day of 9999 in UTC ends in 10000", period("9999-12-31", "9999-12-31", "UTC"), "LessThanOrEqual", "EndDate"},
		{"late 9999 in Tokyo", period("9999-12-01", "9999-12-31", "Asia/Tokyo"), "", ""},
		{"period before year 1 UTC", period("0001-01-01", "0001-01-31", "Asia/Tokyo"), "GreaterThanOrEqual", "StartDate"},
		{"year 1 in New York", period("0001-01-01", "0001-01-31", "America/New_York"), "", ""},
		{"year 0", period("0000-12-01", "0000-12-31", "UTC"), "GreaterThanOrEqual", "StartDate"},
		// Spec 2.1: invalid UTF-8, control and bidi formatting characters.
		{"email invalid UTF-8", func(b *BillingReport) { b.EmailAddressToNotify = "ops\xff@example.com" }, "Email", "EmailAddressToNotify"},
		{"email replacement character", func(b *BillingReport) { b.EmailAddressToNotify = "ops\ufffd@example.com" }, "", ""},
		{"email NUL", func(b *BillingReport) { b.EmailAddressToNotify = "ops\x00@example.com" }, "Email", "EmailAddressToNotify"},
		{"email DEL", func(b *BillingReport) { b.EmailAddressToNotify = "ops\x7f@example.com" }, "Email", "EmailAddressToNotify"},
		{"email C1 control", func(b *BillingReport) { b.EmailAddressToNotify = "ops\u0085@example.com" }, "Email", "EmailAddressToNotify"},
		{"email RLO override", func(b *BillingReport) { b.EmailAddressToNotify = "ops\u202e@example.com" }, "Email", "EmailAddressToNotify"},
		{"email RLM mark", func(b *BillingReport) { b.EmailAddressToNotify = "ops@exa\u200fmple.com" }, "Email", "EmailAddressToNotify"},
		{"email isolate", func(b *BillingReport) { b.EmailAddressToNotify = "\u2067ops@example.com" }, "Email", "EmailAddressToNotify"},
		{"email unicode letters", func(b *BillingReport) { b.EmailAddressToNotify = "josé@example.com" }, "", ""},
		{"webhook invalid UTF-8", func(b *BillingReport) { b.WebhookURL = "https://hooks.example.com/\xff" }, "InvalidFormat", "WebhookUrl"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := ok
			c.mutate(&b)
			req, err := b.Validate(nil)
			if c.wantCode == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want ok", err)
				}
				if req.StartDate.IsZero() || req.EndDate.IsZero() {
					t.Fatalf("dates not set: %+v", req)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != EINVALID {
				t.Fatalf("Validate() = %v, want EINVALID", err)
			}
			if e.FieldErrors[0].FieldName != c.wantField || e.FieldErrors[0].ErrorCode != c.wantCode {
				t.Fatalf("got %+v, want %s on %s", e.FieldErrors, c.wantCode, c.wantField)
			}
			if e.Message != e.FieldErrors[0].Message {
				t.Fatalf("top-level message %q is not the first field error's %q", e.Message, e.FieldErrors[0].Message)
			}
		})
	}
}

func TestValidateReportsEveryField(t *testing.T) {
	_, err := BillingReport{EmailAddressToNotify: "x"}.Validate(nil)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatal(err)
	}
	if len(e.FieldErrors) != 3 || e.Message != "'StartDate' must not be empty." {
		t.Fatalf("got %+v", e)
	}
}

// Validate applies the webhook guard it is given, whatever it says, and turns
// a refusal into the WebhookUrl field error.
func TestValidateUsesTheWebhookGuard(t *testing.T) {
	b := BillingReport{StartDate: "2026-10-01", EndDate: "2026-10-01", WebhookURL: "http://127.0.0.1:9000/hook"}
	var seen string
	allow := func(s string) error { seen = s; return nil }
	if _, err := b.Validate(allow); err != nil || seen != b.WebhookURL {
		t.Fatalf("Validate(allow) = %v, guard saw %q", err, seen)
	}
	refuse := func(string) error { return errors.New("no") }
	b.WebhookURL = "https://hooks.example.com/x"
	_, err := b.Validate(refuse)
	var e *Error
	if !errors.As(err, &e) || e.FieldErrors[0].FieldName != "WebhookUrl" || e.FieldErrors[0].ErrorCode != "InvalidFormat" {
		t.Fatalf("Validate(refuse) = %v, want a WebhookUrl field error", err)
	}
}

// period sets a request's dates and zone.
func period(start, end, zone string) func(*BillingReport) {
	return func(b *BillingReport) { b.StartDate, b.EndDate, b.TimeZoneID = start, end, zone }
}

func TestPeriodBoundsError(t *testing.T) {
	ny, err := LoadZone("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	d := func(s string) Date { x, _ := ParseDate(s); return x }
	if fe := PeriodBoundsError(d("9999-12-30"), d("9999-12-30"), ny); fe != nil {
		t.Errorf("9999-12-30 in New York ends 9999-12-31T05:00Z, refused: %+v", fe)
	}
	if fe := PeriodBoundsError(d("9999-12-31"), d("9999-12-31"), ny); fe == nil || fe.FieldName != "EndDate" {
		t.Errorf("9999-12-31 in New York: %+v, want an EndDate error", fe)
	}
}

func FuzzValidate(f *testing.F) {
	f.Add("2026-10-01", "2026-10-31", "America/New_York", "a@b.co", "https://x.example/h")
	f.Add("", "", "", "", "")
	f.Add("2026-10-01T00:00:00Z", "9999-12-31", "UTC", "@", "ftp://x")
	f.Fuzz(func(t *testing.T, start, end, zone, email, hook string) {
		req, err := BillingReport{StartDate: start, EndDate: end, TimeZoneID: zone, EmailAddressToNotify: email, WebhookURL: hook}.Validate(nil)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != EINVALID || len(e.FieldErrors) == 0 {
				t.Fatalf("error not in the validation shape: %v", err)
			}
			return
		}
		if req.EndDate.Before(req.StartDate) || req.StartDate.DaysUntil(req.EndDate) >= MaxReportDays {
			t.Fatalf("accepted an invalid range %v..%v", req.StartDate, req.EndDate)
		}
	})
}

func TestReportZone(t *testing.T) {
	for _, tc := range []struct{ req, acct, want string }{
		{"Europe/Berlin", "America/New_York", "Europe/Berlin"},
		{"", "America/New_York", "America/New_York"},
		{"", "", "UTC"},
	} {
		if got := ReportZoneName(tc.req, tc.acct); got != tc.want {
			t.Errorf("ReportZoneName(%q, %q) = %q, want %q", tc.req, tc.acct, got, tc.want)
		}
		loc, err := ReportZone(tc.req, tc.acct)
		if err != nil || loc.String() != tc.want {
			t.Errorf("ReportZone(%q, %q) = %v, %v; want %s", tc.req, tc.acct, loc, err, tc.want)
		}
	}
	if _, err := ReportZone("", "Mars/Olympus"); ErrorCode(err) != EINVALID {
		t.Errorf("an account zone no tzdata knows: %v, want %s", err, EINVALID)
	}
}
