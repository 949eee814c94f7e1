package billing

import (
	"net/mail"
	"net/url"
	"strings"
	"time"
)

// MaxReportDays is the longest period a report may cover, inclusive (spec 2.1).
const MaxReportDays = 366

// BillingReport is the request DTO of spec 2.1, as bound from JSON, query string
// and form fields (case-insensitive names).
type BillingReport struct {
	AccountID            string `json:"accountId,omitempty"`
	StartDate            string `json:"startDate,omitempty"`
	EndDate              string `json:"endDate,omitempty"`
	TimeZoneID           string `json:"timeZoneId,omitempty"`
	IncludeCustomerIDs   bool   `json:"includeCustomerIds,omitempty"`
	EmailAddressToNotify string `json:"emailAddressToNotify,omitempty"`
	WebhookURL           string `json:"webhookUrl,omitempty"`
}

// ReportRequest is a validated BillingReport: what the worker needs to run it.
// TimeZoneID is empty when the caller gave none; the worker then uses the
// account's zone, else UTC.
type ReportRequest struct {
	AccountID            string `json:"accountId"`
	StartDate            Date   `json:"-"`
	EndDate              Date   `json:"-"`
	TimeZoneID           string `json:"timeZoneId,omitempty"`
	IncludeCustomerIDs   bool   `json:"includeCustomerIds,omitempty"`
	EmailAddressToNotify string `json:"emailAddressToNotify,omitempty"`
	WebhookURL           string `json:"webhookUrl,omitempty"`
}

// Validate checks every rule of spec 2.1 and returns the normalized request, or an
// EINVALID *Error listing every failed field (the first one is the top-level
// error). AccountID is not required here: it may be filled from the caller's token.
// allowInsecureWebhooks lets the local stack use http:// webhook targets.
func (b BillingReport) Validate(allowInsecureWebhooks bool) (ReportRequest, error) {
	var errs []FieldError
	add := func(code, field, msg string) {
		errs = append(errs, FieldError{ErrorCode: code, FieldName: field, Message: msg})
	}
	req := ReportRequest{
		AccountID:            strings.TrimSpace(b.AccountID),
		TimeZoneID:           strings.TrimSpace(b.TimeZoneID),
		IncludeCustomerIDs:   b.IncludeCustomerIDs,
		EmailAddressToNotify: strings.TrimSpace(b.EmailAddressToNotify),
		WebhookURL:           strings.TrimSpace(b.WebhookURL),
	}
	startOK, endOK := false, false
	if s := strings.TrimSpace(b.StartDate); s == "" {
		add("NotEmpty", "StartDate", "'StartDate' must not be empty.")
	} else if d, err := ParseDate(s); err != nil {
		add("InvalidFormat", "StartDate", "'StartDate' must be a date in the format YYYY-MM-DD.")
	} else {
		req.StartDate, startOK = d, true
	}
	if s := strings.TrimSpace(b.EndDate); s == "" {
		add("NotEmpty", "EndDate", "'EndDate' must not be empty.")
	} else if d, err := ParseDate(s); err != nil {
		add("InvalidFormat", "EndDate", "'EndDate' must be a date in the format YYYY-MM-DD.")
	} else {
		req.EndDate, endOK = d, true
	}
	if startOK && endOK {
		if req.EndDate.Before(req.StartDate) {
			add("GreaterThanOrEqual", "EndDate", "'EndDate' must be greater than or equal to '"+req.StartDate.String()+"'.")
		} else if last := req.StartDate.AddDays(MaxReportDays - 1); last.Before(req.EndDate) {
			add("LessThanOrEqual", "EndDate", "'EndDate' must be less than or equal to '"+last.String()+"' (a report covers at most 366 days).")
		}
	}
	if req.TimeZoneID != "" {
		if _, err := LoadZone(req.TimeZoneID); err != nil {
			add("InvalidFormat", "TimeZoneId", "'TimeZoneId' must be an IANA time zone such as 'America/New_York'.")
		}
	}
	if req.EmailAddressToNotify != "" && !validEmail(req.EmailAddressToNotify) {
		add("Email", "EmailAddressToNotify", "'EmailAddressToNotify' is not a valid email address.")
	}
	if req.WebhookURL != "" && !validWebhookURL(req.WebhookURL, allowInsecureWebhooks) {
		add("InvalidFormat", "WebhookUrl", "'WebhookUrl' must be an absolute https URL.")
	}
	if len(errs) > 0 {
		return ReportRequest{}, &Error{Code: EINVALID, ErrorCode: errs[0].ErrorCode, Message: errs[0].Message, FieldErrors: errs}
	}
	return req, nil
}

// LoadZone loads an IANA zone; "" and "UTC" are UTC. Binaries embed time/tzdata so
// this does not depend on the host's zoneinfo.
func LoadZone(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	if strings.EqualFold(name, "local") {
		return nil, Errorf(EINVALID, "time zone %q is not an IANA zone", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, WrapError(EINVALID, err, "unknown time zone %q", name)
	}
	return loc, nil
}

// validEmail accepts a bare address (no display name), with a dot in the domain.
func validEmail(s string) bool {
	if len(s) > 254 || strings.ContainsAny(s, " <>\r\n") {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && strings.Contains(s[at+1:], ".")
}

func validWebhookURL(s string, allowInsecure bool) bool {
	if len(s) > 2048 {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil {
		return false
	}
	return u.Scheme == "https" || allowInsecure && u.Scheme == "http"
}
