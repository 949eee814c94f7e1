// Package storetest is the contract of the report ports (billing.ReportStore,
// billing.IdempotencyStore and the worker's shard methods, RunShards) as a
// test suite, run against every
// implementation: the in-memory store (memstore, in the unit tier) and the
// DynamoDB adapter on dynalite (integration tier). A rule the two disagree on
// fails here, and is fixed in the implementation or the port's doc, never in
// a test's fake.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
)

// Store is what the suite tests.
type Store interface {
	billing.ReportStore
	billing.IdempotencyStore
}

var n atomic.Int64

// Unique is a name no other test (or an earlier run against a persistent
// table) uses: implementations may share one table between tests. The
// schedule store's suite uses it too.
func Unique(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), n.Add(1))
}

func uniq(prefix string) string { return Unique(prefix) }

var t0 = time.Date(2026, 10, 15, 9, 30, 0, 123456789, time.UTC)

// NewReport is a valid Queued report of account created at created.
func NewReport(account string, created time.Time) *billing.Report {
	start, end := billing.Date{Year: 2026, Month: 10, Day: 1}, billing.Date{Year: 2026, Month: 10, Day: 31}
	return &billing.Report{
		ID: uniq("r"), AccountID: account, CreatedBy: "user-1",
		Request: billing.ReportRequest{AccountID: account, StartDate: start, EndDate: end, TimeZoneID: "America/New_York",
			EmailAddressToNotify: "ops@example.com"},
		Name: billing.ReportName(start, end), Status: billing.ReportQueued, DateCreated: created, DateUpdated: created,
	}
}

func code(t *testing.T, what string, err error, want string) {
	t.Helper()
	if got := billing.ErrorCode(err); got != want {
		t.Fatalf("%s: error = %v (code %q), want %q", what, err, got, want)
	}
}

func must[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

// Run runs the whole contract against the stores newStore returns (one per
// subtest; they may share their data).
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	runAll(t, newStore, map[string]func(*testing.T, Store){
		"CreateAndGet":      testCreateAndGet,
		"StateMachine":      testStateMachine,
		"SetJobIDRaces":     testSetJobIDRaces,
		"ActiveSlots":       testActiveSlots,
		"FairShare":         testFairShare,
		"Idempotency":       testIdempotency,
		"ListPaging":        testListPaging,
		"ListFilters":       testListFilters,
		"Notification":      testNotification,
		"StaleReports":      testStaleReports,
		"ReconcileArgument": testReconcileArgument,
		"EndedContext":      testEndedContext,
	})
}

// runAll runs each test as a subtest on its own store from newStore.
func runAll[S any](t *testing.T, newStore func(t *testing.T) S, tests map[string]func(*testing.T, S)) {
	for name, test := range tests {
		t.Run(name, func(t *testing.T) { test(t, newStore(t)) })
	}
}

func testCreateAndGet(t *testing.T, s Store) {
	ctx := context.Background()
	r := NewReport(uniq("acct"), t0)
	r.CustomerScope, r.Request.IncludeCustomerIDs = "c-1", true
	if err := s.CreateReport(ctx, r, billing.SlotLimits{Account: 10}); err != nil {
		t.Fatal(err)
	}
	got := must[*billing.Report](t, "get")(s.GetReport(ctx, r.ID))
	if got.ID != r.ID || got.AccountID != r.AccountID || got.Status != billing.ReportQueued || got.CustomerScope != "c-1" ||
		!got.DateCreated.Equal(t0) || !got.DateUpdated.Equal(t0) || got.Request.StartDate != r.Request.StartDate ||
		got.Request.TimeZoneID != "America/New_York" || !got.Request.IncludeCustomerIDs || got.CreatedBy != "user-1" {
		t.Fatalf("read back %+v, want %+v", got, r)
	}
	code(t, "a second create with the id", s.CreateReport(ctx, r, billing.SlotLimits{Account: 10}), billing.ECONFLICT)
	bad := NewReport(r.AccountID, t0)
	bad.Status = billing.ReportRunning
	code(t, "a create not Queued", s.CreateReport(ctx, bad, billing.SlotLimits{}), billing.EINVALID)
	_, err := s.GetReport(ctx, uniq("missing"))
	code(t, "a missing report", err, billing.ENOTFOUND)
}

