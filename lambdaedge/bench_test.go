package lambdaedge

import (
	"context"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// BenchmarkSubmitHandler measures one submit as the Lambda runs it (event ->
// proxy adapter -> edge -> bind, validate, authorize, create, enqueue ->
// response) over the in-memory store, and reports the latency distribution
// (p50-µs, p99-µs). The same Idempotency-Key every time, as the old
// benchmark's no-op store: after the first, each submit is a repeat that
// reads the record and the report back.
func BenchmarkSubmitHandler(b *testing.B) {
	claims := map[string]string{"sub": "bench", "cognito:groups": "[SystemAdministrator]"}
	ev := event(http.MethodPost, "/reports/billing", `{"accountId":"acct-acme","startDate":"2026-10-01","endDate":"2026-10-31","timeZoneId":"America/New_York","emailAddressToNotify":"ops@example.com"}`,
		map[string]string{"Idempotency-Key": "bench"}, claims)
	submit, _ := handlers(b)
	benchEvent(b, submit, ev)
}

// BenchmarkStatusGet is the same for GET /reports/{id} of a completed report
// (authorize, read, presign).
func BenchmarkStatusGet(b *testing.B) {
	_, status := handlers(b)
	ev := event(http.MethodGet, "/reports/acmedone", "", nil, map[string]string{"sub": "m", "cognito:groups": "[Manager]", "custom:accountIds": "acct-acme"})
	benchEvent(b, status, ev)
}

func benchEvent(b *testing.B, fn Function, ev events.APIGatewayV2HTTPRequest) {
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		resp, err := fn(ctx, ev)
		lat = append(lat, time.Since(start))
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("%v %d %s", err, resp.StatusCode, resp.Body)
		}
	}
	reportPercentiles(b, lat)
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	at := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Nanoseconds()) / 1e3 }
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
}
