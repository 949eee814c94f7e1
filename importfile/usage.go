package importfile

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	billing "github.com/evovoice/billing"
)

// usageDecoder turns the lines of an import file into usage events checked on
// their own (ids, item, time, decimals) and, against its dataset, for their
// customer. Validation, the usage stream and DecodeUsage share it, so the
// three read a line the same way.
type usageDecoder struct {
	ds         *Dataset
	f          lineFields
	ev         billing.UsageEvent
	evCustomer int // index of ev's customer in ds, -1 if unknown (yet)
	interned   map[string]string
}

func newUsageDecoder(ds *Dataset) usageDecoder {
	return usageDecoder{ds: ds, interned: map[string]string{}}
}

// lineKind is what classify found on a line.
type lineKind int

const (
	lineBlank  lineKind = iota // nothing to do
	lineBad                    // the problem says why
	lineUsage                  // d.f holds the decoded fields, not yet checked
	lineRecord                 // an account or customer line; d.f.typ says which
)

// classify decodes one line as read by eachLine and says what it is.
func (d *usageDecoder) classify(line []byte, tooLong bool) (lineKind, string) {
	if tooLong {
		return lineBad, fmt.Sprintf("line is longer than %d bytes", maxLineBytes)
	}
	line = bytes.TrimRight(line, "\r\n")
	if len(bytes.TrimSpace(line)) == 0 {
		return lineBlank, ""
	}
	if !utf8.Valid(line) {
		return lineBad, "not valid UTF-8"
	}
	if err := decodeLine(line, &d.f); err != nil {
		return lineBad, err.Error()
	}
	switch string(d.f.typ) {
	case "usage":
		return lineUsage, ""
	case "account", "customer":
		return lineRecord, ""
	}
	if d.f.has&hasType == 0 {
		return lineBad, `missing "type" (account, customer or usage)`
	}
	return lineBad, fmt.Sprintf("unknown type %q (want account, customer or usage)", d.f.typ)
}

// Usage streams the distinct usage events of a validated input in file order,
// skipping identical repeats, in one pass. It fails, before handing on anything
// more, if a line no longer passes its own checks or a usage line names an
// unknown customer (the file was changed after Validate).
func (d *Dataset) Usage(ctx context.Context, src Source, fn UsageFunc) error {
	dec := newUsageDecoder(d)
	probs := problemList{max: 1000}
	_, err := eachLine(ctx, src, nil, Progress{Pass: 1, Name: "streaming usage"}, func(lineNo int, line []byte, tooLong bool) error {
		kind, problem := dec.classify(line, tooLong)
		if kind == lineBad {
			probs.add(lineNo, "%s", problem)
		}
		if kind != lineUsage {
			return nil
		}
		if reasons := dec.usageEvent(); len(reasons) > 0 {
			probs.add(lineNo, "%s", strings.Join(reasons, "; "))
			return nil
		}
		if first, ok := d.repeats[dec.ev.ID]; ok && first != lineNo {
			return nil
		}
		if !dec.checkRefs(lineNo, &probs) || probs.total > 0 {
			return nil
		}
		if err := fn(&dec.ev); err != nil {
			return fmt.Errorf("handling usage event %q: %w", dec.ev.ID, err)
		}
		return nil
	})
	if err == nil && probs.total > 0 {
		err = fmt.Errorf("the import file changed after it was validated: %w", probs.err())
	}
	return err
}

// DecodeUsage decodes every usage line of src with the same decoder Scan uses,
// and checks nothing beyond what decoding needs: no references, no repeated ids,
// no other line types. It is the floor Scan's speed is measured against, and a
// quick way to look at a file; fn gets events that are only valid during the call.
func DecodeUsage(ctx context.Context, src Source, fn func(e *billing.UsageEvent) error) (events int64, err error) {
	dec := newUsageDecoder(&Dataset{})
	_, err = eachLine(ctx, src, nil, Progress{Pass: 1, Name: "decoding"}, func(lineNo int, line []byte, tooLong bool) error {
		if kind, _ := dec.classify(line, tooLong); kind != lineUsage {
			return nil
		}
		if reasons := dec.usageEvent(); len(reasons) > 0 {
			return fmt.Errorf("line %d: %s", lineNo, reasons[0])
		}
		events++
		return fn(&dec.ev)
	})
	return events, err
}

