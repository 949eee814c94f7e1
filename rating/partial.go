package rating

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"

	billing "github.com/evovoice/billing"
)

// A Partial is the exact, mergeable state of rating part of a report's usage
// (a shard of its UTC days): per customer, local month and item, the exact sum
// of raw quantities and of international costs, whether any event was
// recorded, and the event count; plus the events counted and ignored. Rating
// the merge of a report's partials gives the same Result as rating all its
// events in one Rater, because the Result depends on nothing else: every
// charge is computed from these sums only, after all of them are known.
//
// A Partial is built by a PartialRater (the same filters as Rater.Add), is
// written and read with MarshalText and ParsePartial (format
// "billing-partial v1", exact decimal text), merged with MergePartials, and
// rated with Rater.AddPartial.
type Partial struct {
	AccountID        string
	Counted, Ignored int64
	// Records are sorted by customer id (byte order), month, then item
	// (billing.Items order); one per key, each with Events > 0.
	Records []PartialRecord
}

// PartialRecord is the sums of one customer, local month and item.
type PartialRecord struct {
	CustomerID string
	Month      string // local calendar month of the report's zone, YYYY-MM
	Item       billing.Item
	Events     int64
	// RawQuantity and InternationalCost are exact sums in canonical decimal
	// text: no exponent, no leading zeros, no trailing fraction zeros ("0"
	// for zero).
	RawQuantity       string
	InternationalCost string
	Recorded          bool
}

func (r *PartialRecord) key() partialKey {
	return partialKey{r.CustomerID, r.Month, itemIndex(r.Item)}
}

type partialKey struct {
	customer, month string
	item            int
}

func comparePartialKeys(a, b partialKey) int {
	if c := strings.Compare(a.customer, b.customer); c != 0 {
		return c
	}
	if c := strings.Compare(a.month, b.month); c != 0 {
		return c
	}
	return cmp.Compare(a.item, b.item)
}

// PartialRater accumulates a shard's events into a Partial. Build it with the
// same account, customers, period and scope as the report: its filters are
// Rater's own.
type PartialRater struct {
	filter *Rater // only its rules and ignored count; its sums stay empty
	blocks []*partialBlock
}

// partialBlock is one customer's per-slot sums ([month*NumItems+item]).
type partialBlock struct {
	slots []partialSlot
}

type partialSlot struct {
	quantity, international exactSum
	events                  int64
	recorded                bool
}

// exactSum is fixed point while it fits and an exact big.Rat beyond.
type exactSum struct {
	fixed fixedSum
	big   *big.Rat
}

func (s *exactSum) add(a amount) {
	if a.exact == nil {
		if s.fixed.add(a.whole, a.nanos) {
			return
		}
		a.exact = fixedRat(a.whole, a.nanos)
	}
	if s.big == nil {
		s.big = new(big.Rat)
	}
	s.big.Add(s.big, a.exact)
}

func (s *exactSum) rat() *big.Rat {
	v := s.fixed.rat()
	if s.big != nil {
		v.Add(v, s.big)
	}
	return v
}

// text is the sum as canonical decimal text (exactDecimal's form), without
// math/big when it is still fixed point: finalize formats one per record.
func (s *exactSum) text() string {
	if s.big == nil {
		whole, nanos := s.fixed.whole, s.fixed.nanos
		if carry := nanos / nanoScale; whole <= math.MaxInt64-carry {
			whole, nanos = whole+carry, nanos%nanoScale
			t := strconv.FormatInt(whole, 10)
			if nanos == 0 {
				return t
			}
			frac := strconv.FormatInt(nanoScale+nanos, 10)[1:] // 9 digits, leading zeros kept
			return t + "." + strings.TrimRight(frac, "0")
		}
	}
	return exactDecimal(s.rat())
}

// NewPartialRater is NewRater's counterpart for one shard; it fails as
// NewRater does.
func NewPartialRater(acct billing.Account, customers []billing.Customer, p Period, customerScope string) (*PartialRater, error) {
	r, err := NewRater(acct, customers, p, customerScope)
	if err != nil {
		return nil, err
	}
	return &PartialRater{filter: r, blocks: make([]*partialBlock, len(r.customers))}, nil
}