func testStateMachine(t *testing.T, s Store) {
	ctx := context.Background()
	r := NewReport(uniq("acct"), t0)
	if err := s.CreateReport(ctx, r, billing.SlotLimits{Account: 10}); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(time.Minute)
	got := must[*billing.Report](t, "first lease")(s.AcquireLease(ctx, r.ID, billing.Lease{Now: now, Expires: now.Add(time.Minute), Server: "w1"}))
	if got.Status != billing.ReportRunning || got.Attempt != 1 || !got.LeaseExpires.Equal(now.Add(time.Minute)) || got.Server != "w1" {
		t.Fatalf("after the first lease: %+v", got)
	}
	_, err := s.AcquireLease(ctx, r.ID, billing.Lease{Now: now.Add(30 * time.Second), Expires: now.Add(2 * time.Minute)})
	code(t, "a lease while another is held", err, billing.ECONFLICT)
	if err := s.UpdateProgress(ctx, r.ID, 1, "rating", now.Add(40*time.Second), now.Add(90*time.Second)); err != nil {
		t.Fatal(err)
	}
	_, err = s.AcquireLease(ctx, r.ID, billing.Lease{Now: now.Add(80 * time.Second), Expires: now.Add(3 * time.Minute)})
	code(t, "a lease the progress extended", err, billing.ECONFLICT)
	later := now.Add(2 * time.Minute)
	got = must[*billing.Report](t, "a takeover")(s.AcquireLease(ctx, r.ID, billing.Lease{Now: later, Expires: later.Add(time.Minute)}))
	if got.Attempt != 2 || got.StatusMessage != "rating" {
		t.Fatalf("after the takeover: attempt %d, message %q", got.Attempt, got.StatusMessage)
	}
	code(t, "the old attempt's progress", s.UpdateProgress(ctx, r.ID, 1, "x", later, later.Add(time.Minute)), billing.ECONFLICT)
	_, err = s.FinishReport(ctx, r.ID, 1, billing.Outcome{Status: billing.ReportCompleted, Now: later})
	code(t, "the old attempt's finish", err, billing.ECONFLICT)
	testFinish(t, s, r.ID, later)
}

// testFinish finishes report id, Running in attempt 2, and checks that only
// a non-final report may be finished.
func testFinish(t *testing.T, s Store, id string, later time.Time) {
	ctx := context.Background()
	r := must[*billing.Report](t, "get")(s.GetReport(ctx, id))
	_, err := s.FinishReport(ctx, r.ID, 2, billing.Outcome{Status: billing.ReportRunning, Now: later})
	code(t, "a finish that is not final", err, billing.EINVALID)
	done := must[*billing.Report](t, "finish")(s.FinishReport(ctx, r.ID, 2, billing.Outcome{
		Status: billing.ReportCompleted, StatusMessage: "done", ObjectKey: "k/x.csv", RowCount: 3, ByteSize: 120, GrandTotal: "1.50", Now: later,
	}))
	if done.Status != billing.ReportCompleted || done.ObjectKey != "k/x.csv" || done.RowCount != 3 || done.ByteSize != 120 || done.GrandTotal != "1.50" || !done.DateUpdated.Equal(later) {
		t.Fatalf("finished: %+v", done)
	}
	_, err = s.FinishReport(ctx, r.ID, 0, billing.Outcome{Status: billing.ReportError, Now: later})
	code(t, "failing a final report", err, billing.ECONFLICT)
	_, err = s.AcquireLease(ctx, r.ID, billing.Lease{Now: later.Add(time.Hour), Expires: later.Add(2 * time.Hour)})
	code(t, "a lease of a final report", err, billing.ECONFLICT)

	q := NewReport(r.AccountID, t0)
	if err := s.CreateReport(ctx, q, billing.SlotLimits{Account: 10}); err != nil {
		t.Fatal(err)
	}
	failed := must[*billing.Report](t, "failing a Queued report")(s.FinishReport(ctx, q.ID, 0, billing.Outcome{Status: billing.ReportError, StatusMessage: "poison", Now: later}))
	if failed.Status != billing.ReportError || failed.StatusMessage != "poison" {
		t.Fatalf("failed: %+v", failed)
	}
	missing := uniq("missing")
	_, err = s.AcquireLease(ctx, missing, billing.Lease{Now: later, Expires: later})
	code(t, "a lease of a missing report", err, billing.ENOTFOUND)
	_, err = s.FinishReport(ctx, missing, 0, billing.Outcome{Status: billing.ReportError, Now: later})
	code(t, "finishing a missing report", err, billing.ENOTFOUND)
	code(t, "the job id of a missing report", s.SetJobID(ctx, missing, "m", later), billing.ENOTFOUND)
}