// usageEvent checks the decoded fields of a usage line on their own (no
// references) and fills d.ev; it returns the reasons the line is bad.
func (d *usageDecoder) usageEvent() []string {
	f := &d.f
	reasons := append([]string(nil), f.typeErrs...)
	check := func(p string) {
		if p != "" {
			reasons = append(reasons, p)
		}
	}
	// A field of the wrong JSON type is reported once, not also as missing.
	required := func(bit uint16, field string, v []byte) {
		if f.wrongType&bit == 0 {
			check(idProblem(field, v))
		}
	}
	required(hasID, "id", f.id)
	required(hasAccountID, "accountId", f.accountID)
	required(hasCustomerID, "customerId", f.customerID)
	ev := &d.ev
	*ev = billing.UsageEvent{}
	var p string
	if ev.Time, p = f.timeField(); p != "" {
		reasons = append(reasons, p)
	}
	if ev.Item, p = f.itemField(); p != "" {
		reasons = append(reasons, p)
	}
	if f.wrongType&hasRawQuantity != 0 {
		// reported above
	} else if len(f.rawQuantity) == 0 {
		reasons = append(reasons, `missing "rawQuantity"`)
	} else {
		check(decimalProblem("rawQuantity", string(f.rawQuantity)))
	}
	if len(f.intlCost) > 0 {
		check(decimalProblem("internationalCost", string(f.intlCost)))
	}
	if len(f.description) > maxTextBytes {
		reasons = append(reasons, fmt.Sprintf(`"description" is longer than %d bytes`, maxTextBytes))
	}
	if len(reasons) > 0 {
		return reasons
	}
	ev.ID = string(f.id)
	d.shareIDs(ev)
	ev.RawQuantity = string(f.rawQuantity)
	ev.InternationalCost = string(f.intlCost)
	ev.Recorded = f.recorded
	ev.Description = string(f.description)
	return nil
}

// timeField is the usage line's time, or why it is bad ("" when it is
// fine, or already reported as of the wrong type).
func (f *lineFields) timeField() (time.Time, string) {
	switch {
	case f.wrongType&hasTime != 0:
		return time.Time{}, ""
	case len(f.time) == 0:
		return time.Time{}, `missing "time"`
	}
	t, ok := parseTime(f.time)
	if !ok {
		return time.Time{}, fmt.Sprintf(`"time" must be an RFC 3339 timestamp such as "2026-10-01T04:00:00Z" (got %q)`, f.time)
	}
	return t, ""
}

// itemField is the usage line's item, or why it is bad (as timeField).
func (f *lineFields) itemField() (billing.Item, string) {
	switch {
	case f.wrongType&hasItem != 0:
		return "", ""
	case len(f.item) == 0:
		return "", `missing "item"`
	}
	item, ok := itemOf(f.item)
	switch {
	case !ok:
		return "", fmt.Sprintf("unknown item %q", f.item)
	case item == billing.ItemBase:
		return "", `item "Base" is a fixed monthly cost and has no usage`
	}
	return item, ""
}

// shareIDs sets ev's account and customer ids, shared with the dataset's
// records when they match, which saves two allocations per line.
func (d *usageDecoder) shareIDs(ev *billing.UsageEvent) {
	f := &d.f
	d.evCustomer = -1
	if pos, ok := d.ds.customerIdx[string(f.customerID)]; ok {
		d.evCustomer = pos.index
		c := &d.ds.Customers[pos.index]
		ev.CustomerID = c.ID
		if c.AccountID == string(f.accountID) {
			ev.AccountID = c.AccountID
		}
	}
	if ev.CustomerID == "" {
		ev.CustomerID = d.intern(f.customerID)
	}
	if ev.AccountID == "" {
		ev.AccountID = d.intern(f.accountID)
	}
}

// maxInterned bounds the intern table: ids of accounts and customers repeat on
// every line, but a hostile file must not grow the table without limit.
const maxInterned = 4096

// intern returns b as a string, shared with earlier equal ones while the table
// has room (DecodeUsage has no records to share ids with).
func (d *usageDecoder) intern(b []byte) string {
	if v, ok := d.interned[string(b)]; ok {
		return v
	}
	v := string(b)
	if len(d.interned) < maxInterned {
		d.interned[v] = v
	}
	return v
}

func itemOf(b []byte) (billing.Item, bool) {
	for _, it := range billing.Items {
		if string(it) == string(b) {
			return it, true
		}
	}
	return "", false
}

// checkRefs checks that the event's customer exists in the event's account.
func (d *usageDecoder) checkRefs(lineNo int, into *problemList) bool {
	ev := &d.ev
	if d.evCustomer < 0 {
		into.add(lineNo, "usage for an unknown customer %q", ev.CustomerID)
		return false
	}
	c := &d.ds.Customers[d.evCustomer]
	if c.AccountID != ev.AccountID {
		into.add(lineNo, "customer %q belongs to account %q, not %q", c.ID, c.AccountID, ev.AccountID)
		return false
	}
	return true // the customer's own line reports an unknown account
}
