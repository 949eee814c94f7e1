package rating_test

import (
	"testing"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/rating"
	"github.com/evovoice/billing/rating/ratingtest"
)

// BenchmarkPartialAdd is BenchmarkAdd for a shard: the per-event cost of
// PartialRater.Add (same filters, per-slot sums and counts).
func BenchmarkPartialAdd(b *testing.B) {
	acct, cs, p, evs := benchSetup(b, 1000, 100_000)
	pr, err := rating.NewPartialRater(acct, cs, p, "")
	if err != nil {
		b.Fatal(err)
	}
	addAll(pr, evs[:len(cs)*2]) // first events of each customer allocate its sums
	b.ReportAllocs()
	b.ResetTimer()
	cpu := ratingtest.ProcessCPU()
	for i := 0; i < b.N; i++ {
		if err := pr.Add(&evs[i%len(evs)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((ratingtest.ProcessCPU()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/event")
}

// BenchmarkPartialFinalize is the finalize job's rating work for a month of
// 1,000,000 events of 10,000 customers rated in 31 one-day shards: parse the
// 31 stored partials, merge them, and rate the merge. It reports the stored
// partial bytes, which bound finalize's reads.
func BenchmarkPartialFinalize(b *testing.B) {
	acct, cs, p, evs := benchSetup(b, 10_000, 1_000_000)
	byDay := map[billing.Date][]billing.UsageEvent{}
	for _, e := range evs {
		d := billing.DateOf(e.Time)
		byDay[d] = append(byDay[d], e)
	}
	var texts [][]byte
	size := 0
	for _, d := range p.UTCDays() {
		pr, err := rating.NewPartialRater(acct, cs, p, "")
		if err != nil {
			b.Fatal(err)
		}
		addAll(pr, byDay[d])
		text, err := pr.Partial().MarshalText()
		if err != nil {
			b.Fatal(err)
		}
		texts, size = append(texts, text), size+len(text)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := ratingtest.ProcessCPU()
	for b.Loop() {
		parts := make([]*rating.Partial, len(texts))
		for i, text := range texts {
			var err error
			if parts[i], err = rating.ParsePartial(text); err != nil {
				b.Fatal(err)
			}
		}
		merged, err := rating.MergePartials(parts...)
		if err != nil {
			b.Fatal(err)
		}
		r, err := rating.NewRater(acct, cs, p, "")
		if err != nil {
			b.Fatal(err)
		}
		if err := r.AddPartial(merged); err != nil {
			b.Fatal(err)
		}
		if res := r.Result(); res.Counted != int64(len(evs)) {
			b.Fatalf("counted %d of %d events", res.Counted, len(evs))
		}
	}
	b.ReportMetric(float64((ratingtest.ProcessCPU()-cpu).Milliseconds())/float64(b.N), "cpu-ms/report")
	b.ReportMetric(float64(size)/(1<<20), "partial-MiB")
	b.ReportMetric(float64(len(texts)), "shards")
}
