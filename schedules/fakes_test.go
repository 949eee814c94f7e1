package schedules

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/reports"
	"github.com/evovoice/billing/schedules/memstore"
)

// world is an in-memory system behind the real reports.Service: reports
// with the active-report limits (billing.SlotLimits.RefusalAmong), the
// idempotency records, accounts and the job queue.
type world struct {
	mu       sync.Mutex
	reports  map[string]*billing.Report
	order    []string // report ids in creation order
	idem     map[string]billing.IdempotencyRecord
	accounts map[string]*billing.Account
	jobs     []billing.Job
	now      time.Time
	ids      int

	store *memstore.Store
	svc   *Service
}

func newWorld(t *testing.T, now time.Time) *world {
	t.Helper()
	w := &world{
		reports:  map[string]*billing.Report{},
		idem:     map[string]billing.IdempotencyRecord{},
		accounts: map[string]*billing.Account{"acct-1": {ID: "acct-1", Name: "Acme", TimeZoneID: "America/New_York"}},
		now:      now,
		store:    memstore.New(),
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	sub := reports.New(reports.Deps{Reports: w, Idempotency: w, Accounts: w, Jobs: w, Now: w.clock, Logger: logger})
	w.svc = New(Deps{Get: w.store, List: w.store, Write: w.store, Fire: w.store, Submit: sub, Accounts: w, Now: w.clock, NewID: w.newID, Logger: logger})
	return w
}

func (w *world) clock() time.Time { w.mu.Lock(); defer w.mu.Unlock(); return w.now }

func (w *world) set(now time.Time) { w.mu.Lock(); w.now = now; w.mu.Unlock() }

func (w *world) newID() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ids++
	return fmt.Sprintf("sched-%d", w.ids)
}

func (w *world) CreateReport(_ context.Context, r *billing.Report, limits billing.SlotLimits) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.reports[r.ID]; ok {
		return billing.Errorf(billing.ECONFLICT, "exists")
	}
	if e := limits.RefusalAmong(r, slices.Collect(func(yield func(*billing.Report) bool) {
		for _, x := range w.reports {
			if !yield(x) {
				return
			}
		}
	})); e != nil {
		return e
	}
	c := *r
	w.reports[r.ID], w.order = &c, append(w.order, r.ID)
	return nil
}

func (w *world) GetReport(_ context.Context, id string) (*billing.Report, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, ok := w.reports[id]
	if !ok {
		return nil, billing.Errorf(billing.ENOTFOUND, "no report")
	}
	c := *r
	return &c, nil
}

func (w *world) SetJobID(_ context.Context, id, jobID string, now time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.reports[id].JobID, w.reports[id].DateUpdated = jobID, now
	return nil
}

func (w *world) PutIdempotency(_ context.Context, rec billing.IdempotencyRecord, now time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if old, ok := w.idem[rec.Key]; ok && old.ExpiresAt.After(now) {
		return billing.Errorf(billing.ECONFLICT, "used")
	}
	w.idem[rec.Key] = rec
	return nil
}

func (w *world) GetIdempotency(_ context.Context, key string, now time.Time) (*billing.IdempotencyRecord, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	rec, ok := w.idem[key]
	if !ok || !rec.ExpiresAt.After(now) {
		return nil, billing.Errorf(billing.ENOTFOUND, "none")
	}
	return &rec, nil
}

func (w *world) GetAccount(_ context.Context, id string) (*billing.Account, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	a, ok := w.accounts[id]
	if !ok {
		return nil, billing.Errorf(billing.ENOTFOUND, "no account")
	}
	return a, nil
}

func (w *world) Enqueue(_ context.Context, job billing.Job) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.jobs = append(w.jobs, job)
	return fmt.Sprintf("msg-%d", len(w.jobs)), nil
}

// periods are the periods of the reports made, in creation order.
func (w *world) periods() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, id := range w.order {
		r := w.reports[id]
		out = append(out, r.Request.StartDate.String()+".."+r.Request.EndDate.String())
	}
	return out
}

// finishAll marks every report Completed, freeing the account's slots.
func (w *world) finishAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.reports {
		r.Status = billing.ReportCompleted
	}
}

func manager() billing.Caller {
	return billing.Caller{Subject: "user-m", Roles: []billing.Role{billing.RoleManager}, AccountIDs: []string{"acct-1"}}
}

func mustCreate(t *testing.T, w *world, dto billing.BillingReportSchedule) *billing.Schedule {
	t.Helper()
	sc, err := w.svc.Create(context.Background(), manager(), dto)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func utc(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
