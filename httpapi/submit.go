package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/webhook"
)

// SubmitReports is what submit needs of billing.ReportStore.
type SubmitReports interface {
	CreateReport(ctx context.Context, r *billing.Report, limits billing.SlotLimits) error
	GetReport(ctx context.Context, id string) (*billing.Report, error)
	SetJobID(ctx context.Context, id, jobID string, now time.Time) error
}

// AccountGetter is what submit needs of billing.BillingData.
type AccountGetter interface {
	GetAccount(ctx context.Context, id string) (*billing.Account, error)
}

// SubmitDeps are the submit function's dependencies, and nothing more.
type SubmitDeps struct {
	Reports     SubmitReports
	Idempotency billing.IdempotencyStore
	Accounts    AccountGetter
	Jobs        billing.JobQueue

	Now   func() time.Time // default time.Now
	NewID func() string    // report ids; default NewReportID
	// AllowInsecureWebhooks lets the local stack use http:// webhook targets.
	AllowInsecureWebhooks bool
	Logger                *slog.Logger // default slog.Default()
}

type submitHandler struct{ SubmitDeps }

// NewSubmitHandler serves the submit routes (SubmitRoutes): BillingReport at
// /reports/billing, /api/BillingReport and /json/reply/BillingReport, every verb.
func NewSubmitHandler(d SubmitDeps) http.Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.NewID == nil {
		d.NewID = NewReportID
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return &submitHandler{d}
}

func (h *submitHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	secureHeaders(w)
	f, path, err := negotiate(r)
	if err == nil {
		path, f = replyRoute(path, f)
		if !isSubmitPath(path) {
			err = routeNotFound()
		}
	}
	var info billing.ReportInfo
	if err == nil {
		info, err = h.submit(r)
	}
	if err != nil {
		writeError(w, r, f, h.Logger, err)
		return
	}
	writeReportInfo(w, f, info)
}

// replyRoute maps ServiceStack's /{format}/reply/{Request} routes to the
// format they name.
func replyRoute(path string, f format) (string, format) {
	switch {
	case strings.EqualFold(path, "/json/reply/BillingReport"):
		return "/reports/billing", formatJSON
	case strings.EqualFold(path, "/csv/reply/BillingReport"):
		return "/reports/billing", formatCSV
	}
	return path, f
}

func isSubmitPath(path string) bool {
	return path == "/reports/billing" || strings.EqualFold(path, "/api/BillingReport")
}

func routeNotFound() error {
	return billing.Errorf(billing.ENOTFOUND, "No route matches this request.")
}

// slotLimits are the active-report limits of spec 2.1 that submit enforces.
var slotLimits = billing.FairShare()

// checkWebhook is the webhook sender's guard with this stage's settings: the
// local stack (AllowInsecureWebhooks) sends to http and loopback receivers,
// as its sender does.
func (h *submitHandler) checkWebhook(target string) error {
	return webhook.CheckURL(target, h.AllowInsecureWebhooks, h.AllowInsecureWebhooks)
}

func (h *submitHandler) submit(r *http.Request) (billing.ReportInfo, error) {
	ctx := r.Context()
	caller, err := callerFrom(r)
	if err != nil {
		return billing.ReportInfo{}, err
	}
	if err := requireRole(caller); err != nil {
		return billing.ReportInfo{}, err
	}
	body, err := readBody(r)
	if err != nil {
		return billing.ReportInfo{}, err
	}
	dto, err := bindBillingReport(r, body)
	if err != nil {
		return billing.ReportInfo{}, err
	}
	req, err := dto.Validate(h.checkWebhook)
	if err != nil {
		return billing.ReportInfo{}, err
	}
	idemKey := r.Header.Get("Idempotency-Key")
	if utf8.RuneCountInString(idemKey) > billing.MaxIdempotencyKey {
		return billing.ReportInfo{}, invalidField("InvalidFormat", "Idempotency-Key", "'Idempotency-Key' must be at most "+strconv.Itoa(billing.MaxIdempotencyKey)+" characters.")
	}
	if fe := checkAccountID(req.AccountID); fe != nil {
		return billing.ReportInfo{}, invalidField(fe.ErrorCode, fe.FieldName, fe.Message)
	}
	if req.AccountID == "" {
		if len(caller.AccountIDs) != 1 {
			return billing.ReportInfo{}, invalidField("NotEmpty", "AccountId", "'AccountId' must not be empty.")
		}
		req.AccountID = caller.AccountIDs[0]
	}
	scope, err := caller.ScopeForAccount(req.AccountID)
	if err != nil {
		return billing.ReportInfo{}, err
	}
	acct, err := h.Accounts.GetAccount(ctx, req.AccountID)
	if err != nil {
		if billing.ErrorCode(err) == billing.ENOTFOUND {
			return billing.ReportInfo{}, billing.WrapError(billing.ENOTFOUND, err, "Account '%s' not found.", truncate(req.AccountID, 64))
		}
		return billing.ReportInfo{}, err
	}
	if req.TimeZoneID == "" {
		// Validate checked the bounds in a zone the caller gave; without one
		// the account's zone (else UTC) decides where the period lies.
		if loc, err := billing.LoadZone(acct.TimeZoneID); err == nil {
			if fe := billing.PeriodBoundsError(req.StartDate, req.EndDate, loc); fe != nil {
				return billing.ReportInfo{}, invalidField(fe.ErrorCode, fe.FieldName, fe.Message)
			}
		}
	}

	now := h.Now().UTC()
	report := &billing.Report{
		ID:            h.NewID(),
		AccountID:     req.AccountID,
		Request:       req,
		CustomerScope: scope,
		CreatedBy:     caller.Subject,
		Name:          billing.ReportName(req.StartDate, req.EndDate),
		Status:        billing.ReportQueued,
		DateCreated:   now,
		DateUpdated:   now,
	}
	if idemKey != "" {
		existing, err := h.claimIdempotencyKey(ctx, caller.Subject, idemKey, report, now)
		if err != nil {
			return billing.ReportInfo{}, err
		}
		if existing != nil {
			return h.finishExisting(ctx, existing)
		}
	}
	if err := h.Reports.CreateReport(ctx, report, slotLimits); err != nil {
		if billing.ErrorCode(err) == billing.ECONFLICT && idemKey != "" {
			// A concurrent retry with the same key created it first.
			existing, gerr := h.Reports.GetReport(ctx, report.ID)
			if gerr != nil {
				return billing.ReportInfo{}, gerr
			}
			return h.finishExisting(ctx, existing)
		}
		// ETOOMANY carries the store's message: which limit was hit.
		return billing.ReportInfo{}, err
	}
	if err := h.enqueue(ctx, report); err != nil {
		return billing.ReportInfo{}, err
	}
	return report.Info(), nil
}

