// Package memstore is the one in-memory store of the ports for unit tests:
// reports, their shards and idempotency records (Reports: billing.ReportStore,
// the worker's shard methods and billing.IdempotencyStore) and schedules (Schedules: billing.ScheduleStore).
// Each keeps the DynamoDB adapter's contract, which storetest and
// schedules/storetest check against both, so a test that passes here
// exercises the rules the deployed store enforces (state machine, leases,
// SetJobID racing the worker, active slots, idempotency expiry, list order
// and cursors, the schedule limit) without an emulator.
package memstore

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	billing "github.com/evovoice/billing"
)

// Reports is safe for concurrent use. Err, when set, is returned by every
// call (a store that is down); Hook, when set, runs before every call with the
// method's name, so a test can pause or fail one call.
type Reports struct {
	mu      sync.Mutex
	reports map[string]*billing.Report
	idem    map[string]billing.IdempotencyRecord
	// progress is each sharded report's shown done count (the adapter's
	// shardProgress attribute, which billing.Report does not carry).
	progress map[string]int
	Err      error
	Hook     func(method string) error
}

var (
	_ billing.ReportStore      = (*Reports)(nil)
	_ billing.IdempotencyStore = (*Reports)(nil)
)

// NewReports returns an empty store.
func NewReports() *Reports {
	return &Reports{reports: map[string]*billing.Report{}, idem: map[string]billing.IdempotencyRecord{}, progress: map[string]int{}}
}

// clone copies r deeply, so that no caller shares the store's slices and
// maps (the adapter decodes a fresh item every time).
func clone(r *billing.Report) *billing.Report {
	c := *r
	c.Shards, c.ShardsDone, c.ShardLeases = slices.Clone(r.Shards), slices.Clone(r.ShardsDone), maps.Clone(r.ShardLeases)
	return &c
}

// begin runs the hook (unlocked, so that it may block), then locks the store
// and returns the injected failure of this call, if any, or the failure of a
// call made with a finished context, as the adapter's SDK call fails (after
// the hook, since a paused call finds its context ended when it resumes).
// The caller unlocks whatever it returns.
func (m *Reports) begin(ctx context.Context, method string) error {
	var err error
	if m.Hook != nil {
		err = m.Hook(method)
	}
	m.mu.Lock()
	if err != nil {
		return err
	}
	if err := ctxErr(ctx, method); err != nil {
		return err
	}
	return m.Err
}

// ctxErr is translate's answer (ddbstore/errors.go) to a call whose context
// ended: a cancelled one is passed on as it is (the caller gave up), an
// expired deadline is the store not answering in time, EUNAVAILABLE.
func ctxErr(ctx context.Context, method string) error {
	switch err := ctx.Err(); {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("calling %s: %w", method, err)
	default:
		return billing.WrapError(billing.EUNAVAILABLE, fmt.Errorf("calling %s: %w", method, err), "The report store is unavailable; try again later.")
	}
}

func notFound(id string) error {
	return billing.Errorf(billing.ENOTFOUND, "Report '%s' not found.", id)
}

func conflict(doing, id string) error {
	return billing.Errorf(billing.ECONFLICT, "The report %s is not in a state that allows %s.", id, doing)
}

// Put stores r as it is, without any rule: a report as a crashed process or
// an earlier version left it.
func (m *Reports) Put(r billing.Report) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.DateUpdated.IsZero() {
		r.DateUpdated = r.DateCreated
	}
	m.reports[r.ID] = clone(&r)
	delete(m.progress, r.ID)
}

// ForgetIdempotency drops every idempotency record, as their expiry would.
func (m *Reports) ForgetIdempotency() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.idem = map[string]billing.IdempotencyRecord{}
}