// Add counts one usage event as Rater.Add does: the same events are ignored,
// the same are errors, and a failed Add changes nothing.
func (pr *PartialRater) Add(e *billing.UsageEvent) error {
	ci, slot, qty, intl, counted, err := pr.filter.admit(e)
	if err != nil || !counted {
		return err
	}
	b := pr.blocks[ci]
	if b == nil {
		b = &partialBlock{slots: make([]partialSlot, len(pr.filter.monthNames)*billing.NumItems)}
		pr.blocks[ci] = b
	}
	s := &b.slots[slot]
	s.quantity.add(qty)
	s.international.add(intl)
	s.events++
	s.recorded = s.recorded || e.Recorded
	pr.filter.counted++
	return nil
}

// Counted is the number of events counted so far (Partial.Counted).
func (pr *PartialRater) Counted() int64 { return pr.filter.counted }

// Partial returns the sums so far, sorted.
func (pr *PartialRater) Partial() *Partial {
	r := pr.filter
	p := &Partial{AccountID: r.accountID, Counted: r.counted, Ignored: r.ignored}
	for ci, b := range pr.blocks {
		if b == nil {
			continue
		}
		for slot := range b.slots {
			s := &b.slots[slot]
			if s.events == 0 {
				continue
			}
			p.Records = append(p.Records, PartialRecord{
				CustomerID: r.customers[ci].id, Month: r.monthNames[slot/billing.NumItems], Item: billing.Items[slot%billing.NumItems],
				Events: s.events, RawQuantity: s.quantity.text(), InternationalCost: s.international.text(),
				Recorded: s.recorded,
			})
		}
	}
	p.sort()
	return p
}

func (p *Partial) sort() {
	slices.SortFunc(p.Records, func(a, b PartialRecord) int { return comparePartialKeys(a.key(), b.key()) })
}

// MergePartials adds partials of one report into one. Addition is exact, so
// the result does not depend on the order; callers still merge in shard
// order, so that work and memory are the same on every run.
func MergePartials(parts ...*Partial) (*Partial, error) {
	if len(parts) == 0 {
		return nil, billing.Errorf(billing.EINVALID, "No partials to merge.")
	}
	type sums struct {
		rec       PartialRecord
		qty, intl exactSum
	}
	out := &Partial{AccountID: parts[0].AccountID}
	byKey := map[partialKey]*sums{}
	for i, p := range parts {
		if p.AccountID != out.AccountID {
			return nil, billing.Errorf(billing.EINVALID, "Partial %d is of account %s, not %s.", i+1, p.AccountID, out.AccountID)
		}
		out.Counted += p.Counted
		out.Ignored += p.Ignored
		for _, rec := range p.Records {
			s, ok := byKey[rec.key()]
			if !ok {
				s = &sums{rec: PartialRecord{CustomerID: rec.CustomerID, Month: rec.Month, Item: rec.Item}}
				byKey[rec.key()] = s
			}
			for _, f := range []struct {
				sum  *exactSum
				text string
			}{{&s.qty, rec.RawQuantity}, {&s.intl, rec.InternationalCost}} {
				a, err := parseAmount(f.text)
				if err != nil {
					return nil, billing.WrapError(billing.EINVALID, err, "Partial %d has a malformed sum %q.", i+1, f.text)
				}
				f.sum.add(a)
			}
			s.rec.Events += rec.Events
			s.rec.Recorded = s.rec.Recorded || rec.Recorded
		}
	}
	out.Records = make([]PartialRecord, 0, len(byKey))
	for _, s := range byKey {
		s.rec.RawQuantity, s.rec.InternationalCost = s.qty.text(), s.intl.text()
		out.Records = append(out.Records, s.rec)
	}
	out.sort()
	return out, nil
}

