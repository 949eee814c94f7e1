package httpapi

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/reports"
	"github.com/evovoice/billing/schedules"
	"github.com/evovoice/billing/webhook"
)

// SubmitReports is what submit needs of billing.ReportStore: what the submit
// use case needs (reports.Store).
type SubmitReports = reports.Store

// AccountGetter is what submit needs of billing.BillingData.
type AccountGetter = reports.AccountGetter

// SubmitDeps are the submit function's dependencies, and nothing more.
type SubmitDeps struct {
	Reports     SubmitReports
	Idempotency billing.IdempotencyStore
	Accounts    AccountGetter
	Jobs        billing.JobQueue
	// Schedules are the report schedules (spec 2.7); nil serves no schedule routes.
	Schedules SubmitSchedules

	Now   func() time.Time // default time.Now
	NewID func() string    // report ids; default NewReportID
	// AllowInsecureWebhooks lets the local stack use http:// webhook targets.
	AllowInsecureWebhooks bool
	Logger                *slog.Logger // default slog.Default()
}

type submitHandler struct {
	SubmitDeps
	svc   *reports.Service
	sched *schedules.Service
}

// NewSubmitHandler serves the submit routes (SubmitRoutes): BillingReport at
// /reports/billing, /api/BillingReport and /json/reply/BillingReport, every verb.
func NewSubmitHandler(d SubmitDeps) http.Handler {
	// reports.New and schedules.New fill in Now and NewID.
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	h := &submitHandler{SubmitDeps: d, svc: d.service()}
	if d.Schedules != nil {
		h.sched = schedules.New(schedules.Deps{Get: d.Schedules, Write: d.Schedules, Submit: h.svc, Accounts: d.Accounts,
			Now: d.Now, CheckWebhook: d.checkWebhook, Logger: d.Logger})
	}
	return h
}

func (h *submitHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	secureHeaders(w)
	f, path, err := negotiate(r)
	if id, action, ok := scheduleSegments(path); err == nil && ok {
		if err := h.serveSchedules(w, r, f, id, action); err != nil {
			writeError(w, r, f, h.Logger, err)
		}
		return
	}
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

// checkWebhook is the webhook sender's guard with this stage's settings: the
// local stack (AllowInsecureWebhooks) sends to http and loopback receivers,
// as its sender does.
func (d SubmitDeps) checkWebhook(target string) error {
	return webhook.CheckURL(target, d.AllowInsecureWebhooks, d.AllowInsecureWebhooks)
}

// service is the submit use case over these dependencies: the same one a
// schedule's firing calls.
func (d SubmitDeps) service() *reports.Service {
	return reports.New(reports.Deps{
		Reports: d.Reports, Idempotency: d.Idempotency, Accounts: d.Accounts, Jobs: d.Jobs,
		Now: d.Now, NewID: d.NewID, CheckWebhook: d.checkWebhook, Logger: d.Logger,
	})
}

func (h *submitHandler) submit(r *http.Request) (billing.ReportInfo, error) {
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
	report, err := h.svc.Submit(r.Context(), caller, dto, r.Header.Get("Idempotency-Key"))
	if err != nil {
		return billing.ReportInfo{}, err
	}
	return report.Info(), nil
}

func invalidField(code, field, msg string) error { return reports.InvalidField(code, field, msg) }

// IdempotencyRecordKey is the stored key of a caller's Idempotency-Key
// (reports.IdempotencyRecordKey).
func IdempotencyRecordKey(subject, key string) string {
	return reports.IdempotencyRecordKey(subject, key)
}
