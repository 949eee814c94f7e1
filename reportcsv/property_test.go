package reportcsv_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/rating"
	"github.com/evovoice/billing/rating/ratingtest"
	"github.com/evovoice/billing/reportcsv"
)

// FuzzAppendTextCell: whatever a customer is named, the cell reads back as
// that name (behind the formula guard) and never starts a formula.
func FuzzAppendTextCell(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		line := reportcsv.AppendTextCell(nil, s)
		line = append(line, ",end\r\n"...)
		rec, err := csv.NewReader(bytes.NewReader(line)).Read()
		if err != nil {
			t.Fatalf("cell %q does not parse: %v", line, err)
		}
		want := strings.ReplaceAll(s, "\r\n", "\n") // encoding/csv drops CR before LF in quoted cells
		if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
			want = "'" + want
		}
		if len(rec) != 2 || rec[0] != want || rec[1] != "end" {
			t.Fatalf("cell %q reads back as %q, want [%q end]", line, rec, want)
		}
	})
}

// randomReport rates random usage for a random customer tree.
func randomReport(t testing.TB, rng *rand.Rand) *rating.Result {
	acct := billing.Account{ID: "a", BillingSettings: billing.BillingSettings{
		billing.ItemBase:               {BaseCost: "29.99"},
		billing.ItemInboundVoiceCalls:  {UnitCost: "0.015", RawUnitMultiplier: "0.0166666667", Allowance: "100"},
		billing.ItemOutboundFaxes:      {BaseCost: "5", UnitCost: "0.105"},
		billing.ItemInboundSmsMessages: {UnitCost: "0.0075", Allowance: "3"},
	}}
	n := 1 + rng.IntN(40)
	var customers []billing.Customer
	for i := range n {
		c := billing.Customer{ID: fmt.Sprint("c", i), AccountID: "a", Name: []string{"Acme, Inc", "=x", "b", "\"q\""}[rng.IntN(4)]}
		if i > 0 && rng.IntN(2) == 0 {
			c.ParentCustomerID = fmt.Sprint("c", rng.IntN(i))
		}
		customers = append(customers, c)
	}
	p := rating.Period{Start: billing.Date{Year: 2026, Month: 9, Day: 1 + rng.IntN(28)}, End: billing.Date{Year: 2026, Month: 10, Day: 1 + rng.IntN(31)}, Loc: time.UTC}
	r, err := rating.NewRater(acct, customers, p, "")
	if err != nil {
		t.Fatal(err)
	}
	from, to := p.Bounds()
	items := []billing.Item{billing.ItemInboundVoiceCalls, billing.ItemOutboundFaxes, billing.ItemInboundSmsMessages}
	for range rng.IntN(500) {
		e := billing.UsageEvent{
			AccountID: "a", CustomerID: fmt.Sprint("c", rng.IntN(n)), Item: items[rng.IntN(3)],
			Time:        from.Add(time.Duration(rng.Int64N(int64(to.Sub(from))))),
			RawQuantity: fmt.Sprint(rng.IntN(5000)), InternationalCost: fmt.Sprintf("0.%03d", rng.IntN(1000)),
		}
		if err := r.Add(&e); err != nil {
			t.Fatal(err)
		}
	}
	return r.Result()
}

// TestTotalRowIsColumnSums reads written reports back and checks, on the text
// users see, that each cost cell of the Total row is the sum of the cells
// above it and each row's Total is the sum of its cost cells.
func TestTotalRowIsColumnSums(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	header := reportcsv.Header(reportcsv.Options{})
	for iter := range 100 {
		var buf bytes.Buffer
		if err := reportcsv.Write(&buf, randomReport(t, rng), reportcsv.Options{}); err != nil {
			t.Fatal(err)
		}
		records, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		body, total := records[1:len(records)-1], records[len(records)-1]
		for col, name := range header {
			if !strings.HasSuffix(name, "Cost") && name != "InternationalCosts" && name != "Total" {
				continue
			}
			sum := new(big.Rat)
			for _, rec := range body {
				sum.Add(sum, ratOf(rec[col]))
			}
			if got := ratOf(total[col]); got.Cmp(sum) != 0 {
				t.Errorf("report %d: Total %s = %s, column sum %s", iter, name, total[col], rating.FormatCents(sum))
			}
		}
		for _, rec := range records[1:] {
			sum := new(big.Rat)
			for col, name := range header[:len(header)-1] {
				if strings.HasSuffix(name, "Cost") || name == "InternationalCosts" {
					sum.Add(sum, ratOf(rec[col]))
				}
			}
			if ratOf(rec[len(rec)-1]).Cmp(sum) != 0 {
				t.Errorf("report %d: row %q total %s != %s", iter, rec[0], rec[len(rec)-1], rating.FormatCents(sum))
			}
		}
	}
}

// BenchmarkResultAndWrite computes and writes a report of 10,000 customers
// that all have usage (the per-customer part of a report's cost).
func BenchmarkResultAndWrite(b *testing.B) {
	const customers = 10_000
	acct := billing.Account{ID: "a", BillingSettings: billing.BillingSettings{
		billing.ItemBase:                {BaseCost: "30.00"},
		billing.ItemInboundVoiceCalls:   {UnitCost: "0.015", RawUnitMultiplier: "0.0166666667", Allowance: "100"},
		billing.ItemOutboundVoiceCalls:  {UnitCost: "0.02", RawUnitMultiplier: "0.0166666667", Allowance: "50"},
		billing.ItemOutboundSmsMessages: {UnitCost: "0.01", Allowance: "2"},
		billing.ItemLocalNumbers:        {UnitCost: "2", Allowance: "1"},
	}}
	cs := make([]billing.Customer, customers)
	for i := range cs {
		cs[i] = billing.Customer{ID: fmt.Sprintf("cust-%06d", i), AccountID: "a", Name: fmt.Sprintf("Customer %d, \"Inc\"", i)}
		if i%10 != 0 {
			cs[i].ParentCustomerID = fmt.Sprintf("cust-%06d", i-i%10)
		}
	}
	p := rating.Period{Start: billing.Date{Year: 2026, Month: 10, Day: 16}, End: billing.Date{Year: 2026, Month: 11, Day: 15}, Loc: time.UTC}
	from, _ := p.Bounds()
	items := []billing.Item{billing.ItemInboundVoiceCalls, billing.ItemOutboundVoiceCalls, billing.ItemOutboundSmsMessages, billing.ItemLocalNumbers}
	var events []billing.UsageEvent
	for i := range customers * 8 {
		events = append(events, billing.UsageEvent{
			AccountID: "a", CustomerID: cs[i%customers].ID, Item: items[i%len(items)],
			Time: from.Add(time.Duration(i%(30*24)) * time.Hour), RawQuantity: "3600", InternationalCost: "0.0125",
		})
	}
	b.ReportAllocs()
	var written int64
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		r, err := rating.NewRater(acct, cs, p, "")
		if err != nil {
			b.Fatal(err)
		}
		for k := range events {
			if err := r.Add(&events[k]); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		start := ratingtest.ProcessCPU()
		cw := &countingWriter{}
		if err := reportcsv.Write(cw, r.Result(), reportcsv.Options{IncludeCustomerIDs: true}); err != nil {
			b.Fatal(err)
		}
		cpu += ratingtest.ProcessCPU() - start
		written = cw.n
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/customers, "ns/customer")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/customers, "cpu-ns/customer")
	b.ReportMetric(float64(written), "bytes/report")
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countingWriter)(nil)
