package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/linktoken"
	"github.com/evovoice/billing/resources"
)

// StatusReports is what the status function needs of billing.ReportStore: reads only.
type StatusReports interface {
	GetReport(ctx context.Context, id string) (*billing.Report, error)
	ListReports(ctx context.Context, f billing.ReportFilter) (billing.ReportPage, error)
}

// Presigner is what the status function needs of billing.ReportFiles.
type Presigner interface {
	PresignGet(ctx context.Context, key, fileName string, ttl time.Duration) (string, error)
}

// StatusDeps are the status function's dependencies.
type StatusDeps struct {
	Reports StatusReports
	Files   Presigner
	// Schedules are the report schedules (spec 2.7); nil serves no schedule routes.
	Schedules StatusSchedules
	// SigningKey verifies download tokens and signs list cursors.
	SigningKey []byte
	LinkTTL    time.Duration    // presigned URL lifetime; default resources.DefaultLinkTTL
	Now        func() time.Time // default time.Now
	Logger     *slog.Logger     // default slog.Default()
}

type statusHandler struct{ StatusDeps }

// NewStatusHandler serves the status routes (StatusRoutes): GET /reports/{id},
// GET /reports, GET /reports/{id}/download and GET /openapi.json.
func NewStatusHandler(d StatusDeps) http.Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.LinkTTL <= 0 {
		d.LinkTTL = resources.DefaultLinkTTL
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if len(d.SigningKey) == 0 {
		panic("httpapi: NewStatusHandler needs a signing key")
	}
	return &statusHandler{d}
}

func (h *statusHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	secureHeaders(w)
	if r.URL.Path == "/openapi.json" {
		serveOpenAPI(w, r)
		return
	}
	f, path, err := negotiate(r)
	if err != nil {
		writeError(w, r, f, h.Logger, err)
		return
	}
	if id, action, ok := scheduleSegments(path); ok {
		if err := h.serveSchedules(w, r, f, id, action); err != nil {
			writeError(w, r, f, h.Logger, err)
		}
		return
	}
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if segs[0] != "reports" || len(segs) > 3 || len(segs) == 3 && segs[2] != "download" {
		writeError(w, r, f, h.Logger, routeNotFound())
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, r, f, h.Logger, errMethodNotAllowed)
		return
	}
	switch len(segs) {
	case 1:
		h.list(w, r, f)
	case 2:
		h.get(w, r, f, segs[1])
	case 3:
		h.download(w, r, f, segs[1])
	}
}

// readableReport loads a report the caller may see. A report of another
// account or customer is ENOTFOUND exactly like a missing one, so that no
// report's existence leaks (OWASP API1).
func (h *statusHandler) readableReport(ctx context.Context, caller billing.Caller, id string) (*billing.Report, error) {
	notFound := billing.Errorf(billing.ENOTFOUND, "Report '%s' not found.", truncate(id, 64))
	if !validReportID(id) {
		return nil, notFound
	}
	rep, err := h.Reports.GetReport(ctx, id)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	if !caller.CanRead(rep) {
		return nil, notFound
	}
	return rep, nil
}

// info is the public view of rep with a fresh presigned link when it is complete.
func (h *statusHandler) info(ctx context.Context, rep *billing.Report) (billing.ReportInfo, error) {
	ri := rep.Info()
	if rep.Status == billing.ReportCompleted && rep.ObjectKey != "" {
		link, err := h.presign(ctx, rep)
		if err != nil {
			return billing.ReportInfo{}, err
		}
		ri.DownloadLink = link
	}
	return ri, nil
}

func (h *statusHandler) presign(ctx context.Context, rep *billing.Report) (string, error) {
	name := resources.ReportFileName(rep.Request.StartDate.String(), rep.Request.EndDate.String())
	link, err := h.Files.PresignGet(ctx, rep.ObjectKey, name, h.LinkTTL)
	if err != nil {
		if billing.ErrorCode(err) == billing.EINTERNAL {
			return "", billing.WrapError(billing.EUNAVAILABLE, err, "The download link could not be made; retry.")
		}
		return "", err
	}
	return link, nil
}

func (h *statusHandler) get(w http.ResponseWriter, r *http.Request, f format, id string) {
	ri, err := h.getInfo(r, id)
	if err != nil {
		writeError(w, r, f, h.Logger, err)
		return
	}
	writeReportInfo(w, f, ri)
}

func (h *statusHandler) getInfo(r *http.Request, id string) (billing.ReportInfo, error) {
	caller, err := callerFrom(r)
	if err != nil {
		return billing.ReportInfo{}, err
	}
	if err := requireRole(caller); err != nil {
		return billing.ReportInfo{}, err
	}
	rep, err := h.readableReport(r.Context(), caller, id)
	if err != nil {
		return billing.ReportInfo{}, err
	}
	return h.info(r.Context(), rep)
}

// ReportList is the body of GET /reports.
type ReportList struct {
	Results   []billing.ReportInfo `json:"results"`
	NextToken string               `json:"nextToken,omitempty"`
}

func (h *statusHandler) list(w http.ResponseWriter, r *http.Request, f format) {
	list, err := h.listReports(r)
	if err != nil {
		writeError(w, r, f, h.Logger, err)
		return
	}
	if f == formatCSV {
		// CSV has no place for the token: it travels in a header.
		if list.NextToken != "" {
			w.Header().Set("X-Next-Token", list.NextToken)
		}
		writeCSV(w, http.StatusOK, reportInfoCSV(list.Results...))
		return
	}
	writeJSON(w, http.StatusOK, list)
}

