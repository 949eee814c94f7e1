// Package reports is the application core of the report use cases, plain Go
// over the domain's ports: Submit, which both the HTTP API (POST
// /reports/billing) and a schedule's firing call, so that a firing is
// indistinguishable from an API submit with the same idempotency key
// (validation, scope, the active-report limits, the Queued item and the job
// on the queue); and the reads Get, List and Download (Reader). Package
// httpapi only binds, negotiates, encodes and maps their errors.
package reports

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"time"
	"unicode/utf8"

	billing "github.com/evovoice/billing"
)

// Store is what Submit needs of billing.ReportStore.
type Store interface {
	CreateReport(ctx context.Context, r *billing.Report, limits billing.SlotLimits) error
	GetReport(ctx context.Context, id string) (*billing.Report, error)
	SetJobID(ctx context.Context, id, jobID string, now time.Time) error
}

// AccountGetter is what Submit needs of billing.BillingData.
type AccountGetter interface {
	GetAccount(ctx context.Context, id string) (*billing.Account, error)
}

// Deps are Submit's dependencies.
type Deps struct {
	Reports     Store
	Idempotency billing.IdempotencyStore
	Accounts    AccountGetter
	Jobs        billing.JobQueue

	Now   func() time.Time // default time.Now
	NewID func() string    // report ids; default NewReportID
	// CheckWebhook is the webhook sender's guard with the stage's settings
	// (webhook.CheckURL); nil accepts absolute https URLs only.
	CheckWebhook func(string) error
	Logger       *slog.Logger // default slog.Default()
}

// Service runs the use case.
type Service struct{ d Deps }

// New returns a Service with d's defaults filled in.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.NewID == nil {
		d.NewID = NewReportID
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return &Service{d}
}

// SlotLimits are the active-report limits of spec 2.1 that submit enforces:
// 10 per account, of which Customer-role callers hold at most 7 together and
// 3 each.
var SlotLimits = billing.FairShare()

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewReportID returns a random, unguessable report id: 128 bits from
// crypto/rand as 26 lowercase base32 characters. Ids are not secrets (every read
// is authorized), but guessable ids would invite enumeration.
func NewReportID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand panics rather than return short)
	return idEncoding.EncodeToString(b[:])
}

// DerivedReportID is the report id of a submit whose identity is fixed by
// name (a schedule and a period): the same name always gives the same id, so
// that a retry long after its idempotency record expired still finds the
// report instead of making a second one.
func DerivedReportID(name string) string {
	sum := sha256.Sum256([]byte("report-id\x00" + name))
	return idEncoding.EncodeToString(sum[:16])
}

// CheckAccountID rejects a given account id that no import accepts (spec 2.6)
// with a field error, before any store sees it: DynamoDB answers an over-long
// key with a ValidationException, which is a bug (500) to the adapter, not bad
// input. "" passes: the caller may omit the account.
func CheckAccountID(id string) *billing.FieldError {
	if id != "" && !billing.ValidID(id) {
		return &billing.FieldError{ErrorCode: "InvalidFormat", FieldName: "AccountId",
			Message: "'AccountId' must be " + billing.IDRule + "."}
	}
	return nil
}

// InvalidField is an EINVALID error naming one field (billing.InvalidField).
func InvalidField(code, field, msg string) error { return billing.InvalidField(code, field, msg) }

// Submit validates dto for caller and queues the report (spec 2.1). With an
// idempotency key, a repeat of the same key by the same caller with the same
// parameters within 24 h returns the first report; other parameters are
// ECONFLICT.
func (s *Service) Submit(ctx context.Context, caller billing.Caller, dto billing.BillingReport, idemKey string) (*billing.Report, error) {
	return s.SubmitWithID(ctx, caller, dto, idemKey, "")
}