// claimIdempotencyKey records that key now names report. When the caller used
// the key before it returns the report the first request made (after checking
// the parameters are the same); when that request never got as far as creating
// it, report takes over the id it reserved so this retry completes it.
func (h *submitHandler) claimIdempotencyKey(ctx context.Context, subject, key string, report *billing.Report, now time.Time) (*billing.Report, error) {
	rec := billing.IdempotencyRecord{
		Key:         IdempotencyRecordKey(subject, key),
		RequestHash: requestHash(report),
		ReportID:    report.ID,
		ExpiresAt:   now.Add(billing.IdempotencyTTL),
	}
	for attempt := 0; attempt < 2; attempt++ {
		err := h.Idempotency.PutIdempotency(ctx, rec, now)
		if err == nil {
			return nil, nil
		}
		if billing.ErrorCode(err) != billing.ECONFLICT {
			return nil, err
		}
		prev, err := h.Idempotency.GetIdempotency(ctx, rec.Key, now)
		if billing.ErrorCode(err) == billing.ENOTFOUND {
			continue // expired between the put and the get: claim it again
		}
		if err != nil {
			return nil, err
		}
		if prev.RequestHash != rec.RequestHash {
			return nil, billing.Errorf(billing.ECONFLICT, "The Idempotency-Key was already used with different parameters.")
		}
		existing, err := h.Reports.GetReport(ctx, prev.ReportID)
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
func (h *submitHandler) finishExisting(ctx context.Context, existing *billing.Report) (billing.ReportInfo, error) {
	if existing.Status == billing.ReportQueued && existing.JobID == "" {
		if err := h.enqueue(ctx, existing); err != nil {
			return billing.ReportInfo{}, err
		}
	}
	return existing.Info(), nil
}

// enqueue sends the job and records its message id. When the send fails the
// Queued report stays: the sweep re-sends it, or a retry with the same
// Idempotency-Key does.
func (h *submitHandler) enqueue(ctx context.Context, report *billing.Report) error {
	msgID, err := h.Jobs.Enqueue(ctx, billing.Job{ReportID: report.ID})
	if err != nil {
		return billing.WrapError(billing.EUNAVAILABLE, err,
			"Report '%s' was accepted but could not be queued; it will be queued automatically, or retry with the same Idempotency-Key.", report.ID)
	}
	now := h.Now().UTC()
	if err := h.Reports.SetJobID(ctx, report.ID, msgID, now); err != nil {
		// The job is on the queue and will run; only the record of its id is
		// missing, which the sweep tolerates (the worker's lease stops a double run).
		h.Logger.WarnContext(ctx, "recording the job id failed", "reportId", report.ID, "jobId", msgID, "err", err)
	}
	report.JobID, report.DateUpdated = msgID, now
	return nil
}

func invalidField(code, field, msg string) error {
	return &billing.Error{Code: billing.EINVALID, ErrorCode: code, Message: msg, FieldErrors: []billing.FieldError{{ErrorCode: code, FieldName: field, Message: msg}}}
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
