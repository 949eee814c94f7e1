package worker

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/rating/ratingtest"
	"github.com/evovoice/billing/resources"
	"github.com/evovoice/billing/shardplan"
)

// sdkDecodeCPUPerEvent is the AWS SDK's CPU per usage event decoding a Query
// page, measured by dynamodb.BenchmarkUsageDecode (make bench-dynamodb,
// ddbstore/README.md): the synthetic store here skips it, so the model adds it.
const sdkDecodeCPUPerEvent = 1530 * time.Nanosecond

// scaleOut runs one report over the 366 days of 2024 (UTC) in shards, at
// most concurrent at once, against a store adding 10 ms to every page, the
// way the event source would: the planning job, then the shard jobs at
// once, then the finalize job. It returns the wall time and the process CPU
// per event.
func scaleOut(b *testing.B, concurrent int) (wall time.Duration, cpuPerEvent time.Duration, shards int) {
	const days, perDay = 366, 1000
	reports, queue := newHookedReports(), &memQueue{}
	w, err := New(Deps{
		Reports: reports, Data: &synthData{customers: 200, perDay: perDay, pageSize: 100, pageLatency: 10 * time.Millisecond},
		Files: discardFiles{}, Mailer: &memMailer{}, Queue: queue, Partials: newMemPartials(),
		Log:    slog.New(slog.DiscardHandler),
		Config: Config{PublicAPIURL: "https://api.example.com", SigningKey: testKey, ShardDays: (days + concurrent - 1) / concurrent},
	})
	if err != nil {
		b.Fatal(err)
	}
	start, end := billing.Date{Year: 2024, Month: 1, Day: 1}, billing.Date{Year: 2024, Month: 12, Day: 31}
	reports.put(&billing.Report{ID: "r-scale", AccountID: "acct-bench", Status: billing.ReportQueued,
		Request: billing.ReportRequest{AccountID: "acct-bench", StartDate: start, EndDate: end, TimeZoneID: "UTC"}})
	cpu0, wall0 := ratingtest.ProcessCPU(), time.Now()
	deliver := func(j billing.Job, i int) {
		if w.handleMessage(context.Background(), jobDelivery(fmt.Sprint("m-", i), j, 1)) {
			b.Errorf("job %+v asked for a retry", j)
		}
	}
	deliver(billing.Job{ReportID: "r-scale"}, 0)
	for round := 0; round < 3; round++ {
		var wg sync.WaitGroup
		for i, j := range queue.take() {
			wg.Add(1)
			go func() { defer wg.Done(); deliver(j, i) }()
		}
		wg.Wait()
	}
	wall, cpu := time.Since(wall0), ratingtest.ProcessCPU()-cpu0
	r := reports.get("r-scale")
	n := max(len(r.Shards), 1)
	want := fmt.Sprintf("Completed: %d usage records in %d %s.", days*perDay, n, shardWord(n)) // the worker says "1 shard."
	if r.Status != billing.ReportCompleted || r.StatusMessage != want {
		b.Fatalf("report %s %q, want %q", r.Status, r.StatusMessage, want)
	}
	return wall, cpu / (days * perDay), n
}

// BenchmarkScaleOut (issue 11, item 8b): MEASURED wall time of one 366-day
// report of 366,000 events (10 pages a day, 10 ms a page) run as 1, 8 and 64
// concurrent shards, and the process CPU per event; then the MODELLED cost of
// 10M, 100M and 1B events (item 8c) from that CPU per event plus the SDK's
// measured decoding cost, for the deployed function.
func BenchmarkScaleOut(b *testing.B) {
	var base time.Duration
	var cpuPerEvent time.Duration
	for _, n := range []int{1, 8, 64} {
		var wall time.Duration
		var shards int
		for range b.N {
			w, cpu, s := scaleOut(b, n)
			wall += w
			cpuPerEvent, shards = cpu, s
		}
		wall /= time.Duration(b.N)
		if n == 1 {
			base = wall
		}
		b.Logf("MEASURED %2d concurrent shards (%d planned): wall %v, speed-up %.1fx, CPU %v/event", n, shards, wall.Round(time.Millisecond), base.Seconds()/wall.Seconds(), cpuPerEvent)
		b.ReportMetric(wall.Seconds(), fmt.Sprintf("s-wall-%d-shards", n))
		b.ReportMetric(base.Seconds()/wall.Seconds(), fmt.Sprintf("speedup-%d-shards", n))
	}
	b.ReportMetric(float64(cpuPerEvent.Nanoseconds()), "cpu-ns/event")
	costs := shardplan.Costs{CPUPerEvent: cpuPerEvent + sdkDecodeCPUPerEvent, BytesPerEvent: 96}
	d := shardplan.Deployment{MemoryMB: resources.WorkerMemoryMB, TimeLimit: resources.WorkerTimeout, Margin: 0.5, ShardTime: 30 * time.Second, Concurrency: resources.WorkerMaxConcurrency}
	b.Logf("MODELLED from %v/event (worker, measured above) + %v/event (SDK decoding, dynamodb bench), 96 B/event; %d MB, %d shards at once, 30 s shards, 366 days:",
		cpuPerEvent, sdkDecodeCPUPerEvent, d.MemoryMB, d.Concurrency)
	for _, events := range []int64{10_000_000, 100_000_000, 1_000_000_000} {
		e, err := shardplan.Model(events, 366, costs, d)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("  %5dM events: %3d shards, wall %6.1f s, %8.0f GB-s, %9.0f read units", events/1_000_000, e.Shards, e.Wall.Seconds(), e.GBSeconds, e.ReadUnits)
		if events == 100_000_000 {
			b.ReportMetric(e.Wall.Seconds(), "s-modelled-100M")
		}
	}
}
