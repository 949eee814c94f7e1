//go:build integration

package schedules_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	awsddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/ddbstore"
	"github.com/evovoice/billing/devstack/emulators"
	"github.com/evovoice/billing/schedules"
	"github.com/evovoice/billing/sqsqueue"
)

// TestTwentyConcurrentTicksAgainstDynalite: the tick over the real adapters
// (DynamoDB on dynalite, SQS on fauxqs), 20 ticks for the same instant at
// once, then a 3-month catch-up: one report per period, each queued once.
func TestTwentyConcurrentTicksAgainstDynalite(t *testing.T) {
	ctx := context.Background()
	st := emulators.StartForTest(t)
	db := awsddb.NewFromConfig(st.AWS)
	reports := ddbstore.NewReportStore(db, st.Names.ReportsTable)
	data := ddbstore.NewBillingStore(db, st.Names.BillingTable)
	store := ddbstore.NewScheduleStore(db, st.Names.SchedulesTable)
	if err := data.PutAccounts(ctx, []billing.Account{{ID: "acct-tick", Name: "Tick", TimeZoneID: "America/New_York"}}); err != nil {
		t.Fatal(err)
	}
	svc := schedules.NewTicker(schedules.TickDeps{
		Schedules: store, Reports: reports, Idempotency: reports, Accounts: data,
		Jobs: sqsqueue.New(awssqs.NewFromConfig(st.AWS), st.JobsQueueURL), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	spec, err := billing.BillingReportSchedule{AccountID: "acct-tick", Frequency: "Monthly", TimeZoneID: "America/New_York"}.Validate(nil)
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 7, 20, 0, 0, 0, 0, time.UTC)
	sc := &billing.Schedule{ID: "sched-tick", Spec: spec, CreatedBy: "test", NextRunAt: spec.NextRunAfter(created), DateCreated: created, DateUpdated: created}
	if err := store.CreateSchedule(ctx, sc, billing.MaxSchedulesPerAccount); err != nil {
		t.Fatal(err)
	}

	periods := func() []string {
		page, err := reports.ListReports(ctx, billing.ReportFilter{AccountID: "acct-tick", Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for i := len(page.Reports) - 1; i >= 0; i-- { // oldest first
			r := page.Reports[i]
			if r.JobID == "" {
				t.Errorf("report %s was never queued", r.ID)
			}
			out = append(out, r.Request.StartDate.String())
		}
		return out
	}
	// August 1st, 06:00 in New York: 20 ticks at once fire July once.
	first := time.Date(2026, 8, 1, 10, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := svc.Tick(ctx, first); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := periods(); len(got) != 1 || got[0] != "2026-07-01" {
		t.Fatalf("after 20 concurrent ticks: reports of %v, want [2026-07-01]", got)
	}
	// Three months without a tick, then ticks twice at once: August,
	// September and October, oldest first, once each.
	later := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := svc.Tick(ctx, later); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := periods(); len(got) != 4 || got[1] != "2026-08-01" || got[2] != "2026-09-01" || got[3] != "2026-10-01" {
		t.Fatalf("after the catch-up: reports of %v", got)
	}
	got, err := store.GetSchedule(ctx, sc.ID)
	if err != nil || got.NextRunAt.UTC() != time.Date(2026, 12, 1, 11, 0, 0, 0, time.UTC) || got.LastReportID == "" {
		t.Fatalf("schedule after the catch-up: %+v, %v", got, err)
	}
}
