package rating_test

import (
	"fmt"
	"hash/fnv"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/rating"
)

// scenario is a report to rate, generated from fuzz bytes.
type scenario struct {
	acct      billing.Account
	customers []billing.Customer
	period    rating.Period
	scope     string
	events    []billing.UsageEvent
}

type byteSource struct {
	data []byte
	pos  int
}

func (s *byteSource) next() int {
	if s.pos >= len(s.data) {
		return 0
	}
	s.pos++
	return int(s.data[s.pos-1])
}

func (s *byteSource) more() bool { return s.pos < len(s.data) }

var (
	fuzzDecimals = []string{"", "0", "1", "0.5", "0.005", "0.0166666667", "2.5", "100", "1e2", "0.333", "31", "0.015"}
	fuzzQuantity = []string{"0", "1", "3600", "0.5", "1234567.891", "0.0000000001", "1e3", "900000000000000000", "60", "7", "-1", "12.", "125"}
	fuzzIntl     = []string{"", "0", "0.005", "1.2345", "0.0000000001", "0.004", "x"}
	// Zones without days whose local date runs backwards; Sao Paulo and Amman
	// have days that start at 01:00 or at the first of two midnights.
	fuzzZones = []string{"UTC", "America/New_York", "America/Sao_Paulo", "Asia/Amman", "Asia/Kolkata", "Australia/Lord_Howe"}
)

func genSettings(src *byteSource) billing.BillingSettings {
	bs := billing.BillingSettings{}
	for n := src.next() % 5; n > 0; n-- {
		it := billing.Items[src.next()%billing.NumItems]
		pick := func() string { return fuzzDecimals[src.next()%len(fuzzDecimals)] }
		bs[it] = billing.ItemSettings{BaseCost: pick(), RawUnitMultiplier: pick(), UnitCost: pick(), Allowance: pick()}
	}
	return bs
}

func genScenario(data []byte) scenario {
	src := &byteSource{data: data}
	var sc scenario
	sc.acct = billing.Account{ID: acctID, Name: "Acct", BillingSettings: genSettings(src)}
	nCust := 1 + src.next()%8
	for i := range nCust {
		c := billing.Customer{ID: fmt.Sprintf("c%d", i), AccountID: acctID, Name: []string{"=Sum", "Acme, Inc", "b", "B", "Zed \"Z\"", "-x", "a"}[src.next()%7]}
		if i > 0 && src.next()%3 != 0 {
			c.ParentCustomerID = fmt.Sprintf("c%d", src.next()%i)
		}
		if src.next()%4 == 0 {
			c.OverrideBillingSettings, c.BillingSettings = true, genSettings(src)
		}
		sc.customers = append(sc.customers, c)
	}
	sc.customers = append(sc.customers, billing.Customer{ID: "foreign", AccountID: "acct-2", Name: "Foreign"})
	loc, err := time.LoadLocation(fuzzZones[src.next()%len(fuzzZones)])
	if err != nil {
		panic(err)
	}
	start := day(2018, 10, 1).AddDays(src.next() * 11)
	if src.next()%4 == 0 {
		// Days whose midnight is skipped (Sao Paulo), doubled (Amman) or near a DST change.
		start = []billing.Date{day(2018, 11, 4), day(2021, 10, 29), day(2026, 3, 8), day(2026, 11, 1), day(2026, 9, 6)}[src.next()%5]
	}
	sc.period = rating.Period{Start: start, End: start.AddDays(src.next() % 70), Loc: loc}
	if src.next()%4 == 0 {
		sc.scope = fmt.Sprintf("c%d", src.next()%nCust)
	}
	from, to := sc.period.Bounds()
	span := int(to.Sub(from)/time.Second) + 2*86400
	// Instants where off-by-one mistakes live: the period's bounds, each month's
	// first local midnight, and the naive time.Date midnights around them.
	edges := []time.Time{from, to, to.Add(-time.Nanosecond), from.Add(-time.Nanosecond), from.Add(-time.Hour), from.Add(time.Hour)}
	for d := sc.period.Start; !sc.period.End.AddDays(1).Before(d); d = d.AddDays(1) {
		if d.Day == 1 || d == sc.period.Start || d == sc.period.End.AddDays(1) {
			naive := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
			edges = append(edges, naive, naive.Add(-time.Second), naive.Add(time.Hour), naive.Add(-time.Hour))
		}
	}
	for i := 0; src.more(); i++ {
		e := billing.UsageEvent{
			ID:                fmt.Sprintf("u%d", i),
			AccountID:         acctID,
			CustomerID:        fmt.Sprintf("c%d", src.next()%nCust),
			Item:              billing.Items[src.next()%billing.NumItems],
			RawQuantity:       fuzzQuantity[src.next()%len(fuzzQuantity)],
			InternationalCost: fuzzIntl[src.next()%len(fuzzIntl)],
			Recorded:          src.next()%5 == 0,
		}
		offset := (src.next()<<16 | src.next()<<8 | src.next()) % span
		e.Time = from.Add(time.Duration(offset-86400) * time.Second).UTC()
		switch src.next() % 12 {
		case 0:
			e.AccountID, e.CustomerID = "acct-2", "foreign"
		case 1:
			e.CustomerID = "ghost"
		case 2: // exactly on a boundary
			e.Time = edges[src.next()%len(edges)]
		}
		sc.events = append(sc.events, e)
	}
	return sc
}

// run rates the scenario with events in the given order; failed Adds are
// counted and must change nothing.
func (sc scenario) run(order []billing.UsageEvent) (*rating.Result, int, error) {
	r, err := rating.NewRater(sc.acct, sc.customers, sc.period, sc.scope)
	if err != nil {
		return nil, 0, err
	}
	failed := 0
	for i := range order {
		if err := r.Add(&order[i]); err != nil {
			if billing.ErrorCode(err) != billing.EINVALID {
				return nil, 0, fmt.Errorf("Add: unexpected error code: %w", err)
			}
			failed++
		}
	}
	return r.Result(), failed, nil
}

func sameRow(a, b *rating.Row) bool {
	if a.CustomerID != b.CustomerID || a.Customer != b.Customer || a.HasCallRecording != b.HasCallRecording ||
		a.InternationalCosts.Cmp(b.InternationalCosts) != 0 || a.Total.Cmp(b.Total) != 0 {
		return false
	}
	for i := range billing.NumItems {
		if a.Units[i].Cmp(b.Units[i]) != 0 || a.Costs[i].Cmp(b.Costs[i]) != 0 {
			return false
		}
	}
	return true
}

func describeRow(r *rating.Row) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s %q", r.CustomerID, r.Customer)
	for i := range billing.NumItems {
		fmt.Fprintf(&sb, " %s:%s/%s", billing.Items[i], r.Units[i].RatString(), r.Costs[i].RatString())
	}
	fmt.Fprintf(&sb, " intl:%s rec:%v total:%s", r.InternationalCosts.RatString(), r.HasCallRecording, r.Total.RatString())
	return sb.String()
}

// checkInvariants asserts the structural properties every Result has.
func checkInvariants(t *testing.T, res *rating.Result) {
	t.Helper()
	sum := rating.Row{InternationalCosts: new(big.Rat), Total: new(big.Rat)}
	for i := range billing.NumItems {
		sum.Units[i], sum.Costs[i] = new(big.Rat), new(big.Rat)
	}
	hundred := big.NewInt(100)
	isCents := func(r *big.Rat) bool { return new(big.Int).Mod(hundred, r.Denom()).Sign() == 0 }
	for k := range res.Rows {
		row := &res.Rows[k]
		if k > 0 {
			prev := &res.Rows[k-1]
			if c := strings.Compare(prev.Customer, row.Customer); c > 0 || c == 0 && prev.CustomerID >= row.CustomerID {
				t.Errorf("rows out of order: %q/%s before %q/%s", prev.Customer, prev.CustomerID, row.Customer, row.CustomerID)
			}
		}
		rowTotal := new(big.Rat).Set(row.InternationalCosts)
		for i := range billing.NumItems {
			if !isCents(row.Costs[i]) || row.Costs[i].Sign() < 0 {
				t.Errorf("%s: cost %s is not whole non-negative cents", row.CustomerID, row.Costs[i].RatString())
			}
			rowTotal.Add(rowTotal, row.Costs[i])
			sum.Units[i].Add(sum.Units[i], row.Units[i])
			sum.Costs[i].Add(sum.Costs[i], row.Costs[i])
		}
		if row.Units[0].Sign() != 0 {
			t.Errorf("%s: Base has units %s", row.CustomerID, row.Units[0].RatString())
		}
		if !isCents(row.InternationalCosts) {
			t.Errorf("%s: international %s is not whole cents", row.CustomerID, row.InternationalCosts.RatString())
		}
		if rowTotal.Cmp(row.Total) != 0 {
			t.Errorf("%s: total %s != sum of its costs %s", row.CustomerID, row.Total.RatString(), rowTotal.RatString())
		}
		sum.InternationalCosts.Add(sum.InternationalCosts, row.InternationalCosts)
		sum.Total.Add(sum.Total, row.Total)
		sum.HasCallRecording = sum.HasCallRecording || row.HasCallRecording
	}
	sum.Customer = "Total"
	if !sameRow(&sum, &res.Total) {
		t.Errorf("Total row is not the column sums:\n got %s\nwant %s", describeRow(&res.Total), describeRow(&sum))
	}
}

