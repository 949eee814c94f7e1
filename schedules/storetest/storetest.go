// Package storetest is the contract of billing.ScheduleStore as a test suite,
// run against every implementation (the in-memory one and the DynamoDB
// adapter against dynalite), so that unit tests on the fake prove what the
// real store does.
package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/storetest"
)

// uniq is a name no other test (or earlier run against a persistent table) uses.
func uniq(prefix string) string { return storetest.Unique(prefix) }

var t0 = time.Date(2026, 10, 15, 9, 30, 0, 123456789, time.UTC)

// NewSchedule is a valid enabled Monthly schedule of account, due at next.
func NewSchedule(account string, next time.Time) *billing.Schedule {
	return &billing.Schedule{
		ID: uniq("s"),
		Spec: billing.ScheduleSpec{
			AccountID: account, Frequency: billing.Monthly, DayOfMonth: 1, Hour: 6, TimeZoneID: "America/New_York",
			IncludeCustomerIDs: true, EmailAddressToNotify: "ops@example.com", WebhookURL: "https://hooks.example.com/x", Enabled: true,
		},
		CreatedBy: "user-1", NextRunAt: next, DateCreated: t0, DateUpdated: t0,
	}
}

func code(t *testing.T, err error, want string) {
	t.Helper()
	if got := billing.ErrorCode(err); got != want {
		t.Fatalf("error = %v (code %q), want %q", err, got, want)
	}
}