// AddPartial adds a partial's sums, as if its events were Added. The partial
// must come from a PartialRater built like this Rater (same account, period
// and scope): a record of a customer, month or item this report does not
// rate is EINVALID. Nothing is added unless the whole partial is valid.
func (r *Rater) AddPartial(p *Partial) error {
	if r.result != nil {
		return billing.Errorf(billing.EINTERNAL, "usage added after the result was taken")
	}
	if p.AccountID != r.accountID {
		return billing.Errorf(billing.EINVALID, "The partial is of account %s, not %s.", p.AccountID, r.accountID)
	}
	type parsed struct {
		ci        int32
		slot      int
		qty, intl amount
		recorded  bool
	}
	recs := make([]parsed, 0, len(p.Records))
	var events int64
	for _, rec := range p.Records {
		ci, ok := r.index[rec.CustomerID]
		if !ok || !r.customers[ci].inScope {
			return billing.Errorf(billing.EINVALID, "The partial has usage of customer %s, which this report does not rate.", rec.CustomerID)
		}
		m := slices.Index(r.monthNames, rec.Month)
		item := itemIndex(rec.Item)
		if m < 0 || item <= 0 {
			return billing.Errorf(billing.EINVALID, "The partial has usage of %s in %s, which this report does not rate.", rec.Item, rec.Month)
		}
		qty, err := parseAmount(rec.RawQuantity)
		if err != nil {
			return billing.WrapError(billing.EINVALID, err, "The partial has a malformed quantity %q.", rec.RawQuantity)
		}
		intl, err := parseAmount(rec.InternationalCost)
		if err != nil {
			return billing.WrapError(billing.EINVALID, err, "The partial has a malformed international cost %q.", rec.InternationalCost)
		}
		recs = append(recs, parsed{ci, m*billing.NumItems + item, qty, intl, rec.Recorded})
		events += rec.Events
	}
	if events != p.Counted {
		return billing.Errorf(billing.EINVALID, "The partial counts %d events but its records hold %d.", p.Counted, events)
	}
	for _, rec := range recs {
		b := r.block(rec.ci)
		r.addAmount(&b.quantities[rec.slot], spillKey{rec.ci, int32(rec.slot)}, rec.qty)
		r.addAmount(&b.international, spillKey{rec.ci, internationalSlot}, rec.intl)
		b.recorded = b.recorded || rec.recorded
	}
	r.counted += p.Counted
	r.ignored += p.Ignored
	return nil
}

// exactDecimal is v (a sum of decimals, so its denominator is 2^a·5^b) as
// canonical decimal text. Any other denominator is a bug, not bad input.
func exactDecimal(v *big.Rat) string {
	if v.IsInt() {
		return v.Num().String()
	}
	den := new(big.Int).Set(v.Denom())
	digits := 0
	var two, five = big.NewInt(2), big.NewInt(5)
	var q, rem big.Int
	for _, f := range []*big.Int{two, five} {
		n := 0
		for {
			q.QuoRem(den, f, &rem)
			if rem.Sign() != 0 {
				break
			}
			den.Set(&q)
			n++
		}
		digits = max(digits, n)
	}
	if den.Cmp(big.NewInt(1)) != 0 {
		panic(fmt.Sprintf("rating: %s is not a finite decimal", v.RatString()))
	}
	return strings.TrimRight(v.FloatString(digits), "0")
}

// The text form, version 1:
//
//	billing-partial v1
//	account "<account id>"
//	counted <n>
//	ignored <n>
//	record "<customer id>" <YYYY-MM> <item> <events> <rawQuantity> <internationalCost> <0|1>
//	...
//	end <number of records>
//
// Ids are Go-quoted strings (any byte can appear in an id); numbers are
// canonical decimal text; records are sorted and unique. The end line guards
// against a truncated object. Each value has exactly one encoding, so
// ParsePartial(MarshalText()) round-trips byte for byte.
const partialHeader = "billing-partial v1"

