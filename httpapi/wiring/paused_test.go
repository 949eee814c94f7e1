//go:build integration

package wiring_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/devstack/devauth"
	"github.com/evovoice/billing/devstack/emulators"
	"github.com/evovoice/billing/httpapi"
	"github.com/evovoice/billing/resources"
)

// TestPausedDependencyAnswersWithin10s: with an emulator paused (SIGSTOP,
// the way a hung dependency looks: connections accepted, nothing answers),
// every API request answers within 10 seconds with 503 and the error body;
// a submit whose job could not be sent leaves its report Queued for the
// sweep; once the emulator continues, the API works again.
func TestPausedDependencyAnswersWithin10s(t *testing.T) {
	api := startLocalAPI(t)
	mgr := api.token(t, devauth.Claims{Subject: "mgr", Roles: []string{"Manager"}, AccountIDs: []string{"acct-acme"}}, time.Now())
	const body = `{"accountId":"acct-acme","startDate":"2026-10-01","endDate":"2026-10-31"}`
	existing := info(t, api.do(t, "POST", "/reports/billing", mgr, body))

	// timed checks one request's answer: 503, the error body, within the bound.
	timed := func(t *testing.T, method, path, body string) response {
		t.Helper()
		start := time.Now()
		r := api.do(t, method, path, mgr, body)
		if took := time.Since(start); took > resources.APIAnswerBound {
			t.Errorf("%s %s answered after %v, want within %v", method, path, took, resources.APIAnswerBound)
		} else {
			t.Logf("%s %s: %d after %v", method, path, r.status, took.Round(10*time.Millisecond))
		}
		if r.status != 503 || errorCode(t, r) != "ServiceUnavailable" {
			t.Errorf("%s %s = %d %s, want 503 ServiceUnavailable", method, path, r.status, r.body)
		}
		return r
	}
	pause := func(t *testing.T, svc emulators.Service) {
		t.Helper()
		if err := api.stack.Pause(svc); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := api.stack.Resume(svc); err != nil {
				t.Error(err)
			}
		})
	}

	t.Run("DynamoDB paused", func(t *testing.T) {
		pause(t, emulators.DynamoDB)
		timed(t, "GET", "/reports/"+existing.ID, "")
		timed(t, "GET", "/reports?accountId=acct-acme", "")
		timed(t, "POST", "/reports/billing", body)
	})
	// The DynamoDB subtest's cleanup resumed it.
	if r := api.do(t, "GET", "/reports/"+existing.ID, mgr, ""); r.status != 200 {
		t.Fatalf("after DynamoDB continued: %d %s", r.status, r.body)
	}

	t.Run("SQS paused: submit is 503 and the report stays Queued", func(t *testing.T) {
		pause(t, emulators.SQS)
		r := timed(t, "POST", "/reports/billing", body)
		var e httpapi.ErrorResponse
		if err := json.Unmarshal(r.body, &e); err != nil {
			t.Fatal(err)
		}
		// The message names the accepted report, which the sweep will queue.
		page, err := api.reports.ListReports(context.Background(), billing.ReportFilter{AccountID: "acct-acme", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var queuedWithoutJob *billing.Report
		for i := range page.Reports {
			if rep := page.Reports[i]; rep.ID != existing.ID && rep.Status == billing.ReportQueued && rep.JobID == "" {
				queuedWithoutJob = rep
			}
		}
		if queuedWithoutJob == nil {
			t.Fatalf("no Queued report without a job after the failed send; listed %d", len(page.Reports))
		}
		if want := "Report '" + queuedWithoutJob.ID + "' was accepted but could not be queued"; !strings.HasPrefix(e.ResponseStatus.Message, want) {
			t.Errorf("message = %q, want it to name the kept report", e.ResponseStatus.Message)
		}
	})
	if r := api.do(t, "POST", "/reports/billing", mgr, body); r.status != 200 {
		t.Fatalf("after SQS continued: %d %s", r.status, r.body)
	}
}
