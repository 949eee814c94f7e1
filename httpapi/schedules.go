package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/reports"
	"github.com/evovoice/billing/schedules"
)

// SubmitSchedules is what the submit function needs of the schedule store:
// it creates, replaces and deletes schedules (and runs one period now).
type SubmitSchedules interface {
	schedules.Getter
	schedules.Writer
}

// StatusSchedules is what the status function needs of the schedule store:
// reads only.
type StatusSchedules interface {
	schedules.Getter
	schedules.Lister
}

// schedulesPath is the collection of spec 2.7; /reports/schedules/{id} and
// /reports/schedules/{id}/run are below it.
const schedulesPath = "/reports/schedules"

// scheduleSegments splits a schedule path into the id and the action
// ("run"); ok is false for a path that is not a schedule route.
func scheduleSegments(path string) (id, action string, ok bool) {
	if path == schedulesPath {
		return "", "", true
	}
	rest, found := strings.CutPrefix(path, schedulesPath+"/")
	if !found || rest == "" {
		return "", "", false
	}
	id, action, _ = strings.Cut(rest, "/")
	if id == "" || action != "" && action != "run" || strings.Contains(action, "/") {
		return "", "", false
	}
	return id, action, true
}

// scheduleFields are the bindable properties of BillingReportSchedule, under
// their PascalCase names. The read-only ones are not bindable.
var scheduleFields = map[string]func(b *billing.BillingReportSchedule, v string) *billing.FieldError{
	"AccountId":  func(b *billing.BillingReportSchedule, v string) *billing.FieldError { b.AccountID = v; return nil },
	"Frequency":  func(b *billing.BillingReportSchedule, v string) *billing.FieldError { b.Frequency = v; return nil },
	"DayOfWeek":  func(b *billing.BillingReportSchedule, v string) *billing.FieldError { b.DayOfWeek = v; return nil },
	"TimeOfDay":  func(b *billing.BillingReportSchedule, v string) *billing.FieldError { b.TimeOfDay = v; return nil },
	"TimeZoneId": func(b *billing.BillingReportSchedule, v string) *billing.FieldError { b.TimeZoneID = v; return nil },
	"EmailAddressToNotify": func(b *billing.BillingReportSchedule, v string) *billing.FieldError {
		b.EmailAddressToNotify = v
		return nil
	},
	"WebhookUrl": func(b *billing.BillingReportSchedule, v string) *billing.FieldError { b.WebhookURL = v; return nil },
	"DayOfMonth": func(b *billing.BillingReportSchedule, v string) *billing.FieldError {
		v = strings.TrimSpace(v)
		if v == "" {
			b.DayOfMonth = 0
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return &billing.FieldError{ErrorCode: "InvalidFormat", FieldName: "DayOfMonth", Message: "'DayOfMonth' must be a whole number from 1 to 28."}
		}
		if n == 0 {
			n = -1 // 0 in the DTO means "not given"; an explicit 0 is out of range
		}
		b.DayOfMonth = n
		return nil
	},
	"IncludeCustomerIds": func(b *billing.BillingReportSchedule, v string) *billing.FieldError {
		ok, fe := parseBoolField("IncludeCustomerIds", v)
		b.IncludeCustomerIDs = ok
		return fe
	},
	"Enabled": func(b *billing.BillingReportSchedule, v string) *billing.FieldError {
		if strings.TrimSpace(v) == "" {
			b.Enabled = nil
			return nil
		}
		ok, fe := parseBoolField("Enabled", v)
		b.Enabled = &ok
		return fe
	},
}

func parseBoolField(name, v string) (bool, *billing.FieldError) {
	v = strings.TrimSpace(v)
	if v == "" {
		return false, nil
	}
	ok, err := strconv.ParseBool(v)
	if err != nil {
		return false, &billing.FieldError{ErrorCode: "InvalidFormat", FieldName: name, Message: "'" + name + "' must be true or false."}
	}
	return ok, nil
}

func scheduleFieldName(name string) string {
	for k := range scheduleFields {
		if strings.EqualFold(k, name) {
			return k
		}
	}
	return ""
}

func bindSchedule(r *http.Request, body []byte) (billing.BillingReportSchedule, error) {
	var b billing.BillingReportSchedule
	err := bindFields(r, body, scheduleFieldName, func(name, value string) *billing.FieldError {
		return scheduleFields[scheduleFieldName(name)](&b, value)
	})
	return b, err
}

// scheduleHeader is the CSV header of BillingReportSchedule.
var scheduleHeader = []string{"Id", "AccountId", "Frequency", "DayOfMonth", "DayOfWeek", "TimeOfDay", "TimeZoneId", "IncludeCustomerIds",
	"EmailAddressToNotify", "WebhookUrl", "Enabled", "NextRunAt", "LastRunAt", "LastReportId", "DisabledReason", "DateCreated", "DateUpdated"}

func scheduleCSV(list ...billing.BillingReportSchedule) [][]string {
	rows := [][]string{append([]string(nil), scheduleHeader...)}
	for _, s := range list {
		dom := ""
		if s.DayOfMonth != 0 {
			dom = strconv.Itoa(s.DayOfMonth)
		}
		rows = append(rows, []string{s.ID, s.AccountID, s.Frequency, dom, s.DayOfWeek, s.TimeOfDay, s.TimeZoneID,
			strconv.FormatBool(s.IncludeCustomerIDs), s.EmailAddressToNotify, s.WebhookURL, strconv.FormatBool(s.Enabled != nil && *s.Enabled),
			s.NextRunAt, s.LastRunAt, s.LastReportID, s.DisabledReason, s.DateCreated, s.DateUpdated})
	}
	return rows
}