// MarshalText encodes p (version 1).
func (p *Partial) MarshalText() ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\naccount %s\ncounted %d\nignored %d\n", partialHeader, strconv.Quote(p.AccountID), p.Counted, p.Ignored)
	for i := range p.Records {
		rec := &p.Records[i]
		recorded := 0
		if rec.Recorded {
			recorded = 1
		}
		fmt.Fprintf(&b, "record %s %s %s %d %s %s %d\n", strconv.Quote(rec.CustomerID), rec.Month, rec.Item, rec.Events, rec.RawQuantity, rec.InternationalCost, recorded)
	}
	fmt.Fprintf(&b, "end %d\n", len(p.Records))
	return b.Bytes(), nil
}

// ParsePartial decodes MarshalText's form strictly: an unknown version, a
// missing or extra line, an unsorted or repeated record, a number that is not
// canonical, or counts that do not add up is an EINVALID error (never a
// panic), so a damaged partial fails its report instead of changing it.
func ParsePartial(data []byte) (*Partial, error) {
	p, line, err := parsePartial(data)
	if err != nil {
		return nil, billing.WrapError(billing.EINVALID, fmt.Errorf("parsing a partial, line %d: %w", line, err), "A stored partial result is damaged (line %d: %v).", line, err)
	}
	return p, nil
}

func parsePartial(data []byte) (*Partial, int, error) {
	if len(data) == 0 || data[len(data)-1] != '\n' {
		return nil, 0, fmt.Errorf("it does not end with a newline")
	}
	pl := &partialLines{lines: strings.Split(string(data[:len(data)-1]), "\n")}
	if len(pl.lines) == 0 || pl.lines[0] != partialHeader {
		return nil, 1, fmt.Errorf("not a %q object", partialHeader)
	}
	pl.n = 1
	p := &Partial{}
	if err := pl.head(p); err != nil {
		return nil, pl.n, err
	}
	events, err := pl.records(p)
	if err != nil {
		return nil, pl.n, err
	}
	if line, err := pl.end(p, events); err != nil {
		return nil, line, err
	}
	return p, pl.n, nil
}

// partialLines reads a partial's lines in order; n is the number read, the
// line number of the last one.
type partialLines struct {
	lines []string
	n     int
}

// next reads the next line, which must be prefix, a space and the rest.
func (pl *partialLines) next(prefix string) (string, error) {
	if pl.n >= len(pl.lines) {
		return "", fmt.Errorf("it ends before the %q line", prefix)
	}
	pl.n++
	rest, ok := strings.CutPrefix(pl.lines[pl.n-1], prefix+" ")
	if !ok {
		return "", fmt.Errorf("want a %q line", prefix)
	}
	return rest, nil
}

// head reads the account, counted and ignored lines into p.
func (pl *partialLines) head(p *Partial) error {
	rest, err := pl.next("account")
	if err != nil {
		return err
	}
	if p.AccountID, err = canonicalQuoted(rest); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		dst  *int64
	}{{"counted", &p.Counted}, {"ignored", &p.Ignored}} {
		if rest, err = pl.next(f.name); err != nil {
			return err
		}
		if *f.dst, err = canonicalCount(rest); err != nil {
			return err
		}
	}
	return nil
}

// records reads the record lines into p, sorted and unique, and returns
// their events.
func (pl *partialLines) records(p *Partial) (int64, error) {
	var events int64
	for pl.n < len(pl.lines) && strings.HasPrefix(pl.lines[pl.n], "record ") {
		rest, _ := pl.next("record")
		rec, err := parseRecord(rest)
		if err != nil {
			return 0, err
		}
		if len(p.Records) > 0 && comparePartialKeys(p.Records[len(p.Records)-1].key(), rec.key()) >= 0 {
			return 0, fmt.Errorf("records are not sorted and unique")
		}
		if events += rec.Events; events < 0 {
			return 0, fmt.Errorf("event counts overflow")
		}
		p.Records = append(p.Records, rec)
	}
	return events, nil
}

