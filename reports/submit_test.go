package reports

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/memstore"
)

// The behaviour of Submit is tested through its two callers: httpapi's
// submit tests (every rule of spec 2.1) and the schedules' tick tests
// (firings, derived ids). These are the helpers' own rules.

func TestDerivedReportID(t *testing.T) {
	a, b := DerivedReportID("schedule:s-1:2026-10-01..2026-10-31"), DerivedReportID("schedule:s-1:2026-10-01..2026-10-31")
	c := DerivedReportID("schedule:s-1:2026-11-01..2026-11-30")
	if a != b || a == c || len(a) != 26 || !billing.ValidID(a) {
		t.Fatalf("derived ids %q %q %q: want equal for the same name, different otherwise, 26 valid id characters", a, b, c)
	}
	if n := NewReportID(); n == NewReportID() || len(n) != 26 || !billing.ValidID(n) {
		t.Fatalf("random id %q", n)
	}
}

func TestCheckAccountID(t *testing.T) {
	if CheckAccountID("") != nil || CheckAccountID("acct-1") != nil {
		t.Fatal("a valid or omitted account id was refused")
	}
	if fe := CheckAccountID("acct 1"); fe == nil || fe.FieldName != "AccountId" {
		t.Fatalf("CheckAccountID(%q) = %v", "acct 1", fe)
	}
}

// queueRunningAtOnce is a queue whose worker takes the job before Enqueue
// even returns: the report is Running when submit records the job id.
type queueRunningAtOnce struct {
	store *memstore.Reports
	now   time.Time
}

func (q queueRunningAtOnce) Enqueue(ctx context.Context, job billing.Job) (string, error) {
	if _, err := q.store.AcquireLease(ctx, job.ReportID, billing.Lease{Now: q.now, Expires: q.now.Add(time.Minute)}); err != nil {
		return "", err
	}
	return "msg-" + job.ReportID, nil
}

type oneAccount struct{}

func (oneAccount) GetAccount(_ context.Context, id string) (*billing.Account, error) {
	return &billing.Account{ID: id, TimeZoneID: "America/New_York"}, nil
}

// TestSubmitWhenTheWorkerIsFaster: the worker leases the report between
// the send and SetJobID; the store accepts the job id on the Running
// report, which stays Running with its attempt, and submit logs no warning.
func TestSubmitWhenTheWorkerIsFaster(t *testing.T) {
	store := memstore.NewReports()
	now := time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC)
	var logs strings.Builder
	svc := New(Deps{Reports: store, Idempotency: store, Accounts: oneAccount{}, Jobs: queueRunningAtOnce{store, now},
		Now: func() time.Time { return now }, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	caller := billing.Caller{Subject: "m", Roles: []billing.Role{billing.RoleManager}, AccountIDs: []string{"acct-1"}}
	rep, err := svc.Submit(context.Background(), caller, billing.BillingReport{StartDate: "2026-10-01", EndDate: "2026-10-31"}, "key-1")
	if err != nil {
		t.Fatal(err)
	}
	got, err := store.GetReport(context.Background(), rep.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != billing.ReportRunning || got.Attempt != 1 || got.JobID != "msg-"+rep.ID || rep.JobID != got.JobID {
		t.Fatalf("stored %s attempt %d job %q; answered job %q", got.Status, got.Attempt, got.JobID, rep.JobID)
	}
	if strings.Contains(logs.String(), "recording the job id failed") {
		t.Fatalf("a warning for a race the store accepts: %s", logs.String())
	}
}