func (h *statusHandler) listReports(r *http.Request) (ReportList, error) {
	ctx := r.Context()
	caller, err := callerFrom(r)
	if err != nil {
		return ReportList{}, err
	}
	if err := requireRole(caller); err != nil {
		return ReportList{}, err
	}
	q := queryFold(r)
	filter := billing.ReportFilter{AccountID: strings.TrimSpace(q("accountId")), Limit: billing.DefaultListLimit}
	var errs []billing.FieldError
	if fe := checkAccountID(filter.AccountID); fe != nil {
		errs = append(errs, *fe)
	}
	if s := strings.TrimSpace(q("status")); s != "" {
		st := billing.ReportStatus(s)
		for _, v := range []billing.ReportStatus{billing.ReportQueued, billing.ReportRunning, billing.ReportCompleted, billing.ReportError} {
			if strings.EqualFold(s, string(v)) {
				st = v
			}
		}
		if !st.Valid() {
			errs = append(errs, billing.FieldError{ErrorCode: "InvalidFormat", FieldName: "Status", Message: "'Status' must be one of Queued, Running, Completed, Error."})
		}
		filter.Status = st
	}
	if n, fe := parseLimit(q("limit")); fe != nil {
		errs = append(errs, *fe)
	} else if n > 0 {
		filter.Limit = n
	}
	// Reports are partitioned by account (a cross-account listing would be a
	// table scan), so an account is required of every role.
	if filter.AccountID == "" {
		if len(caller.AccountIDs) == 1 {
			filter.AccountID = caller.AccountIDs[0]
		} else {
			errs = append(errs, billing.FieldError{ErrorCode: "NotEmpty", FieldName: "AccountId", Message: "'AccountId' must not be empty."})
		}
	}
	if len(errs) > 0 {
		return ReportList{}, &billing.Error{Code: billing.EINVALID, ErrorCode: errs[0].ErrorCode, Message: errs[0].Message, FieldErrors: errs}
	}
	if filter.CustomerScope, err = caller.ScopeForAccount(filter.AccountID); err != nil {
		return ReportList{}, err
	}
	if tok := q("nextToken"); tok != "" {
		if filter.Cursor, err = openCursor(h.SigningKey, tok, filter); err != nil {
			return ReportList{}, err
		}
	}
	page, err := h.Reports.ListReports(ctx, filter)
	if err != nil {
		return ReportList{}, err
	}
	list := ReportList{Results: make([]billing.ReportInfo, 0, len(page.Reports))}
	for _, rep := range page.Reports {
		// The store filtered already; this is the last line against a leak.
		if !caller.CanRead(rep) || rep.AccountID != filter.AccountID {
			h.Logger.ErrorContext(ctx, "the store listed a report outside the filter", "reportId", rep.ID)
			continue
		}
		ri, err := h.info(ctx, rep)
		if err != nil {
			return ReportList{}, err
		}
		list.Results = append(list.Results, ri)
	}
	list.NextToken = sealCursor(h.SigningKey, page.Cursor, filter)
	return list, nil
}

// parseLimit reads a list's limit parameter: 0 when it is absent.
func parseLimit(s string) (int, *billing.FieldError) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	switch {
	case err != nil:
		return 0, &billing.FieldError{ErrorCode: "InvalidFormat", FieldName: "Limit", Message: "'Limit' must be a whole number."}
	case n < 1:
		return 0, &billing.FieldError{ErrorCode: "GreaterThanOrEqual", FieldName: "Limit", Message: "'Limit' must be greater than or equal to '1'."}
	case n > billing.MaxListLimit:
		return 0, &billing.FieldError{ErrorCode: "LessThanOrEqual", FieldName: "Limit", Message: "'Limit' must be less than or equal to '200'."}
	}
	return n, nil
}

// queryFold reads query parameters with case-insensitive names, the last
// value in the query string winning, as ServiceStack binds them.
func queryFold(r *http.Request) func(string) string {
	return func(name string) string {
		v := ""
		_ = forEachPair(r.URL.RawQuery, func(k, value string) {
			if strings.EqualFold(k, name) {
				v = value
			}
		})
		return v
	}
}

// download serves the emailed link: the token is the whole authorization.
func (h *statusHandler) download(w http.ResponseWriter, r *http.Request, f format, id string) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	link, err := h.downloadLink(r, id)
	if err != nil {
		writeError(w, r, f, h.Logger, err)
		return
	}
	w.Header().Set("Location", link)
	w.WriteHeader(http.StatusFound)
}

func (h *statusHandler) downloadLink(r *http.Request, id string) (string, error) {
	if err := linktoken.Verify(h.SigningKey, id, r.URL.Query().Get("token"), h.Now()); err != nil {
		msg := linktoken.ErrInvalid.Error()
		if errors.Is(err, linktoken.ErrMissing) || errors.Is(err, linktoken.ErrExpired) {
			msg = err.Error()
		}
		return "", &billing.Error{Code: billing.EFORBIDDEN, ErrorCode: "Forbidden", Message: upperFirst(msg) + ".", Err: err}
	}
	// A valid token was signed by us for this id, so the id is a real report's.
	rep, err := h.Reports.GetReport(r.Context(), id)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		return "", billing.Errorf(billing.ENOTFOUND, "Report '%s' no longer exists.", id)
	}
	if err != nil {
		return "", err
	}
	if rep.Status != billing.ReportCompleted || rep.ObjectKey == "" {
		return "", billing.Errorf(billing.ECONFLICT, "Report '%s' has no file to download (status %s).", id, rep.Status)
	}
	return h.presign(r.Context(), rep)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
