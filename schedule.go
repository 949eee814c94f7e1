package billing

import (
	"fmt"
	"strings"
	"time"
)

// Frequency is how often a schedule fires (spec 2.7).
type Frequency string

// The frequencies of spec 2.7.
const (
	Monthly Frequency = "Monthly"
	Weekly  Frequency = "Weekly"
)

// MaxSchedulesPerAccount bounds an account's schedules: more is ETOOMANY.
const MaxSchedulesPerAccount = 20

// DefaultTimeOfDay is the local time a schedule fires at when none is given.
const DefaultTimeOfDay = "06:00"

// BillingReportSchedule is the schedule DTO of spec 2.7, as bound from the
// request and as answered. The read-only fields are ignored on input.
type BillingReportSchedule struct {
	ID                   string `json:"id,omitempty"`
	AccountID            string `json:"accountId,omitempty"`
	Frequency            string `json:"frequency,omitempty"`
	DayOfMonth           int    `json:"dayOfMonth,omitempty"`
	DayOfWeek            string `json:"dayOfWeek,omitempty"`
	TimeOfDay            string `json:"timeOfDay,omitempty"`
	TimeZoneID           string `json:"timeZoneId,omitempty"`
	IncludeCustomerIDs   bool   `json:"includeCustomerIds,omitempty"`
	EmailAddressToNotify string `json:"emailAddressToNotify,omitempty"`
	WebhookURL           string `json:"webhookUrl,omitempty"`
	// Enabled is a pointer so that an omitted field means the default (true)
	// and an explicit false is told apart from it.
	Enabled *bool `json:"enabled,omitempty"`

	NextRunAt      string `json:"nextRunAt,omitempty"`
	LastRunAt      string `json:"lastRunAt,omitempty"`
	LastReportID   string `json:"lastReportId,omitempty"`
	DisabledReason string `json:"disabledReason,omitempty"`
	DateCreated    string `json:"dateCreated,omitempty"`
	DateUpdated    string `json:"dateUpdated,omitempty"`
}

// ScheduleSpec is a validated BillingReportSchedule: what the caller chose.
// TimeZoneID is empty when the caller gave none (the account's zone is then
// filled in at create, so the schedule does not move when the account's
// zone changes later).
type ScheduleSpec struct {
	AccountID            string
	Frequency            Frequency
	DayOfMonth           int          // 1..28, Monthly
	DayOfWeek            time.Weekday // Weekly
	Hour, Minute         int
	TimeZoneID           string
	IncludeCustomerIDs   bool
	EmailAddressToNotify string
	WebhookURL           string
	Enabled              bool
}

// Schedule is a stored schedule: the spec, who owns it and its firing state.
type Schedule struct {
	ID            string
	Spec          ScheduleSpec
	CustomerScope string // a Customer-role creator's customer: its reports hold only that subtree
	CreatedBy     string
	// NextRunAt is the next firing instant (zero when disabled): the sparse
	// due index holds only enabled schedules.
	NextRunAt      time.Time
	LastRunAt      time.Time
	LastReportID   string
	DisabledReason string
	DateCreated    time.Time
	DateUpdated    time.Time
}

// Info is the public view of s.
func (s *Schedule) Info() BillingReportSchedule {
	enabled := s.Spec.Enabled
	out := BillingReportSchedule{
		ID:                   s.ID,
		AccountID:            s.Spec.AccountID,
		Frequency:            string(s.Spec.Frequency),
		TimeOfDay:            fmt.Sprintf("%02d:%02d", s.Spec.Hour, s.Spec.Minute),
		TimeZoneID:           s.Spec.TimeZoneID,
		IncludeCustomerIDs:   s.Spec.IncludeCustomerIDs,
		EmailAddressToNotify: s.Spec.EmailAddressToNotify,
		WebhookURL:           s.Spec.WebhookURL,
		Enabled:              &enabled,
		NextRunAt:            FormatTime(s.NextRunAt),
		LastRunAt:            FormatTime(s.LastRunAt),
		LastReportID:         s.LastReportID,
		DisabledReason:       s.DisabledReason,
		DateCreated:          FormatTime(s.DateCreated),
		DateUpdated:          FormatTime(s.DateUpdated),
	}
	if s.Spec.Frequency == Weekly {
		out.DayOfWeek = s.Spec.DayOfWeek.String()
	} else {
		out.DayOfMonth = s.Spec.DayOfMonth
	}
	return out
}

// CanReadSchedule reports whether the caller may see s, by the same rule as reports
// (OWASP API1): callers answer ENOTFOUND when it is false.
func (c Caller) CanReadSchedule(s *Schedule) bool {
	return c.CanRead(&Report{AccountID: s.Spec.AccountID, CustomerScope: s.CustomerScope})
}

// Caller is the identity a firing submits as: the schedule's own subject
// (so its idempotency keys never meet a person's) with the role and scope of
// its creator, so that the report holds exactly what the creator could ask for.
func (s *Schedule) Caller() Caller {
	c := Caller{Subject: "schedule:" + s.ID, AccountIDs: []string{s.Spec.AccountID}}
	if s.CustomerScope != "" {
		c.Roles, c.CustomerID = []Role{RoleCustomer}, s.CustomerScope
	} else {
		c.Roles = []Role{RoleManager}
	}
	return c
}