// SubmitWithID is Submit with a fixed report id (DerivedReportID) instead of
// a random one: when a report with that id exists already it is the answer,
// whatever the idempotency record says. "" is a random id.
//
// Top to bottom: validate the request for the caller; answer a derived id's
// existing report; make the Queued report; claim the idempotency key (a
// repeat answers the first request's report); create it under the slot
// limits (a concurrent twin's report is the answer); queue its job.
func (s *Service) SubmitWithID(ctx context.Context, caller billing.Caller, dto billing.BillingReport, idemKey, reportID string) (*billing.Report, error) {
	req, scope, err := s.request(ctx, caller, dto, idemKey)
	if err != nil {
		return nil, err
	}
	fixedID := reportID != ""
	if fixedID {
		// The derived id's report may exist from an earlier run: answering it
		// here also keeps CreateReport from reserving a slot for it again.
		if existing, err := s.existingReport(ctx, reportID); existing != nil || err != nil {
			return s.answer(ctx, existing, err)
		}
	} else {
		reportID = s.d.NewID()
	}
	report := s.newReport(reportID, caller, req, scope)
	if idemKey != "" {
		if existing, err := s.claimIdempotencyKey(ctx, caller.Subject, idemKey, report, report.DateCreated); existing != nil || err != nil {
			return s.answer(ctx, existing, err)
		}
	}
	if err := s.d.Reports.CreateReport(ctx, report, SlotLimits); err != nil {
		if billing.ErrorCode(err) == billing.ECONFLICT && (idemKey != "" || fixedID) {
			// A concurrent retry with the same key (or derived id) created it first.
			existing, gerr := s.d.Reports.GetReport(ctx, report.ID)
			return s.answer(ctx, existing, gerr)
		}
		// ETOOMANY carries the store's message: which limit was hit.
		return nil, err
	}
	if err := s.enqueue(ctx, report); err != nil {
		return nil, err
	}
	return report, nil
}

// request validates dto for caller (spec 2.1): the role, every field, the
// idempotency key, the account (the caller's only one when omitted), the
// caller's scope in it, and the period in the account's zone.
func (s *Service) request(ctx context.Context, caller billing.Caller, dto billing.BillingReport, idemKey string) (billing.ReportRequest, string, error) {
	if err := RequireRole(caller); err != nil {
		return billing.ReportRequest{}, "", err
	}
	req, err := dto.Validate(s.d.CheckWebhook)
	if err != nil {
		return billing.ReportRequest{}, "", err
	}
	if utf8.RuneCountInString(idemKey) > billing.MaxIdempotencyKey {
		return billing.ReportRequest{}, "", InvalidField("InvalidFormat", "Idempotency-Key", "'Idempotency-Key' must be at most 255 characters.")
	}
	if req.AccountID, err = accountOf(caller, req.AccountID); err != nil {
		return billing.ReportRequest{}, "", err
	}
	scope, err := caller.ScopeForAccount(req.AccountID)
	if err != nil {
		return billing.ReportRequest{}, "", err
	}
	return req, scope, s.checkAccount(ctx, req)
}

// accountOf is the account a request names, or the caller's only one.
func accountOf(caller billing.Caller, id string) (string, error) {
	if fe := CheckAccountID(id); fe != nil {
		return "", InvalidField(fe.ErrorCode, fe.FieldName, fe.Message)
	}
	if id != "" {
		return id, nil
	}
	if len(caller.AccountIDs) != 1 {
		return "", InvalidField("NotEmpty", "AccountId", "'AccountId' must not be empty.")
	}
	return caller.AccountIDs[0], nil
}

// checkAccount checks the account exists and, for a request without a zone,
// that the period's bounds hold in the account's zone: Validate checked them
// in a zone the caller gave, and the report's zone rule
// (billing.ReportZone) decides where the period lies.
func (s *Service) checkAccount(ctx context.Context, req billing.ReportRequest) error {
	acct, err := s.d.Accounts.GetAccount(ctx, req.AccountID)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		return billing.WrapError(billing.ENOTFOUND, err, "Account '%s' not found.", truncate(req.AccountID, 64))
	}
	if err != nil || req.TimeZoneID != "" {
		return err
	}
	if loc, err := billing.ReportZone("", acct.TimeZoneID); err == nil {
		if fe := billing.PeriodBoundsError(req.StartDate, req.EndDate, loc); fe != nil {
			return InvalidField(fe.ErrorCode, fe.FieldName, fe.Message)
		}
	}
	return nil
}

// existingReport is the report id, nil when there is none.
func (s *Service) existingReport(ctx context.Context, id string) (*billing.Report, error) {
	r, err := s.d.Reports.GetReport(ctx, id)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		return nil, nil
	}
	return r, err
}

// answer is the answer of a repeated request: the report the first one made
// (finishExisting), or err.
func (s *Service) answer(ctx context.Context, existing *billing.Report, err error) (*billing.Report, error) {
	if err != nil {
		return nil, err
	}
	return s.finishExisting(ctx, existing)
}

