package rating

import (
	"fmt"
	"time"

	billing "github.com/evovoice/billing"
)

// Period is the local days Start..End (inclusive) in Loc. A nil Loc means UTC.
type Period struct {
	Start, End billing.Date
	Loc        *time.Location
}

func (p Period) location() *time.Location {
	if p.Loc == nil {
		return time.UTC
	}
	return p.Loc
}

// Bounds returns the half-open instant range [from, to) of the period: the first
// instant of Start and the first instant of the day after End, in Loc.
func (p Period) Bounds() (from, to time.Time) {
	loc := p.location()
	return StartOfDay(p.Start, loc), StartOfDay(p.End.AddDays(1), loc)
}

// UTCDays returns the UTC days that overlap [from, to): the usage partitions a
// report must read.
func (p Period) UTCDays() []billing.Date {
	from, to := p.Bounds()
	if !from.Before(to) {
		return nil
	}
	first, last := billing.DateOf(from.UTC()), billing.DateOf(to.Add(-time.Nanosecond).UTC())
	days := make([]billing.Date, 0, first.DaysUntil(last)+1)
	for d := first; !last.Before(d); d = d.AddDays(1) {
		days = append(days, d)
	}
	return days
}

// validate rejects periods the rater cannot rate: reversed, or longer than a
// report may be (so a period can never make the per-customer state unbounded).
func (p Period) validate() error {
	if p.Start.IsZero() || p.End.IsZero() {
		return billing.Errorf(billing.EINVALID, "The report period needs a start and an end date.")
	}
	if p.End.Before(p.Start) {
		return billing.Errorf(billing.EINVALID, "The report period ends (%s) before it starts (%s).", p.End, p.Start)
	}
	if n := p.Start.DaysUntil(p.End) + 1; n > billing.MaxReportDays {
		return billing.Errorf(billing.EINVALID, "The report period has %d days; at most %d are allowed.", n, billing.MaxReportDays)
	}
	return nil
}

// StartOfDay is the first instant whose local date in loc is d. time.Date alone
// is not enough: where clocks spring forward at midnight (America/Sao_Paulo
// until 2019, America/Santiago) midnight does not exist and time.Date answers an
// instant of the previous day; where clocks fall back to midnight (Asia/Amman
// until 2022) midnight happens twice and time.Date may answer the second one.
func StartOfDay(d billing.Date, loc *time.Location) time.Time {
	t := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
	if billing.DateOf(t).Before(d) {
		// Midnight is in a gap: the day begins when the clocks jump.
		if _, end := t.ZoneBounds(); !end.IsZero() {
			return end
		}
		return t
	}
	zoneStart, _ := t.ZoneBounds()
	if zoneStart.IsZero() {
		return t
	}
	// If the previous zone period also reached local midnight of d, that
	// earlier midnight is where the day began.
	_, prevOffset := zoneStart.Add(-time.Second).Zone()
	earlier := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).
		Add(-time.Duration(prevOffset) * time.Second).In(loc)
	if earlier.Before(t) && billing.DateOf(earlier) == d &&
		earlier.Hour() == 0 && earlier.Minute() == 0 && earlier.Second() == 0 {
		return earlier
	}
	return t
}

// month is one calendar month the period touches, with its share f of the month.
type month struct {
	start    time.Time // first instant of the period inside this month
	fraction ratio     // days of the period in the month / days in the month
	name     string    // YYYY-MM
}

// ratio is a small exact fraction; it becomes a big.Rat only in Result.
type ratio struct{ num, den int64 }

// months splits p into the calendar months it touches, in order.
func (p Period) months() []month {
	loc := p.location()
	var out []month
	for d := p.Start; !p.End.Before(d); {
		firstOfNext := billing.Date{Year: d.Year, Month: d.Month + 1, Day: 1}
		if d.Month == time.December {
			firstOfNext = billing.Date{Year: d.Year + 1, Month: time.January, Day: 1}
		}
		last := firstOfNext.AddDays(-1)
		if p.End.Before(last) {
			last = p.End
		}
		daysInMonth := billing.Date{Year: d.Year, Month: d.Month, Day: 1}.DaysUntil(firstOfNext)
		out = append(out, month{
			start:    StartOfDay(d, loc),
			fraction: ratio{num: int64(d.DaysUntil(last) + 1), den: int64(daysInMonth)},
			name:     fmt.Sprintf("%04d-%02d", d.Year, int(d.Month)),
		})
		d = firstOfNext
	}
	return out
}
