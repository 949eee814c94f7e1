package billing

import (
	"context"
	"io"
	"time"
)

// ReportStore keeps reports and enforces their state machine with conditional
// writes only (the local DynamoDB emulator has no transactions). Methods return
// *Error with ENOTFOUND for a missing report, ECONFLICT when a condition fails,
// ETOOMANY from CreateReport when the account is at its active limit, and
// EUNAVAILABLE when the store is down or throttling.
type ReportStore interface {
	// CreateReport stores a new Queued report if its id is unused and the account
	// has room for it under limits (ETOOMANY otherwise). The active counts are
	// kept atomically by the store and released by FinishReport.
	CreateReport(ctx context.Context, r *Report, limits SlotLimits) error
	GetReport(ctx context.Context, id string) (*Report, error)
	ListReports(ctx context.Context, f ReportFilter) (ReportPage, error)

	// SetJobID records the queue message id of a Queued report (and touches
	// DateUpdated, so the sweep does not re-enqueue it at once).
	SetJobID(ctx context.Context, id, jobID string, now time.Time) error

	// AcquireLease moves a report to Running with Attempt+1 if it is Queued, or
	// Running with a lease that expired before now. ECONFLICT otherwise.
	AcquireLease(ctx context.Context, id string, lease Lease) (*Report, error)
	// UpdateProgress sets StatusMessage and extends the lease, only for the
	// attempt that holds it.
	UpdateProgress(ctx context.Context, id string, attempt int, message string, now, leaseExpires time.Time) error
	// FinishReport moves a report to Completed or Error. With attempt > 0 only that
	// attempt's lease may do it; with attempt == 0 any non-final report may be
	// failed (the last receive of a poison message, or the sweep). It also releases
	// the account's active slot.
	FinishReport(ctx context.Context, id string, attempt int, out Outcome) (*Report, error)
	// ClaimNotification records that the notification of a final report is being
	// sent; ECONFLICT if it was already claimed, so an email goes out once.
	ClaimNotification(ctx context.Context, id string, now time.Time) error
	// RecordNotification stores the outcome of the email and webhook.
	RecordNotification(ctx context.Context, id string, emailResult, webhookResult string, now time.Time) error

	// StaleReports lists reports in status whose DateUpdated is before cutoff, for
	// the sweep (at most limit).
	StaleReports(ctx context.Context, status ReportStatus, cutoff time.Time, limit int) ([]*Report, error)
	// ReconcileActive recomputes the account's active-slot set from the reports'
	// real statuses, repairing drift left by a process that died mid-way.
	ReconcileActive(ctx context.Context, accountID string) error
}

// SlotLimits bound how many of an account's reports may be Queued or Running at
// once (spec 2.1). A Customer-role report (one with a CustomerScope) counts
// against all three limits, any other report against Account only, so that
// Customer-role users, however many and however busy, always leave
// Account - CustomerRoles slots to the account's Managers. Zero means no
// limit of that kind.
type SlotLimits struct {
	Account       int // all reports of the account
	CustomerRoles int // the reports of all its Customer-role callers together
	PerCustomer   int // the reports of one Customer-role caller (its subject)
}

// Refusal is the ETOOMANY error of a report that does not fit beside the
// counts of active reports (of the account, of its Customer-role callers and
// of this report's caller), naming the first limit it hits, or nil when it
// fits. customer says whether the new report is a Customer-role one. It is the
// one rule that every store enforces (atomically) and explains.
func (l SlotLimits) Refusal(accountID string, account, customerRoles, caller int, customer bool) *Error {
	full := func(n, limit int) bool { return limit > 0 && n >= limit }
	switch {
	case full(account, l.Account):
		return Errorf(ETOOMANY, "Account '%s' already has %d reports queued or running; retry when one has finished.", accountID, l.Account)
	case customer && full(caller, l.PerCustomer):
		return Errorf(ETOOMANY, "You already have %d reports queued or running, the most a Customer-role user may; retry when one has finished.", l.PerCustomer)
	case customer && full(customerRoles, l.CustomerRoles):
		return Errorf(ETOOMANY, "Account '%s' already has %d reports of Customer-role users queued or running, the most they may share; retry when one has finished.", accountID, l.CustomerRoles)
	}
	return nil
}