// reference rates the scenario the slow, literal way of spec 3.2 with big.Rat
// everywhere: local date of each event, settings walked up the tree per
// customer. It shares no code with the rater beyond the rounding helper.
func (sc scenario) reference() map[string]*rating.Row {
	byID := map[string]billing.Customer{}
	for _, c := range sc.customers {
		if c.AccountID == acctID {
			byID[c.ID] = c
		}
	}
	inScope := func(id string) bool {
		for c, ok := byID[id]; ok; c, ok = byID[c.ParentCustomerID] {
			if sc.scope == "" || c.ID == sc.scope {
				return true
			}
		}
		return false
	}
	settingsOf := func(id string) billing.BillingSettings {
		for c, ok := byID[id]; ok; c, ok = byID[c.ParentCustomerID] {
			if c.OverrideBillingSettings {
				return c.BillingSettings
			}
		}
		return sc.acct.BillingSettings
	}
	dec := func(s, def string) *big.Rat {
		if s == "" {
			s = def
		}
		r, _ := billing.ParseDecimal(s)
		return r
	}
	type monthKey struct {
		y int
		m time.Month
	}
	var months []monthKey
	frac := map[monthKey]*big.Rat{}
	for d := sc.period.Start; !sc.period.End.Before(d); d = d.AddDays(1) {
		k := monthKey{d.Year, d.Month}
		if frac[k] == nil {
			months = append(months, k)
			frac[k] = new(big.Rat)
		}
		daysIn := time.Date(d.Year, d.Month+1, 0, 0, 0, 0, 0, time.UTC).Day()
		frac[k].Add(frac[k], big.NewRat(1, int64(daysIn)))
	}
	type acc struct {
		raw       map[monthKey]*big.Rat
		intl      *big.Rat
		recorded  bool
		itemUnits [billing.NumItems]map[monthKey]*big.Rat
	}
	accs := map[string]*acc{}
	get := func(id string) *acc {
		if accs[id] == nil {
			a := &acc{intl: new(big.Rat)}
			for i := range a.itemUnits {
				a.itemUnits[i] = map[monthKey]*big.Rat{}
			}
			accs[id] = a
		}
		return accs[id]
	}
	for _, e := range sc.events {
		local := billing.DateOf(e.Time.In(sc.period.Loc))
		if e.AccountID != acctID || local.Before(sc.period.Start) || sc.period.End.Before(local) {
			continue
		}
		if _, ok := byID[e.CustomerID]; !ok || !inScope(e.CustomerID) {
			continue
		}
		it := e.Item.Index()
		q, err := billing.ParseDecimal(e.RawQuantity)
		if it <= 0 || err != nil {
			continue
		}
		intl := new(big.Rat)
		if e.InternationalCost != "" {
			if intl, err = billing.ParseDecimal(e.InternationalCost); err != nil {
				continue
			}
		}
		a := get(e.CustomerID)
		k := monthKey{local.Year, local.Month}
		if a.itemUnits[it][k] == nil {
			a.itemUnits[it][k] = new(big.Rat)
		}
		a.itemUnits[it][k].Add(a.itemUnits[it][k], q)
		a.intl.Add(a.intl, intl)
		a.recorded = a.recorded || e.Recorded
	}
	out := map[string]*rating.Row{}
	for id, c := range byID {
		if !inScope(id) {
			continue
		}
		row := &rating.Row{CustomerID: id, InternationalCosts: new(big.Rat), Total: new(big.Rat)}
		crumb := c.Name
		for p, ok := byID[c.ParentCustomerID]; ok; p, ok = byID[p.ParentCustomerID] {
			crumb = p.Name + " > " + crumb
		}
		row.Customer = crumb
		a := get(id)
		settings := settingsOf(id)
		for i, item := range billing.Items {
			s := settings[item]
			base, mult, unit, allow := dec(s.BaseCost, "0"), dec(s.RawUnitMultiplier, "1"), dec(s.UnitCost, "0"), dec(s.Allowance, "0")
			charge, units := new(big.Rat), new(big.Rat)
			for _, k := range months {
				u := new(big.Rat)
				if raw := a.itemUnits[i][k]; raw != nil && i > 0 {
					u.Mul(raw, mult)
				}
				units.Add(units, u)
				charge.Add(charge, new(big.Rat).Mul(base, frac[k]))
				over := new(big.Rat).Sub(u, new(big.Rat).Mul(allow, frac[k]))
				if i > 0 && over.Sign() > 0 {
					charge.Add(charge, over.Mul(over, unit))
				}
			}
			row.Units[i], row.Costs[i] = units, rating.RoundCents(charge)
			row.Total.Add(row.Total, row.Costs[i])
		}
		row.InternationalCosts = rating.RoundCents(a.intl)
		row.Total.Add(row.Total, row.InternationalCosts)
		row.HasCallRecording = a.recorded
		out[id] = row
	}
	return out
}

