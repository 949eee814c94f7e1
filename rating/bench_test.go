package rating_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/rating"
	"github.com/evovoice/billing/rating/ratingtest"
)

var benchItems = []billing.Item{billing.ItemInboundVoiceCalls, billing.ItemOutboundVoiceCalls, billing.ItemOutboundSmsMessages, billing.ItemLocalNumbers, billing.ItemAIInsights}

// benchSetup builds an account with n customers (a tree three levels deep),
// settings like the fixture's, and events spread over October.
func benchSetup(b *testing.B, customers, events int) (billing.Account, []billing.Customer, rating.Period, []billing.UsageEvent) {
	b.Helper()
	acct := billing.Account{ID: acctID, BillingSettings: billing.BillingSettings{
		billing.ItemBase:                {BaseCost: "30.00"},
		billing.ItemLocalNumbers:        {UnitCost: "2.00", Allowance: "1"},
		billing.ItemInboundVoiceCalls:   {UnitCost: "0.015", RawUnitMultiplier: "0.0166666667", Allowance: "100"},
		billing.ItemOutboundVoiceCalls:  {UnitCost: "0.02", RawUnitMultiplier: "0.0166666667", Allowance: "50"},
		billing.ItemOutboundSmsMessages: {UnitCost: "0.01", Allowance: "2"},
		billing.ItemAIInsights:          {UnitCost: "0.25"},
	}}
	cs := make([]billing.Customer, customers)
	for i := range cs {
		cs[i] = billing.Customer{ID: fmt.Sprintf("cust-%06d", i), AccountID: acctID, Name: fmt.Sprintf("Customer %d, \"Inc\"", i)}
		if i%10 != 0 {
			cs[i].ParentCustomerID = fmt.Sprintf("cust-%06d", i-i%10)
		}
		if i%100 == 1 {
			cs[i].OverrideBillingSettings = true
			cs[i].BillingSettings = billing.BillingSettings{billing.ItemBase: {BaseCost: "10"}}
		}
	}
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		b.Fatal(err)
	}
	p := rating.Period{Start: day(2026, 10, 1), End: day(2026, 10, 31), Loc: loc}
	from, _ := p.Bounds()
	quantities := []string{"3600", "125", "1", "0.5", "60"}
	evs := make([]billing.UsageEvent, events)
	for i := range evs {
		evs[i] = billing.UsageEvent{
			ID: fmt.Sprintf("u-%d", i), AccountID: acctID, CustomerID: cs[(i*7919)%customers].ID,
			Time: from.Add(time.Duration(i%(31*86400)) * time.Second).UTC(), Item: benchItems[i%len(benchItems)],
			RawQuantity: quantities[i%len(quantities)], Recorded: i%13 == 0,
		}
		if i%17 == 0 {
			evs[i].InternationalCost = "0.0123"
		}
	}
	return acct, cs, p, evs
}

// BenchmarkAdd measures the per-event cost of rating; the common path (known
// customer, decimal quantity) must not allocate.
func BenchmarkAdd(b *testing.B) {
	acct, cs, p, evs := benchSetup(b, 1000, 100_000)
	r, err := rating.NewRater(acct, cs, p, "")
	if err != nil {
		b.Fatal(err)
	}
	for i := range evs[:len(cs)*2] { // first events of each customer allocate its sums
		if err := r.Add(&evs[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := ratingtest.ProcessCPU()
	for i := 0; i < b.N; i++ {
		if err := r.Add(&evs[i%len(evs)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(ratingtest.ProcessCPU()-cpu)/float64(b.N), "cpu-ns/event")
}

// BenchmarkRateMillion rates 1,000,000 in-memory events for 10,000 customers
// end to end (NewRater, Add, Result): the rating share of a large report.
func BenchmarkRateMillion(b *testing.B) {
	acct, cs, p, evs := benchSetup(b, 10_000, 1_000_000)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := ratingtest.ProcessCPU()
	for i := 0; i < b.N; i++ {
		r, err := rating.NewRater(acct, cs, p, "")
		if err != nil {
			b.Fatal(err)
		}
		for k := range evs {
			if err := r.Add(&evs[k]); err != nil {
				b.Fatal(err)
			}
		}
		if res := r.Result(); res.Counted != int64(len(evs)) {
			b.Fatalf("counted %d", res.Counted)
		}
	}
	b.ReportMetric(float64(b.N)*float64(len(evs))/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(ratingtest.ProcessCPU()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
}

// BenchmarkDecodeAndRate compares JSON-decoding usage lines alone with decoding
// and rating them, so the rating's share of an offline report is visible next
// to the parsing it must stay close to (target: the whole report within 1.5x
// of parsing).
func BenchmarkDecodeAndRate(b *testing.B) {
	acct, cs, p, evs := benchSetup(b, 1000, 100_000)
	lines := make([][]byte, len(evs))
	for i := range evs {
		line, err := json.Marshal(evs[i])
		if err != nil {
			b.Fatal(err)
		}
		lines[i] = line
	}
	for _, rate := range []bool{false, true} {
		name := "decode"
		if rate {
			name = "decode+rate"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := ratingtest.ProcessCPU()
			for i := 0; i < b.N; i++ {
				r, err := rating.NewRater(acct, cs, p, "")
				if err != nil {
					b.Fatal(err)
				}
				var e billing.UsageEvent
				for _, line := range lines {
					e = billing.UsageEvent{}
					if err := json.Unmarshal(line, &e); err != nil {
						b.Fatal(err)
					}
					if rate {
						if err := r.Add(&e); err != nil {
							b.Fatal(err)
						}
					}
				}
				if rate {
					r.Result()
				}
			}
			b.ReportMetric(float64(b.N)*float64(len(lines))/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(ratingtest.ProcessCPU()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
		})
	}
}
