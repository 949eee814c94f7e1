package wiring_test

import (
	"strings"
	"testing"

	"github.com/evovoice/billing/appconfig"
	"github.com/evovoice/billing/httpapi/wiring"
)

// A function missing a setting it needs fails at cold start, naming it, rather
// than on its first request.
func TestWiringNamesMissingSettings(t *testing.T) {
	if _, err := wiring.Submit(appconfig.Config{ReportsTable: "r"}); err == nil ||
		!strings.Contains(err.Error(), "BILLING_TABLE") || !strings.Contains(err.Error(), "JOBS_QUEUE_URL") {
		t.Errorf("Submit: %v", err)
	}
	if _, err := wiring.Status(appconfig.Config{ReportsTable: "r", ReportsBucket: "b"}); err == nil || !strings.Contains(err.Error(), "SIGNING_SECRET") {
		t.Errorf("Status: %v", err)
	}
}