// Validate checks every rule of spec 2.7 and returns the normalized spec, or
// an EINVALID *Error listing every failed field. AccountID is not required
// here: it may come from the token. checkWebhook is as for BillingReport.
func (b BillingReportSchedule) Validate(checkWebhook func(string) error) (ScheduleSpec, error) {
	var errs fieldErrors
	add := errs.add
	spec := ScheduleSpec{
		AccountID:            strings.TrimSpace(b.AccountID),
		TimeZoneID:           strings.TrimSpace(b.TimeZoneID),
		IncludeCustomerIDs:   b.IncludeCustomerIDs,
		EmailAddressToNotify: strings.TrimSpace(b.EmailAddressToNotify),
		WebhookURL:           strings.TrimSpace(b.WebhookURL),
		Enabled:              b.Enabled == nil || *b.Enabled,
	}
	if spec.AccountID != "" && !ValidID(spec.AccountID) {
		add("InvalidFormat", "AccountId", "'AccountId' must be "+IDRule+".")
	}
	spec.Frequency = errs.frequency(b.Frequency)
	switch spec.Frequency {
	case Monthly:
		spec.DayOfMonth = errs.dayOfMonth(b)
	case Weekly:
		spec.DayOfWeek = errs.dayOfWeek(b)
	}
	tod := strings.TrimSpace(b.TimeOfDay)
	if tod == "" {
		tod = DefaultTimeOfDay
	}
	if h, m, ok := parseTimeOfDay(tod); ok {
		spec.Hour, spec.Minute = h, m
	} else {
		add("InvalidFormat", "TimeOfDay", "'TimeOfDay' must be a local time in the format HH:MM.")
	}
	errs.zone(spec.TimeZoneID)
	errs.notify(spec.EmailAddressToNotify, spec.WebhookURL, checkWebhook)
	if err := errs.err(); err != nil {
		return ScheduleSpec{}, err
	}
	return spec, nil
}

// frequency reads a schedule's frequency, case-insensitively.
func (e *fieldErrors) frequency(v string) Frequency {
	switch f := strings.TrimSpace(v); {
	case f == "":
		e.add("NotEmpty", "Frequency", "'Frequency' must not be empty.")
	case strings.EqualFold(f, string(Monthly)):
		return Monthly
	case strings.EqualFold(f, string(Weekly)):
		return Weekly
	default:
		e.add("InvalidFormat", "Frequency", "'Frequency' must be 'Monthly' or 'Weekly'.")
	}
	return ""
}

// dayOfMonth is a Monthly schedule's day (default 1), which every month has.
func (e *fieldErrors) dayOfMonth(b BillingReportSchedule) int {
	day := b.DayOfMonth
	if day == 0 {
		day = 1
	}
	if day < 1 {
		e.add("GreaterThanOrEqual", "DayOfMonth", "'DayOfMonth' must be greater than or equal to '1'.")
	} else if day > 28 {
		e.add("LessThanOrEqual", "DayOfMonth", "'DayOfMonth' must be less than or equal to '28' (every month has it).")
	}
	if strings.TrimSpace(b.DayOfWeek) != "" {
		e.add("InvalidFormat", "DayOfWeek", "'DayOfWeek' applies to Weekly schedules only.")
	}
	return day
}

// dayOfWeek is a Weekly schedule's day.
func (e *fieldErrors) dayOfWeek(b BillingReportSchedule) time.Weekday {
	d, ok := parseWeekday(b.DayOfWeek)
	switch {
	case ok:
	case strings.TrimSpace(b.DayOfWeek) == "":
		e.add("NotEmpty", "DayOfWeek", "'DayOfWeek' must not be empty.")
	default:
		e.add("InvalidFormat", "DayOfWeek", "'DayOfWeek' must be one of 'Monday' to 'Sunday'.")
	}
	if b.DayOfMonth != 0 {
		e.add("InvalidFormat", "DayOfMonth", "'DayOfMonth' applies to Monthly schedules only.")
	}
	return d
}

func parseWeekday(s string) (time.Weekday, bool) {
	s = strings.TrimSpace(s)
	for d := time.Sunday; d <= time.Saturday; d++ {
		if strings.EqualFold(s, d.String()) {
			return d, true
		}
	}
	return 0, false
}

// parseTimeOfDay reads exactly HH:MM, 00:00 to 23:59.
func parseTimeOfDay(s string) (hour, minute int, ok bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, 0, false
	}
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, 0, false
	}
	return t.Hour(), t.Minute(), true
}

// Period is the local days a firing reports on, inclusive.
type Period struct{ Start, End Date }

func (p Period) String() string { return p.Start.String() + ".." + p.End.String() }

// ParsePeriod reads "YYYY-MM-DD..YYYY-MM-DD".
func ParsePeriod(s string) (Period, bool) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "..")
	if !ok || len(a) != 10 || len(b) != 10 {
		return Period{}, false
	}
	start, err1 := ParseDate(a)
	end, err2 := ParseDate(b)
	if err1 != nil || err2 != nil || end.Before(start) {
		return Period{}, false
	}
	return Period{start, end}, true
}

