// Package schedules is the application core of report schedules (spec 2.7):
// the API's use cases (create, list, get, replace, delete, run one period
// now) and the tick that fires due schedules. A firing submits through the
// same reports.Service as POST /reports/billing, with an idempotency key and
// a report id derived from the schedule and the period, so that any number
// of ticks, retries and manual runs make one report per schedule and period.
package schedules

import (
	"context"
	"log/slog"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/reports"
)

// Submitter is the submit use case (reports.Service).
type Submitter interface {
	SubmitWithID(ctx context.Context, caller billing.Caller, dto billing.BillingReport, idemKey, reportID string) (*billing.Report, error)
}

// AccountGetter is what schedules need of billing.BillingData.
type AccountGetter interface {
	GetAccount(ctx context.Context, id string) (*billing.Account, error)
}

// Getter, Lister, Writer and Firer split billing.ScheduleStore by use, so
// that each function is given (and granted) only what it calls: the submit
// function writes, the status function reads, the run function fires.
type (
	Getter interface {
		GetSchedule(ctx context.Context, id string) (*billing.Schedule, error)
	}
	Lister interface {
		ListSchedules(ctx context.Context, f billing.ScheduleFilter) (billing.SchedulePage, error)
	}
	Writer interface {
		CreateSchedule(ctx context.Context, s *billing.Schedule, max int) error
		ReplaceSchedule(ctx context.Context, s *billing.Schedule) error
		DeleteSchedule(ctx context.Context, id string) error
	}
	Firer interface {
		DueSchedules(ctx context.Context, now time.Time, limit int) ([]*billing.Schedule, error)
		AdvanceSchedule(ctx context.Context, id string, from time.Time, a billing.ScheduleAdvance) error
	}
)

// Deps are the service's dependencies. Each use case needs only some:
// Get always; List for List; Write and Accounts for Create, Replace and
// Delete; Submit for RunNow and Tick; Fire for Tick. Calling a use case
// whose dependency is nil is a wiring bug and panics.
type Deps struct {
	Get      Getter
	List     Lister
	Write    Writer
	Fire     Firer
	Submit   Submitter
	Accounts AccountGetter

	Now          func() time.Time   // default time.Now
	NewID        func() string      // schedule ids; default reports.NewReportID
	CheckWebhook func(string) error // as for reports.Deps
	Logger       *slog.Logger       // default slog.Default()
}

// Service runs the schedule use cases.
type Service struct{ d Deps }

// New returns a Service with d's defaults filled in.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.NewID == nil {
		d.NewID = reports.NewReportID
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return &Service{d}
}

func requireRole(c billing.Caller) error {
	if c.EffectiveRole() == "" {
		return reports.ErrInvalidRole()
	}
	return nil
}

