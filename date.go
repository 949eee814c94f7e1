package billing

import (
	"fmt"
	"time"
)

// Date is a calendar day with no zone. Report periods are made of local days,
// so a day must not be tied to an instant until a zone is chosen.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate reads `YYYY-MM-DD`, or a date-time of which only the date part is used
// (the request DTO allows both, spec 2.1).
func ParseDate(s string) (Date, error) {
	if len(s) < 10 {
		return Date{}, fmt.Errorf("parsing date %q: too short", s)
	}
	t, err := time.Parse("2006-01-02", s[:10])
	if err != nil {
		return Date{}, fmt.Errorf("parsing date %q: %w", s, err)
	}
	if rest := s[10:]; rest != "" {
		// Only a real time part may follow; "2026-10-01xyz" is not a date.
		if rest[0] != 'T' && rest[0] != 't' && rest[0] != ' ' {
			return Date{}, fmt.Errorf("parsing date %q: unexpected %q after the date", s, rest)
		}
		if !validTimePart(rest[1:]) {
			return Date{}, fmt.Errorf("parsing date %q: bad time part", s)
		}
	}
	return DateOf(t), nil
}

// validTimePart accepts the time-of-day forms ISO 8601 clients send:
// 15:04, 15:04:05, fractions, and an optional Z or ±hh:mm offset.
func validTimePart(s string) bool {
	for _, layout := range []string{"15:04", "15:04:05", "15:04:05.999999999", "15:04Z07:00", "15:04:05Z07:00", "15:04:05.999999999Z07:00"} {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

// DateOf is the calendar day of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// String formats the day as YYYY-MM-DD.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// In is the instant the day starts in loc (DST-aware: the first instant whose
// local date is d).
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// AddDays returns the day n days later (earlier for negative n).
func (d Date) AddDays(n int) Date {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC))
}

// Before reports whether d is an earlier day than o.
func (d Date) Before(o Date) bool { return d.Compare(o) < 0 }

// Compare returns -1, 0 or +1 as d is before, equal to or after o.
func (d Date) Compare(o Date) int {
	a, b := d.Year*10000+int(d.Month)*100+d.Day, o.Year*10000+int(o.Month)*100+o.Day
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// DaysUntil is the number of days from d to o (o - d).
func (d Date) DaysUntil(o Date) int {
	return int(o.In(time.UTC).Sub(d.In(time.UTC)).Hours() / 24)
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }
