package ddbstore

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/resources"
)

// projected is what QueryUsage's projection returns of a stored item.
func projected(it item) item {
	return item{resources.BillingSK: it[resources.BillingSK], attrUsage: it[attrUsage]}
}

// exactlySame compares every field but Description, text for text: the
// compact format keeps the imported decimal text, so "1.50" stays "1.50".
func exactlySame(a, b billing.UsageEvent) bool {
	a.Description, b.Description = "", ""
	return a.ID == b.ID && a.Time.Equal(b.Time) && a.Time.Location() == time.UTC &&
		a.AccountID == b.AccountID && a.CustomerID == b.CustomerID && a.Item == b.Item &&
		a.RawQuantity == b.RawQuantity && a.InternationalCost == b.InternationalCost && a.Recorded == b.Recorded
}

func TestUsageItemsAreCompactAndRoundTripExactly(t *testing.T) {
	events := typicalUsage(t, 2000)
	odd := events[0]
	odd.ID, odd.CustomerID = "id#with|odd chars", "cust|with|bars and spaces"
	odd.RawQuantity, odd.InternationalCost, odd.Item = "1.50", "1e-5", billing.ItemAILiveMinutes
	odd.Time = time.Date(2028, 2, 29, 23, 59, 59, 999999999, time.UTC)
	events = append(events, odd)
	for _, item := range billing.Items[1:] {
		ev := events[1]
		ev.Item = item
		events = append(events, ev)
	}
	items, mean := encodeAll(t, events)
	for i, ev := range events {
		it := items[i]
		for name := range it {
			if !slices.Contains([]string{resources.BillingPK, resources.BillingSK, attrUsage, attrUsageDesc}, name) {
				t.Fatalf("event %s stored with attribute %q beyond the key, %q and %q", ev.ID, name, attrUsage, attrUsageDesc)
			}
		}
		if (ev.Description != "") != (it[attrUsageDesc] != nil) || getS(it, attrUsageDesc) != ev.Description {
			t.Fatalf("event %s: description stored as %v", ev.ID, it[attrUsageDesc])
		}
		got, err := decodeUsage(projected(it), ev.AccountID)
		if err != nil {
			t.Fatalf("decoding event %s: %v", ev.ID, err)
		}
		if !exactlySame(got, ev) {
			t.Fatalf("event came back as %+v, want %+v", got, ev)
		}
	}
	// The target: at most 110 bytes per typical event (about 184 in
	// the first format, measured by BenchmarkUsageDecode).
	if mean > 110 {
		t.Fatalf("mean stored size %.1f bytes per event, want at most 110", mean)
	}
}

func TestDecodeUsageRejectsMalformedItems(t *testing.T) {
	good := encodeUsage(usageEvent("acct-1", "u-1", t0, "60"))
	cases := map[string]item{
		"no sort key":        {attrUsage: good[attrUsage]},
		"no event id":        {resources.BillingSK: avS("2026-10-01T12:00:00.000000000Z"), attrUsage: good[attrUsage]},
		"bad time":           {resources.BillingSK: avS("2026-02-30T12:00:00.000000000Z#u-1"), attrUsage: good[attrUsage]},
		"old format":         {resources.BillingSK: good[resources.BillingSK]},
		"too few fields":     {resources.BillingSK: good[resources.BillingSK], attrUsage: avS("IV|60|c-1")},
		"unknown item":       {resources.BillingSK: good[resources.BillingSK], attrUsage: avS("Base|60|||c-1")},
		"unknown flag":       {resources.BillingSK: good[resources.BillingSK], attrUsage: avS("IV|60||x|c-1")},
		"no customer":        {resources.BillingSK: good[resources.BillingSK], attrUsage: avS("IV|60||r|")},
		"number, not string": {resources.BillingSK: good[resources.BillingSK], attrUsage: avN("60")},
	}
	for name, it := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := decodeUsage(it, "acct-1")
			wantCode(t, err, billing.EINVALID)
			if billing.IsRetryable(err) {
				t.Fatalf("%v is retryable; corrupt data is not", err)
			}
		})
	}
}

func TestParseTimeKeyAgreesWithTimeParse(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 40000 {
		// Any instant of years 0000-9999, and densely around leap days.
		want := time.Unix(r.Int64N(253402300800+62167219200)-62167219200, r.Int64N(1e9)).UTC()
		if i%2 == 0 {
			want = time.Date(1900+r.IntN(600), time.February, 27+r.IntN(4), r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(1e9), time.UTC)
		}
		got, ok := parseTimeKey(timeKey(want))
		if !ok || !got.Equal(want) || got.Location() != time.UTC {
			t.Fatalf("parseTimeKey(%s) = %v, %v", timeKey(want), got, ok)
		}
	}
	for _, bad := range []string{
		"", "2026-10-01T12:00:00Z", "2026-10-01T12:00:00.000000000", "2026-13-01T12:00:00.000000000Z",
		"2026-00-01T12:00:00.000000000Z", "2027-02-29T12:00:00.000000000Z", "2026-04-31T12:00:00.000000000Z",
		"2026-10-01T24:00:00.000000000Z", "2026-10-01T12:60:00.000000000Z", "2026-10-01T12:00:60.000000000Z",
		"2026-10-01 12:00:00.000000000Z", "2026-10-0aT12:00:00.000000000Z", "2026-10-01T12:00:00.00000000aZ",
	} {
		if _, ok := parseTimeKey(bad); ok {
			t.Errorf("parseTimeKey(%q) accepted it", bad)
		}
		if _, err := time.Parse(resources.UsageTimeLayout, bad); err == nil && len(bad) == 30 {
			t.Errorf("time.Parse accepts %q but parseTimeKey does not", bad)
		}
	}
}

// FuzzDecodeUsage: any stored text decodes or fails with an error (never a
// panic), and what decodes encodes back to the same attribute.
func FuzzDecodeUsage(f *testing.F) {
	f.Add("2026-10-01T12:00:00.000000000Z#u-1", "IV|60|0.25|r|c-1")
	f.Add("2026-10-01T12:00:00.000000000Z#", "OS|1|||c|d")
	f.Add("2026-10-01T12:00:00.000000000Z", "||||")
	f.Fuzz(func(t *testing.T, sk, u string) {
		ev, err := decodeUsage(item{resources.BillingSK: avS(sk), attrUsage: avS(u)}, "acct-1")
		if err != nil {
			return
		}
		back := encodeUsage(ev)
		if getS(back, attrUsage) != u || getS(back, resources.BillingSK) != sk {
			t.Fatalf("decoded %q %q, encodes back as %q %q", sk, u, getS(back, resources.BillingSK), getS(back, attrUsage))
		}
	})
}