// newReport is the Queued report of req.
func (s *Service) newReport(id string, caller billing.Caller, req billing.ReportRequest, scope string) *billing.Report {
	now := s.d.Now().UTC()
	return &billing.Report{
		ID:            id,
		AccountID:     req.AccountID,
		Request:       req,
		CustomerScope: scope,
		CreatedBy:     caller.Subject,
		Name:          billing.ReportName(req.StartDate, req.EndDate),
		Status:        billing.ReportQueued,
		DateCreated:   now,
		DateUpdated:   now,
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// claimIdempotencyKey records that key now names report. When the caller used
// the key before it returns the report the first request made (after checking
// the parameters are the same); when that request never got as far as creating
// it, report takes over the id it reserved so this retry completes it.
func (s *Service) claimIdempotencyKey(ctx context.Context, subject, key string, report *billing.Report, now time.Time) (*billing.Report, error) {
	rec := billing.IdempotencyRecord{
		Key:         IdempotencyRecordKey(subject, key),
		RequestHash: requestHash(report),
		ReportID:    report.ID,
		ExpiresAt:   now.Add(billing.IdempotencyTTL),
	}
	for attempt := 0; attempt < 2; attempt++ {
		err := s.d.Idempotency.PutIdempotency(ctx, rec, now)
		if err == nil {
			return nil, nil
		}
		if billing.ErrorCode(err) != billing.ECONFLICT {
			return nil, err
		}
		prev, err := s.d.Idempotency.GetIdempotency(ctx, rec.Key, now)
		if billing.ErrorCode(err) == billing.ENOTFOUND {
			continue // expired between the put and the get: claim it again
		}
		if err != nil {
			return nil, err
		}
		if prev.RequestHash != rec.RequestHash {
			return nil, billing.Errorf(billing.ECONFLICT, "The Idempotency-Key was already used with different parameters.")
		}
		existing, err := s.d.Reports.GetReport(ctx, prev.ReportID)
		if err == nil {
			return existing, nil
		}
		if billing.ErrorCode(err) != billing.ENOTFOUND {
			return nil, err
		}
		report.ID = prev.ReportID
		return nil, nil
	}
	return nil, billing.Errorf(billing.EUNAVAILABLE, "The Idempotency-Key could not be recorded; retry.")
}

// finishExisting answers a repeated request with the report the first one made,
// queuing it first if the first request died before its job was sent.
func (s *Service) finishExisting(ctx context.Context, existing *billing.Report) (*billing.Report, error) {
	if existing.Status == billing.ReportQueued && existing.JobID == "" {
		if err := s.enqueue(ctx, existing); err != nil {
			return nil, err
		}
	}
	return existing, nil
}

// enqueue sends the job and records its message id. When the send fails the
// Queued report stays: the sweep re-sends it, or a retry with the same
// Idempotency-Key does.
func (s *Service) enqueue(ctx context.Context, report *billing.Report) error {
	msgID, err := s.d.Jobs.Enqueue(ctx, billing.Job{ReportID: report.ID})
	if err != nil {
		return billing.WrapError(billing.EUNAVAILABLE, err,
			"Report '%s' was accepted but could not be queued; it will be queued automatically, or retry with the same Idempotency-Key.", report.ID)
	}
	now := s.d.Now().UTC()
	if err := s.d.Reports.SetJobID(ctx, report.ID, msgID, now); err != nil {
		// The job is on the queue and will run; only the record of its id is
		// missing, which the sweep tolerates (the worker's lease stops a double run).
		s.d.Logger.WarnContext(ctx, "recording the job id failed", "reportId", report.ID, "jobId", msgID, "err", err)
	}
	report.JobID, report.DateUpdated = msgID, now
	return nil
}

// IdempotencyRecordKey is the stored key of a caller's Idempotency-Key: a hash,
// so keys of different callers never meet and raw header values are not stored.
func IdempotencyRecordKey(subject, key string) string {
	sum := sha256.Sum256([]byte(subject + "\x00" + key))
	return hex.EncodeToString(sum[:])
}

// requestHash identifies the normalized request, so that the same key with
// other parameters is told apart from a retry.
func requestHash(r *billing.Report) string {
	b, _ := json.Marshal(struct {
		Req   billing.ReportRequest
		Start string
		End   string
		Scope string
	}{r.Request, r.Request.StartDate.String(), r.Request.EndDate.String(), r.CustomerScope})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
