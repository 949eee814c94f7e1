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
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := ok
			c.mutate(&b)
			req, err := b.Validate(false)
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
			if e.ErrorCode != c.wantCode || e.FieldErrors[0].FieldName != c.wantField || e.FieldErrors[0].ErrorCode != c.wantCode {
				t.Fatalf("got %s/%+v, want %s on %s", e.ErrorCode, e.FieldErrors, c.wantCode, c.wantField)
			}
			if e.Message != e.FieldErrors[0].Message {
				t.Fatalf("top-level message %q is not the first field error's %q", e.Message, e.FieldErrors[0].Message)
			}
		})
	}
}

func TestValidateReportsEveryField(t *testing.T) {
	_, err := BillingReport{EmailAddressToNotify: "x"}.Validate(false)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatal(err)
	}
	if len(e.FieldErrors) != 3 || e.Message != "'StartDate' must not be empty." {
		t.Fatalf("got %+v", e)
	}
}

func TestValidateAllowsInsecureWebhookLocally(t *testing.T) {
	b := BillingReport{StartDate: "2026-10-01", EndDate: "2026-10-01", WebhookURL: "http://127.0.0.1:9000/hook"}
	if _, err := b.Validate(true); err != nil {
		t.Fatal(err)
	}
}

func FuzzValidate(f *testing.F) {
	f.Add("2026-10-01", "2026-10-31", "America/New_York", "a@b.co", "https://x.example/h")
	f.Add("", "", "", "", "")
	f.Add("2026-10-01T00:00:00Z", "9999-12-31", "UTC", "@", "ftp://x")
	f.Fuzz(func(t *testing.T, start, end, zone, email, hook string) {
		req, err := BillingReport{StartDate: start, EndDate: end, TimeZoneID: zone, EmailAddressToNotify: email, WebhookURL: hook}.Validate(false)
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
