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
	"github.com/evovoice/billing/memstore"
	"github.com/evovoice/billing/reports"
)

// world is an in-memory system behind the real reports.Service: the one
// in-memory report store (memstore.Reports, which keeps the DynamoDB
// adapter's contract, active-report limits included), accounts and the job
// queue.
type world struct {
	*memstore.Reports
	mu       sync.Mutex
	order    []string // report ids in creation order
	accounts map[string]*billing.Account
	jobs     []billing.Job
	now      time.Time
	ids      int

	store *memstore.Schedules
	svc   *Service
}

func newWorld(t *testing.T, now time.Time) *world {
	t.Helper()
	w := &world{
		Reports:  memstore.NewReports(),
		accounts: map[string]*billing.Account{"acct-1": {ID: "acct-1", Name: "Acme", TimeZoneID: "America/New_York"}},
		now:      now,
		store:    memstore.NewSchedules(),
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

// CreateReport is the store's, remembering the creation order.
func (w *world) CreateReport(ctx context.Context, r *billing.Report, limits billing.SlotLimits) error {
	if err := w.Reports.CreateReport(ctx, r, limits); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.order = append(w.order, r.ID)
	return nil
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
	order := slices.Clone(w.order)
	w.mu.Unlock()
	var out []string
	for _, id := range order {
		r, err := w.GetReport(context.Background(), id)
		if err != nil {
			panic(err)
		}
		out = append(out, r.Request.StartDate.String()+".."+r.Request.EndDate.String())
	}
	return out
}

// finishAll completes every open report, freeing the account's slots.
func (w *world) finishAll() {
	for _, r := range w.All() {
		if !r.Status.Final() {
			if _, err := w.FinishReport(context.Background(), r.ID, 0, billing.Outcome{Status: billing.ReportCompleted, Now: w.clock()}); err != nil {
				panic(err)
			}
		}
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
