package rating

import (
	"math/big"
	"slices"
	"strings"

	billing "github.com/evovoice/billing"
)

// Row is one customer's line of a report.
type Row struct {
	CustomerID string
	Customer   string // breadcrumb "Root > Child > Grandchild"

	// Units are the exact units per item (index = billing.Item.Index(); the Base
	// entry is always zero): Σ rawQuantity × rawUnitMultiplier over the period.
	Units [billing.NumItems]*big.Rat
	// Costs per item (Base included), each rounded once to cents, half away from zero.
	Costs              [billing.NumItems]*big.Rat
	InternationalCosts *big.Rat // rounded to cents
	HasCallRecording   bool
	Total              *big.Rat // sum of the row's rounded costs and InternationalCosts
}

// Result is a rated report.
type Result struct {
	Rows  []Row // sorted by raw breadcrumb byte order, then id
	Total Row   // Customer "Total": column sums of Rows (units exact, costs of the rounded cells)

	Counted int64 // events that were rated
	Ignored int64 // events outside the period, of another account, or outside the scope
}

// Rater rates one report. It is not safe for concurrent use: the worker funnels
// the events of all days to one goroutine, which keeps Add lock-free.
type Rater struct {
	accountID   string
	monthStarts []int64 // unix second of each month's first instant, then of the period's end
	fractions   []*big.Rat
	monthNames  []string // each month as YYYY-MM (local), as partials name them

	customers []customerNode
	index     map[string]int32
	order     []int32 // in-scope customers, in report order

	blocks []*usageBlock // per customer; nil until its first counted event
	spill  map[spillKey]*big.Rat

	counted, ignored int64
	result           *Result
}

type customerNode struct {
	id, name, parentID string
	override           bool
	settings           billing.BillingSettings

	breadcrumb  string
	priceSource int32 // the customer whose settings apply, or accountSource
	prices      *priceList
	inScope     bool
}

const accountSource = -1

// usageBlock holds one customer's exact running sums.
type usageBlock struct {
	quantities    []fixedSum // [month*NumItems + item]: Σ rawQuantity
	international fixedSum
	recorded      bool
}

// spillKey addresses an exact overflow sum: slot is month*NumItems+item, or
// internationalSlot.
type spillKey struct {
	customer, slot int32
}

const internationalSlot = -1

// NewRater prepares the rating of acct's customers over p. customerScope "" rates
// all customers, else only that customer and its descendants (Customer-role
// callers). Customers of other accounts in customers are left out. Bad settings,
// duplicate ids, unknown parents, parent cycles, an unknown scope customer and a
// bad period are *billing.Error EINVALID.
func NewRater(acct billing.Account, customers []billing.Customer, p Period, customerScope string) (*Rater, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	r := &Rater{accountID: acct.ID, index: make(map[string]int32, len(customers))}
	for _, c := range customers {
		if c.AccountID != acct.ID {
			continue
		}
		if c.ID == "" {
			return nil, billing.Errorf(billing.EINVALID, "A customer of account %s has no id.", acct.ID)
		}
		if _, dup := r.index[c.ID]; dup {
			return nil, billing.Errorf(billing.EINVALID, "Customer %s appears twice in account %s.", c.ID, acct.ID)
		}
		r.index[c.ID] = int32(len(r.customers))
		r.customers = append(r.customers, customerNode{id: c.ID, name: c.Name, parentID: c.ParentCustomerID, override: c.OverrideBillingSettings, settings: c.BillingSettings})
	}
	if customerScope != "" {
		if _, ok := r.index[customerScope]; !ok {
			return nil, billing.Errorf(billing.EINVALID, "Customer %s is not a customer of account %s.", customerScope, acct.ID)
		}
	}

	months := p.months()
	for _, m := range months {
		r.monthStarts = append(r.monthStarts, m.start.Unix())
		r.fractions = append(r.fractions, big.NewRat(m.fraction.num, m.fraction.den))
		r.monthNames = append(r.monthNames, m.name)
	}
	_, to := p.Bounds()
	r.monthStarts = append(r.monthStarts, to.Unix())

	if err := r.resolveTree(customerScope); err != nil {
		return nil, err
	}
	if err := r.resolvePrices(acct); err != nil {
		return nil, err
	}
	r.blocks = make([]*usageBlock, len(r.customers))
	return r, nil
}

