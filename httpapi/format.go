package httpapi

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"

	billing "github.com/evovoice/billing"
)

// format is a negotiated response format.
type format int

const (
	formatJSON format = iota
	formatCSV
)

const (
	contentTypeJSON = "application/json; charset=utf-8"
	contentTypeCSV  = "text/csv; charset=utf-8"
)

// negotiate picks the response format the ServiceStack way: ?format= first, then
// a .json/.csv suffix of the path (which it strips, returning the path to route
// on), then Accept. Anything else explicitly asked for is ENOTACCEPTABLE.
func negotiate(r *http.Request) (format, string, error) {
	path := r.URL.Path
	fromSuffix, hasSuffix := format(0), false
	last := path[strings.LastIndexByte(path, '/')+1:]
	if dot := strings.LastIndexByte(last, '.'); dot > 0 {
		ext := last[dot+1:]
		f, err := formatNamed(ext)
		if err != nil {
			return formatJSON, path, err
		}
		fromSuffix, hasSuffix = f, true
		path = path[:len(path)-len(ext)-1]
	}
	if q := r.URL.Query(); q.Has("format") {
		f, err := formatNamed(q.Get("format"))
		return f, path, err
	}
	if hasSuffix {
		return fromSuffix, path, nil
	}
	f, err := formatAccepted(r.Header.Values("Accept"))
	return f, path, err
}

func formatNamed(name string) (format, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "json":
		return formatJSON, nil
	case "csv":
		return formatCSV, nil
	}
	return formatJSON, billing.Errorf(billing.ENOTACCEPTABLE, "The format %q is not supported; use json or csv.", truncate(name, 40))
}

// formatAccepted reads Accept headers as RFC 9110 (12.5.1) does: each format
// gets the q-value of the most specific range that matches it (its exact type,
// then its type/*, then */*), so "application/json;q=0, */*" refuses JSON and
// accepts CSV rather than letting */* bring JSON back. The format with the
// highest q above 0 wins, JSON on a tie; no header (or an empty one) is JSON.
func formatAccepted(values []string) (format, error) {
	if strings.TrimSpace(strings.Join(values, "")) == "" {
		return formatJSON, nil
	}
	var grants [2]grant // by format
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			if mt, q, ok := mediaRange(part); ok {
				for f := range grants {
					grants[f].offer(rangeSpecificity(mt, format(f)), q)
				}
			}
		}
	}
	best, bestQ := formatJSON, 0.0
	for f := range grants {
		if g := grants[f]; g.specificity > 0 && g.q > bestQ {
			best, bestQ = format(f), g.q
		}
	}
	if bestQ == 0 {
		return formatJSON, billing.Errorf(billing.ENOTACCEPTABLE, "None of the accepted types %q is supported; use application/json or text/csv.", truncate(strings.Join(values, ", "), 100))
	}
	return best, nil
}

// grant is the q-value a format gets from the most specific range that
// matched it so far.
type grant struct {
	specificity int // 0: no range matched yet
	q           float64
}

// offer takes a matching range's q-value if the range is more specific (or
// as specific with a higher q) than the ones before.
func (g *grant) offer(spec int, q float64) {
	if spec > g.specificity || spec > 0 && spec == g.specificity && q > g.q {
		*g = grant{spec, q}
	}
}

// mediaRange parses one element of an Accept header: its media type and
// q-value (1 when absent); ok is false for an empty, malformed or
// out-of-range one, which is ignored.
func mediaRange(part string) (mt string, q float64, ok bool) {
	part = strings.TrimSpace(part)
	if part == "" {
		return "", 0, false
	}
	mt, params, err := mime.ParseMediaType(part)
	if err != nil {
		return "", 0, false
	}
	q = 1.0
	if s, has := params["q"]; has {
		if q, err = strconv.ParseFloat(s, 64); err != nil || q < 0 || q > 1 {
			return "", 0, false
		}
	}
	return mt, q, true
}

// rangeSpecificity says how specifically the media range mt names f: 3 for
// one of its types, 2 for its type/*, 1 for */*, 0 when it does not match.
func rangeSpecificity(mt string, f format) int {
	switch {
	case mt == "*/*":
		return 1
	case f == formatJSON && (mt == "application/json" || mt == "text/json"),
		f == formatCSV && mt == "text/csv":
		return 3
	case f == formatJSON && mt == "application/*",
		f == formatCSV && mt == "text/*":
		return 2
	}
	return 0
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only our own DTOs are written; they always marshal.
		panic("httpapi: marshaling a response: " + err.Error())
	}
	h := w.Header()
	h.Set("Content-Type", contentTypeJSON)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func writeCSV(w http.ResponseWriter, status int, rows [][]string) {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	cw.UseCRLF = true
	for _, row := range rows {
		for i, cell := range row {
			row[i] = csvSafe(cell)
		}
		cw.Write(row)
	}
	cw.Flush()
	h := w.Header()
	h.Set("Content-Type", contentTypeCSV)
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// csvSafe defuses spreadsheet formulas in text cells (spec 3.3 rule, applied to
// every CSV the API writes since statusMessage and email address are user text).
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// reportInfoHeader is the CSV header of ReportInfo: its PascalCase property names.
var reportInfoHeader = []string{"Id", "Name", "Status", "StatusMessage", "DateCreated", "DateUpdated", "DownloadLink", "JobId", "EmailAddressToNotify", "Server"}

func reportInfoRow(ri billing.ReportInfo) []string {
	return []string{ri.ID, ri.Name, string(ri.Status), ri.StatusMessage, ri.DateCreated, ri.DateUpdated, ri.DownloadLink, ri.JobID, ri.EmailAddressToNotify, ri.Server}
}

// reportInfoCSV is one DTO: a header row and a value row; a list has one value
// row per report.
func reportInfoCSV(infos ...billing.ReportInfo) [][]string {
	rows := [][]string{append([]string(nil), reportInfoHeader...)}
	for _, ri := range infos {
		rows = append(rows, reportInfoRow(ri))
	}
	return rows
}

// errorCSV flattens ResponseStatus: the top-level error, then one row per field
// error, under the header ErrorCode,FieldName,Message.
func errorCSV(e ErrorResponse) [][]string {
	rows := [][]string{{"ErrorCode", "FieldName", "Message"}, {e.ResponseStatus.ErrorCode, "", e.ResponseStatus.Message}}
	for _, fe := range e.ResponseStatus.Errors {
		rows = append(rows, []string{fe.ErrorCode, fe.FieldName, fe.Message})
	}
	return rows
}

// writeReportInfo writes one ReportInfo in the negotiated format.
func writeReportInfo(w http.ResponseWriter, f format, ri billing.ReportInfo) {
	if f == formatCSV {
		writeCSV(w, http.StatusOK, reportInfoCSV(ri))
		return
	}
	writeJSON(w, http.StatusOK, ri)
}

// secureHeaders are set on every response: answers hold presigned links and
// must not be cached or sniffed.
func secureHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
}