func checkScenario(t *testing.T, data []byte) {
	sc := genScenario(data)
	res, failed, err := sc.run(sc.events)
	if err != nil {
		if billing.ErrorCode(err) != billing.EINVALID {
			t.Fatalf("NewRater: %v", err)
		}
		return
	}
	if res.Counted+res.Ignored+int64(failed) != int64(len(sc.events)) {
		t.Errorf("counted %d + ignored %d + failed %d != %d events", res.Counted, res.Ignored, failed, len(sc.events))
	}
	checkInvariants(t, res)

	ref := sc.reference()
	if len(ref) != len(res.Rows) {
		t.Errorf("%d rows, reference has %d", len(res.Rows), len(ref))
	}
	for k := range res.Rows {
		want := ref[res.Rows[k].CustomerID]
		if want == nil || !sameRow(&res.Rows[k], want) {
			t.Errorf("row differs from the reference\n got %s\nwant %v", describeRow(&res.Rows[k]), want)
		}
	}

	h := fnv.New64a()
	h.Write(data)
	shuffled := slices.Clone(sc.events)
	rand.New(rand.NewPCG(h.Sum64(), 1)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	reversed := slices.Clone(sc.events)
	slices.Reverse(reversed)
	for name, order := range map[string][]billing.UsageEvent{"shuffled": shuffled, "reversed": reversed} {
		other, otherFailed, err := sc.run(order)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if otherFailed != failed || other.Counted != res.Counted || other.Ignored != res.Ignored || len(other.Rows) != len(res.Rows) {
			t.Fatalf("%s: counts differ: failed %d/%d counted %d/%d", name, otherFailed, failed, other.Counted, res.Counted)
		}
		for k := range res.Rows {
			if !sameRow(&res.Rows[k], &other.Rows[k]) {
				t.Errorf("%s: row %d depends on event order\n got %s\nwant %s", name, k, describeRow(&other.Rows[k]), describeRow(&res.Rows[k]))
			}
		}
		if !sameRow(&res.Total, &other.Total) {
			t.Errorf("%s: total depends on event order", name)
		}
	}
}

// FuzzRater checks, for generated accounts, trees, settings, periods and
// events: the rater agrees with a literal big.Rat reading of spec 3.2, the
// Total row is the column sums, the result does not depend on event order, and
// nothing panics. Seeds live in testdata/fuzz/FuzzRater.
func FuzzRater(f *testing.F) {
	f.Fuzz(checkScenario)
}

// TestRaterProperties runs the same checks over a fixed batch of random
// scenarios so that plain `go test` exercises far more than the seeds.
func TestRaterProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(2026, 10))
	for i := range 300 {
		data := make([]byte, 20+rng.IntN(400))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkScenario(t, data) })
	}
}