// resolvePrices parses the account's settings and those of every overriding
// customer whose settings apply to a customer in scope (an unrelated subtree's
// settings cannot fail a Customer-role report), each once.
func (r *Rater) resolvePrices(acct billing.Account) error {
	accountPrices, err := parsePrices(acct.BillingSettings, "account "+acct.ID)
	if err != nil {
		return err
	}
	accountPrices.prorate(r.fractions)
	parsed := map[int32]*priceList{accountSource: accountPrices}
	for _, ci := range r.order {
		c := &r.customers[ci]
		pl, ok := parsed[c.priceSource]
		if !ok {
			owner := &r.customers[c.priceSource]
			if pl, err = parsePrices(owner.settings, "customer "+owner.id); err != nil {
				return err
			}
			pl.prorate(r.fractions)
			parsed[c.priceSource] = pl
		}
		c.prices = pl
	}
	return nil
}

// resolveTree gives every customer its breadcrumb, the source of its prices and
// whether it is in scope, walking each parent chain once (memoized), fails on
// unknown parents and cycles, and sorts the in-scope customers.
func (r *Rater) resolveTree(scope string) error {
	const (
		unvisited = iota
		visiting
		done
	)
	state := make([]uint8, len(r.customers))
	var chain []int32
	for start := range r.customers {
		chain = chain[:0]
		ci := int32(start)
		for state[ci] != done {
			if state[ci] == visiting {
				return billing.Errorf(billing.EINVALID, "Customer %s is its own ancestor (parent cycle).", r.customers[ci].id)
			}
			state[ci] = visiting
			chain = append(chain, ci)
			parentID := r.customers[ci].parentID
			if parentID == "" {
				break
			}
			pi, ok := r.index[parentID]
			if !ok {
				return billing.Errorf(billing.EINVALID, "Customer %s has an unknown parent %s.", r.customers[ci].id, parentID)
			}
			ci = pi
		}
		// Resolve from the topmost unresolved node down.
		for k := len(chain) - 1; k >= 0; k-- {
			c := &r.customers[chain[k]]
			var parent *customerNode
			if c.parentID != "" {
				parent = &r.customers[r.index[c.parentID]]
			}
			if parent == nil {
				c.breadcrumb = c.name
				c.priceSource = accountSource
				c.inScope = scope == "" || c.id == scope
			} else {
				c.breadcrumb = parent.breadcrumb + " > " + c.name
				c.priceSource = parent.priceSource
				c.inScope = parent.inScope || c.id == scope
			}
			if c.override {
				c.priceSource = chain[k]
			}
			state[chain[k]] = done
		}
	}
	for i := range r.customers {
		if r.customers[i].inScope {
			r.order = append(r.order, int32(i))
		}
	}
	slices.SortFunc(r.order, func(a, b int32) int {
		ca, cb := &r.customers[a], &r.customers[b]
		if c := strings.Compare(ca.breadcrumb, cb.breadcrumb); c != 0 {
			return c
		}
		return strings.Compare(ca.id, cb.id)
	})
	return nil
}

// Counted is the number of events rated so far: those of the period and the
// scope. It is what a report's progress and notifications show, so that a
// Customer-scoped report never reveals how much usage the rest of the account
// has (spec 2.6).
func (r *Rater) Counted() int64 { return r.counted }

// Add counts one usage event. Events outside the period, of another account, or
// of customers outside the scope are ignored (counted in Result.Ignored). An
// event of an unknown customer of this account, of an item that carries no
// units, or with a malformed quantity is an EINVALID error: money must not
// silently vanish. A failed Add changes nothing.
func (r *Rater) Add(e *billing.UsageEvent) error {
	if r.result != nil {
		return billing.Errorf(billing.EINTERNAL, "usage added after the result was taken")
	}
	ci, slot, qty, intl, counted, err := r.admit(e)
	if err != nil || !counted {
		return err
	}
	b := r.block(ci)
	r.addAmount(&b.quantities[slot], spillKey{ci, int32(slot)}, qty)
	r.addAmount(&b.international, spillKey{ci, internationalSlot}, intl)
	if e.Recorded {
		b.recorded = true
	}
	r.counted++
	return nil
}