func dueIDs(t *testing.T, s billing.ScheduleStore, now time.Time, among map[string]bool) []string {
	t.Helper()
	due, err := s.DueSchedules(context.Background(), now, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, d := range due {
		if among[d.ID] {
			ids = append(ids, d.ID)
		}
	}
	return ids
}

// Run runs the contract against the store newStore returns (a new one for
// each part).
func Run(t *testing.T, newStore func() billing.ScheduleStore) {
	for _, c := range []struct {
		name string
		test func(*testing.T, billing.ScheduleStore)
	}{
		{"RoundTrip", testRoundTrip},
		{"AtMostMaxPerAccountUnderConcurrency", testAtMostMaxPerAccountUnderConcurrency},
		{"ListPagesAndScope", testListPagesAndScope},
		{"DueIndexIsSparseAndOrdered", testDueIndexIsSparseAndOrdered},
		{"AdvanceIsConditional", testAdvanceIsConditional},
	} {
		t.Run(c.name, func(t *testing.T) { c.test(t, newStore()) })
	}
}

func testRoundTrip(t *testing.T, s billing.ScheduleStore) {
	ctx := context.Background()
	in := NewSchedule(uniq("acct"), t0.Add(time.Hour))
	in.CustomerScope = "c-1"
	in.Spec.Frequency, in.Spec.DayOfMonth, in.Spec.DayOfWeek, in.Spec.Minute = billing.Weekly, 0, time.Sunday, 45
	if err := s.CreateSchedule(ctx, in, 20); err != nil {
		t.Fatal(err)
	}
	code(t, s.CreateSchedule(ctx, in, 20), billing.ECONFLICT)
	got, err := s.GetSchedule(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec != in.Spec || got.CustomerScope != "c-1" || got.CreatedBy != "user-1" || !got.NextRunAt.Equal(in.NextRunAt) ||
		!got.DateCreated.Equal(t0) || !got.DateUpdated.Equal(t0) || !got.LastRunAt.IsZero() || got.LastReportID != "" {
		t.Fatalf("got %+v\nwant %+v", got, in)
	}
	_, err = s.GetSchedule(ctx, uniq("missing"))
	code(t, err, billing.ENOTFOUND)
}

func testAtMostMaxPerAccountUnderConcurrency(t *testing.T, s billing.ScheduleStore) {
	ctx := context.Background()
	acct := uniq("acct")
	var wg sync.WaitGroup
	var ok, tooMany atomic.Int64
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch err := s.CreateSchedule(ctx, NewSchedule(acct, t0), 20); billing.ErrorCode(err) {
			case "":
				ok.Add(1)
			case billing.ETOOMANY:
				tooMany.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 20 || tooMany.Load() != 10 {
		t.Fatalf("%d created, %d refused; want 20 and 10", ok.Load(), tooMany.Load())
	}
	page, err := s.ListSchedules(ctx, billing.ScheduleFilter{AccountID: acct, Limit: 100})
	if err != nil || len(page.Schedules) != 20 {
		t.Fatalf("listed %d, %v", len(page.Schedules), err)
	}
	// A delete frees a slot; another account is not affected by this one.
	if err := s.DeleteSchedule(ctx, page.Schedules[0].ID); err != nil {
		t.Fatal(err)
	}
	code(t, s.DeleteSchedule(ctx, page.Schedules[0].ID), billing.ENOTFOUND)
	if err := s.CreateSchedule(ctx, NewSchedule(acct, t0), 20); err != nil {
		t.Fatal(err)
	}
	code(t, s.CreateSchedule(ctx, NewSchedule(acct, t0), 20), billing.ETOOMANY)
	if err := s.CreateSchedule(ctx, NewSchedule(uniq("acct"), t0), 20); err != nil {
		t.Fatal(err)
	}
}

func testListPagesAndScope(t *testing.T, s billing.ScheduleStore) {
	ctx := context.Background()
	acct := uniq("acct")
	var want []string
	for i := 0; i < 5; i++ {
		sc := NewSchedule(acct, t0)
		sc.DateCreated = t0.Add(time.Duration(i) * time.Minute)
		if i%2 == 1 {
			sc.CustomerScope = "c-odd"
		}
		if err := s.CreateSchedule(ctx, sc, 20); err != nil {
			t.Fatal(err)
		}
		want = append(want, sc.ID)
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		page, err := s.ListSchedules(ctx, billing.ScheduleFilter{AccountID: acct, Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range page.Schedules {
			got = append(got, x.ID)
		}
		if cursor = page.Cursor; cursor == "" {
			break
		}
		if pages > 5 {
			t.Fatal("no end of pages")
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("listed %v, want %v (oldest first)", got, want)
	}
	page, err := s.ListSchedules(ctx, billing.ScheduleFilter{AccountID: acct, CustomerScope: "c-odd", Limit: 10})
	if err != nil || len(page.Schedules) != 2 || page.Schedules[0].ID != want[1] || page.Schedules[1].ID != want[3] {
		t.Fatalf("scoped list %+v, %v", page.Schedules, err)
	}
	_, err = s.ListSchedules(ctx, billing.ScheduleFilter{AccountID: acct, Cursor: "garbage!"})
	code(t, err, billing.EINVALID)
}

func testDueIndexIsSparseAndOrdered(t *testing.T, s billing.ScheduleStore) {
	ctx := context.Background()
	acct := uniq("acct")
	now := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC) // later than other tests' schedules
	late, early, future, disabled := NewSchedule(acct, now.Add(-time.Minute)), NewSchedule(acct, now.Add(-time.Hour)), NewSchedule(acct, now.Add(time.Second)), NewSchedule(acct, now.Add(-2*time.Hour))
	among := map[string]bool{}
	for _, x := range []*billing.Schedule{late, early, future, disabled} {
		if err := s.CreateSchedule(ctx, x, 20); err != nil {
			t.Fatal(err)
		}
		among[x.ID] = true
	}
	if err := s.AdvanceSchedule(ctx, disabled.ID, disabled.NextRunAt, billing.ScheduleAdvance{DisabledReason: "Account gone.", Now: now}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(dueIDs(t, s, now, among)); got != fmt.Sprint([]string{early.ID, late.ID}) {
		t.Fatalf("due = %v, want early then late", got)
	}
	d, err := s.GetSchedule(ctx, disabled.ID)
	if err != nil || d.Spec.Enabled || d.DisabledReason != "Account gone." || !d.NextRunAt.IsZero() {
		t.Fatalf("disabled = %+v, %v", d, err)
	}
	// Replacing re-enables it with a new next run: it is due again.
	d.Spec.Enabled, d.DisabledReason, d.NextRunAt, d.DateUpdated = true, "", now.Add(-3*time.Hour), now
	if err := s.ReplaceSchedule(ctx, d); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(dueIDs(t, s, now, among)); got != fmt.Sprint([]string{disabled.ID, early.ID, late.ID}) {
		t.Fatalf("due after replace = %v", got)
	}
	gone := NewSchedule(acct, now)
	gone.ID = uniq("gone")
	code(t, s.ReplaceSchedule(ctx, gone), billing.ENOTFOUND)
	code(t, s.AdvanceSchedule(ctx, gone.ID, now, billing.ScheduleAdvance{NextRunAt: now, Now: now}), billing.ENOTFOUND)
}

// raceAdvance advances schedule id from t0 to next ten times at once.
func raceAdvance(t *testing.T, s billing.ScheduleStore, id string, next time.Time) (won, lost int64) {
	var wg sync.WaitGroup
	var w, l atomic.Int64
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.AdvanceSchedule(context.Background(), id, t0, billing.ScheduleAdvance{NextRunAt: next, LastRunAt: t0.Add(time.Second), LastReportID: "r-1", Now: t0.Add(time.Second)})
			switch billing.ErrorCode(err) {
			case "":
				w.Add(1)
			case billing.ECONFLICT:
				l.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	return w.Load(), l.Load()
}

func testAdvanceIsConditional(t *testing.T, s billing.ScheduleStore) {
	ctx := context.Background()
	sc := NewSchedule(uniq("acct"), t0)
	if err := s.CreateSchedule(ctx, sc, 20); err != nil {
		t.Fatal(err)
	}
	next := t0.AddDate(0, 1, 0)
	if won, lost := raceAdvance(t, s, sc.ID, next); won != 1 || lost != 9 {
		t.Fatalf("%d won, %d lost; want 1 and 9", won, lost)
	}
	got, err := s.GetSchedule(ctx, sc.ID)
	if err != nil || !got.NextRunAt.Equal(next) || !got.LastRunAt.Equal(t0.Add(time.Second)) || got.LastReportID != "r-1" || !got.DateUpdated.Equal(t0.Add(time.Second)) {
		t.Fatalf("after advance %+v, %v", got, err)
	}
	// A replace keeps the firing history.
	got.Spec.Hour, got.DateUpdated = 7, t0.Add(time.Minute)
	if err := s.ReplaceSchedule(ctx, got); err != nil {
		t.Fatal(err)
	}
	again, _ := s.GetSchedule(ctx, sc.ID)
	if again.Spec.Hour != 7 || again.LastReportID != "r-1" || !again.LastRunAt.Equal(t0.Add(time.Second)) || !again.DateCreated.Equal(t0) {
		t.Fatalf("after replace %+v", again)
	}
}
