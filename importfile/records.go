package importfile

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	billing "github.com/evovoice/billing"
)

// maxTextBytes bounds names and descriptions, which end up in CSV cells, emails
// and DynamoDB items (400 KB each).
const maxTextBytes = 4096

// idProblem explains why b is not a usable id (spec 2.6: billing.ValidID), or
// returns "". Ids become parts of DynamoDB keys, S3 object names and the
// comma-separated custom:accountIds claim, so the import refuses any id the
// API would refuse.
func idProblem(field string, b []byte) string {
	switch {
	case len(b) == 0:
		return fmt.Sprintf("missing %q", field)
	case !billing.ValidID(b):
		return fmt.Sprintf("%q must be %s (got %s)", field, billing.IDRule, quoteShort(b))
	}
	return ""
}

// quoteShort quotes a bad value for a problem line, cut so that a huge one
// does not flood the report.
func quoteShort(b []byte) string {
	const max = 40
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "..."
	}
	return strconv.Quote(string(b))
}

// decimalProblem explains why text is not a non-negative decimal, or returns "".
func decimalProblem(field, text string) string {
	if billing.ValidDecimal(text) {
		return ""
	}
	if strings.HasPrefix(text, "-") && billing.ValidDecimal(text[1:]) {
		return fmt.Sprintf("%q must not be negative (got %q)", field, text)
	}
	return fmt.Sprintf("%q must be a non-negative decimal number such as \"1.25\" (got %q)", field, text)
}

// settings validates a billingSettings object and converts it, appending a
// reason for every bad entry.
func settings(in map[string]json.RawMessage, reasons []string) (billing.BillingSettings, []string) {
	if len(in) == 0 {
		return nil, reasons
	}
	out := make(billing.BillingSettings, len(in))
	for _, name := range sortedKeys(in) {
		var s settingsJSON
		if string(in[name]) != "null" {
			if err := json.Unmarshal(in[name], &s); err != nil {
				reasons = append(reasons, typeProblem("billingSettings."+name+".", err).Error())
				continue
			}
		}
		item := billing.Item(name)
		if !item.Valid() {
			reasons = append(reasons, fmt.Sprintf("unknown item %q in \"billingSettings\"", name))
			continue
		}
		if item == billing.ItemBase && (s.RawUnitMultiplier.text != "" || s.UnitCost.text != "" || s.Allowance.text != "") {
			reasons = append(reasons, `item "Base" takes only "baseCost"`)
		}
		for _, f := range [...]struct {
			name string
			val  decimalText
		}{{"baseCost", s.BaseCost}, {"rawUnitMultiplier", s.RawUnitMultiplier}, {"unitCost", s.UnitCost}, {"allowance", s.Allowance}} {
			if f.val.text == "" { // absent or empty: the default price
				continue
			}
			if p := decimalProblem("billingSettings."+name+"."+f.name, f.val.text); p != "" {
				reasons = append(reasons, p)
			}
		}
		out[item] = billing.ItemSettings{
			BaseCost: s.BaseCost.text, RawUnitMultiplier: s.RawUnitMultiplier.text,
			UnitCost: s.UnitCost.text, Allowance: s.Allowance.text,
		}
	}
	return out, reasons
}

// sortedKeys gives the reasons of one line the same order every run.
func sortedKeys(m map[string]json.RawMessage) []string { return slices.Sorted(maps.Keys(m)) }

func textProblem(field, s string, required bool) string {
	switch {
	case s == "" && required:
		return fmt.Sprintf("missing %q", field)
	case len(s) > maxTextBytes:
		return fmt.Sprintf("%q is longer than %d bytes", field, maxTextBytes)
	case !utf8.ValidString(s):
		return fmt.Sprintf("%q is not valid UTF-8", field)
	}
	return ""
}

// addRecord validates an account or customer line and adds it to the dataset.
func (s *scanner) addRecord(lineNo int, typ string, line []byte) {
	r, err := decodeRecord(line)
	if err != nil {
		s.probs.add(lineNo, "%s", err)
		return
	}
	var reasons []string
	check := func(p string) {
		if p != "" {
			reasons = append(reasons, p)
		}
	}
	check(idProblem("id", []byte(r.ID)))
	check(textProblem("name", r.Name, true))
	bs, reasons := settings(r.BillingSettings, reasons)
	if typ == "account" {
		s.addAccount(lineNo, &r, bs, reasons)
		return
	}
	s.addCustomer(lineNo, &r, bs, reasons)
}

