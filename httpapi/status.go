package httpapi

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/reports"
)

// StatusReports is what the status function needs of billing.ReportStore:
// reads only (reports.ReadStore).
type StatusReports = reports.ReadStore

// Presigner is what the status function needs of billing.ReportFiles.
type Presigner = reports.Presigner

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

type statusHandler struct {
	StatusDeps
	reader *reports.Reader
}

// NewStatusHandler serves the status routes (StatusRoutes): GET /reports/{id},
// GET /reports, GET /reports/{id}/download and GET /openapi.json.
func NewStatusHandler(d StatusDeps) http.Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if len(d.SigningKey) == 0 {
		panic("httpapi: NewStatusHandler needs a signing key")
	}
	return &statusHandler{StatusDeps: d, reader: reports.NewReader(reports.ReaderDeps{
		Reports: d.Reports, Files: d.Files, SigningKey: d.SigningKey, LinkTTL: d.LinkTTL, Now: d.Now, Logger: d.Logger,
	})}
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

func (h *statusHandler) get(w http.ResponseWriter, r *http.Request, f format, id string) {
	caller, err := callerFrom(r)
	var ri billing.ReportInfo
	if err == nil {
		ri, err = h.reader.Get(r.Context(), caller, id)
	}
	if err != nil {
		writeError(w, r, f, h.Logger, err)
		return
	}
	writeReportInfo(w, f, ri)
}

// ReportList is the body of GET /reports.
type ReportList = reports.ReportList

func (h *statusHandler) list(w http.ResponseWriter, r *http.Request, f format) {
	caller, err := callerFrom(r)
	var list ReportList
	if err == nil {
		q := queryFold(r)
		list, err = h.reader.List(r.Context(), caller, reports.ListRequest{
			AccountID: q("accountId"), Status: q("status"), Limit: q("limit"), NextToken: q("nextToken"),
		})
	}
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
	link, err := h.reader.Download(r.Context(), id, r.URL.Query().Get("token"))
	if err != nil {
		writeError(w, r, f, h.Logger, err)
		return
	}
	w.Header().Set("Location", link)
	w.WriteHeader(http.StatusFound)
}
