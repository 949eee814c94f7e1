package schedules

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
)

var monthly = billing.BillingReportSchedule{Frequency: "Monthly", EmailAddressToNotify: "billing@acme.example"}

// TestConcurrentAndDuplicateTicksMakeOneReport: 20 ticks for the same
// instant at once, then repeated, late and post-expiry ticks, make one
// report of the previous month and send one job.
func TestConcurrentAndDuplicateTicksMakeOneReport(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, utc(t, "2026-10-15T12:00:00Z"))
	sc := mustCreate(t, w, monthly)
	// 06:00 in New York (the account's zone) on November 1st, after DST ended: 11:00Z.
	if got := sc.NextRunAt.UTC().Format(time.RFC3339); got != "2026-11-01T11:00:00Z" {
		t.Fatalf("NextRunAt = %s", got)
	}
	tick := utc(t, "2026-11-01T11:00:00Z")
	w.set(tick)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := w.svc.Tick(ctx, tick); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := "[2026-10-01..2026-10-31]"
	if got := fmt.Sprint(w.periods()); got != want || len(w.jobs) != 1 {
		t.Fatalf("after 20 concurrent ticks: reports %v, %d jobs; want %s and 1 job", got, len(w.jobs), want)
	}
	// The same instant again, a late tick, and a retry after the idempotency
	// records expired (the derived report id still finds the report).
	for _, at := range []string{"2026-11-01T11:00:00Z", "2026-11-03T00:00:00Z"} {
		if _, err := w.svc.Tick(ctx, utc(t, at)); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := w.store.GetSchedule(ctx, sc.ID)
	w.ForgetIdempotency()
	if err := w.store.AdvanceSchedule(ctx, sc.ID, got.NextRunAt, billing.ScheduleAdvance{NextRunAt: sc.NextRunAt, Now: tick}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Tick(ctx, utc(t, "2026-11-05T00:00:00Z")); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(w.periods()); got != want || len(w.jobs) != 1 {
		t.Fatalf("after duplicate ticks: reports %v, %d jobs", got, len(w.jobs))
	}
	got, _ = w.store.GetSchedule(ctx, sc.ID)
	if got.NextRunAt.UTC().Format(time.RFC3339) != "2026-12-01T11:00:00Z" || got.LastReportID != w.order[0] || got.LastRunAt.IsZero() {
		t.Fatalf("schedule after firing: %+v", got)
	}
	// A run of that period now is the same report.
	r, err := w.svc.RunNow(ctx, manager(), sc.ID, "2026-10-01..2026-10-31")
	if err != nil || r.ID != w.order[0] {
		t.Fatalf("RunNow = %v, %v; want report %s", r, err, w.order[0])
	}
}

// TestCatchUpAfterOutage: a schedule not ticked for three months runs
// every missed period once, oldest first, in one tick.
func TestCatchUpAfterOutage(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, utc(t, "2026-07-20T00:00:00Z"))
	mustCreate(t, w, monthly) // next run August 1st
	res, err := w.svc.Tick(ctx, utc(t, "2026-11-01T12:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	want := "[2026-07-01..2026-07-31 2026-08-01..2026-08-31 2026-09-01..2026-09-30 2026-10-01..2026-10-31]"
	if got := fmt.Sprint(w.periods()); got != want || res.Fired != 4 {
		t.Fatalf("caught up %v (fired %d), want %s", got, res.Fired, want)
	}
	if res, _ := w.svc.Tick(ctx, utc(t, "2026-11-01T12:00:00Z")); res.Fired != 0 {
		t.Fatalf("second tick fired %d", res.Fired)
	}
	// lastRunAt is the tick's instant; dateUpdated the wall clock of the write.
	page, _ := w.store.ListSchedules(ctx, billing.ScheduleFilter{AccountID: "acct-1"})
	if sc := page.Schedules[0]; !sc.LastRunAt.Equal(utc(t, "2026-11-01T12:00:00Z")) || !sc.DateUpdated.Equal(w.clock()) {
		t.Fatalf("lastRunAt %v, dateUpdated %v", sc.LastRunAt, sc.DateUpdated)
	}
}

// TestCatchUpStaysUnderTheActiveLimit: 15 missed weekly periods stop at
// the account's 10 active reports; the rest wait for the next tick, and
// run once reports have finished.
func TestCatchUpStaysUnderTheActiveLimit(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, utc(t, "2026-06-01T00:00:00Z"))
	sc := mustCreate(t, w, billing.BillingReportSchedule{Frequency: "Weekly", DayOfWeek: "Monday", TimeZoneID: "UTC"})
	at := sc.NextRunAt.AddDate(0, 0, 7*14) // the 15th firing
	res, err := w.svc.Tick(ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(w.periods()); n != 10 || res.Waiting != 1 {
		t.Fatalf("first tick made %d reports (waiting %d), want 10 and 1", n, res.Waiting)
	}
	if res, _ := w.svc.Tick(ctx, at); len(w.periods()) != 10 || res.Waiting != 1 {
		t.Fatalf("a tick with the account full made reports: %d", len(w.periods()))
	}
	w.finishAll()
	if _, err := w.svc.Tick(ctx, at); err != nil {
		t.Fatal(err)
	}
	p := w.periods()
	if len(p) != 15 {
		t.Fatalf("after reports finished: %d reports, want 15", len(p))
	}
	// Oldest first, each once, 7 days apart.
	for i := 1; i < len(p); i++ {
		if p[i] <= p[i-1] {
			t.Fatalf("periods out of order: %v", p)
		}
	}
	if p[0] != "2026-05-25..2026-05-31" || p[14] != "2026-08-31..2026-09-06" {
		t.Fatalf("periods %v", p)
	}
}

// TestDisabledDeletedAndOrphanedSchedulesNeverFire.
func TestDisabledDeletedAndOrphanedSchedulesNeverFire(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, utc(t, "2026-10-15T00:00:00Z"))
	off := false
	disabled := mustCreate(t, w, billing.BillingReportSchedule{Frequency: "Monthly", Enabled: &off})
	deleted := mustCreate(t, w, monthly)
	replacedOff := mustCreate(t, w, monthly)
	if err := w.svc.Delete(ctx, manager(), deleted.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Replace(ctx, manager(), replacedOff.ID, billing.BillingReportSchedule{Frequency: "Monthly", Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	if res, err := w.svc.Tick(ctx, utc(t, "2027-01-01T00:00:00Z")); err != nil || res.Due != 0 || len(w.periods()) != 0 {
		t.Fatalf("tick = %+v, %v; reports %v", res, err, w.periods())
	}
	if !disabled.NextRunAt.IsZero() {
		t.Fatal("a disabled schedule has a next run")
	}

	orphan := mustCreate(t, w, monthly)
	w.mu.Lock()
	delete(w.accounts, "acct-1")
	w.mu.Unlock()
	res, err := w.svc.Tick(ctx, utc(t, "2026-11-02T00:00:00Z"))
	if err != nil || res.Disabled != 1 || len(w.periods()) != 0 {
		t.Fatalf("tick = %+v, %v", res, err)
	}
	got, _ := w.store.GetSchedule(ctx, orphan.ID)
	if got.Spec.Enabled || !strings.Contains(got.DisabledReason, "Account 'acct-1' not found.") || !got.NextRunAt.IsZero() {
		t.Fatalf("orphan = %+v", got)
	}
	if res, _ := w.svc.Tick(ctx, utc(t, "2026-12-02T00:00:00Z")); res.Due != 0 {
		t.Fatalf("a disabled schedule is still due: %+v", res)
	}
}

// TestTicksAcrossDST fire a New York 02:30 schedule at the spring-forward
// jump and a Berlin 02:30 one once on the fall-back day.
func TestTicksAcrossDST(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		zone, before, at, after, period string
	}{
		{"America/New_York", "2026-03-08T06:59:59Z", "2026-03-08T07:00:00Z", "2026-03-08T08:30:00Z", "2026-03-01..2026-03-07"},
		{"Europe/Berlin", "2026-10-25T00:29:59Z", "2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z", "2026-10-18..2026-10-24"},
	} {
		w := newWorld(t, utc(t, "2026-03-02T00:00:00Z"))
		if c.zone == "Europe/Berlin" {
			w.set(utc(t, "2026-10-20T00:00:00Z"))
		}
		mustCreate(t, w, billing.BillingReportSchedule{Frequency: "Weekly", DayOfWeek: "Sunday", TimeOfDay: "02:30", TimeZoneID: c.zone})
		for _, at := range []string{c.before, c.at, c.after, c.after} {
			if _, err := w.svc.Tick(ctx, utc(t, at)); err != nil {
				t.Fatal(err)
			}
			if at == c.before && len(w.periods()) != 0 {
				t.Fatalf("%s: fired before the time", c.zone)
			}
			if at == c.at && len(w.periods()) != 1 {
				t.Fatalf("%s: did not fire at %s", c.zone, c.at)
			}
		}
		if got := fmt.Sprint(w.periods()); got != "["+c.period+"]" {
			t.Fatalf("%s: reports %s, want one of %s", c.zone, got, c.period)
		}
	}
}

// TestRunNowValidatesThePeriod.
func TestRunNowValidatesThePeriod(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, utc(t, "2026-11-15T12:00:00Z"))
	sc := mustCreate(t, w, monthly)
	for _, p := range []string{"2026-10-01..2026-10-30", "x", "2026-11-01..2026-11-30"} {
		if _, err := w.svc.RunNow(ctx, manager(), sc.ID, p); billing.ErrorCode(err) != billing.EINVALID {
			t.Errorf("RunNow(%s) = %v, want invalid", p, err)
		}
	}
	r, err := w.svc.RunNow(ctx, manager(), sc.ID, "")
	if err != nil || r.Name != "Billing Report 2026-10-01 to 2026-10-31" || r.CreatedBy != "schedule:"+sc.ID {
		t.Fatalf("RunNow latest = %+v, %v", r, err)
	}
	other := billing.Caller{Subject: "x", Roles: []billing.Role{billing.RoleManager}, AccountIDs: []string{"acct-2"}}
	if _, err := w.svc.RunNow(ctx, other, sc.ID, ""); billing.ErrorCode(err) != billing.ENOTFOUND {
		t.Fatalf("another account's RunNow = %v, want not found", err)
	}
}