// admit applies Add's rules to e without changing any sum: it reports whether
// e counts, and if so its customer, its slot (month*NumItems+item) and its
// parsed amounts. An ignored event is counted in r.ignored here. Add and
// PartialRater.Add share it, so a shard filters exactly as a whole report.
func (r *Rater) admit(e *billing.UsageEvent) (ci int32, slot int, qty, intl amount, counted bool, err error) {
	if e.AccountID != r.accountID {
		r.ignored++
		return 0, 0, qty, intl, false, nil
	}
	sec := e.Time.Unix()
	last := len(r.monthStarts) - 1
	if sec < r.monthStarts[0] || sec >= r.monthStarts[last] {
		r.ignored++
		return 0, 0, qty, intl, false, nil
	}
	ci, ok := r.index[e.CustomerID]
	if !ok {
		return 0, 0, qty, intl, false, billing.Errorf(billing.EINVALID, "Usage event %s is of customer %s, which account %s does not have.", e.ID, e.CustomerID, r.accountID)
	}
	if !r.customers[ci].inScope {
		r.ignored++
		return 0, 0, qty, intl, false, nil
	}
	item := itemIndex(e.Item)
	if item <= 0 {
		return 0, 0, qty, intl, false, billing.Errorf(billing.EINVALID, "Usage event %s has item %q, which is not a usage item.", e.ID, e.Item)
	}
	m := 0
	for m+1 < last && sec >= r.monthStarts[m+1] {
		m++
	}
	if qty, err = parseAmount(e.RawQuantity); err != nil {
		return 0, 0, qty, intl, false, billing.WrapError(billing.EINVALID, err, "Usage event %s has a malformed rawQuantity %q.", e.ID, e.RawQuantity)
	}
	if e.InternationalCost != "" {
		if intl, err = parseAmount(e.InternationalCost); err != nil {
			return 0, 0, qty, intl, false, billing.WrapError(billing.EINVALID, err, "Usage event %s has a malformed internationalCost %q.", e.ID, e.InternationalCost)
		}
	}
	return ci, m*billing.NumItems + item, qty, intl, true, nil
}

// block is customer ci's sums, allocated at its first counted usage.
func (r *Rater) block(ci int32) *usageBlock {
	b := r.blocks[ci]
	if b == nil {
		b = &usageBlock{quantities: make([]fixedSum, (len(r.monthStarts)-1)*billing.NumItems)}
		r.blocks[ci] = b
	}
	return b
}

// amount is a parsed decimal: fixed-point when it fits (exact == nil), else exact.
type amount struct {
	whole, nanos int64
	exact        *big.Rat
}

func parseAmount(s string) (amount, error) {
	if whole, nanos, ok := parseFixed(s); ok {
		return amount{whole: whole, nanos: nanos}, nil
	}
	v, err := billing.ParseDecimal(s)
	if err != nil {
		return amount{}, err
	}
	return amount{exact: v}, nil
}

// addAmount adds a to the fixed-point sum, or to the cell's exact spill sum
// when a does not fit fixed point or the sum would overflow.
func (r *Rater) addAmount(sum *fixedSum, k spillKey, a amount) {
	if a.exact == nil {
		if sum.add(a.whole, a.nanos) {
			return
		}
		a.exact = fixedRat(a.whole, a.nanos)
	}
	if r.spill == nil {
		r.spill = make(map[spillKey]*big.Rat)
	}
	if s, ok := r.spill[k]; ok {
		s.Add(s, a.exact)
		return
	}
	r.spill[k] = new(big.Rat).Set(a.exact)
}

