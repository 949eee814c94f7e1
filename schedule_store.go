package billing

import (
	"context"
	"time"
)

// ScheduleStore keeps schedules (spec 2.7) with conditional writes only.
// Methods return *Error with ENOTFOUND for a missing schedule, ECONFLICT when
// a condition fails, ETOOMANY from CreateSchedule when the account has its
// maximum, and EUNAVAILABLE when the store is down.
type ScheduleStore interface {
	// CreateSchedule stores a new schedule if its id is unused (ECONFLICT)
	// and its account has fewer than max schedules (ETOOMANY).
	CreateSchedule(ctx context.Context, s *Schedule, max int) error
	// GetSchedule reads a schedule (strongly consistent).
	GetSchedule(ctx context.Context, id string) (*Schedule, error)
	// ListSchedules returns one page of an account's schedules, oldest first.
	ListSchedules(ctx context.Context, f ScheduleFilter) (SchedulePage, error)
	// ReplaceSchedule replaces the spec, NextRunAt, DisabledReason and
	// DateUpdated of an existing schedule, keeping its firing history.
	ReplaceSchedule(ctx context.Context, s *Schedule) error
	// DeleteSchedule removes a schedule and frees its account's slot.
	DeleteSchedule(ctx context.Context, id string) error
	// DueSchedules lists up to limit enabled schedules whose NextRunAt is at
	// or before now, earliest first, from the sparse due index (never a
	// scan). The index is eventually consistent: callers re-read each one.
	DueSchedules(ctx context.Context, now time.Time, limit int) ([]*Schedule, error)
	// AdvanceSchedule records a firing: only if the schedule's NextRunAt is
	// still from (ECONFLICT otherwise, ENOTFOUND if it is gone).
	AdvanceSchedule(ctx context.Context, id string, from time.Time, a ScheduleAdvance) error
}

// ScheduleAdvance is what AdvanceSchedule writes. A zero NextRunAt disables
// the schedule (it leaves the due index) with DisabledReason.
type ScheduleAdvance struct {
	NextRunAt      time.Time
	LastRunAt      time.Time // the tick's instant; zero keeps the stored one
	LastReportID   string    // "" keeps the stored one
	DisabledReason string
	Now            time.Time // the wall clock of the write: DateUpdated
}

// ScheduleFilter selects an account's schedules.
type ScheduleFilter struct {
	AccountID     string
	CustomerScope string // for Customer callers: only schedules scoped to this customer
	Limit         int
	Cursor        string // opaque to callers; the HTTP layer signs it
}

// SchedulePage is one page of ListSchedules.
type SchedulePage struct {
	Schedules []*Schedule
	Cursor    string // "" on the last page
}
