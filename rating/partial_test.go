package rating_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/rating"
	"github.com/evovoice/billing/rating/ratingtest"
	"github.com/evovoice/billing/reportcsv"
)

// shardsOf splits days into contiguous runs at the given cut indexes.
func shardsOf(days []billing.Date, cuts []int) [][]billing.Date {
	var out [][]billing.Date
	prev := 0
	for _, c := range cuts {
		if c > prev && c < len(days) {
			out = append(out, days[prev:c])
			prev = c
		}
	}
	return append(out, days[prev:])
}

// randomCuts picks one of three ways to split a period's UTC days: at random
// points, into one-day shards, or at the UTC day of each local month start
// (so a month boundary falls at a shard edge, not only inside a shard).
func randomCuts(rng *rand.Rand, p rating.Period, days []billing.Date) []int {
	var cuts []int
	switch rng.IntN(3) {
	case 0:
		for i := 1; i < len(days); i++ {
			if rng.IntN(4) == 0 {
				cuts = append(cuts, i)
			}
		}
	case 1:
		for i := 1; i < len(days); i++ {
			cuts = append(cuts, i)
		}
	case 2:
		for d := p.Start; !p.End.Before(d); d = d.AddDays(1) {
			if d.Day == 1 {
				utcDay := billing.DateOf(rating.StartOfDay(d, p.Loc).UTC())
				cuts = append(cuts, slices.Index(days, utcDay), slices.Index(days, utcDay)+1)
			}
		}
		slices.Sort(cuts)
	}
	return cuts
}

// shardEvents gives each shard the events of its UTC days, as the worker's
// day reads would; events of days no shard reads go nowhere.
func shardEvents(shards [][]billing.Date, events []billing.UsageEvent) [][]billing.UsageEvent {
	out := make([][]billing.UsageEvent, len(shards))
	for _, e := range events {
		d := billing.DateOf(e.Time.UTC())
		for i, days := range shards {
			if slices.Contains(days, d) {
				out[i] = append(out[i], e)
			}
		}
	}
	return out
}

// addAll adds events to a Rater or PartialRater, skipping those Add rejects
// (a failed Add changes nothing, and a whole report and a shard reject the
// same ones).
func addAll(r interface {
	Add(*billing.UsageEvent) error
}, events []billing.UsageEvent) {
	for i := range events {
		_ = r.Add(&events[i])
	}
}

// rateWhole rates events in one Rater.
func rateWhole(t *testing.T, acct billing.Account, customers []billing.Customer, p rating.Period, scope string, events []billing.UsageEvent) *rating.Result {
	t.Helper()
	r, err := rating.NewRater(acct, customers, p, scope)
	if err != nil {
		t.Fatalf("NewRater: %v", err)
	}
	addAll(r, events)
	return r.Result()
}

// shardPartial is one shard's work: rate its events into a partial, encode it
// (what the shard stores) and decode it (what finalize reads).
func shardPartial(t *testing.T, acct billing.Account, customers []billing.Customer, p rating.Period, scope string, events []billing.UsageEvent) *rating.Partial {
	t.Helper()
	pr, err := rating.NewPartialRater(acct, customers, p, scope)
	if err != nil {
		t.Fatalf("NewPartialRater: %v", err)
	}
	addAll(pr, events)
	text, err := pr.Partial().MarshalText()
	if err != nil {
		t.Fatalf("MarshalText: %v", err)
	}
	back, err := rating.ParsePartial(text)
	if err != nil {
		t.Fatalf("ParsePartial: %v\n%s", err, text)
	}
	again, _ := back.MarshalText()
	if !bytes.Equal(again, text) {
		t.Fatalf("partial does not round-trip:\n%s\nbecame\n%s", text, again)
	}
	return back
}

func rateMerged(t *testing.T, acct billing.Account, customers []billing.Customer, p rating.Period, scope string, merged *rating.Partial) *rating.Result {
	t.Helper()
	r, err := rating.NewRater(acct, customers, p, scope)
	if err != nil {
		t.Fatalf("NewRater: %v", err)
	}
	if err := r.AddPartial(merged); err != nil {
		t.Fatalf("AddPartial: %v", err)
	}
	return r.Result()
}