// testSetJobIDRaces is submit against the worker: the job can run before
// submit records its id, so SetJobID must accept a Running report (and
// leave it Running), and refuse only a final one.
func testSetJobIDRaces(t *testing.T, s Store) {
	ctx := context.Background()
	acct := uniq("acct")
	r := NewReport(acct, t0)
	if err := s.CreateReport(ctx, r, billing.SlotLimits{Account: 10}); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(time.Second)
	if _, err := s.AcquireLease(ctx, r.ID, billing.Lease{Now: now, Expires: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetJobID(ctx, r.ID, "msg-1", now.Add(time.Second)); err != nil {
		t.Fatalf("SetJobID of a Running report (the worker was faster): %v", err)
	}
	got := must[*billing.Report](t, "get")(s.GetReport(ctx, r.ID))
	if got.Status != billing.ReportRunning || got.Attempt != 1 || got.JobID != "msg-1" {
		t.Fatalf("after SetJobID on Running: status %s attempt %d job %q", got.Status, got.Attempt, got.JobID)
	}
	if _, err := s.FinishReport(ctx, r.ID, 1, billing.Outcome{Status: billing.ReportCompleted, Now: now.Add(2 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	code(t, "SetJobID of a final report", s.SetJobID(ctx, r.ID, "msg-2", now.Add(3*time.Second)), billing.ECONFLICT)

	// Both at once, many times: whichever lands first, both succeed and the
	// report ends Running with the job id.
	for i := 0; i < 10; i++ {
		r := NewReport(acct, t0)
		if err := s.CreateReport(ctx, r, billing.SlotLimits{Account: 100}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var setErr, leaseErr error
		wg.Add(2)
		go func() { defer wg.Done(); setErr = s.SetJobID(ctx, r.ID, "msg", now) }()
		go func() {
			defer wg.Done()
			_, leaseErr = s.AcquireLease(ctx, r.ID, billing.Lease{Now: now, Expires: now.Add(time.Minute)})
		}()
		wg.Wait()
		if setErr != nil || leaseErr != nil {
			t.Fatalf("race %d: SetJobID %v, AcquireLease %v", i, setErr, leaseErr)
		}
		got := must[*billing.Report](t, "get")(s.GetReport(ctx, r.ID))
		if got.Status != billing.ReportRunning || got.JobID != "msg" || got.Attempt != 1 {
			t.Fatalf("race %d: status %s job %q attempt %d", i, got.Status, got.JobID, got.Attempt)
		}
	}
}

func testActiveSlots(t *testing.T, s Store) {
	ctx := context.Background()
	acct := uniq("acct")
	limits := billing.SlotLimits{Account: 2}
	a, b, c := NewReport(acct, t0), NewReport(acct, t0), NewReport(acct, t0)
	for _, r := range []*billing.Report{a, b} {
		if err := s.CreateReport(ctx, r, limits); err != nil {
			t.Fatal(err)
		}
	}
	code(t, "a third active report", s.CreateReport(ctx, c, limits), billing.ETOOMANY)
	if err := s.CreateReport(ctx, NewReport(uniq("acct"), t0), limits); err != nil {
		t.Fatalf("another account is not limited by this one's slots: %v", err)
	}
	if _, err := s.FinishReport(ctx, a.ID, 0, billing.Outcome{Status: billing.ReportError, Now: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateReport(ctx, c, limits); err != nil {
		t.Fatalf("a finished report frees its slot: %v", err)
	}
	if err := s.ReconcileActive(ctx, acct); err != nil {
		t.Fatal(err)
	}
	code(t, "the limit after a reconcile", s.CreateReport(ctx, NewReport(acct, t0), limits), billing.ETOOMANY)

	// Concurrent creates never overshoot the limit.
	acct2 := uniq("acct")
	var wg sync.WaitGroup
	var ok atomic.Int64
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.CreateReport(ctx, NewReport(acct2, t0), billing.SlotLimits{Account: 3})
			if err == nil {
				ok.Add(1)
			} else if billing.ErrorCode(err) != billing.ETOOMANY {
				t.Errorf("a concurrent create: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 3 {
		t.Fatalf("%d of 6 concurrent creates got one of 3 slots", ok.Load())
	}
}

func testFairShare(t *testing.T, s Store) {
	ctx := context.Background()
	acct := uniq("acct")
	limits := billing.SlotLimits{Account: 4, CustomerRoles: 3, PerCustomer: 2}
	customer := func(subject string) *billing.Report {
		r := NewReport(acct, t0)
		r.CreatedBy, r.CustomerScope = subject, "c-"+subject
		return r
	}
	for _, r := range []*billing.Report{customer("u1"), customer("u1")} {
		if err := s.CreateReport(ctx, r, limits); err != nil {
			t.Fatal(err)
		}
	}
	code(t, "a Customer-role caller's third", s.CreateReport(ctx, customer("u1"), limits), billing.ETOOMANY)
	if err := s.CreateReport(ctx, customer("u2"), limits); err != nil {
		t.Fatalf("another Customer-role caller: %v", err)
	}
	code(t, "past the Customer-role share", s.CreateReport(ctx, customer("u3"), limits), billing.ETOOMANY)
	if err := s.CreateReport(ctx, NewReport(acct, t0), limits); err != nil {
		t.Fatalf("a Manager's report in the slot the customers leave: %v", err)
	}
	code(t, "past the account's limit", s.CreateReport(ctx, NewReport(acct, t0), limits), billing.ETOOMANY)
}

func testIdempotency(t *testing.T, s Store) {
	ctx := context.Background()
	now := t0
	rec := billing.IdempotencyRecord{Key: uniq("k"), RequestHash: "h1", ReportID: "r1", ExpiresAt: now.Add(time.Hour)}
	if err := s.PutIdempotency(ctx, rec, now); err != nil {
		t.Fatal(err)
	}
	again := rec
	again.ReportID, again.RequestHash = "r2", "h2"
	code(t, "a second record under the key", s.PutIdempotency(ctx, again, now.Add(time.Minute)), billing.ECONFLICT)
	got := must[*billing.IdempotencyRecord](t, "get")(s.GetIdempotency(ctx, rec.Key, now.Add(time.Minute)))
	if got.ReportID != "r1" || got.RequestHash != "h1" || got.Key != rec.Key {
		t.Fatalf("read back %+v", got)
	}
	_, err := s.GetIdempotency(ctx, rec.Key, now.Add(time.Hour))
	code(t, "a record at its expiry", err, billing.ENOTFOUND)
	again.ExpiresAt = now.Add(2 * time.Hour)
	if err := s.PutIdempotency(ctx, again, now.Add(time.Hour)); err != nil {
		t.Fatalf("a record over an expired one: %v", err)
	}
	if got := must[*billing.IdempotencyRecord](t, "get")(s.GetIdempotency(ctx, rec.Key, now.Add(time.Hour))); got.ReportID != "r2" {
		t.Fatalf("after the replacement: %+v", got)
	}
	_, err = s.GetIdempotency(ctx, uniq("k"), now)
	code(t, "an unknown key", err, billing.ENOTFOUND)
	code(t, "a record already expired", s.PutIdempotency(ctx, billing.IdempotencyRecord{Key: uniq("k"), ReportID: "r", ExpiresAt: now}, now), billing.EINVALID)
}

// list reads every page of f.
func list(t *testing.T, s Store, f billing.ReportFilter) (ids []string, pages int) {
	t.Helper()
	for {
		page := must[billing.ReportPage](t, "list")(s.ListReports(context.Background(), f))
		pages++
		for _, r := range page.Reports {
			ids = append(ids, r.ID)
		}
		if page.Cursor == "" || pages > 100 {
			return ids, pages
		}
		f.Cursor = page.Cursor
	}
}

func testListPaging(t *testing.T, s Store) {
	ctx := context.Background()
	acct := uniq("acct")
	var want []string
	for i := 0; i < 5; i++ {
		r := NewReport(acct, t0.Add(time.Duration(i)*time.Minute))
		if err := s.CreateReport(ctx, r, billing.SlotLimits{}); err != nil {
			t.Fatal(err)
		}
		want = append([]string{r.ID}, want...) // newest first
	}
	// Two with the same creation time: ordered by id, newest-first's tie-break.
	same1, same2 := NewReport(acct, t0.Add(-time.Hour)), NewReport(acct, t0.Add(-time.Hour))
	same1.ID, same2.ID = "a-"+same1.ID, "b-"+same2.ID
	for _, r := range []*billing.Report{same1, same2} {
		if err := s.CreateReport(ctx, r, billing.SlotLimits{}); err != nil {
			t.Fatal(err)
		}
	}
	want = append(want, same2.ID, same1.ID)
	ids, pages := list(t, s, billing.ReportFilter{AccountID: acct, Limit: 2})
	if fmt.Sprint(ids) != fmt.Sprint(want) || pages != 4 {
		t.Fatalf("pages of 2: %v in %d pages, want %v in 4", ids, pages, want)
	}
	page := must[billing.ReportPage](t, "list")(s.ListReports(ctx, billing.ReportFilter{AccountID: acct, Limit: 7}))
	if len(page.Reports) != 7 {
		t.Fatalf("a limit of exactly all: %d reports", len(page.Reports))
	}
	first := must[billing.ReportPage](t, "list")(s.ListReports(ctx, billing.ReportFilter{AccountID: acct, Limit: 1}))
	_, err := s.ListReports(ctx, billing.ReportFilter{AccountID: uniq("acct"), Limit: 1, Cursor: first.Cursor})
	code(t, "a cursor of another account", err, billing.EINVALID)
	_, err = s.ListReports(ctx, billing.ReportFilter{AccountID: acct, Cursor: "not-a-cursor"})
	code(t, "a damaged cursor", err, billing.EINVALID)
	_, err = s.ListReports(ctx, billing.ReportFilter{})
	code(t, "a listing without an account", err, billing.EINVALID)
	_, err = s.ListReports(ctx, billing.ReportFilter{AccountID: acct, Status: "Lost"})
	code(t, "an unknown status", err, billing.EINVALID)
}

func testListFilters(t *testing.T, s Store) {
	ctx := context.Background()
	acct := uniq("acct")
	var scoped, done []string
	for i := 0; i < 6; i++ {
		r := NewReport(acct, t0.Add(time.Duration(i)*time.Second))
		if i%2 == 0 {
			r.CustomerScope = "c-law"
		}
		if err := s.CreateReport(ctx, r, billing.SlotLimits{}); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if _, err := s.FinishReport(ctx, r.ID, 0, billing.Outcome{Status: billing.ReportCompleted, Now: t0}); err != nil {
				t.Fatal(err)
			}
			done = append([]string{r.ID}, done...)
		}
		if i%2 == 0 {
			scoped = append([]string{r.ID}, scoped...)
		}
	}
	if ids, _ := list(t, s, billing.ReportFilter{AccountID: acct, CustomerScope: "c-law", Limit: 1}); fmt.Sprint(ids) != fmt.Sprint(scoped) {
		t.Fatalf("scope c-law: %v, want %v", ids, scoped)
	}
	if ids, _ := list(t, s, billing.ReportFilter{AccountID: acct, Status: billing.ReportCompleted, Limit: 1}); fmt.Sprint(ids) != fmt.Sprint(done) {
		t.Fatalf("Completed: %v, want %v", ids, done)
	}
	if ids, _ := list(t, s, billing.ReportFilter{AccountID: uniq("acct")}); len(ids) != 0 {
		t.Fatalf("an empty account lists %v", ids)
	}
}

func testNotification(t *testing.T, s Store) {
	ctx := context.Background()
	r := NewReport(uniq("acct"), t0)
	if err := s.CreateReport(ctx, r, billing.SlotLimits{}); err != nil {
		t.Fatal(err)
	}
	code(t, "claiming the notification of an open report", s.ClaimNotification(ctx, r.ID, t0), billing.ECONFLICT)
	if _, err := s.FinishReport(ctx, r.ID, 0, billing.Outcome{Status: billing.ReportError, Now: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimNotification(ctx, r.ID, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	code(t, "a second claim", s.ClaimNotification(ctx, r.ID, t0.Add(2*time.Second)), billing.ECONFLICT)
	if err := s.RecordNotification(ctx, r.ID, "sent", "", t0.Add(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordNotification(ctx, r.ID, "", "200", t0.Add(4*time.Second)); err != nil {
		t.Fatal(err)
	}
	got := must[*billing.Report](t, "get")(s.GetReport(ctx, r.ID))
	if got.NotifyResult != "sent" || got.WebhookResult != "200" || !got.NotifiedAt.Equal(t0.Add(time.Second)) {
		t.Fatalf("notification: email %q webhook %q at %v", got.NotifyResult, got.WebhookResult, got.NotifiedAt)
	}
	code(t, "recording for a missing report", s.RecordNotification(ctx, uniq("missing"), "sent", "", t0), billing.ENOTFOUND)
}

func testStaleReports(t *testing.T, s Store) {
	ctx := context.Background()
	acct := uniq("acct")
	// Far in the past, so that other tests' reports in a shared table are newer.
	base := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(n.Add(1)) * time.Hour)
	old, newer, running := NewReport(acct, base), NewReport(acct, base.Add(time.Minute)), NewReport(acct, base)
	for _, r := range []*billing.Report{newer, old, running} {
		if err := s.CreateReport(ctx, r, billing.SlotLimits{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AcquireLease(ctx, running.ID, billing.Lease{Now: base.Add(time.Second), Expires: base.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	ours := map[string]bool{old.ID: true, newer.ID: true, running.ID: true}
	stale := func(status billing.ReportStatus, cutoff time.Time) []string {
		rs := must[[]*billing.Report](t, "stale")(s.StaleReports(ctx, status, cutoff, 1000))
		var ids []string
		for _, r := range rs {
			if ours[r.ID] {
				ids = append(ids, r.ID)
			}
		}
		return ids
	}
	if got := stale(billing.ReportQueued, base.Add(2*time.Minute)); fmt.Sprint(got) != fmt.Sprint([]string{old.ID, newer.ID}) {
		t.Fatalf("stale Queued: %v, want oldest first %v", got, []string{old.ID, newer.ID})
	}
	if got := stale(billing.ReportQueued, base.Add(time.Minute)); fmt.Sprint(got) != fmt.Sprint([]string{old.ID}) {
		t.Fatalf("stale Queued before the cutoff: %v", got)
	}
	if got := stale(billing.ReportRunning, base.Add(time.Minute)); fmt.Sprint(got) != fmt.Sprint([]string{running.ID}) {
		t.Fatalf("stale Running: %v", got)
	}
	if _, err := s.FinishReport(ctx, old.ID, 0, billing.Outcome{Status: billing.ReportError, Now: base}); err != nil {
		t.Fatal(err)
	}
	if got := stale(billing.ReportQueued, base.Add(2*time.Minute)); fmt.Sprint(got) != fmt.Sprint([]string{newer.ID}) {
		t.Fatalf("a final report is never stale: %v", got)
	}
	_, err := s.StaleReports(ctx, billing.ReportCompleted, base, 10)
	code(t, "stale Completed", err, billing.EINVALID)
}

func testReconcileArgument(t *testing.T, s Store) {
	code(t, "ReconcileActive without an account", s.ReconcileActive(context.Background(), ""), billing.EINVALID)
}

// testEndedContext: a call whose context ended fails and changes nothing (a
// killed or timed-out invocation's last writes): a cancelled one with the
// cancellation, an expired deadline as EUNAVAILABLE.
func testEndedContext(t *testing.T, s Store) {
	ctx := context.Background()
	r := NewReport(uniq("acct"), t0)
	if err := s.CreateReport(ctx, r, billing.SlotLimits{Account: 10}); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	expired, stop := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer stop()
	lease := billing.Lease{Now: t0, Expires: t0.Add(time.Minute)}
	if _, err := s.AcquireLease(cancelled, r.ID, lease); !errors.Is(err, context.Canceled) {
		t.Fatalf("a lease with a cancelled context: %v", err)
	}
	_, err := s.AcquireLease(expired, r.ID, lease)
	code(t, "a lease past the deadline", err, billing.EUNAVAILABLE)
	if _, err := s.GetReport(cancelled, r.ID); !errors.Is(err, context.Canceled) {
		t.Fatalf("a read with a cancelled context: %v", err)
	}
	if got := must[*billing.Report](t, "get")(s.GetReport(ctx, r.ID)); got.Status != billing.ReportQueued || got.Attempt != 0 {
		t.Fatalf("the ended calls changed the report: %+v", got)
	}
}