// itemIndex is billing.Item.Index as a switch, which the compiler turns into a
// few comparisons instead of a loop over every item name.
func itemIndex(it billing.Item) int {
	switch it {
	case billing.ItemBase:
		return 0
	case billing.ItemLocalNumbers:
		return 1
	case billing.ItemTollFreeNumbers:
		return 2
	case billing.ItemInboundVoiceCalls:
		return 3
	case billing.ItemOutboundVoiceCalls:
		return 4
	case billing.ItemInboundFaxes:
		return 5
	case billing.ItemOutboundFaxes:
		return 6
	case billing.ItemInboundSmsMessages:
		return 7
	case billing.ItemOutboundSmsMessages:
		return 8
	case billing.ItemAIInsights:
		return 9
	case billing.ItemAILiveMinutes:
		return 10
	}
	return -1
}

// Result computes the report. Call it once, after all Adds; later calls return
// the same Result.
func (r *Rater) Result() *Result {
	if r.result != nil {
		return r.result
	}
	res := &Result{Rows: make([]Row, 0, len(r.order)), Counted: r.counted, Ignored: r.ignored}
	total := newRow("", "Total")
	for _, ci := range r.order {
		row := r.rateCustomer(ci)
		for i := range billing.NumItems {
			addNonZero(total.Units[i], row.Units[i])
			addNonZero(total.Costs[i], row.Costs[i])
		}
		addNonZero(total.InternationalCosts, row.InternationalCosts)
		addNonZero(total.Total, row.Total)
		total.HasCallRecording = total.HasCallRecording || row.HasCallRecording
		res.Rows = append(res.Rows, row)
	}
	res.Total = total
	r.result = res
	return res
}

// newRow returns a row whose numbers are zero, all backed by one allocation.
func newRow(id, name string) Row {
	rats := make([]big.Rat, 2*billing.NumItems+2)
	row := Row{CustomerID: id, Customer: name, InternationalCosts: &rats[2*billing.NumItems], Total: &rats[2*billing.NumItems+1]}
	for i := range billing.NumItems {
		row.Units[i] = &rats[i]
		row.Costs[i] = &rats[billing.NumItems+i]
	}
	return row
}

// rateCustomer applies spec 3.2 to one customer's sums.
func (r *Rater) rateCustomer(ci int32) Row {
	c := &r.customers[ci]
	pl := c.prices
	row := newRow(c.id, c.breadcrumb)
	b := r.blocks[ci]
	months := len(r.fractions)
	var raw, charge, units, over big.Rat
	var tmp [2]big.Int
	for item := range billing.NumItems {
		if item == 0 || b == nil || !r.used(ci, b, item) {
			row.Costs[item].Set(pl.idleCost[item])
			continue
		}
		p := pl.items[item]
		charge.SetInt64(0)
		for m := range months {
			slot := m*billing.NumItems + item
			b.quantities[slot].setRat(&raw, &tmp)
			if s, ok := r.spill[spillKey{ci, int32(slot)}]; ok {
				raw.Add(&raw, s)
			}
			units.Mul(&raw, p.multiplier)
			row.Units[item].Add(row.Units[item], &units)
			charge.Add(&charge, pl.baseShare[item][m])
			if over.Sub(&units, pl.allowShare[item][m]); over.Sign() > 0 {
				charge.Add(&charge, over.Mul(&over, p.unitCost))
			}
		}
		roundCentsInto(row.Costs[item], &charge, &tmp)
	}
	if b != nil {
		b.international.setRat(&raw, &tmp)
		if s, ok := r.spill[spillKey{ci, internationalSlot}]; ok {
			raw.Add(&raw, s)
		}
		roundCentsInto(row.InternationalCosts, &raw, &tmp)
		row.HasCallRecording = b.recorded
	}
	for i := range billing.NumItems {
		addNonZero(row.Total, row.Costs[i])
	}
	addNonZero(row.Total, row.InternationalCosts)
	return row
}

// addNonZero adds x to sum; most cells of a report are zero, and skipping them
// spares big.Rat's normalization.
func addNonZero(sum, x *big.Rat) {
	if x.Sign() != 0 {
		sum.Add(sum, x)
	}
}

// used reports whether the customer has any quantity of item in any month.
func (r *Rater) used(ci int32, b *usageBlock, item int) bool {
	for m := range r.fractions {
		slot := m*billing.NumItems + item
		if !b.quantities[slot].isZero() {
			return true
		}
		if _, ok := r.spill[spillKey{ci, int32(slot)}]; ok {
			return true
		}
	}
	return false
}