func csvOf(t *testing.T, res *rating.Result, ids bool) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := reportcsv.Write(&b, res, reportcsv.Options{IncludeCustomerIDs: ids}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestShardedReportsAreByteIdentical: random datasets (DST days, months
// inside shards and at their edges, overriding customers, Customer scopes,
// quantities that leave fixed point) times random splits into contiguous UTC
// days: encoding, decoding and merging the shards' partials, in either order,
// gives the same CSV bytes and counts as the unsharded report.
func TestShardedReportsAreByteIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 2026))
	multiShard, rated := 0, 0
	for i := range 300 {
		data := make([]byte, 20+rng.IntN(600))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		sc := genScenario(data)
		days := sc.period.UTCDays()
		cuts := randomCuts(rng, sc.period, days)
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if _, err := rating.NewRater(sc.acct, sc.customers, sc.period, sc.scope); err != nil {
				return // generated settings may be invalid: no report, so nothing to shard
			}
			rated++
			ids := i%2 == 0
			whole := rateWhole(t, sc.acct, sc.customers, sc.period, sc.scope, sc.events)
			want := csvOf(t, whole, ids)

			shards := shardsOf(days, cuts)
			if len(shards) > 1 {
				multiShard++
			}
			var parts []*rating.Partial
			var readEvents []billing.UsageEvent
			for _, evs := range shardEvents(shards, sc.events) {
				parts = append(parts, shardPartial(t, sc.acct, sc.customers, sc.period, sc.scope, evs))
				readEvents = append(readEvents, evs...)
			}
			// The unsharded report over the same reads (events of no shard's
			// day are never read by either).
			whole = rateWhole(t, sc.acct, sc.customers, sc.period, sc.scope, readEvents)
			if got := csvOf(t, whole, ids); !bytes.Equal(got, want) {
				t.Fatalf("events outside the period's UTC days changed the report")
			}

			merged, err := rating.MergePartials(parts...)
			if err != nil {
				t.Fatalf("MergePartials: %v", err)
			}
			res := rateMerged(t, sc.acct, sc.customers, sc.period, sc.scope, merged)
			if got := csvOf(t, res, ids); !bytes.Equal(got, want) {
				t.Fatalf("%d shards: report differs\n got:\n%s\nwant:\n%s", len(shards), got, want)
			}
			if res.Counted != whole.Counted || res.Ignored != whole.Ignored {
				t.Fatalf("counted/ignored %d/%d, unsharded %d/%d", res.Counted, res.Ignored, whole.Counted, whole.Ignored)
			}

			reversed := slices.Clone(parts)
			slices.Reverse(reversed)
			back, err := rating.MergePartials(reversed...)
			if err != nil {
				t.Fatalf("MergePartials reversed: %v", err)
			}
			a, _ := merged.MarshalText()
			b, _ := back.MarshalText()
			if !bytes.Equal(a, b) {
				t.Fatalf("merge depends on order:\n%s\nvs\n%s", a, b)
			}

			// Adding each shard's partial in turn is the same as one merge.
			r, err := rating.NewRater(sc.acct, sc.customers, sc.period, sc.scope)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range parts {
				if err := r.AddPartial(p); err != nil {
					t.Fatalf("AddPartial: %v", err)
				}
			}
			if got := csvOf(t, r.Result(), ids); !bytes.Equal(got, want) {
				t.Fatalf("partials added one by one differ from the merge")
			}
		})
	}
	if rated < 150 || multiShard < rated/2 {
		t.Fatalf("only %d of 300 scenarios could be rated, %d of them with more than one shard", rated, multiShard)
	}
}

// TestFixturesShardedByDay rates every expected report of
// shared/fixtures/billing-small from one-day shards and gets its bytes.
func TestFixturesShardedByDay(t *testing.T) {
	dir, ds := ratingtest.FixtureDataset(t, "billing-small")
	files, err := filepath.Glob(filepath.Join(dir, "expected-*.csv"))
	if err != nil || len(files) < 5 {
		t.Fatalf("found %d fixtures (%v), want at least 5", len(files), err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			c, err := ratingtest.ParseCaseName(filepath.Base(file))
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			acct := ds.Accounts[c.AccountID]
			loc, err := c.Location(acct)
			if err != nil {
				t.Fatal(err)
			}
			p := rating.Period{Start: c.Start, End: c.End, Loc: loc}
			days := p.UTCDays()
			var cuts []int
			for i := 1; i < len(days); i++ {
				cuts = append(cuts, i)
			}
			shards := shardsOf(days, cuts)
			var parts []*rating.Partial
			for _, evs := range shardEvents(shards, ds.Usage) {
				parts = append(parts, shardPartial(t, acct, ds.Customers, p, c.CustomerScope, evs))
			}
			merged, err := rating.MergePartials(parts...)
			if err != nil {
				t.Fatal(err)
			}
			res := rateMerged(t, acct, ds.Customers, p, c.CustomerScope, merged)
			if got := csvOf(t, res, c.IncludeCustomerIDs); !bytes.Equal(got, want) {
				t.Fatalf("%d one-day shards: report differs\n got:\n%s\nwant:\n%s", len(shards), got, want)
			}
		})
	}
}

func samplePartial(t testing.TB) []byte {
	acct := account(billing.BillingSettings{})
	customers := []billing.Customer{customer("c \"1\"", "", false, nil), customer("c2", "", false, nil)}
	p := rating.Period{Start: day(2026, 10, 1), End: day(2026, 11, 30), Loc: time.UTC}
	pr, err := rating.NewPartialRater(acct, customers, p, "")
	if err != nil {
		t.Fatal(err)
	}
	events := []billing.UsageEvent{
		usage("c \"1\"", "2026-10-05T10:00:00Z", billing.ItemInboundVoiceCalls, "60.5"),
		usage("c \"1\"", "2026-11-05T10:00:00Z", billing.ItemInboundVoiceCalls, "0.0000000001"),
		usage("c2", "2026-10-31T23:59:59Z", billing.ItemOutboundSmsMessages, "900000000000000000"),
		usage("c2", "2026-10-31T23:59:58Z", billing.ItemOutboundSmsMessages, "900000000000000000"),
		usage("c2", "2026-12-01T00:00:00Z", billing.ItemOutboundSmsMessages, "1"), // after the period: ignored
	}
	events[0].InternationalCost, events[0].Recorded = "1.2345", true
	for i := range events {
		if err := pr.Add(&events[i]); err != nil {
			t.Fatal(err)
		}
	}
	text, err := pr.Partial().MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	return text
}

func TestPartialTextFormat(t *testing.T) {
	got := string(samplePartial(t))
	want := `billing-partial v1
account "acct-1"
counted 4
ignored 1
record "c \"1\"" 2026-10 InboundVoiceCalls 1 60.5 1.2345 1
record "c \"1\"" 2026-11 InboundVoiceCalls 1 0.0000000001 0 0
record "c2" 2026-10 OutboundSmsMessages 2 1800000000000000000 0 0
end 3
`
	if got != want {
		t.Fatalf("partial text:\n%s\nwant:\n%s", got, want)
	}
}