// All returns a copy of every stored report, in id order.
func (m *Reports) All() []*billing.Report {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*billing.Report, 0, len(m.reports))
	for _, r := range m.reports {
		out = append(out, clone(r))
	}
	slices.SortFunc(out, func(a, b *billing.Report) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// CreateReport implements billing.ReportStore: the slot rule is
// billing.SlotLimits.RefusalAmong over the stored reports, under the lock,
// which is what the adapter's conditional writes over the account's sets
// amount to.
func (m *Reports) CreateReport(ctx context.Context, r *billing.Report, limits billing.SlotLimits) error {
	if err := m.begin(ctx, "CreateReport"); err != nil {
		m.mu.Unlock()
		return err
	}
	defer m.mu.Unlock()
	if r.ID == "" || r.AccountID == "" || r.Status != billing.ReportQueued || r.DateCreated.IsZero() {
		return billing.Errorf(billing.EINVALID, "A new report needs an id, an account, status Queued and a creation time.")
	}
	if r.DateUpdated.IsZero() {
		r.DateUpdated = r.DateCreated
	}
	if _, ok := m.reports[r.ID]; ok {
		return billing.Errorf(billing.ECONFLICT, "A report with id %q already exists.", r.ID)
	}
	others := make([]*billing.Report, 0, len(m.reports))
	for _, x := range m.reports {
		others = append(others, x)
	}
	if e := limits.RefusalAmong(r, others); e != nil {
		return e
	}
	m.reports[r.ID] = clone(r)
	return nil
}

// GetReport implements billing.ReportStore.
func (m *Reports) GetReport(ctx context.Context, id string) (*billing.Report, error) {
	if err := m.begin(ctx, "GetReport"); err != nil {
		m.mu.Unlock()
		return nil, err
	}
	defer m.mu.Unlock()
	r, ok := m.reports[id]
	if !ok {
		return nil, notFound(id)
	}
	return clone(r), nil
}

// cursor is the position after a listed report: its account and its place
// in the account's order, so a cursor of another account is refused as the
// adapter refuses it.
type cursor struct {
	AccountID string    `json:"a"`
	Created   time.Time `json:"c"`
	ID        string    `json:"i"`
}

// newerFirst is the listing order: newest DateCreated first, then id
// descending (the adapter's byAccount sort key, "created#id", scanned
// backwards).
func newerFirst(aCreated time.Time, aID string, bCreated time.Time, bID string) int {
	if c := bCreated.Compare(aCreated); c != 0 {
		return c
	}
	return cmp.Compare(bID, aID)
}

// ListReports implements billing.ReportStore.
func (m *Reports) ListReports(ctx context.Context, f billing.ReportFilter) (billing.ReportPage, error) {
	if err := m.begin(ctx, "ListReports"); err != nil {
		m.mu.Unlock()
		return billing.ReportPage{}, err
	}
	defer m.mu.Unlock()
	if f.AccountID == "" {
		return billing.ReportPage{}, billing.InvalidField("NotEmpty", "AccountId", "'AccountId' must not be empty.")
	}
	if f.Status != "" && !f.Status.Valid() {
		return billing.ReportPage{}, billing.Errorf(billing.EINVALID, "Unknown status %q.", f.Status)
	}
	after, err := openCursor(f)
	if err != nil {
		return billing.ReportPage{}, err
	}
	var match []*billing.Report
	for _, r := range m.reports {
		if listed(r, f) && (after == nil || newerFirst(after.Created, after.ID, r.DateCreated, r.ID) < 0) {
			match = append(match, clone(r))
		}
	}
	slices.SortFunc(match, func(a, b *billing.Report) int { return newerFirst(a.DateCreated, a.ID, b.DateCreated, b.ID) })
	limit := billing.ListLimit(f.Limit)
	if len(match) <= limit {
		return billing.ReportPage{Reports: match}, nil
	}
	last := match[limit-1]
	b, _ := json.Marshal(cursor{AccountID: f.AccountID, Created: last.DateCreated, ID: last.ID})
	return billing.ReportPage{Reports: match[:limit], Cursor: base64.RawURLEncoding.EncodeToString(b)}, nil
}

// listed reports whether f selects r.
func listed(r *billing.Report, f billing.ReportFilter) bool {
	return r.AccountID == f.AccountID && (f.Status == "" || r.Status == f.Status) && (f.CustomerScope == "" || r.CustomerScope == f.CustomerScope)
}

// openCursor is the position f.Cursor names, nil for the first page.
func openCursor(f billing.ReportFilter) (*cursor, error) {
	if f.Cursor == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(f.Cursor)
	var c cursor
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.AccountID != f.AccountID || c.ID == "" {
		return nil, billing.InvalidNextToken(err)
	}
	return &c, nil
}

// update applies change to report id when ok allows it: ENOTFOUND for a
// missing report, ECONFLICT when ok refuses, as the adapter's conditional
// UpdateItem.
func (m *Reports) update(ctx context.Context, method, doing, id string, ok func(*billing.Report) bool, change func(*billing.Report)) (*billing.Report, error) {
	if err := m.begin(ctx, method); err != nil {
		m.mu.Unlock()
		return nil, err
	}
	defer m.mu.Unlock()
	r, found := m.reports[id]
	if !found {
		return nil, notFound(id)
	}
	if !ok(r) {
		return nil, conflict(doing, id)
	}
	change(r)
	return clone(r), nil
}

func open(r *billing.Report) bool { return !r.Status.Final() }

// SetJobID implements billing.ReportStore. Like the adapter it accepts a
// report the worker already moved to Running (the worker can be faster than
// the submitter), but never a final one.
func (m *Reports) SetJobID(ctx context.Context, id, jobID string, now time.Time) error {
	_, err := m.update(ctx, "SetJobID", "recording its job id", id, open, func(r *billing.Report) {
		r.JobID, r.DateUpdated = jobID, now.UTC()
	})
	return err
}

// AcquireLease implements billing.ReportStore.
func (m *Reports) AcquireLease(ctx context.Context, id string, lease billing.Lease) (*billing.Report, error) {
	return m.update(ctx, "AcquireLease", "a lease", id, func(r *billing.Report) bool {
		return r.Status == billing.ReportQueued || r.Status == billing.ReportRunning && (r.LeaseExpires.IsZero() || r.LeaseExpires.Before(lease.Now))
	}, func(r *billing.Report) {
		r.Status = billing.ReportRunning
		r.Attempt++
		r.LeaseExpires, r.DateUpdated = lease.Expires.UTC(), lease.Now.UTC()
		if lease.Server != "" {
			r.Server = lease.Server
		}
	})
}

// UpdateProgress implements billing.ReportStore.
func (m *Reports) UpdateProgress(ctx context.Context, id string, attempt int, message string, now, leaseExpires time.Time) error {
	_, err := m.update(ctx, "UpdateProgress", "progress", id, func(r *billing.Report) bool {
		return r.Status == billing.ReportRunning && r.Attempt == attempt
	}, func(r *billing.Report) {
		r.StatusMessage, r.LeaseExpires, r.DateUpdated = message, leaseExpires.UTC(), now.UTC()
	})
	return err
}

// FinishReport implements billing.ReportStore; the slot is released with the
// status, since slots are counted from the reports themselves.
func (m *Reports) FinishReport(ctx context.Context, id string, attempt int, out billing.Outcome) (*billing.Report, error) {
	if !out.Status.Final() {
		return nil, billing.Errorf(billing.EINVALID, "A report can only finish as Completed or Error, not %q.", out.Status)
	}
	return m.update(ctx, "FinishReport", "finishing", id, func(r *billing.Report) bool {
		if attempt > 0 {
			return r.Status == billing.ReportRunning && r.Attempt == attempt
		}
		return open(r)
	}, func(r *billing.Report) {
		r.Status, r.StatusMessage, r.DateUpdated = out.Status, out.StatusMessage, out.Now.UTC()
		r.LeaseExpires = time.Time{}
		if out.ObjectKey != "" {
			r.ObjectKey = out.ObjectKey
		}
		if out.RowCount != 0 {
			r.RowCount = out.RowCount
		}
		if out.ByteSize != 0 {
			r.ByteSize = out.ByteSize
		}
		if out.GrandTotal != "" {
			r.GrandTotal = out.GrandTotal
		}
		if out.Shards > 0 {
			r.ShardCount = out.Shards
		}
	})
}

// ClaimNotification implements billing.ReportStore.
func (m *Reports) ClaimNotification(ctx context.Context, id string, now time.Time) error {
	_, err := m.update(ctx, "ClaimNotification", "claiming its notification", id, func(r *billing.Report) bool {
		return r.Status.Final() && r.NotifiedAt.IsZero()
	}, func(r *billing.Report) { r.NotifiedAt = now.UTC() })
	return err
}

// RecordNotification implements billing.ReportStore: an empty result leaves
// the stored one as it is.
func (m *Reports) RecordNotification(ctx context.Context, id string, emailResult, webhookResult string, now time.Time) error {
	_, err := m.update(ctx, "RecordNotification", "recording its notification", id, func(*billing.Report) bool { return true }, func(r *billing.Report) {
		if emailResult != "" {
			r.NotifyResult = emailResult
		}
		if webhookResult != "" {
			r.WebhookResult = webhookResult
		}
		if r.NotifiedAt.IsZero() && (emailResult != "" || webhookResult != "") {
			r.NotifiedAt = now.UTC() // recorded without a claim
		}
	})
	return err
}

// StaleReports implements billing.ReportStore: oldest DateUpdated first.
func (m *Reports) StaleReports(ctx context.Context, status billing.ReportStatus, cutoff time.Time, limit int) ([]*billing.Report, error) {
	if status != billing.ReportQueued && status != billing.ReportRunning {
		return nil, billing.Errorf(billing.EINVALID, "Only Queued or Running reports can be stale, not %q.", status)
	}
	if err := m.begin(ctx, "StaleReports"); err != nil {
		m.mu.Unlock()
		return nil, err
	}
	defer m.mu.Unlock()
	var out []*billing.Report
	for _, r := range m.reports {
		if r.Status == status && r.DateUpdated.Before(cutoff) {
			out = append(out, clone(r))
		}
	}
	slices.SortFunc(out, func(a, b *billing.Report) int {
		return cmp.Or(a.DateUpdated.Compare(b.DateUpdated), cmp.Compare(a.ID, b.ID))
	})
	if len(out) > max(limit, 0) {
		out = out[:max(limit, 0)]
	}
	return out, nil
}

// ReconcileActive implements billing.ReportStore. Slots are counted from the
// reports' statuses here, so there is no drift to repair; it checks the
// argument as the adapter does.
func (m *Reports) ReconcileActive(ctx context.Context, accountID string) error {
	if accountID == "" {
		return billing.Errorf(billing.EINVALID, "ReconcileActive needs an account.")
	}
	err := m.begin(ctx, "ReconcileActive")
	m.mu.Unlock()
	return err
}

// PutIdempotency implements billing.IdempotencyStore. Expiry is decided in
// whole seconds, as the adapter stores it (the table's TTL attribute).
func (m *Reports) PutIdempotency(ctx context.Context, rec billing.IdempotencyRecord, now time.Time) error {
	if rec.Key == "" || rec.ReportID == "" || !rec.ExpiresAt.After(now) {
		return billing.Errorf(billing.EINVALID, "An idempotency record needs a key, a report and an expiry after now.")
	}
	if err := m.begin(ctx, "PutIdempotency"); err != nil {
		m.mu.Unlock()
		return err
	}
	defer m.mu.Unlock()
	if prev, ok := m.idem[rec.Key]; ok && prev.ExpiresAt.Unix() > now.Unix() {
		return billing.Errorf(billing.ECONFLICT, "The Idempotency-Key was already used.")
	}
	rec.ExpiresAt = time.Unix(rec.ExpiresAt.Unix(), 0).UTC()
	m.idem[rec.Key] = rec
	return nil
}

// GetIdempotency implements billing.IdempotencyStore.
func (m *Reports) GetIdempotency(ctx context.Context, key string, now time.Time) (*billing.IdempotencyRecord, error) {
	if err := m.begin(ctx, "GetIdempotency"); err != nil {
		m.mu.Unlock()
		return nil, err
	}
	defer m.mu.Unlock()
	rec, ok := m.idem[key]
	if !ok || rec.ExpiresAt.Unix() <= now.Unix() {
		return nil, billing.Errorf(billing.ENOTFOUND, "No idempotency record for this key.")
	}
	return &rec, nil
}
