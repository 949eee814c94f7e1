package local

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	billing "github.com/evovoice/billing"
)

// DemoScheduleID is the demo data's monthly schedule (spec 2.7): the demo
// account's billing report, on the 1st at 06:00 in the account's zone,
// emailed to DemoScheduleEmail.
const (
	DemoScheduleID    = "demo-monthly"
	DemoScheduleEmail = "billing@demo.example"
)

// scheduleCreator is what the stack needs of the schedule store.
type scheduleCreator interface {
	CreateSchedule(ctx context.Context, s *billing.Schedule, max int) error
	GetSchedule(ctx context.Context, id string) (*billing.Schedule, error)
}

// seedDemoSchedule creates the demo schedule unless it exists (a restart
// keeps it and its firing history) and returns it. It is validated like a
// schedule sent to the API.
func seedDemoSchedule(ctx context.Context, store scheduleCreator, data billingStore, now time.Time, log *slog.Logger) (*billing.Schedule, error) {
	if s, err := store.GetSchedule(ctx, DemoScheduleID); err == nil {
		return s, nil
	} else if billing.ErrorCode(err) != billing.ENOTFOUND {
		return nil, fmt.Errorf("reading the demo schedule: %w", err)
	}
	acct, err := data.GetAccount(ctx, DemoAccountID)
	if err != nil {
		return nil, fmt.Errorf("reading the demo account for its schedule: %w", err)
	}
	spec, err := billing.BillingReportSchedule{
		AccountID: DemoAccountID, Frequency: string(billing.Monthly), DayOfMonth: 1, TimeOfDay: "06:00",
		TimeZoneID: acct.TimeZoneID, EmailAddressToNotify: DemoScheduleEmail,
	}.Validate(nil)
	if err != nil {
		return nil, fmt.Errorf("the demo schedule: %w", err)
	}
	now = now.UTC()
	s := &billing.Schedule{ID: DemoScheduleID, Spec: spec, CreatedBy: "demo-data", NextRunAt: spec.NextRunAfter(now), DateCreated: now, DateUpdated: now}
	if err := store.CreateSchedule(ctx, s, billing.MaxSchedulesPerAccount); err != nil && billing.ErrorCode(err) != billing.ECONFLICT {
		return nil, fmt.Errorf("creating the demo schedule: %w", err)
	}
	log.Info("demo schedule created", "id", s.ID, "nextRunAt", s.NextRunAt.Format(time.RFC3339))
	return s, nil
}

// scheduleBanner tells how to create a schedule with curl and fire it now.
func scheduleBanner(apiURL string, demo *billing.Schedule) string {
	next := demo.NextRunAt.UTC().Format(time.RFC3339)
	p := demo.Spec.PeriodFor(demo.NextRunAt)
	return fmt.Sprintf(`
Schedules: the demo schedule %q reports %s monthly (next run %s, period %s).
Create one and make its first run happen now:

  curl -sS -X POST %s/reports/schedules \
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    --data '{"accountId":"%s","frequency":"Monthly","dayOfMonth":1,"timeOfDay":"06:00","emailAddressToNotify":"you@example.com"}'
  go run ./cmd/reportctl schedules tick --local --at %s
`, demo.ID, demo.Spec.AccountID, next, p, apiURL, demo.Spec.AccountID, next)
}