// end reads the end line and checks that nothing follows and that the
// counts add up; on error it returns the line to blame.
func (pl *partialLines) end(p *Partial, events int64) (int, error) {
	rest, err := pl.next("end")
	if err != nil {
		return pl.n, err
	}
	if count, err := canonicalCount(rest); err != nil || count != int64(len(p.Records)) {
		return pl.n, fmt.Errorf("the end line does not match the %d records", len(p.Records))
	}
	if pl.n != len(pl.lines) {
		return pl.n + 1, fmt.Errorf("text after the end line")
	}
	if events != p.Counted {
		return pl.n, fmt.Errorf("counted %d but the records hold %d events", p.Counted, events)
	}
	return pl.n, nil
}

func parseRecord(s string) (PartialRecord, error) {
	var rec PartialRecord
	quoted, err := strconv.QuotedPrefix(s)
	if err != nil {
		return rec, fmt.Errorf("malformed customer id")
	}
	if rec.CustomerID, err = canonicalQuoted(quoted); err != nil {
		return rec, err
	}
	rest, ok := strings.CutPrefix(s[len(quoted):], " ")
	if !ok {
		return rec, fmt.Errorf("no space after the customer id")
	}
	var fields [6]string
	for i := range fields {
		if i < len(fields)-1 {
			fields[i], rest, ok = strings.Cut(rest, " ")
		} else {
			fields[i], ok = rest, !strings.Contains(rest, " ")
		}
		if !ok {
			return rec, fmt.Errorf("a record has 7 fields")
		}
	}
	rec.Month = fields[0]
	if !validMonth(rec.Month) {
		return rec, fmt.Errorf("malformed month %q", rec.Month)
	}
	rec.Item = billing.Item(fields[1])
	if itemIndex(rec.Item) <= 0 {
		return rec, fmt.Errorf("%q is not a usage item", fields[1])
	}
	if rec.Events, err = canonicalCount(fields[2]); err != nil || rec.Events == 0 {
		return rec, fmt.Errorf("malformed event count %q", fields[2])
	}
	for _, f := range []struct {
		dst  *string
		text string
	}{{&rec.RawQuantity, fields[3]}, {&rec.InternationalCost, fields[4]}} {
		if !canonicalDecimal(f.text) {
			return rec, fmt.Errorf("%q is not a canonical decimal", f.text)
		}
		*f.dst = f.text
	}
	switch fields[5] {
	case "0":
	case "1":
		rec.Recorded = true
	default:
		return rec, fmt.Errorf("recorded is %q, not 0 or 1", fields[5])
	}
	return rec, nil
}

// canonicalQuoted unquotes s, which must be exactly strconv.Quote's form of
// a non-empty id.
func canonicalQuoted(s string) (string, error) {
	if plainQuoted(s) {
		return s[1 : len(s)-1], nil // the common id: nothing to unquote
	}
	v, err := strconv.Unquote(s)
	if err != nil || strconv.Quote(v) != s || v == "" {
		return "", fmt.Errorf("malformed id %s", s)
	}
	return v, nil
}

// plainQuoted reports whether s is a quoted non-empty run of printable ASCII
// without quotes or backslashes, which strconv.Quote leaves as it is.
func plainQuoted(s string) bool {
	if len(s) < 3 || s[0] != '"' || s[len(s)-1] != '"' {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func canonicalCount(s string) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 || strconv.FormatInt(v, 10) != s {
		return 0, fmt.Errorf("malformed count %q", s)
	}
	return v, nil
}

// canonicalDecimal reports whether s is exactDecimal's form: digits without
// leading zeros, and a fraction without trailing zeros.
func canonicalDecimal(s string) bool {
	whole, frac, hasFrac := strings.Cut(s, ".")
	if whole == "" || strings.Trim(whole, "0123456789") != "" || (len(whole) > 1 && whole[0] == '0') {
		return false
	}
	if hasFrac {
		return frac != "" && strings.Trim(frac, "0123456789") == "" && frac[len(frac)-1] != '0'
	}
	return true
}

func validMonth(s string) bool {
	if len(s) != 7 || s[4] != '-' || strings.Trim(s[:4]+s[5:], "0123456789") != "" {
		return false
	}
	m, _ := strconv.Atoi(s[5:])
	return m >= 1 && m <= 12
}
