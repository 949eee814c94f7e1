package httpapi

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	billing "github.com/evovoice/billing"
)

// BenchmarkSubmitHandler measures one submit as the Lambda runs it (event ->
// proxy adapter -> bind, validate, authorize, create, enqueue -> response) with
// in-memory fakes, and reports the latency distribution (p50-µs, p99-µs).
func BenchmarkSubmitHandler(b *testing.B) {
	noop := SubmitDeps{
		Reports: &fakeReports{
			create: func(context.Context, *billing.Report, billing.SlotLimits) error { return nil },
			setJob: func(context.Context, string, string, time.Time) error { return nil },
		},
		Idempotency: &fakeIdempotency{put: func(context.Context, billing.IdempotencyRecord, time.Time) error { return nil }},
		Accounts:    &fakeAccounts{get: func(_ context.Context, id string) (*billing.Account, error) { return &billing.Account{ID: id}, nil }},
		Jobs:        &fakeQueue{enqueue: func(context.Context, billing.Job) (string, error) { return "msg-1", nil }},
		Logger:      discard,
	}
	proxy := httpadapter.NewV2(NewSubmitHandler(noop))
	r := post(`{"accountId":"acct-acme","startDate":"2026-10-01","endDate":"2026-10-31","timeZoneId":"America/New_York","emailAddressToNotify":"ops@example.com"}`, manager("acct-acme"))
	r.headers["Idempotency-Key"] = "bench"
	benchEvent(b, proxy, r.event())
}

// BenchmarkStatusGet is the same for GET /reports/{id} of a completed report
// (authorize, read, presign).
func BenchmarkStatusGet(b *testing.B) {
	w := newWorld()
	seed(w)
	proxy := httpadapter.NewV2(NewStatusHandler(w.statusDeps()))
	ev := req{path: "/reports/acmedone", claims: manager("acct-acme")}.event()
	benchEvent(b, proxy, ev)
}

func benchEvent(b *testing.B, proxy *httpadapter.HandlerAdapterV2, ev events.APIGatewayV2HTTPRequest) {
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		resp, err := proxy.ProxyWithContext(ctx, ev)
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
