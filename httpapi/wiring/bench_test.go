//go:build integration

package wiring_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/devstack/devauth"
)

// BenchmarkSubmitLocalStack measures submit over HTTP against the local stack
// (gateway JWT check, event, handler, DynamoDB and SQS emulators) and reports
// p50/p99 of the request alone; finishing each report so the account stays
// under its active limit is not timed.
func BenchmarkSubmitLocalStack(b *testing.B) {
	api := startLocalAPIB(b)
	tok, err := api.key.Mint(devauth.Claims{Subject: "bench", Roles: []string{"Manager"}, AccountIDs: []string{"acct-acme"}, TTL: time.Hour}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	client := &http.Client{}
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		req, _ := http.NewRequest("POST", api.url+"/reports/billing", strings.NewReader(`{"startDate":"2026-10-01","endDate":"2026-10-31"}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var ri billing.ReportInfo
		err = json.NewDecoder(resp.Body).Decode(&ri)
		resp.Body.Close()
		lat = append(lat, time.Since(start))
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("%d %v", resp.StatusCode, err)
		}
		if _, err := api.reports.FinishReport(ctx, ri.ID, 0, billing.Outcome{Status: billing.ReportError, StatusMessage: "benchmark", Now: time.Now()}); err != nil {
			b.Fatal(err)
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	at := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1e3 }
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}
