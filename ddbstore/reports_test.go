//go:build integration

package ddbstore

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/resources"
)

func TestReportRoundTripsEveryField(t *testing.T) {
	s, ctx := reportStore(), context.Background()
	r := newReport(uniq("acct"), t0)
	r.CustomerScope = "c-7"
	mustCreate(t, s, r, 10)
	got, err := s.GetReport(ctx, r.ID)
	if err != nil {
		t.Fatalf("GetReport: %v", err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("GetReport = %+v\nwant        %+v", got, r)
	}
	_, err = s.GetReport(ctx, uniq("missing"))
	wantCode(t, err, billing.ENOTFOUND)
}

func TestCreateReportEnforcesTheActiveLimit(t *testing.T) {
	s, ctx, acct := reportStore(), context.Background(), uniq("acct")
	var ids []string
	for i := range 3 {
		r := newReport(acct, t0.Add(time.Duration(i)*time.Second))
		mustCreate(t, s, r, 3)
		ids = append(ids, r.ID)
	}
	wantCode(t, s.CreateReport(ctx, newReport(acct, t0.Add(time.Hour)), billing.SlotLimits{Account: 3}), billing.ETOOMANY)

	if _, err := s.FinishReport(ctx, ids[0], 0, billing.Outcome{Status: billing.ReportError, StatusMessage: "cancelled", Now: t0.Add(time.Hour)}); err != nil {
		t.Fatalf("FinishReport: %v", err)
	}
	mustCreate(t, s, newReport(acct, t0.Add(2*time.Hour)), 3)
	// Another account has its own limit.
	mustCreate(t, s, newReport(uniq("other"), t0), 3)
}

// A slot FinishReport could not release (DynamoDB failed right after the final
// write) must not count against the limit forever: nothing else would free it
// unless the sweep happened to reconcile that account.
func TestCreateReportFreesSlotsOfFinishedReports(t *testing.T) {
	s, ctx, acct := reportStore(), context.Background(), uniq("acct")
	done, running := newReport(acct, t0), newReport(acct, t0.Add(time.Second))
	mustCreate(t, s, done, 2)
	mustCreate(t, s, running, 2)
	if _, err := s.FinishReport(ctx, done.ID, 0, billing.Outcome{Status: billing.ReportCompleted, Now: t0.Add(time.Minute)}); err != nil {
		t.Fatalf("FinishReport: %v", err)
	}
	// The release was lost.
	if err := s.changeActive(ctx, acct, "ADD", []string{done.ID}); err != nil {
		t.Fatal(err)
	}
	next := newReport(acct, t0.Add(2*time.Minute))
	mustCreate(t, s, next, 2)
	want := []string{running.ID, next.ID}
	slices.Sort(want)
	if got := activeSet(t, acct); !slices.Equal(got, want) {
		t.Fatalf("active set = %v, want %v", got, want)
	}
	// Reports really Queued or Running still hold the limit.
	wantCode(t, s.CreateReport(ctx, newReport(acct, t0.Add(3*time.Minute)), billing.SlotLimits{Account: 2}), billing.ETOOMANY)
}

func TestConcurrentCreatesNeverExceedTheLimit(t *testing.T) {
	s, ctx, acct := reportStore(), context.Background(), uniq("acct")
	const tries, max = 12, 5
	errs := make([]error, tries)
	var wg sync.WaitGroup
	for i := range tries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.CreateReport(ctx, newReport(acct, t0.Add(time.Duration(i)*time.Millisecond)), billing.SlotLimits{Account: max})
		}()
	}
	wg.Wait()
	ok, tooMany := 0, 0
	for _, err := range errs {
		switch billing.ErrorCode(err) {
		case "":
			ok++
		case billing.ETOOMANY:
			tooMany++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != max || tooMany != tries-max {
		t.Fatalf("%d created, %d refused; want %d and %d", ok, tooMany, max, tries-max)
	}
}

func TestCreateReportWithAnExistingIDConflictsAndKeepsItsSlot(t *testing.T) {
	s, ctx, acct := reportStore(), context.Background(), uniq("acct")
	r := newReport(acct, t0)
	mustCreate(t, s, r, 2)
	wantCode(t, s.CreateReport(ctx, r, billing.SlotLimits{Account: 2}), billing.ECONFLICT)
	// The first report still holds its slot: one more fits, then the limit.
	mustCreate(t, s, newReport(acct, t0.Add(time.Second)), 2)
	wantCode(t, s.CreateReport(ctx, newReport(acct, t0.Add(2*time.Second)), billing.SlotLimits{Account: 2}), billing.ETOOMANY)
}

func TestConcurrentLeasesHaveOneWinner(t *testing.T) {
	s, ctx := reportStore(), context.Background()
	r := newReport(uniq("acct"), t0)
	mustCreate(t, s, r, 10)
	const workers = 8
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.AcquireLease(ctx, r.ID, billing.Lease{Now: t0, Expires: t0.Add(time.Minute), Server: "worker"})
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else if billing.ErrorCode(err) != billing.ECONFLICT {
			t.Errorf("losing lease: %v, want ECONFLICT", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d workers got the lease, want exactly 1", won)
	}
}

func TestLeaseExpiresAndIsTakenOver(t *testing.T) {
	s, ctx := reportStore(), context.Background()
	r := newReport(uniq("acct"), t0)
	mustCreate(t, s, r, 10)

	first, err := s.AcquireLease(ctx, r.ID, billing.Lease{Now: t0, Expires: t0.Add(time.Minute), Server: "fn-a/req-1"})
	if err != nil {
		t.Fatalf("first AcquireLease: %v", err)
	}
	if first.Status != billing.ReportRunning || first.Attempt != 1 || first.Server != "fn-a/req-1" || !first.LeaseExpires.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after first lease: %+v", first)
	}
	// While the lease holds, nobody else gets it.
	_, err = s.AcquireLease(ctx, r.ID, billing.Lease{Now: t0.Add(30 * time.Second), Expires: t0.Add(2 * time.Minute)})
	wantCode(t, err, billing.ECONFLICT)
	// The holder extends it.
	if err := s.UpdateProgress(ctx, r.ID, 1, "Processed 10 usage records", t0.Add(40*time.Second), t0.Add(90*time.Second)); err != nil {
		t.Fatalf("UpdateProgress: %v", err)
	}
	_, err = s.AcquireLease(ctx, r.ID, billing.Lease{Now: t0.Add(80 * time.Second), Expires: t0.Add(3 * time.Minute)})
	wantCode(t, err, billing.ECONFLICT)

	// After expiry a second worker takes over with the next attempt.
	second, err := s.AcquireLease(ctx, r.ID, billing.Lease{Now: t0.Add(2 * time.Minute), Expires: t0.Add(3 * time.Minute), Server: "fn-b/req-2"})
	if err != nil {
		t.Fatalf("takeover: %v", err)
	}
	if second.Attempt != 2 || second.Server != "fn-b/req-2" {
		t.Fatalf("after takeover: attempt %d server %q", second.Attempt, second.Server)
	}
	// The first worker has lost: it can neither report progress nor finish.
	wantCode(t, s.UpdateProgress(ctx, r.ID, 1, "late", t0.Add(2*time.Minute), t0.Add(4*time.Minute)), billing.ECONFLICT)
	_, err = s.FinishReport(ctx, r.ID, 1, billing.Outcome{Status: billing.ReportCompleted, Now: t0.Add(2 * time.Minute)})
	wantCode(t, err, billing.ECONFLICT)

	done, err := s.FinishReport(ctx, r.ID, 2, billing.Outcome{
		Status: billing.ReportCompleted, StatusMessage: "Processed 10 usage records", ObjectKey: "reports/a/r.csv",
		RowCount: 3, ByteSize: 1234, GrandTotal: "10.50", Now: t0.Add(150 * time.Second),
	})
	if err != nil {
		t.Fatalf("FinishReport: %v", err)
	}
	if done.Status != billing.ReportCompleted || done.GrandTotal != "10.50" || done.RowCount != 3 || done.ByteSize != 1234 ||
		done.ObjectKey != "reports/a/r.csv" || !done.DateUpdated.Equal(t0.Add(150*time.Second)) || !done.LeaseExpires.IsZero() {
		t.Fatalf("finished report: %+v", done)
	}
	// A final report never moves again, not even by a lease or a failure.
	_, err = s.AcquireLease(ctx, r.ID, billing.Lease{Now: t0.Add(time.Hour), Expires: t0.Add(2 * time.Hour)})
	wantCode(t, err, billing.ECONFLICT)
	_, err = s.FinishReport(ctx, r.ID, 0, billing.Outcome{Status: billing.ReportError, Now: t0.Add(time.Hour)})
	wantCode(t, err, billing.ECONFLICT)
}

func TestStateChangesOfUnknownReportsAreNotFound(t *testing.T) {
	s, ctx, id := reportStore(), context.Background(), uniq("missing")
	_, err := s.AcquireLease(ctx, id, billing.Lease{Now: t0, Expires: t0.Add(time.Minute)})
	wantCode(t, err, billing.ENOTFOUND)
	_, err = s.FinishReport(ctx, id, 0, billing.Outcome{Status: billing.ReportError, Now: t0})
	wantCode(t, err, billing.ENOTFOUND)
	wantCode(t, s.SetJobID(ctx, id, "m-1", t0), billing.ENOTFOUND)
	wantCode(t, s.ClaimNotification(ctx, id, t0), billing.ENOTFOUND)
	_, err = s.FinishReport(ctx, id, 0, billing.Outcome{Status: billing.ReportRunning, Now: t0})
	wantCode(t, err, billing.EINVALID)
}

func TestSetJobIDAndNotificationClaims(t *testing.T) {
	s, ctx := reportStore(), context.Background()
	r := newReport(uniq("acct"), t0)
	mustCreate(t, s, r, 10)
	if err := s.SetJobID(ctx, r.ID, "msg-1", t0.Add(time.Second)); err != nil {
		t.Fatalf("SetJobID: %v", err)
	}
	// Not final yet: nothing to notify about.
	wantCode(t, s.ClaimNotification(ctx, r.ID, t0.Add(time.Minute)), billing.ECONFLICT)
	if _, err := s.FinishReport(ctx, r.ID, 0, billing.Outcome{Status: billing.ReportError, StatusMessage: "Unknown account", Now: t0.Add(time.Minute)}); err != nil {
		t.Fatalf("FinishReport: %v", err)
	}
	wantCode(t, s.SetJobID(ctx, r.ID, "msg-2", t0.Add(2*time.Minute)), billing.ECONFLICT)

	if err := s.ClaimNotification(ctx, r.ID, t0.Add(2*time.Minute)); err != nil {
		t.Fatalf("first ClaimNotification: %v", err)
	}
	wantCode(t, s.ClaimNotification(ctx, r.ID, t0.Add(3*time.Minute)), billing.ECONFLICT)
	if err := s.RecordNotification(ctx, r.ID, "sent", "200 OK", t0.Add(3*time.Minute)); err != nil {
		t.Fatalf("RecordNotification: %v", err)
	}
	got, err := s.GetReport(ctx, r.ID)
	if err != nil {
		t.Fatalf("GetReport: %v", err)
	}
	if got.JobID != "msg-1" || got.NotifyResult != "sent" || got.WebhookResult != "200 OK" ||
		!got.NotifiedAt.Equal(t0.Add(2*time.Minute)) || got.Status != billing.ReportError || got.StatusMessage != "Unknown account" {
		t.Fatalf("report after notification: %+v", got)
	}
}

func TestStaleReportsComesFromTheSparseStatusIndex(t *testing.T) {
	s, ctx, acct := reportStore(), context.Background(), uniq("acct")
	// Far in the past, so other tests' reports (around t0) are not stale here.
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	a, b, fresh := newReport(acct, old), newReport(acct, old.Add(time.Minute)), newReport(acct, old.Add(time.Hour))
	for _, r := range []*billing.Report{a, b, fresh} {
		mustCreate(t, s, r, 10)
	}
	cutoff := old.Add(30 * time.Minute)
	got, err := s.StaleReports(ctx, billing.ReportQueued, cutoff, 10)
	if err != nil {
		t.Fatalf("StaleReports: %v", err)
	}
	if ids := reportIDs(got); !slices.Equal(ids, []string{a.ID, b.ID}) {
		t.Fatalf("stale = %v, want %v oldest first", ids, []string{a.ID, b.ID})
	}
	if got, _ := s.StaleReports(ctx, billing.ReportQueued, cutoff, 1); len(got) != 1 {
		t.Fatalf("limit 1 returned %d", len(got))
	}
	// A final report leaves the index; a touched one is no longer stale.
	if _, err := s.FinishReport(ctx, a.ID, 0, billing.Outcome{Status: billing.ReportError, Now: old.Add(time.Second)}); err != nil {
		t.Fatalf("FinishReport: %v", err)
	}
	if err := s.SetJobID(ctx, b.ID, "m", old.Add(40*time.Minute)); err != nil {
		t.Fatalf("SetJobID: %v", err)
	}
	if got, err := s.StaleReports(ctx, billing.ReportQueued, cutoff, 10); err != nil || len(got) != 0 {
		t.Fatalf("after finish and touch: %v %v, want none", reportIDs(got), err)
	}
	_, err = s.StaleReports(ctx, billing.ReportCompleted, cutoff, 10)
	wantCode(t, err, billing.EINVALID)
}

// One report item the code cannot decode (a bug's leftover) must not hide every
// other stale report from the sweep: it is skipped, and the others are listed.
func TestStaleReportsSkipsAnUndecodableItem(t *testing.T) {
	s, ctx, acct := reportStore(), context.Background(), uniq("acct")
	// Further in the past than any other test's reports.
	old := time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)
	good := newReport(acct, old.Add(time.Minute))
	mustCreate(t, s, good, 10)
	if _, err := s.AcquireLease(ctx, good.ID, billing.Lease{Now: old.Add(time.Minute), Expires: old.Add(2 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	bad := encodeReport(newReport(acct, old))
	bad[attrStatus] = avS("Sleeping")
	bad[resources.ReportsByStatusPK] = avS(string(billing.ReportRunning))
	if _, err := client().PutItem(ctx, &ddb.PutItemInput{TableName: aws.String(stack.Names.ReportsTable), Item: bad}); err != nil {
		t.Fatal(err)
	}
	got, err := s.StaleReports(ctx, billing.ReportRunning, old.Add(time.Hour), 10)
	if err != nil {
		t.Fatalf("StaleReports: %v", err)
	}
	if ids := reportIDs(got); !slices.Equal(ids, []string{good.ID}) {
		t.Fatalf("stale = %v, want %v", ids, []string{good.ID})
	}
}

func reportIDs(rs []*billing.Report) []string {
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.ID)
	}
	return ids
}

func activeSet(t *testing.T, accountID string) []string {
	t.Helper()
	out, err := client().GetItem(context.Background(), &ddb.GetItemInput{
		TableName: aws.String(stack.Names.ReportsTable), Key: activeKey(accountID), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("reading the active set: %v", err)
	}
	ids := getSS(out.Item, attrActive)
	slices.Sort(ids)
	return ids
}

func TestReconcileActiveRepairsDrift(t *testing.T) {
	s, ctx, acct := reportStore(), context.Background(), uniq("acct")
	running, lost := newReport(acct, t0), newReport(acct, t0.Add(time.Second))
	mustCreate(t, s, running, 10)
	mustCreate(t, s, lost, 10)
	// Drift: a CreateReport that died after reserving ("ghost"), and a report
	// whose slot was dropped by hand.
	if err := s.changeActive(ctx, acct, "ADD", []string{"ghost"}); err != nil {
		t.Fatal(err)
	}
	if err := s.changeActive(ctx, acct, "DELETE", []string{lost.ID}); err != nil {
		t.Fatal(err)
	}
	if err := s.ReconcileActive(ctx, acct); err != nil {
		t.Fatalf("ReconcileActive: %v", err)
	}
	want := []string{running.ID, lost.ID}
	slices.Sort(want)
	if got := activeSet(t, acct); !slices.Equal(got, want) {
		t.Fatalf("active set = %v, want %v", got, want)
	}
}

func TestIdempotencyRecordsExpireByTheCodesClock(t *testing.T) {
	s, ctx := reportStore(), context.Background()
	rec := billing.IdempotencyRecord{Key: "user-1\x00" + uniq("key"), RequestHash: "h1", ReportID: "r-1", ExpiresAt: t0.Add(24 * time.Hour)}
	if err := s.PutIdempotency(ctx, rec, t0); err != nil {
		t.Fatalf("PutIdempotency: %v", err)
	}
	other := rec
	other.RequestHash, other.ReportID = "h2", "r-2"
	wantCode(t, s.PutIdempotency(ctx, other, t0.Add(time.Hour)), billing.ECONFLICT)

	got, err := s.GetIdempotency(ctx, rec.Key, t0.Add(23*time.Hour))
	if err != nil {
		t.Fatalf("GetIdempotency: %v", err)
	}
	if *got != rec {
		t.Fatalf("GetIdempotency = %+v, want %+v", *got, rec)
	}
	// Expired records are gone for the code, although DynamoDB still has them.
	_, err = s.GetIdempotency(ctx, rec.Key, t0.Add(24*time.Hour))
	wantCode(t, err, billing.ENOTFOUND)
	other.ExpiresAt = t0.Add(48 * time.Hour)
	if err := s.PutIdempotency(ctx, other, t0.Add(25*time.Hour)); err != nil {
		t.Fatalf("PutIdempotency over an expired record: %v", err)
	}
	if got, err := s.GetIdempotency(ctx, rec.Key, t0.Add(26*time.Hour)); err != nil || got.ReportID != "r-2" {
		t.Fatalf("after replacing: %+v %v", got, err)
	}
	_, err = s.GetIdempotency(ctx, uniq("never"), t0)
	wantCode(t, err, billing.ENOTFOUND)
}

func TestListReportsPagesNewestFirst(t *testing.T) {
	s, ctx, acct := reportStore(), context.Background(), uniq("acct")
	const n = 120
	var all []*billing.Report
	for i := range n {
		r := newReport(acct, t0.Add(time.Duration(i)*time.Minute))
		if i%3 == 0 {
			r.CustomerScope = "c-1"
		}
		mustCreate(t, s, r, n)
		all = append(all, r)
	}
	for i, r := range all {
		if i%4 == 0 {
			if _, err := s.FinishReport(ctx, r.ID, 0, billing.Outcome{Status: billing.ReportCompleted, Now: t0.Add(time.Hour)}); err != nil {
				t.Fatalf("FinishReport: %v", err)
			}
		}
	}
	newestFirst := func(keep func(i int, r *billing.Report) bool) []string {
		var ids []string
		for i := len(all) - 1; i >= 0; i-- {
			if keep(i, all[i]) {
				ids = append(ids, all[i].ID)
			}
		}
		return ids
	}
	collect := func(f billing.ReportFilter) (ids []string, sizes []int) {
		t.Helper()
		for page := 0; ; page++ {
			got, err := s.ListReports(ctx, f)
			if err != nil {
				t.Fatalf("ListReports page %d: %v", page, err)
			}
			sizes = append(sizes, len(got.Reports))
			ids = append(ids, reportIDs(got.Reports)...)
			if got.Cursor == "" {
				return ids, sizes
			}
			f.Cursor = got.Cursor
			if page > n {
				t.Fatal("ListReports never ends")
			}
		}
	}

	ids, sizes := collect(billing.ReportFilter{AccountID: acct, Limit: 50})
	if want := newestFirst(func(int, *billing.Report) bool { return true }); !slices.Equal(ids, want) {
		t.Fatalf("all reports: got %d ids, want %d newest first", len(ids), len(want))
	}
	if !slices.Equal(sizes, []int{50, 50, 20}) {
		t.Fatalf("page sizes %v, want [50 50 20]", sizes)
	}

	// Filters drop most evaluated items: pages must still be full.
	ids, sizes = collect(billing.ReportFilter{AccountID: acct, Status: billing.ReportCompleted, Limit: 7})
	if want := newestFirst(func(i int, _ *billing.Report) bool { return i%4 == 0 }); !slices.Equal(ids, want) {
		t.Fatalf("completed: got %v, want %v", ids, want)
	}
	for _, size := range sizes[:len(sizes)-1] {
		if size != 7 {
			t.Fatalf("filtered page sizes %v: only the last may be short", sizes)
		}
	}
	ids, _ = collect(billing.ReportFilter{AccountID: acct, CustomerScope: "c-1", Status: billing.ReportQueued, Limit: 200})
	if want := newestFirst(func(i int, r *billing.Report) bool { return i%3 == 0 && i%4 != 0 }); !slices.Equal(ids, want) {
		t.Fatalf("customer scope: got %v, want %v", ids, want)
	}

	first, err := s.ListReports(ctx, billing.ReportFilter{AccountID: acct})
	if err != nil || len(first.Reports) != 50 {
		t.Fatalf("default limit: %d reports, %v", len(first.Reports), err)
	}
	// A cursor is only good for the account it was made for.
	_, err = s.ListReports(ctx, billing.ReportFilter{AccountID: uniq("other"), Cursor: first.Cursor})
	wantCode(t, err, billing.EINVALID)
	_, err = s.ListReports(ctx, billing.ReportFilter{AccountID: acct, Cursor: "not-a-cursor"})
	wantCode(t, err, billing.EINVALID)
	_, err = s.ListReports(ctx, billing.ReportFilter{})
	wantCode(t, err, billing.EINVALID)
}

func TestErrorsAreTranslatedToDomainCodes(t *testing.T) {
	ctx := context.Background()
	// Nothing listens on port 1: a store that is down is EUNAVAILABLE.
	down := NewReportStore(ddb.NewFromConfig(stack.AWS, func(o *ddb.Options) {
		o.BaseEndpoint = aws.String("http://127.0.0.1:1")
		o.RetryMaxAttempts = 1
	}), stack.Names.ReportsTable)
	_, err := down.GetReport(ctx, "r-1")
	wantCode(t, err, billing.EUNAVAILABLE)
	if !billing.IsRetryable(err) {
		t.Error("an unavailable store is not retryable")
	}

	fake := &fakeReportsAPI{updateItem: func(*ddb.UpdateItemInput) (*ddb.UpdateItemOutput, error) {
		return nil, &types.ProvisionedThroughputExceededException{Message: aws.String("slow down")}
	}}
	err = NewReportStore(fake, "t").CreateReport(ctx, newReport("a", t0), billing.SlotLimits{Account: 10})
	wantCode(t, err, billing.EUNAVAILABLE)

	// A missing table is a broken deployment, never "report not found".
	missing := NewReportStore(client(), "no-such-table")
	_, err = missing.GetReport(ctx, "r-1")
	wantCode(t, err, billing.EUNAVAILABLE)
}

// fakeReportsAPI is a hand-written ReportsAPI whose calls tests choose.
type fakeReportsAPI struct {
	getItem    func(*ddb.GetItemInput) (*ddb.GetItemOutput, error)
	putItem    func(*ddb.PutItemInput) (*ddb.PutItemOutput, error)
	updateItem func(*ddb.UpdateItemInput) (*ddb.UpdateItemOutput, error)
	query      func(*ddb.QueryInput) (*ddb.QueryOutput, error)
}

func (f *fakeReportsAPI) GetItem(_ context.Context, in *ddb.GetItemInput, _ ...func(*ddb.Options)) (*ddb.GetItemOutput, error) {
	return f.getItem(in)
}

func (f *fakeReportsAPI) PutItem(_ context.Context, in *ddb.PutItemInput, _ ...func(*ddb.Options)) (*ddb.PutItemOutput, error) {
	return f.putItem(in)
}

func (f *fakeReportsAPI) UpdateItem(_ context.Context, in *ddb.UpdateItemInput, _ ...func(*ddb.Options)) (*ddb.UpdateItemOutput, error) {
	return f.updateItem(in)
}

func (f *fakeReportsAPI) Query(_ context.Context, in *ddb.QueryInput, _ ...func(*ddb.Options)) (*ddb.QueryOutput, error) {
	return f.query(in)
}

// fair are the limits of spec 2.1, as submit passes them.
var fair = billing.FairShare()

// customerReport is a report of a Customer-role caller: scoped, by subject.
func customerReport(accountID, subject string, created time.Time) *billing.Report {
	r := newReport(accountID, created)
	r.CreatedBy, r.CustomerScope = subject, "c-"+subject
	return r
}

// slotSetsOf reads every id set of the account's active item, sorted.
func slotSetsOf(t *testing.T, accountID string) map[string][]string {
	t.Helper()
	out, err := client().GetItem(context.Background(), &ddb.GetItemInput{
		TableName: aws.String(stack.Names.ReportsTable), Key: activeKey(accountID), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("reading the active item: %v", err)
	}
	sets := map[string][]string{}
	for attr, members := range slotMembers(out.Item) {
		sets[attr] = slices.Sorted(maps.Keys(members))
	}
	return sets
}

// Managers and Customer-role users of one account all submitting at once,
// against dynalite: the three limits hold together, every refusal is
// ETOOMANY, and the Managers get at least the 3 slots Customers cannot take.
// The total is always exactly 10 (see the comment at the end).
func TestFairShareHoldsUnderConcurrency(t *testing.T) {
	s, ctx, acct := reportStore(), context.Background(), uniq("acct")
	const customers, triesEach, managerTries = 5, 4, 6
	type try struct {
		r   *billing.Report
		err error
	}
	var tries []*try
	for c := range customers {
		for i := range triesEach {
			tries = append(tries, &try{r: customerReport(acct, fmt.Sprint("cust-", c), t0.Add(time.Duration(c*triesEach+i)*time.Millisecond))})
		}
	}
	for i := range managerTries {
		r := newReport(acct, t0.Add(time.Duration(i)*time.Second))
		r.CreatedBy = "manager"
		tries = append(tries, &try{r: r})
	}
	var wg sync.WaitGroup
	for _, tr := range tries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr.err = s.CreateReport(ctx, tr.r, fair)
		}()
	}
	wg.Wait()
	total, customerTotal, managers := 0, 0, 0
	perCaller := map[string]int{}
	var created []string
	for _, tr := range tries {
		switch billing.ErrorCode(tr.err) {
		case "":
			total++
			created = append(created, tr.r.ID)
			if tr.r.CustomerRole() {
				customerTotal++
				perCaller[tr.r.CreatedBy]++
			} else {
				managers++
			}
		case billing.ETOOMANY:
		default:
			t.Errorf("unexpected error: %v", tr.err)
		}
	}
	for caller, n := range perCaller {
		if n > fair.PerCustomer {
			t.Errorf("%s holds %d active reports, limit %d", caller, n, fair.PerCustomer)
		}
	}
	// Sets only grow here, so a refusal means a limit was full when it was
	// tried; with 20 Customer tries over 5 callers and 6 Manager tries the
	// account always fills: fewer than 10 would need every Manager to succeed
	// and fewer than 4 Customer reports, yet 17 Customer refusals.
	if total != fair.Account || customerTotal > fair.CustomerRoles || managers < fair.Account-fair.CustomerRoles {
		t.Fatalf("created %d (%d Customer-role, %d Manager), want %d with at most %d Customer-role and at least %d Manager",
			total, customerTotal, managers, fair.Account, fair.CustomerRoles, fair.Account-fair.CustomerRoles)
	}
	sets := slotSetsOf(t, acct)
	slices.Sort(created)
	if !slices.Equal(sets[attrActive], created) || len(sets[attrCustomerActive]) != customerTotal {
		t.Fatalf("sets %v do not match the %d created reports (%d Customer-role)", sets, total, customerTotal)
	}
	for caller, n := range perCaller {
		if got := len(sets[callerActiveAttr(caller)]); got != n {
			t.Errorf("%s's set has %d ids, created %d", caller, got, n)
		}
	}
}

// Each limit refuses with its own message, a finished report frees its slot
// in every set (an empty set disappears), and a Customer-role report over its
// caller's limit is refused while another Customer still gets one.
func TestFairShareLimitsReleaseAndMessages(t *testing.T) {
	s, ctx, acct := reportStore(), context.Background(), uniq("acct")
	limits := billing.SlotLimits{Account: 5, CustomerRoles: 3, PerCustomer: 2}
	a1, a2 := customerReport(acct, "alice", t0), customerReport(acct, "alice", t0.Add(time.Second))
	for _, r := range []*billing.Report{a1, a2} {
		if err := s.CreateReport(ctx, r, limits); err != nil {
			t.Fatal(err)
		}
	}
	err := s.CreateReport(ctx, customerReport(acct, "alice", t0.Add(2*time.Second)), limits)
	if wantCode(t, err, billing.ETOOMANY); !strings.Contains(billing.ErrorMessage(err), "You already have 2 reports") {
		t.Errorf("per-caller refusal: %q", billing.ErrorMessage(err))
	}
	if err := s.CreateReport(ctx, customerReport(acct, "bob", t0.Add(3*time.Second)), limits); err != nil {
		t.Fatalf("another Customer is refused: %v", err)
	}
	err = s.CreateReport(ctx, customerReport(acct, "carol", t0.Add(4*time.Second)), limits)
	if wantCode(t, err, billing.ETOOMANY); !strings.Contains(billing.ErrorMessage(err), "3 reports of Customer-role users") {
		t.Errorf("Customer-role refusal: %q", billing.ErrorMessage(err))
	}
	for i := range 2 {
		mustCreateWith(t, s, newReport(acct, t0.Add(time.Duration(5+i)*time.Second)), limits)
	}
	err = s.CreateReport(ctx, newReport(acct, t0.Add(8*time.Second)), limits)
	if wantCode(t, err, billing.ETOOMANY); !strings.Contains(billing.ErrorMessage(err), "already has 5 reports queued or running") {
		t.Errorf("account refusal: %q", billing.ErrorMessage(err))
	}

	for _, r := range []*billing.Report{a1, a2} {
		if _, err := s.FinishReport(ctx, r.ID, 0, billing.Outcome{Status: billing.ReportCompleted, Now: t0.Add(time.Minute)}); err != nil {
			t.Fatalf("FinishReport: %v", err)
		}
	}
	sets := slotSetsOf(t, acct)
	if _, ok := sets[callerActiveAttr("alice")]; ok || len(sets[attrCustomerActive]) != 1 || len(sets[attrActive]) != 3 {
		t.Fatalf("after alice's reports finished: %v", sets)
	}
	mustCreateWith(t, s, customerReport(acct, "alice", t0.Add(2*time.Minute)), limits)
}

// A release lost after the final write (the report is Completed but still in
// the Customer sets) does not lock the Customer out: the create that finds a
// set full frees it first.
func TestFairShareFreesFinishedCustomerSlots(t *testing.T) {
	s, ctx, acct := reportStore(), context.Background(), uniq("acct")
	limits := billing.SlotLimits{Account: 10, CustomerRoles: 7, PerCustomer: 1}
	done := customerReport(acct, "alice", t0)
	mustCreateWith(t, s, done, limits)
	if _, err := s.FinishReport(ctx, done.ID, 0, billing.Outcome{Status: billing.ReportCompleted, Now: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	lost := map[string][]string{attrActive: {done.ID}, attrCustomerActive: {done.ID}, callerActiveAttr("alice"): {done.ID}}
	if err := s.changeSets(ctx, acct, "ADD", lost); err != nil {
		t.Fatal(err)
	}
	next := customerReport(acct, "alice", t0.Add(2*time.Minute))
	mustCreateWith(t, s, next, limits)
	want := map[string][]string{attrActive: {next.ID}, attrCustomerActive: {next.ID}, callerActiveAttr("alice"): {next.ID}}
	if got := slotSetsOf(t, acct); !reflect.DeepEqual(got, want) {
		t.Fatalf("sets = %v, want %v", got, want)
	}
}

// The sweep's repair covers the Customer sets like the active set: a
// Customer-role report missing from them is added back, and a ghost
// reservation (a create that died between its two writes) is dropped from all.
func TestReconcileActiveRepairsCustomerSets(t *testing.T) {
	s, ctx, acct := reportStore(), context.Background(), uniq("acct")
	r, mgr := customerReport(acct, "alice", t0), newReport(acct, t0.Add(time.Second))
	mustCreateWith(t, s, r, fair)
	mustCreateWith(t, s, mgr, fair)
	drift := map[string][]string{attrCustomerActive: {r.ID}, callerActiveAttr("alice"): {r.ID}}
	if err := s.changeSets(ctx, acct, "DELETE", drift); err != nil {
		t.Fatal(err)
	}
	ghost := map[string][]string{attrActive: {"ghost"}, attrCustomerActive: {"ghost"}, callerActiveAttr("bob"): {"ghost"}}
	if err := s.changeSets(ctx, acct, "ADD", ghost); err != nil {
		t.Fatal(err)
	}
	if err := s.ReconcileActive(ctx, acct); err != nil {
		t.Fatalf("ReconcileActive: %v", err)
	}
	all := []string{r.ID, mgr.ID}
	slices.Sort(all)
	want := map[string][]string{attrActive: all, attrCustomerActive: {r.ID}, callerActiveAttr("alice"): {r.ID}}
	if got := slotSetsOf(t, acct); !reflect.DeepEqual(got, want) {
		t.Fatalf("sets = %v, want %v", got, want)
	}
}

func mustCreateWith(t *testing.T, s *ReportStore, r *billing.Report, limits billing.SlotLimits) {
	t.Helper()
	if err := s.CreateReport(context.Background(), r, limits); err != nil {
		t.Fatalf("CreateReport: %v", err)
	}
}