func TestParsePartialRejectsDamage(t *testing.T) {
	good := string(samplePartial(t))
	lines := strings.SplitAfter(good, "\n")
	replace := func(old, new string) string { return strings.Replace(good, old, new, 1) }
	cases := map[string]string{
		"empty":              "",
		"other version":      replace("v1", "v2"),
		"no final newline":   strings.TrimSuffix(good, "\n"),
		"truncated":          strings.Join(lines[:5], ""),
		"no end line":        strings.Join(lines[:len(lines)-2], ""),
		"end count wrong":    replace("end 3", "end 2"),
		"text after end":     good + "record x\n",
		"counted wrong":      replace("counted 4", "counted 5"),
		"leading zero count": replace("counted 4", "counted 04"),
		"unsorted":           lines[0] + lines[1] + lines[2] + lines[3] + lines[5] + lines[4] + lines[6] + lines[7],
		"duplicate":          lines[0] + lines[1] + strings.Replace(lines[2], "4", "5", 1) + lines[3] + lines[4] + lines[4] + lines[5] + lines[6] + strings.Replace(lines[7], "3", "4", 1),
		"trailing zero":      replace("60.5 ", "60.50 "),
		"exponent":           replace("60.5 ", "6.05e1 "),
		"negative":           replace("60.5 ", "-60.5 "),
		"Base item":          replace("2026-10 InboundVoiceCalls", "2026-10 Base"),
		"unknown item":       replace("2026-10 InboundVoiceCalls", "2026-10 Teleport"),
		"bad month":          replace("2026-10 Inbound", "2026-13 Inbound"),
		"recorded 2":         replace("1.2345 1", "1.2345 2"),
		"zero events":        replace("InboundVoiceCalls 1 60.5", "InboundVoiceCalls 0 60.5"),
		"unquoted id":        replace(`"c2"`, "c2"),
		"empty account":      replace(`"acct-1"`, `""`),
		"non-canonical id":   replace(`"c2"`, `"\x632"`),
		"missing field":      replace(" 1.2345 1\n", " 1.2345\n"),
		"no space after id":  replace(`"c2" 2026-10`, `"c2"2026-10`),
		"extra field":        replace(" 1.2345 1\n", " 1.2345 1 1\n"),
		"CRLF":               strings.ReplaceAll(good, "\n", "\r\n"),
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := rating.ParsePartial([]byte(text))
			if billing.ErrorCode(err) != billing.EINVALID || p != nil {
				t.Fatalf("ParsePartial = %v, %v; want EINVALID", p, err)
			}
		})
	}
}

// FuzzParsePartial: any bytes parse or fail with an error (never a panic),
// and what parses is canonical: it encodes back to the same bytes.
func FuzzParsePartial(f *testing.F) {
	f.Add(samplePartial(f))
	f.Add([]byte("billing-partial v1\naccount \"a\"\ncounted 0\nignored 0\nend 0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := rating.ParsePartial(data)
		if err != nil {
			if billing.ErrorCode(err) != billing.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		back, err := p.MarshalText()
		if err != nil || !bytes.Equal(back, data) {
			t.Fatalf("parsed %q, encodes back as %q (%v)", data, back, err)
		}
	})
}

func TestAddPartialRejectsForeignPartials(t *testing.T) {
	text := samplePartial(t)
	good, err := rating.ParsePartial(text)
	if err != nil {
		t.Fatal(err)
	}
	customers := []billing.Customer{customer("c \"1\"", "", false, nil), customer("c2", "", false, nil)}
	october := rating.Period{Start: day(2026, 10, 1), End: day(2026, 10, 31), Loc: time.UTC}
	both := rating.Period{Start: day(2026, 10, 1), End: day(2026, 11, 30), Loc: time.UTC}
	other := *good
	other.AccountID = "acct-2"
	cases := []struct {
		name   string
		period rating.Period
		scope  string
		p      *rating.Partial
	}{
		{"another account", both, "", &other},
		{"a month the report does not have", october, "", good},
		{"a customer outside the scope", both, "c2", good},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := rating.NewRater(account(nil), customers, tc.period, tc.scope)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.AddPartial(tc.p); billing.ErrorCode(err) != billing.EINVALID {
				t.Fatalf("AddPartial = %v, want EINVALID", err)
			}
			// Nothing was added.
			if res := r.Result(); res.Counted != 0 || res.Ignored != 0 || res.Total.Total.Sign() != 0 {
				t.Fatalf("a rejected partial changed the result: %+v", res.Total)
			}
		})
	}
	if _, err := rating.MergePartials(good, &other); billing.ErrorCode(err) != billing.EINVALID {
		t.Fatalf("merging two accounts' partials = %v, want EINVALID", err)
	}
}
