package httpapi

import (
	_ "embed"
	"log/slog"
	"net/http"
	"strconv"
)

// Route is one API Gateway HTTP API route of a function. infra/ declares them
// and the local gateway dispatches on them; Public routes have no JWT
// authorizer (the download link's token, or nothing secret, protects them).
type Route struct {
	Method string // "ANY" or an HTTP method
	Path   string // API Gateway route path
	Public bool
}

// SubmitRoutes are the routes of the submit function. The .json and .csv
// suffixes are routes of their own because API Gateway matches paths exactly.
func SubmitRoutes() []Route {
	return []Route{
		{Method: "ANY", Path: "/reports/billing"},
		{Method: "ANY", Path: "/reports/billing.json"},
		{Method: "ANY", Path: "/reports/billing.csv"},
		{Method: "ANY", Path: "/api/BillingReport"},
		{Method: "ANY", Path: "/api/BillingReport.json"},
		{Method: "ANY", Path: "/api/BillingReport.csv"},
		{Method: "ANY", Path: "/json/reply/BillingReport"},
		{Method: "ANY", Path: "/csv/reply/BillingReport"},
		// Schedules (spec 2.7): the writes and "run one period now".
		{Method: "POST", Path: "/reports/schedules"},
		{Method: "POST", Path: "/reports/schedules.json"},
		{Method: "POST", Path: "/reports/schedules.csv"},
		{Method: "PUT", Path: "/reports/schedules/{id}"},
		{Method: "DELETE", Path: "/reports/schedules/{id}"},
		{Method: "POST", Path: "/reports/schedules/{id}/run"},
	}
}

// StatusRoutes are the routes of the status function. /reports/{id} also
// matches /reports/{id}.json and .csv.
func StatusRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/reports"},
		{Method: "GET", Path: "/reports.json"},
		{Method: "GET", Path: "/reports.csv"},
		{Method: "GET", Path: "/reports/{id}"},
		{Method: "GET", Path: "/reports/{id}/download", Public: true},
		// Schedules (spec 2.7): the reads.
		{Method: "GET", Path: "/reports/schedules"},
		{Method: "GET", Path: "/reports/schedules.json"},
		{Method: "GET", Path: "/reports/schedules.csv"},
		{Method: "GET", Path: "/reports/schedules/{id}"},
		{Method: "GET", Path: "/openapi.json", Public: true},
	}
}

// OpenAPIDocument is the OpenAPI 3.1 description of the whole API.
//
//go:embed openapi.json
var OpenAPIDocument []byte

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, r, formatJSON, slog.Default(), errMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Type", contentTypeJSON)
	h.Set("Content-Length", strconv.Itoa(len(OpenAPIDocument)))
	h.Set("Cache-Control", "public, max-age=300")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(OpenAPIDocument)
	}
}
