package memstore

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	billing "github.com/evovoice/billing"
)

// Schedules is an in-memory billing.ScheduleStore: the same contract as the
// DynamoDB adapter (schedules/storetest checks both). It is safe for
// concurrent use. Err, when set, is returned by every call (a store that is
// down).
type Schedules struct {
	mu        sync.Mutex
	schedules map[string]*billing.Schedule
	Err       error
}

// NewSchedules returns an empty schedule store.
func NewSchedules() *Schedules { return &Schedules{schedules: map[string]*billing.Schedule{}} }

func cloneSchedule(s *billing.Schedule) *billing.Schedule { c := *s; return &c }

// CreateSchedule implements billing.ScheduleStore.
func (m *Schedules) CreateSchedule(_ context.Context, s *billing.Schedule, max int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return m.Err
	}
	if _, ok := m.schedules[s.ID]; ok {
		return billing.Errorf(billing.ECONFLICT, "A schedule with id %q already exists.", s.ID)
	}
	n := 0
	for _, x := range m.schedules {
		if x.Spec.AccountID == s.Spec.AccountID {
			n++
		}
	}
	if n >= max {
		return tooManySchedules(s.Spec.AccountID, max)
	}
	m.schedules[s.ID] = cloneSchedule(s)
	return nil
}

func tooManySchedules(accountID string, max int) error {
	return billing.Errorf(billing.ETOOMANY, "Account '%s' already has %d schedules, the most an account may; delete one first.", accountID, max)
}

func scheduleNotFound(id string) error {
	return billing.Errorf(billing.ENOTFOUND, "Schedule '%s' not found.", id)
}

// GetSchedule implements billing.ScheduleStore.
func (m *Schedules) GetSchedule(_ context.Context, id string) (*billing.Schedule, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return nil, m.Err
	}
	s, ok := m.schedules[id]
	if !ok {
		return nil, scheduleNotFound(id)
	}
	return cloneSchedule(s), nil
}

// ListSchedules implements billing.ScheduleStore; the cursor is the offset.
func (m *Schedules) ListSchedules(_ context.Context, f billing.ScheduleFilter) (billing.SchedulePage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return billing.SchedulePage{}, m.Err
	}
	var all []*billing.Schedule
	for _, s := range m.schedules {
		if s.Spec.AccountID == f.AccountID && (f.CustomerScope == "" || s.CustomerScope == f.CustomerScope) {
			all = append(all, cloneSchedule(s))
		}
	}
	slices.SortFunc(all, func(a, b *billing.Schedule) int {
		if c := a.DateCreated.Compare(b.DateCreated); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	from := 0
	if f.Cursor != "" {
		n, err := strconv.Atoi(f.Cursor)
		if err != nil || n < 0 || n > len(all) {
			return billing.SchedulePage{}, billing.InvalidNextToken(nil)
		}
		from = n
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	page := billing.SchedulePage{Schedules: all[from:min(len(all), from+limit)]}
	if from+limit < len(all) {
		page.Cursor = strconv.Itoa(from + limit)
	}
	return page, nil
}

// ReplaceSchedule implements billing.ScheduleStore.
func (m *Schedules) ReplaceSchedule(_ context.Context, s *billing.Schedule) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return m.Err
	}
	old, ok := m.schedules[s.ID]
	if !ok {
		return scheduleNotFound(s.ID)
	}
	n := cloneSchedule(old)
	n.Spec, n.NextRunAt, n.DisabledReason, n.DateUpdated = s.Spec, s.NextRunAt, s.DisabledReason, s.DateUpdated
	m.schedules[s.ID] = n
	return nil
}

// DeleteSchedule implements billing.ScheduleStore.
func (m *Schedules) DeleteSchedule(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return m.Err
	}
	if _, ok := m.schedules[id]; !ok {
		return scheduleNotFound(id)
	}
	delete(m.schedules, id)
	return nil
}

// DueSchedules implements billing.ScheduleStore.
func (m *Schedules) DueSchedules(_ context.Context, now time.Time, limit int) ([]*billing.Schedule, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return nil, m.Err
	}
	var due []*billing.Schedule
	for _, s := range m.schedules {
		if s.Spec.Enabled && !s.NextRunAt.IsZero() && !s.NextRunAt.After(now) {
			due = append(due, cloneSchedule(s))
		}
	}
	slices.SortFunc(due, func(a, b *billing.Schedule) int {
		if c := a.NextRunAt.Compare(b.NextRunAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return due[:min(len(due), limit)], nil
}

// AdvanceSchedule implements billing.ScheduleStore.
func (m *Schedules) AdvanceSchedule(_ context.Context, id string, from time.Time, a billing.ScheduleAdvance) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return m.Err
	}
	s, ok := m.schedules[id]
	if !ok {
		return scheduleNotFound(id)
	}
	if !s.NextRunAt.Equal(from) {
		return billing.Errorf(billing.ECONFLICT, "Schedule '%s' was advanced meanwhile.", id)
	}
	n := cloneSchedule(s)
	n.NextRunAt, n.DateUpdated = a.NextRunAt, a.Now
	if !a.LastRunAt.IsZero() {
		n.LastRunAt = a.LastRunAt
	}
	if a.LastReportID != "" {
		n.LastReportID = a.LastReportID
	}
	if a.NextRunAt.IsZero() {
		n.Spec.Enabled, n.DisabledReason = false, a.DisabledReason
	}
	m.schedules[id] = n
	return nil
}