// addAccount adds an account line whose common fields gave reasons.
func (s *scanner) addAccount(lineNo int, r *recordJSON, bs billing.BillingSettings, reasons []string) {
	ds := s.ds
	if r.TimeZoneID != "" {
		if _, err := s.zone(r.TimeZoneID); err != nil {
			reasons = append(reasons, fmt.Sprintf("unknown time zone %q in \"timeZoneId\"", r.TimeZoneID))
		}
	}
	if r.Currency != "" && !billing.ValidCurrency(r.Currency) {
		reasons = append(reasons, fmt.Sprintf("\"currency\" %q is not an ISO 4217 code (three upper-case letters such as USD)", r.Currency))
	}
	if len(reasons) > 0 {
		s.probs.add(lineNo, "%s", strings.Join(reasons, "; "))
		return
	}
	a := billing.Account{ID: r.ID, Name: r.Name, TimeZoneID: r.TimeZoneID, Currency: r.Currency, BillingSettings: bs}
	if first, ok := ds.accountIdx[a.ID]; ok {
		if reflect.DeepEqual(ds.Accounts[first.index], a) {
			ds.Summary.RepeatedRecords++
		} else {
			s.probs.add(lineNo, "duplicate account id %q with different content (first at line %d)", a.ID, first.line)
		}
		return
	}
	ds.accountIdx[a.ID] = recordPos{index: len(ds.Accounts), line: lineNo}
	ds.Accounts = append(ds.Accounts, a)
}

// addCustomer adds a customer line whose common fields gave reasons.
func (s *scanner) addCustomer(lineNo int, r *recordJSON, bs billing.BillingSettings, reasons []string) {
	ds := s.ds
	check := func(p string) {
		if p != "" {
			reasons = append(reasons, p)
		}
	}
	check(idProblem("accountId", []byte(r.AccountID)))
	if r.ParentCustomerID != "" {
		check(idProblem("parentCustomerId", []byte(r.ParentCustomerID)))
		if r.ParentCustomerID == r.ID {
			reasons = append(reasons, fmt.Sprintf("customer %q is its own parent", r.ID))
		}
	}
	if len(reasons) > 0 {
		s.probs.add(lineNo, "%s", strings.Join(reasons, "; "))
		return
	}
	c := billing.Customer{ID: r.ID, AccountID: r.AccountID, ParentCustomerID: r.ParentCustomerID, Name: r.Name,
		OverrideBillingSettings: r.OverrideBillingSettings, BillingSettings: bs}
	if first, ok := ds.customerIdx[c.ID]; ok {
		if reflect.DeepEqual(ds.Customers[first.index], c) {
			ds.Summary.RepeatedRecords++
		} else {
			s.probs.add(lineNo, "duplicate customer id %q with different content (first at line %d)", c.ID, first.line)
		}
		return
	}
	ds.customerIdx[c.ID] = recordPos{index: len(ds.Customers), line: lineNo}
	ds.Customers = append(ds.Customers, c)
}

// recordProblems checks what only the whole set of accounts and customers can
// tell: every customer's account and parent exist, in the same account, and no
// parent chain loops. Memory and time are linear in the number of customers.
func (d *Dataset) recordProblems() []Problem {
	return d.cycleProblems(d.referenceProblems())
}

// referenceProblems are the customers whose account or parent is unknown,
// or whose parent is another account's.
func (d *Dataset) referenceProblems() []Problem {
	var out []Problem
	for _, c := range d.Customers {
		line := d.customerIdx[c.ID].line
		if _, ok := d.accountIdx[c.AccountID]; !ok {
			out = append(out, Problem{line, fmt.Sprintf("unknown account %q", c.AccountID)})
		}
		if c.ParentCustomerID == "" || c.ParentCustomerID == c.ID {
			continue
		}
		p, ok := d.customerIdx[c.ParentCustomerID]
		if !ok {
			out = append(out, Problem{line, fmt.Sprintf("unknown parent customer %q", c.ParentCustomerID)})
		} else if pa := d.Customers[p.index].AccountID; pa != c.AccountID {
			out = append(out, Problem{line, fmt.Sprintf("parent customer %q belongs to account %q, not %q", c.ParentCustomerID, pa, c.AccountID)})
		}
	}
	return out
}

// cycleProblems appends to out a problem for every customer on a parent
// chain that loops.
func (d *Dataset) cycleProblems(out []Problem) []Problem {
	state := make(map[string]uint8, len(d.Customers)) // 1: on the current path, 2: checked
	for _, c := range d.Customers {
		var path []string
		for cur := c.ID; ; {
			if st := state[cur]; st == 2 {
				break // joins a chain already checked
			} else if st == 1 {
				// cur is already on this path: the chain from cur loops back to it.
				start := 0
				for path[start] != cur {
					start++
				}
				cycle := append(append([]string(nil), path[start:]...), cur)
				chain := quoteJoin(cycle, " > ")
				for _, id := range cycle[:len(cycle)-1] {
					out = append(out, Problem{d.customerIdx[id].line, "parent cycle: " + chain})
				}
				break
			}
			state[cur] = 1
			path = append(path, cur)
			next := d.parentOf(cur)
			if _, ok := d.customerIdx[next]; !ok || next == cur {
				break // a root, an unknown parent or a self-parent (reported above)
			}
			cur = next
		}
		for _, id := range path {
			state[id] = 2
		}
	}
	return out
}

func (d *Dataset) parentOf(id string) string {
	if pos, ok := d.customerIdx[id]; ok {
		return d.Customers[pos.index].ParentCustomerID
	}
	return ""
}

func quoteJoin(ids []string, sep string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = fmt.Sprintf("%q", id)
	}
	return strings.Join(q, sep)
}
