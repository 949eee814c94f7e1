package rating_test

import (
	"slices"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/rating"
)

func day(y int, m time.Month, d int) billing.Date { return billing.Date{Year: y, Month: m, Day: d} }

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("loading zone %s: %v", name, err)
	}
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestStartOfDay(t *testing.T) {
	tests := []struct {
		name string
		zone string
		day  billing.Date
		want string
	}{
		{"plain day", "America/New_York", day(2026, 10, 1), "2026-10-01T04:00:00Z"},
		{"spring forward at 02:00 keeps midnight", "America/New_York", day(2026, 3, 8), "2026-03-08T05:00:00Z"},
		{"fall back at 02:00 keeps midnight", "America/New_York", day(2026, 11, 1), "2026-11-01T04:00:00Z"},
		{"midnight skipped: day starts at 01:00", "America/Sao_Paulo", day(2018, 11, 4), "2018-11-04T03:00:00Z"},
		{"midnight skipped in Santiago", "America/Santiago", day(2026, 9, 6), "2026-09-06T04:00:00Z"},
		{"midnight twice: the first one", "Asia/Amman", day(2021, 10, 29), "2021-10-28T21:00:00Z"},
		{"UTC", "UTC", day(2024, 2, 29), "2024-02-29T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rating.StartOfDay(tt.day, zone(t, tt.zone))
			if !got.Equal(utc(tt.want)) {
				t.Errorf("StartOfDay(%s, %s) = %s, want %s", tt.day, tt.zone, got.UTC().Format(time.RFC3339), tt.want)
			}
			if billing.DateOf(got) != tt.day {
				t.Errorf("local date of %s is %s, want %s", got, billing.DateOf(got), tt.day)
			}
			if before := got.Add(-time.Second); billing.DateOf(before) == tt.day {
				t.Errorf("%s, one second earlier, is still on %s", before, tt.day)
			}
		})
	}
}

func TestPeriodBoundsAndUTCDays(t *testing.T) {
	ny := zone(t, "America/New_York")
	tests := []struct {
		name        string
		p           rating.Period
		from, to    string
		first, last billing.Date
		numUTCDays  int
	}{
		{
			name: "October in New York spans 32 UTC days",
			p:    rating.Period{Start: day(2026, 10, 1), End: day(2026, 10, 31), Loc: ny},
			from: "2026-10-01T04:00:00Z", to: "2026-11-01T04:00:00Z",
			first: day(2026, 10, 1), last: day(2026, 11, 1), numUTCDays: 32,
		},
		{
			name: "October in UTC is 31 UTC days",
			p:    rating.Period{Start: day(2026, 10, 1), End: day(2026, 10, 31), Loc: time.UTC},
			from: "2026-10-01T00:00:00Z", to: "2026-11-01T00:00:00Z",
			first: day(2026, 10, 1), last: day(2026, 10, 31), numUTCDays: 31,
		},
		{
			name: "nil Loc is UTC",
			p:    rating.Period{Start: day(2026, 1, 1), End: day(2026, 1, 1)},
			from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z",
			first: day(2026, 1, 1), last: day(2026, 1, 1), numUTCDays: 1,
		},
		{
			name: "a zone east of UTC reaches into the previous UTC day",
			p:    rating.Period{Start: day(2026, 7, 1), End: day(2026, 7, 2), Loc: zone(t, "Asia/Tokyo")},
			from: "2026-06-30T15:00:00Z", to: "2026-07-02T15:00:00Z",
			first: day(2026, 6, 30), last: day(2026, 7, 2), numUTCDays: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from, to := tt.p.Bounds()
			if !from.Equal(utc(tt.from)) || !to.Equal(utc(tt.to)) {
				t.Errorf("Bounds = %s, %s; want %s, %s", from.UTC(), to.UTC(), tt.from, tt.to)
			}
			days := tt.p.UTCDays()
			if len(days) != tt.numUTCDays || days[0] != tt.first || days[len(days)-1] != tt.last {
				t.Errorf("UTCDays = %v; want %d days %s..%s", days, tt.numUTCDays, tt.first, tt.last)
			}
			if !slices.IsSortedFunc(days, billing.Date.Compare) {
				t.Errorf("UTCDays not in order: %v", days)
			}
		})
	}
}
