package billing

import (
	"net/mail"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
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
// checkWebhook is the webhook sender's own guard (webhook.CheckURL with the
// stage's settings), so that submit refuses exactly the targets the sender
// would; nil accepts absolute https URLs only. The period's UTC bounds depend
// on the zone, which may be the account's: PeriodBoundsError checks them once
// the zone is known.
func (b BillingReport) Validate(checkWebhook func(string) error) (ReportRequest, error) {
	var errs fieldErrors
	req := ReportRequest{
		AccountID:            strings.TrimSpace(b.AccountID),
		TimeZoneID:           strings.TrimSpace(b.TimeZoneID),
		IncludeCustomerIDs:   b.IncludeCustomerIDs,
		EmailAddressToNotify: strings.TrimSpace(b.EmailAddressToNotify),
		WebhookURL:           strings.TrimSpace(b.WebhookURL),
	}
	var startOK, endOK bool
	req.StartDate, startOK = errs.date(b.StartDate, "StartDate")
	req.EndDate, endOK = errs.date(b.EndDate, "EndDate")
	if startOK && endOK {
		errs.period(req.StartDate, req.EndDate)
	}
	if errs.zone(req.TimeZoneID) && req.TimeZoneID != "" && startOK && endOK && len(errs) == 0 {
		errs.bounds(req.StartDate, req.EndDate, req.TimeZoneID)
	}
	errs.notify(req.EmailAddressToNotify, req.WebhookURL, checkWebhook)
	if err := errs.err(); err != nil {
		return ReportRequest{}, err
	}
	return req, nil
}

// ReportZoneName is the zone a report's period lies in (spec 2.1): the
// request's, else the account's, else UTC. Submit checks the period's bounds
// in it, the worker rates in it, a schedule without a zone takes it, and the
// offline report uses it: one rule, so the four never disagree.
func ReportZoneName(requestZone, accountZone string) string {
	switch {
	case requestZone != "":
		return requestZone
	case accountZone != "":
		return accountZone
	}
	return "UTC"
}

// ReportZone loads ReportZoneName(requestZone, accountZone).
func ReportZone(requestZone, accountZone string) (*time.Location, error) {
	return LoadZone(ReportZoneName(requestZone, accountZone))
}

// date reads a required date field.
func (e *fieldErrors) date(v, field string) (Date, bool) {
	s := strings.TrimSpace(v)
	if s == "" {
		e.add("NotEmpty", field, "'"+field+"' must not be empty.")
		return Date{}, false
	}
	d, err := ParseDate(s)
	if err != nil {
		e.add("InvalidFormat", field, "'"+field+"' must be a date in the format YYYY-MM-DD.")
		return Date{}, false
	}
	return d, true
}

// period checks that end is not before start and the period is at most
// MaxReportDays long.
func (e *fieldErrors) period(start, end Date) {
	if end.Before(start) {
		e.add("GreaterThanOrEqual", "EndDate", "'EndDate' must be greater than or equal to '"+start.String()+"'.")
	} else if last := start.AddDays(MaxReportDays - 1); last.Before(end) {
		e.add("LessThanOrEqual", "EndDate", "'EndDate' must be less than or equal to '"+last.String()+"' (a report covers at most 366 days).")
	}
}

// zone checks a zone a caller gave ("" is none) and reports whether it is
// usable.
func (e *fieldErrors) zone(zone string) bool {
	if zone == "" {
		return true
	}
	if _, err := LoadZone(zone); err != nil {
		e.add("InvalidFormat", "TimeZoneId", "'TimeZoneId' must be an IANA time zone such as 'America/New_York'.")
		return false
	}
	return true
}

// notify checks the optional email address and webhook target; checkWebhook
// is the webhook sender's guard (nil: absolute https URLs only).
func (e *fieldErrors) notify(email, webhook string, checkWebhook func(string) error) {
	if email != "" && !validEmail(email) {
		e.add("Email", "EmailAddressToNotify", "'EmailAddressToNotify' is not a valid email address.")
	}
	if webhook != "" && !validWebhookURL(webhook, checkWebhook) {
		e.add("InvalidFormat", "WebhookUrl", "'WebhookUrl' must be an absolute https URL of a public host.")
	}
}

// bounds checks the period's UTC bounds in zone (PeriodBoundsError).
func (e *fieldErrors) bounds(start, end Date, zone string) {
	if loc, err := LoadZone(zone); err == nil {
		if fe := PeriodBoundsError(start, end, loc); fe != nil {
			*e = append(*e, *fe)
		}
	}
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

// validEmail accepts a bare address (no display name), with a dot in the
// domain, of valid UTF-8 without control or bidirectional formatting
// characters: such an address is never what the caller meant, and a bidi
// override would make the address shown in a log or a console read as another
// one (spec 2.1).
func validEmail(s string) bool {
	if len(s) > 254 || strings.ContainsAny(s, " <>\r\n") || !utf8.ValidString(s) ||
		strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) }) >= 0 {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && strings.Contains(s[at+1:], ".")
}

func validWebhookURL(s string, check func(string) error) bool {
	if len(s) > 2048 || !utf8.ValidString(s) {
		return false
	}
	if check != nil {
		return check(s) == nil
	}
	u, err := url.Parse(s)
	return err == nil && u.Host != "" && u.User == nil && u.Scheme == "https"
}

// Years a period's UTC bounds must stay within: usage sort keys and every
// stored time have a four-digit year, so an instant outside them cannot be
// read or written, and a period reaching into one would fail only in the
// worker ("Internal error.") after it was accepted.
const (
	minBoundYear = 1
	maxBoundYear = 9999
)

// PeriodBoundsError returns the field error of a period whose UTC bounds,
// its first instant and the first instant after it in loc, leave the years
// 1 to 9999 (spec 2.1: 9999-12-31 in America/New_York ends in the year 10000
// UTC), or nil. The bounds are midnights; where a zone skips midnight the
// real start of the day is up to an hour later, which only matters within an
// hour of these limits.
func PeriodBoundsError(start, end Date, loc *time.Location) *FieldError {
	if y := start.In(loc).UTC().Year(); y < minBoundYear {
		return &FieldError{ErrorCode: "GreaterThanOrEqual", FieldName: "StartDate",
			Message: "'StartDate' must not begin before the year 1 in UTC (in time zone " + loc.String() + ")."}
	}
	if y := end.AddDays(1).In(loc).UTC().Year(); y > maxBoundYear {
		return &FieldError{ErrorCode: "LessThanOrEqual", FieldName: "EndDate",
			Message: "'EndDate' must end before the year 10000 in UTC (in time zone " + loc.String() + ")."}
	}
	return nil
}