func notFound(id string) error {
	return billing.Errorf(billing.ENOTFOUND, "Schedule '%s' not found.", truncate(id, 64))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// AccountFor resolves the account of a request (the token's only account
// when none is given) and the caller's scope in it.
func AccountFor(caller billing.Caller, accountID string) (string, string, error) {
	if fe := reports.CheckAccountID(accountID); fe != nil {
		return "", "", reports.InvalidField(fe.ErrorCode, fe.FieldName, fe.Message)
	}
	if accountID == "" {
		if len(caller.AccountIDs) != 1 {
			return "", "", reports.InvalidField("NotEmpty", "AccountId", "'AccountId' must not be empty.")
		}
		accountID = caller.AccountIDs[0]
	}
	scope, err := caller.ScopeForAccount(accountID)
	return accountID, scope, err
}

// Create validates dto and stores a new schedule of the caller's account
// (its subtree, for a Customer-role caller). Without a zone the account's
// (else UTC) is stored, so the schedule does not move if the account's
// zone changes later.
func (s *Service) Create(ctx context.Context, caller billing.Caller, dto billing.BillingReportSchedule) (*billing.Schedule, error) {
	if err := requireRole(caller); err != nil {
		return nil, err
	}
	spec, err := dto.Validate(s.d.CheckWebhook)
	if err != nil {
		return nil, err
	}
	account, scope, err := AccountFor(caller, spec.AccountID)
	if err != nil {
		return nil, err
	}
	spec.AccountID = account
	if err := s.fillZone(ctx, &spec); err != nil {
		return nil, err
	}
	now := s.d.Now().UTC()
	sc := &billing.Schedule{
		ID: s.d.NewID(), Spec: spec, CustomerScope: scope, CreatedBy: caller.Subject,
		DateCreated: now, DateUpdated: now,
	}
	if spec.Enabled {
		sc.NextRunAt = spec.NextRunAfter(now)
	}
	if err := s.d.Write.CreateSchedule(ctx, sc, billing.MaxSchedulesPerAccount); err != nil {
		return nil, err
	}
	return sc, nil
}

// fillZone checks the account exists and gives spec its zone when it has none.
func (s *Service) fillZone(ctx context.Context, spec *billing.ScheduleSpec) error {
	acct, err := s.d.Accounts.GetAccount(ctx, spec.AccountID)
	if err != nil {
		if billing.ErrorCode(err) == billing.ENOTFOUND {
			return billing.WrapError(billing.ENOTFOUND, err, "Account '%s' not found.", truncate(spec.AccountID, 64))
		}
		return err
	}
	if spec.TimeZoneID == "" {
		// An account zone no tzdata knows would make the schedule unfireable:
		// such a schedule runs in UTC.
		spec.TimeZoneID = billing.ReportZoneName("", acct.TimeZoneID)
		if _, err := billing.LoadZone(spec.TimeZoneID); err != nil {
			spec.TimeZoneID = "UTC"
		}
	}
	return nil
}

// Get returns a schedule the caller may see; any other is ENOTFOUND, so
// that no other account's schedule is revealed (OWASP API1).
func (s *Service) Get(ctx context.Context, caller billing.Caller, id string) (*billing.Schedule, error) {
	if err := requireRole(caller); err != nil {
		return nil, err
	}
	if !billing.ValidID(id) {
		return nil, notFound(id)
	}
	sc, err := s.d.Get.GetSchedule(ctx, id)
	if billing.ErrorCode(err) == billing.ENOTFOUND || err == nil && !caller.CanReadSchedule(sc) {
		return nil, notFound(id)
	}
	return sc, err
}

// List returns one page of an account's schedules that the caller may see.
func (s *Service) List(ctx context.Context, caller billing.Caller, f billing.ScheduleFilter) (billing.SchedulePage, error) {
	if err := requireRole(caller); err != nil {
		return billing.SchedulePage{}, err
	}
	account, scope, err := AccountFor(caller, f.AccountID)
	if err != nil {
		return billing.SchedulePage{}, err
	}
	f.AccountID, f.CustomerScope = account, scope
	return s.d.List.ListSchedules(ctx, f)
}

// Replace replaces a schedule's settings. Its account cannot change (a
// schedule belongs to one account); its next run is computed anew from now,
// and its history (last run, last report) is kept.
func (s *Service) Replace(ctx context.Context, caller billing.Caller, id string, dto billing.BillingReportSchedule) (*billing.Schedule, error) {
	sc, err := s.Get(ctx, caller, id)
	if err != nil {
		return nil, err
	}
	spec, err := dto.Validate(s.d.CheckWebhook)
	if err != nil {
		return nil, err
	}
	if spec.AccountID != "" && spec.AccountID != sc.Spec.AccountID {
		return nil, reports.InvalidField("InvalidFormat", "AccountId", "'AccountId' of a schedule cannot change; create a schedule in the other account.")
	}
	spec.AccountID = sc.Spec.AccountID
	if err := s.fillZone(ctx, &spec); err != nil {
		return nil, err
	}
	now := s.d.Now().UTC()
	sc.Spec, sc.DisabledReason, sc.DateUpdated, sc.NextRunAt = spec, "", now, time.Time{}
	if spec.Enabled {
		sc.NextRunAt = spec.NextRunAfter(now)
	}
	if err := s.d.Write.ReplaceSchedule(ctx, sc); err != nil {
		return nil, err
	}
	return sc, nil
}

// Delete removes a schedule the caller may see.
func (s *Service) Delete(ctx context.Context, caller billing.Caller, id string) error {
	if _, err := s.Get(ctx, caller, id); err != nil {
		return err
	}
	err := s.d.Write.DeleteSchedule(ctx, id)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		return notFound(id)
	}
	return err
}

// RunNow submits one whole period of a schedule now, as a firing would (the
// same key and report id, so a later firing of that period finds this
// report). period is "YYYY-MM-DD..YYYY-MM-DD", or "" for the latest whole
// period. It does not move the schedule's next run.
func (s *Service) RunNow(ctx context.Context, caller billing.Caller, id, period string) (*billing.Report, error) {
	sc, err := s.Get(ctx, caller, id)
	if err != nil {
		return nil, err
	}
	now := s.d.Now()
	var p billing.Period
	if period == "" {
		var ok bool
		if p, ok = sc.Spec.LatestPeriod(now); !ok {
			return nil, billing.Errorf(billing.ECONFLICT, "Schedule '%s' names no day it can fire on; replace it.", sc.ID)
		}
	} else {
		var ok bool
		if p, ok = billing.ParsePeriod(period); !ok {
			return nil, reports.InvalidField("InvalidFormat", "Period", "'Period' must be two dates YYYY-MM-DD..YYYY-MM-DD.")
		}
		if _, ok := sc.Spec.IsPeriod(p); !ok {
			return nil, reports.InvalidField("InvalidFormat", "Period", "'Period' must be one whole period of this schedule (a calendar month for Monthly, 7 days ending the day before its day of week for Weekly).")
		}
		if today := billing.DateOf(now.In(sc.Spec.Location())); !p.End.Before(today) {
			return nil, reports.InvalidField("LessThanOrEqual", "Period", "'Period' must have ended (before "+today.String()+" in "+sc.Spec.Location().String()+").")
		}
	}
	return s.submit(ctx, sc, p)
}

// submit is the one way a schedule makes a report.
func (s *Service) submit(ctx context.Context, sc *billing.Schedule, p billing.Period) (*billing.Report, error) {
	key := sc.IdempotencyKey(p)
	return s.d.Submit.SubmitWithID(ctx, sc.Caller(), sc.Request(p), key, reports.DerivedReportID(key))
}
