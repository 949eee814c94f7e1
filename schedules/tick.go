package schedules

import (
	"context"
	"errors"
	"fmt"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/resources"
)

// TickResult counts what one tick did.
type TickResult struct {
	Due      int `json:"due"`      // schedules the due index listed
	Fired    int `json:"fired"`    // periods submitted (including ones that found their report made already)
	Waiting  int `json:"waiting"`  // schedules left for the next tick: the account is at its active-report limit
	Disabled int `json:"disabled"` // schedules disabled because they can never fire again
}

func (r *TickResult) add(o TickResult) {
	r.Fired += o.Fired
	r.Waiting += o.Waiting
	r.Disabled += o.Disabled
}

// Tick fires every schedule due at now (the tick event's own time, so that
// a tick for any instant can be replayed). Each schedule runs its missed
// periods oldest first until it is no longer due at now, or until its
// account has no room for another active report (429): the rest wait for
// the next tick. The errors of single schedules are collected and returned
// after the others were handled, so that a failing tick shows up (alarm)
// without holding up the healthy schedules.
func (s *Service) Tick(ctx context.Context, now time.Time) (TickResult, error) {
	log := s.d.Logger.With("op", "tick", "at", now.UTC().Format(time.RFC3339))
	due, err := s.d.Fire.DueSchedules(ctx, now, resources.ScheduleTickBatch)
	if err != nil {
		log.ErrorContext(ctx, "listing due schedules failed; the next tick retries", "err", err)
		return TickResult{}, fmt.Errorf("listing due schedules: %w", err)
	}
	res := TickResult{Due: len(due)}
	var errs []error
	for _, d := range due {
		r, err := s.catchUp(ctx, d.ID, now)
		res.add(r)
		if err != nil {
			log.ErrorContext(ctx, "firing a schedule failed; the next tick retries it", "scheduleId", d.ID, "err", err)
			errs = append(errs, fmt.Errorf("firing schedule %s: %w", d.ID, err))
		}
	}
	if res.Fired > 0 || res.Waiting > 0 || res.Disabled > 0 || len(errs) > 0 {
		log.InfoContext(ctx, "tick", "due", res.Due, "fired", res.Fired, "waiting", res.Waiting, "disabled", res.Disabled, "errors", len(errs))
	}
	return res, errors.Join(errs...)
}

// catchUp fires one schedule's periods due at now. Each round re-reads the
// schedule (strongly consistent: the index may lag, and a delete or disable
// since the listing must win), submits the period of its NextRunAt, and
// advances NextRunAt only if no other tick did so first. A tick that loses
// that race, or comes twice, submits a period whose report exists: the
// derived report id and idempotency key return that report, and nothing new
// is made.
func (s *Service) catchUp(ctx context.Context, id string, now time.Time) (TickResult, error) {
	var res TickResult
	for {
		sc, err := s.d.Get.GetSchedule(ctx, id)
		if billing.ErrorCode(err) == billing.ENOTFOUND {
			return res, nil // deleted meanwhile: it never fires
		}
		if err != nil {
			return res, err
		}
		if !sc.Spec.Enabled || sc.NextRunAt.IsZero() || sc.NextRunAt.After(now) {
			return res, nil
		}
		p := sc.Spec.PeriodFor(sc.NextRunAt)
		report, err := s.submit(ctx, sc, p)
		if err != nil {
			return res, s.submitFailed(ctx, sc, p, now, err, &res)
		}
		res.Fired++
		// A zero next run (settings that never fire, only from a corrupt
		// item) disables the schedule rather than firing it forever.
		next := sc.Spec.NextRunAfter(sc.NextRunAt)
		a := billing.ScheduleAdvance{NextRunAt: next, LastRunAt: now, LastReportID: report.ID, Now: s.d.Now()}
		if next.IsZero() {
			a.DisabledReason = "Disabled at " + now.UTC().Format(time.RFC3339) + ": its settings name no day it can fire on."
		}
		err = s.d.Fire.AdvanceSchedule(ctx, sc.ID, sc.NextRunAt, a)
		if err != nil && !benign(err) {
			return res, fmt.Errorf("advancing past period %s: %w", p, err)
		}
		// Advanced, or another tick advanced it first: read it again.
	}
}

// submitFailed ends a catch-up whose submit failed: a schedule at its
// account's active-report limit waits (res.Waiting), one whose request can
// no longer be made is disabled (res.Disabled); any other failure is
// returned for the next tick.
func (s *Service) submitFailed(ctx context.Context, sc *billing.Schedule, p billing.Period, now time.Time, err error, res *TickResult) error {
	switch code := billing.ErrorCode(err); code {
	case billing.ETOOMANY:
		res.Waiting++
		s.d.Logger.InfoContext(ctx, "a schedule waits for room under its account's active-report limit",
			"scheduleId", sc.ID, "accountId", sc.Spec.AccountID, "period", p.String())
		return nil
	case billing.ENOTFOUND, billing.EINVALID, billing.EFORBIDDEN:
		// The account disappeared, or the request can no longer be made
		// (say, a webhook target the guard now refuses): every later
		// period would fail the same way.
		reason := "Disabled at " + now.UTC().Format(time.RFC3339) + ": " + billing.ErrorMessage(err)
		if derr := s.d.Fire.AdvanceSchedule(ctx, sc.ID, sc.NextRunAt, billing.ScheduleAdvance{DisabledReason: reason, Now: s.d.Now()}); derr != nil && !benign(derr) {
			return fmt.Errorf("disabling the schedule: %w", derr)
		}
		res.Disabled++
		s.d.Logger.WarnContext(ctx, "disabled a schedule that cannot fire", "scheduleId", sc.ID, "accountId", sc.Spec.AccountID, "reason", reason)
		return nil
	}
	return fmt.Errorf("submitting period %s: %w", p, err)
}

// benign are the advance failures that mean someone else changed the
// schedule (another tick, a replace, a delete): the next read decides.
func benign(err error) bool {
	c := billing.ErrorCode(err)
	return c == billing.ECONFLICT || c == billing.ENOTFOUND
}