// Location is the schedule's zone (UTC when none is stored).
func (s ScheduleSpec) Location() *time.Location {
	loc, err := LoadZone(s.TimeZoneID)
	if err != nil {
		return time.UTC // Validate refused it; a stored schedule always has a loadable zone
	}
	return loc
}

// firesOn reports whether d is one of the schedule's firing days.
func (s ScheduleSpec) firesOn(d Date) bool {
	if s.Frequency == Weekly {
		return d.In(time.UTC).Weekday() == s.DayOfWeek
	}
	return d.Day == s.DayOfMonth
}

// FireAt is the instant the schedule fires on local day d: its time of day
// in its zone. A time that a spring-forward skips fires at the first valid
// instant after it (the instant the clocks jump); a time that a fall-back
// repeats fires once, at its first occurrence.
func (s ScheduleSpec) FireAt(d Date) time.Time {
	loc := s.Location()
	t := time.Date(d.Year, d.Month, d.Day, s.Hour, s.Minute, 0, 0, loc)
	want := time.Date(d.Year, d.Month, d.Day, s.Hour, s.Minute, 0, 0, time.UTC)
	got := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), 0, 0, time.UTC)
	if got.Equal(want) {
		// A wall time that a fall-back repeats has two instants, and
		// time.Date may pick the second: fire at the first, as cron does.
		start, _ := t.ZoneBounds()
		if !start.IsZero() {
			_, before := start.Add(-time.Nanosecond).Zone()
			if _, cur := t.Zone(); before > cur {
				if e := t.Add(-time.Duration(before-cur) * time.Second); e.Before(start) {
					return e
				}
			}
		}
		return t
	}
	// The wall time does not exist: time.Date moved it out of the gap, to
	// one side or the other. The jump is where t's zone period ends (t
	// before the gap) or starts (t after it).
	start, end := t.ZoneBounds()
	if got.Before(want) {
		return end
	}
	return start
}

// NextRunAfter is the first firing instant strictly after t, or the zero
// time for a spec that never fires (only a corrupt stored one: Validate
// refuses such specs).
func (s ScheduleSpec) NextRunAfter(t time.Time) time.Time {
	d := DateOf(t.In(s.Location()))
	// At most 31 days to the next firing day, plus the day itself.
	for i := 0; i < 64; i++ {
		if s.firesOn(d) {
			if at := s.FireAt(d); at.After(t) {
				return at
			}
		}
		d = d.AddDays(1)
	}
	return time.Time{}
}

// PeriodFor is the previous whole period of a firing at instant at: for
// Monthly the calendar month before the local firing day's month, for
// Weekly the 7 local days before the firing day.
func (s ScheduleSpec) PeriodFor(at time.Time) Period {
	d := DateOf(at.In(s.Location()))
	if s.Frequency == Weekly {
		return Period{d.AddDays(-7), d.AddDays(-1)}
	}
	first := Date{d.Year, d.Month, 1}
	end := first.AddDays(-1)
	return Period{Date{end.Year, end.Month, 1}, end}
}

// IsPeriod reports whether p is one whole period of the schedule (one a
// firing would report on), and returns that firing's instant.
func (s ScheduleSpec) IsPeriod(p Period) (time.Time, bool) {
	var fireDay Date
	if s.Frequency == Weekly {
		fireDay = p.End.AddDays(1)
	} else {
		next := p.End.AddDays(1)
		fireDay = Date{next.Year, next.Month, s.DayOfMonth}
	}
	if !s.firesOn(fireDay) {
		return time.Time{}, false
	}
	at := s.FireAt(fireDay)
	return at, s.PeriodFor(at) == p
}

// IdempotencyKey is the key a firing of s for p submits with: derived from
// the schedule and the period only, so every tick, retry or manual run for
// that period names the same report.
func (s *Schedule) IdempotencyKey(p Period) string {
	return "schedule:" + s.ID + ":" + p.String()
}

// Request is the BillingReport a firing for p submits.
func (s *Schedule) Request(p Period) BillingReport {
	return BillingReport{
		AccountID:            s.Spec.AccountID,
		StartDate:            p.Start.String(),
		EndDate:              p.End.String(),
		TimeZoneID:           s.Spec.TimeZoneID,
		IncludeCustomerIDs:   s.Spec.IncludeCustomerIDs,
		EmailAddressToNotify: s.Spec.EmailAddressToNotify,
		WebhookURL:           s.Spec.WebhookURL,
	}
}

// LatestPeriod is the most recent whole period at now: the one of the
// latest firing day on or before now's local day. ok is false for a spec
// that never fires (as NextRunAfter's zero time).
func (s ScheduleSpec) LatestPeriod(now time.Time) (p Period, ok bool) {
	d := DateOf(now.In(s.Location()))
	for i := 0; i < 64; i++ {
		if s.firesOn(d) {
			return s.PeriodFor(s.FireAt(d)), true
		}
		d = d.AddDays(-1)
	}
	return Period{}, false
}