func writeSchedule(w http.ResponseWriter, f format, status int, s *billing.Schedule) {
	info := s.Info()
	if f == formatCSV {
		writeCSV(w, status, scheduleCSV(info))
		return
	}
	writeJSON(w, status, info)
}

// ScheduleList is the body of GET /reports/schedules.
type ScheduleList struct {
	Results   []billing.BillingReportSchedule `json:"results"`
	NextToken string                          `json:"nextToken,omitempty"`
}

func methodNotAllowed(w http.ResponseWriter, allow string) error {
	w.Header().Set("Allow", allow)
	return errMethodNotAllowed
}

// serveSchedules is the submit function's part of spec 2.7: create,
// replace, delete and run one period now.
func (h *submitHandler) serveSchedules(w http.ResponseWriter, r *http.Request, f format, id, action string) error {
	if h.Schedules == nil {
		return routeNotFound()
	}
	caller, err := callerFrom(r)
	if err != nil {
		return err
	}
	if err := requireRole(caller); err != nil {
		return err
	}
	switch {
	case id == "":
		if r.Method != http.MethodPost {
			return methodNotAllowed(w, "POST")
		}
		return h.createSchedule(w, r, f, caller)
	case action == "run":
		if r.Method != http.MethodPost {
			return methodNotAllowed(w, "POST")
		}
		report, err := h.sched.RunNow(r.Context(), caller, id, strings.TrimSpace(queryFold(r)("period")))
		if err != nil {
			return err
		}
		writeReportInfo(w, f, report.Info())
		return nil
	case r.Method == http.MethodPut:
		return h.replaceSchedule(w, r, f, caller, id)
	case r.Method == http.MethodDelete:
		if err := h.sched.Delete(r.Context(), caller, id); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return methodNotAllowed(w, "PUT, DELETE")
}

func (h *submitHandler) createSchedule(w http.ResponseWriter, r *http.Request, f format, caller billing.Caller) error {
	dto, err := h.scheduleBody(r)
	if err != nil {
		return err
	}
	sc, err := h.sched.Create(r.Context(), caller, dto)
	if err != nil {
		return err
	}
	w.Header().Set("Location", schedulesPath+"/"+sc.ID)
	writeSchedule(w, f, http.StatusCreated, sc)
	return nil
}

func (h *submitHandler) replaceSchedule(w http.ResponseWriter, r *http.Request, f format, caller billing.Caller, id string) error {
	dto, err := h.scheduleBody(r)
	if err != nil {
		return err
	}
	sc, err := h.sched.Replace(r.Context(), caller, id, dto)
	if err != nil {
		return err
	}
	writeSchedule(w, f, http.StatusOK, sc)
	return nil
}

func (h *submitHandler) scheduleBody(r *http.Request) (billing.BillingReportSchedule, error) {
	body, err := readBody(r)
	if err != nil {
		return billing.BillingReportSchedule{}, err
	}
	return bindSchedule(r, body)
}

// serveSchedules is the status function's part of spec 2.7: list and get.
func (h *statusHandler) serveSchedules(w http.ResponseWriter, r *http.Request, f format, id, action string) error {
	if h.Schedules == nil || action != "" {
		return routeNotFound()
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return methodNotAllowed(w, "GET, HEAD")
	}
	caller, err := callerFrom(r)
	if err != nil {
		return err
	}
	if err := requireRole(caller); err != nil {
		return err
	}
	svc := schedules.New(schedules.Deps{Get: h.Schedules, List: h.Schedules, Now: h.Now, Logger: h.Logger})
	if id != "" {
		sc, err := svc.Get(r.Context(), caller, id)
		if err != nil {
			return err
		}
		writeSchedule(w, f, http.StatusOK, sc)
		return nil
	}
	list, err := h.listSchedules(r, svc, caller)
	if err != nil {
		return err
	}
	if f == formatCSV {
		if list.NextToken != "" {
			w.Header().Set("X-Next-Token", list.NextToken)
		}
		writeCSV(w, http.StatusOK, scheduleCSV(list.Results...))
		return nil
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

// listSchedules is one page of the schedules the caller may see.
func (h *statusHandler) listSchedules(r *http.Request, svc *schedules.Service, caller billing.Caller) (ScheduleList, error) {
	q := queryFold(r)
	limit, fe := reports.ParseLimit(q("limit"))
	if fe != nil {
		return ScheduleList{}, billing.Invalid(*fe)
	}
	account, scope, err := schedules.AccountFor(caller, strings.TrimSpace(q("accountId")))
	if err != nil {
		return ScheduleList{}, err
	}
	// The cursor is sealed for this listing: a reports cursor has another
	// Status, so it cannot be replayed here, nor one of another account.
	seal := billing.ReportFilter{AccountID: account, CustomerScope: scope, Status: "schedules"}
	filter := billing.ScheduleFilter{AccountID: account, Limit: cmpOr(limit, billing.DefaultListLimit)}
	if tok := q("nextToken"); tok != "" {
		if filter.Cursor, err = reports.OpenCursor(h.SigningKey, tok, seal); err != nil {
			return ScheduleList{}, err
		}
	}
	page, err := svc.List(r.Context(), caller, filter)
	if err != nil {
		return ScheduleList{}, err
	}
	list := ScheduleList{Results: make([]billing.BillingReportSchedule, 0, len(page.Schedules))}
	for _, sc := range page.Schedules {
		// The store filtered already; this is the last line against a leak.
		if !caller.CanReadSchedule(sc) || sc.Spec.AccountID != account {
			h.Logger.ErrorContext(r.Context(), "the store listed a schedule outside the filter", "scheduleId", sc.ID)
			continue
		}
		list.Results = append(list.Results, sc.Info())
	}
	list.NextToken = reports.SealCursor(h.SigningKey, page.Cursor, seal)
	return list, nil
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}