// RefusalAmong is Refusal for r with the counts taken from others, reports of
// any account and status (only r's account's Queued or Running ones count):
// how a store without sets, such as a test's in-memory one, applies the rule.
func (l SlotLimits) RefusalAmong(r *Report, others []*Report) *Error {
	account, customerRoles, caller := 0, 0, 0
	for _, x := range others {
		if x.AccountID != r.AccountID || x.Status.Final() {
			continue
		}
		account++
		if x.CustomerRole() {
			customerRoles++
			if x.CreatedBy == r.CreatedBy {
				caller++
			}
		}
	}
	return l.Refusal(r.AccountID, account, customerRoles, caller, r.CustomerRole())
}

// CustomerRole reports whether r was asked for by a Customer-role caller: only
// those reports are limited to a customer's subtree.
func (r *Report) CustomerRole() bool { return r.CustomerScope != "" }

// ReportFilter selects an account's reports, newest first.
type ReportFilter struct {
	AccountID     string // required unless the caller is a SystemAdministrator listing all
	CustomerScope string // for Customer callers: only reports scoped to this customer
	Status        ReportStatus
	Limit         int
	Cursor        string // opaque to callers; the HTTP layer signs it
}

// ReportPage is one page of ListReports.
type ReportPage struct {
	Reports []*Report
	Cursor  string // "" on the last page
}

// Lease is what AcquireLease writes.
type Lease struct {
	Now     time.Time
	Expires time.Time
	Server  string // function name and request id
}

// Outcome is how a report ends.
type Outcome struct {
	Status        ReportStatus // Completed or Error
	StatusMessage string
	ObjectKey     string
	RowCount      int
	ByteSize      int64
	GrandTotal    string
	Shards        int // shards the report took (recorded when above 0)
	Now           time.Time
}

// IdempotencyRecord binds a caller's Idempotency-Key to the report it created.
type IdempotencyRecord struct {
	Key         string // caller subject + "\x00" + header value
	RequestHash string // hash of the normalized request: a different request with the same key is ECONFLICT
	ReportID    string
	ExpiresAt   time.Time // the code checks this itself; emulators never expire TTL items
}

// IdempotencyStore keeps IdempotencyRecords.
type IdempotencyStore interface {
	// PutIdempotency stores rec unless an unexpired record with the same Key
	// exists (ECONFLICT).
	PutIdempotency(ctx context.Context, rec IdempotencyRecord, now time.Time) error
	// GetIdempotency returns the unexpired record for key, or ENOTFOUND.
	GetIdempotency(ctx context.Context, key string, now time.Time) (*IdempotencyRecord, error)
}

// BillingData is read access to accounts, customers and usage.
type BillingData interface {
	GetAccount(ctx context.Context, id string) (*Account, error) // ENOTFOUND if unknown
	ListCustomers(ctx context.Context, accountID string) ([]Customer, error)
	// QueryUsage calls fn with each page of the account's usage events recorded on
	// one UTC day, in time order, limited to from <= time < to. Pages of different
	// days may be read concurrently; fn must not keep the slice. Events may come
	// without their Description, which no report uses.
	QueryUsage(ctx context.Context, q UsageQuery, fn func(page []UsageEvent) error) error
}

// UsageQuery selects one UTC day of an account's usage.
type UsageQuery struct {
	AccountID string
	Day       Date // a UTC day: usage is partitioned per account and UTC day
	From, To  time.Time
}

// BillingDataWriter writes imported data; writes are idempotent by id.
type BillingDataWriter interface {
	PutAccounts(ctx context.Context, accounts []Account) error
	PutCustomers(ctx context.Context, customers []Customer) error
	PutUsage(ctx context.Context, events []UsageEvent) error
}

// JobQueue hands jobs to the worker.
type JobQueue interface {
	Enqueue(ctx context.Context, job Job) (messageID string, err error)
}

// ReportFiles stores report files and signs links to them.
type ReportFiles interface {
	// PutReport streams body to key (overwriting: a retry replaces, never
	// duplicates) and returns the number of bytes stored.
	PutReport(ctx context.Context, key string, body io.Reader, fileName string) (int64, error)
	// PresignGet returns a GET URL valid for ttl that downloads as fileName.
	PresignGet(ctx context.Context, key, fileName string, ttl time.Duration) (string, error)
}

// Email is one message with an HTML and a text part.
type Email struct {
	To      string
	Subject string
	HTML    string
	Text    string
}

// Mailer sends email.
type Mailer interface {
	Send(ctx context.Context, m Email) (messageID string, err error)
}
