// Package seed generates a deterministic, realistic demo dataset in the import
// format of spec 3.1: resellers in several time zones, nested customer trees with
// some overriding prices and inheriting children, every item priced, and months
// of usage sorted by time, with international calls, recordings and names that
// need CSV quoting and formula escaping.
//
// The same Config always yields the same bytes, so demo data, tests and
// benchmarks are reproducible. Usage is written as it is generated: memory does
// not grow with the number of events, and millions of events take seconds.
package seed

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"math/rand/v2"
	"strconv"
	"time"

	billing "github.com/evovoice/billing"
)

// Config says how much data to make.
type Config struct {
	Accounts  int
	Customers int   // in total, spread over the accounts
	Events    int64 // usage events in total
	Seed      uint64
	// Start is the first day of usage (UTC); default 2026-08-01.
	Start billing.Date
	// Months of usage from Start; default 3.
	Months int
}

// eventIDPrefix names a dataset's usage events after its whole configuration,
// so that two different datasets loaded into one stack (the demo data, then a
// bigger seed) never share an event id at different times, which would bill
// both copies, while the same flags still give the same ids (an idempotent
// re-import).
func (c Config) eventIDPrefix() string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%d/%d/%d/%d/%s/%d", c.Accounts, c.Customers, c.Events, c.Seed, c.Start, c.Months)
	return fmt.Sprintf("ev-%08x-", h.Sum32())
}

// Defaults used by reportctl seed.
const (
	DefaultAccounts  = 3
	DefaultCustomers = 40
	DefaultEvents    = 100_000
)

func (c *Config) normalize() error {
	if c.Accounts < 1 {
		return errors.New("seed: at least one account is needed")
	}
	if c.Customers < c.Accounts {
		return fmt.Errorf("seed: %d customers cannot cover %d accounts (each needs one)", c.Customers, c.Accounts)
	}
	if c.Events < 0 {
		return errors.New("seed: the number of events must not be negative")
	}
	if c.Start.IsZero() {
		c.Start = billing.Date{Year: 2026, Month: time.August, Day: 1}
	}
	if c.Months <= 0 {
		c.Months = 3
	}
	return nil
}

var zones = [...]string{"America/New_York", "Europe/London", "UTC", "America/Los_Angeles", "Australia/Sydney"}

// currencies go with the resellers' countries (resellerNames); they only
// label amounts, rating ignores them.
var currencies = [...]string{"USD", "GBP", "EUR", "CHF", "USD", "AUD"}

var resellerNames = [...]string{
	"Acme Voice Reseller", "Northwind Telecom", "Blue Harbor Communications", "Zürich Cloud Telefonie",
	"Pacific Dial, Inc.", "Sydney Harbour Voice",
}

// customerNames include commas, quotes, non-ASCII letters and leading characters
// a spreadsheet would run as a formula, so demo reports exercise CSV escaping.
var customerNames = [...]string{
	"Bright Smile Dental", "Smith, Jones & Partners", `Annex "B"`, "Müller Bau GmbH", "=HYPERLINK(\"http://x\") Law, LLC",
	"City Veterinary Clinic", "+1 Plumbing", "-Minus Architects", "@Home Realty", "Café Ñandú",
	"Riverside Pharmacy", "Lakeside Accounting", "O'Brien & Daughters", "Green Valley School", "Metro Taxi Co.",
	"Summit Orthopedics", "Harbor Freight Forwarding", "Oak Street Bakery", "Nordic Design AB", "東京 Trading",
}

var branchNames = [...]string{"North Office", "South Office", "Downtown", "Warehouse", "Front Desk", "Support Line", "Sales, East", "Night Shift"}

// item mix of usage: weights out of 1000.
var itemMix = [...]struct {
	item   billing.Item
	weight int
}{
	{billing.ItemInboundVoiceCalls, 300}, {billing.ItemOutboundVoiceCalls, 280},
	{billing.ItemInboundSmsMessages, 140}, {billing.ItemOutboundSmsMessages, 140},
	{billing.ItemInboundFaxes, 20}, {billing.ItemOutboundFaxes, 20},
	{billing.ItemLocalNumbers, 30}, {billing.ItemTollFreeNumbers, 10},
	{billing.ItemAIInsights, 40}, {billing.ItemAILiveMinutes, 20},
}

// perMinute is the multiplier that turns seconds into minutes, rounded as a
// reseller would type it: exactly representable neither as a float nor in cents.
const perMinute = "0.0166666667"

func accountSettings(r *rand.Rand) billing.BillingSettings {
	cents := func(lo, hi int) string { return centsText(lo + r.IntN(hi-lo+1)) }
	return billing.BillingSettings{
		billing.ItemBase:                {BaseCost: cents(1500, 4500)},
		billing.ItemLocalNumbers:        {UnitCost: cents(100, 300), Allowance: strconv.Itoa(1 + r.IntN(3))},
		billing.ItemTollFreeNumbers:     {UnitCost: cents(300, 600)},
		billing.ItemInboundVoiceCalls:   {UnitCost: "0.015", RawUnitMultiplier: perMinute, Allowance: strconv.Itoa(100 * (1 + r.IntN(5)))},
		billing.ItemOutboundVoiceCalls:  {UnitCost: "0.02", RawUnitMultiplier: perMinute, Allowance: strconv.Itoa(50 * (1 + r.IntN(4)))},
		billing.ItemInboundFaxes:        {UnitCost: "0.05"},
		billing.ItemOutboundFaxes:       {BaseCost: "5.00", UnitCost: "0.10"},
		billing.ItemInboundSmsMessages:  {UnitCost: "0.0075"},
		billing.ItemOutboundSmsMessages: {UnitCost: "0.01", Allowance: strconv.Itoa(100 * r.IntN(3))},
		billing.ItemAIInsights:          {UnitCost: "0.25"},
		billing.ItemAILiveMinutes:       {UnitCost: "0.12", RawUnitMultiplier: perMinute, Allowance: "30"},
	}
}

// overrideSettings are a customer's own prices: a negotiated base fee and
// voice rates on top of the account's other prices. They are complete,
// because an override replaces the inherited settings entirely (spec 3.2): a
// missing item would be billed at the defaults (multiplier 1), so its seconds
// would be counted as if they were minutes next to the other rows' minutes.
// It draws as many random numbers as before, so the usage stays the same.
func overrideSettings(r *rand.Rand, account billing.BillingSettings) billing.BillingSettings {
	s := maps.Clone(account)
	s[billing.ItemBase] = billing.ItemSettings{BaseCost: centsText(500 + 100*r.IntN(20))}
	s[billing.ItemOutboundVoiceCalls] = billing.ItemSettings{UnitCost: "0.03", RawUnitMultiplier: perMinute}
	s[billing.ItemInboundVoiceCalls] = billing.ItemSettings{UnitCost: "0.01", RawUnitMultiplier: perMinute, Allowance: "1000"}
	return s
}

func centsText(c int) string { return fmt.Sprintf("%d.%02d", c/100, c%100) }

type accountLine struct {
	Type string `json:"type"`
	billing.Account
}

type customerLine struct {
	Type string `json:"type"`
	billing.Customer
}

// Write writes the dataset to w.
func Write(w io.Writer, cfg Config) error {
	if err := cfg.normalize(); err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(cfg.Seed, 0x6269_6c6c_696e_67)) // "billing"
	idPrefix := cfg.eventIDPrefix()
	bw := bufio.NewWriterSize(w, 256<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)

	type cust struct{ id, account string }
	var customers []cust
	for a := 0; a < cfg.Accounts; a++ {
		acct := billing.Account{
			ID:              fmt.Sprintf("acct-%03d", a+1),
			Name:            resellerNames[a%len(resellerNames)],
			TimeZoneID:      zones[a%len(zones)],
			Currency:        currencies[a%len(currencies)],
			BillingSettings: accountSettings(r),
		}
		if a >= len(resellerNames) {
			acct.Name = fmt.Sprintf("%s %d", acct.Name, a/len(resellerNames)+1)
		}
		if err := enc.Encode(accountLine{"account", acct}); err != nil {
			return fmt.Errorf("writing account: %w", err)
		}
		n := cfg.Customers / cfg.Accounts
		if a < cfg.Customers%cfg.Accounts {
			n++
		}
		depth := map[string]int{}
		var ids []string
		for i := 0; i < n; i++ {
			c := newCustomer(r, a, i, acct, ids, depth)
			if err := enc.Encode(customerLine{"customer", c}); err != nil {
				return fmt.Errorf("writing customer: %w", err)
			}
			ids = append(ids, c.ID)
			customers = append(customers, cust{c.ID, acct.ID})
		}
	}

	from := cfg.Start.In(time.UTC)
	span := cfg.Start.In(time.UTC).AddDate(0, cfg.Months, 0).Sub(from)
	// Customers get Zipf-like shares of the traffic, as real tenants do; the
	// shuffle spreads the busy ones over the accounts.
	r.Shuffle(len(customers), func(i, j int) { customers[i], customers[j] = customers[j], customers[i] })
	zipf := rand.NewZipf(r, 1.2, 4, uint64(len(customers)-1))
	var line []byte
	for i := int64(0); i < cfg.Events; i++ {
		// Event i falls in the i-th equal slice of the period, so events come out
		// sorted by time with no buffering.
		step := span / time.Duration(max(cfg.Events, 1))
		t := from.Add(time.Duration(i)*step + time.Duration(r.Int64N(int64(max(step, 1))))).Truncate(time.Second)
		c := customers[zipf.Uint64()]
		line = appendUsage(line[:0], r, idPrefix, i, c.account, c.id, t)
		if _, err := bw.Write(line); err != nil {
			return fmt.Errorf("writing usage: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing seed data: %w", err)
	}
	return nil
}

// newCustomer is the i-th customer of the a-th account acct; ids are the
// account's customers so far and depth their levels below the top. About a
// third of customers are branches of an earlier one, at most four levels
// deep; a quarter override the account's prices, so their branches inherit
// the override.
func newCustomer(r *rand.Rand, a, i int, acct billing.Account, ids []string, depth map[string]int) billing.Customer {
	c := billing.Customer{ID: fmt.Sprintf("c-%03d-%04d", a+1, i+1), AccountID: acct.ID}
	if i > 0 && r.IntN(3) == 0 {
		p := ids[r.IntN(len(ids))]
		if depth[p] < 3 {
			c.ParentCustomerID = p
			depth[c.ID] = depth[p] + 1
		}
	}
	if c.ParentCustomerID == "" {
		c.Name = customerNames[(a*7+i)%len(customerNames)]
	} else {
		c.Name = branchNames[r.IntN(len(branchNames))]
	}
	if r.IntN(4) == 0 {
		c.OverrideBillingSettings, c.BillingSettings = true, overrideSettings(r, acct.BillingSettings)
	}
	return c
}

func pickItem(r *rand.Rand) billing.Item {
	n := r.IntN(1000)
	for _, m := range itemMix {
		if n < m.weight {
			return m.item
		}
		n -= m.weight
	}
	return billing.ItemInboundVoiceCalls
}

var destinations = [...]string{"+44 20 7946 0958", "+49 30 901820", "+81 3-1234-5678", "+52 55 1234 5678", "+61 2 9876 5432"}

func appendUsage(b []byte, r *rand.Rand, idPrefix string, i int64, account, customer string, t time.Time) []byte {
	item := pickItem(r)
	var qty int
	intlMilli := 0 // international cost in tenths of a cent
	recorded := false
	desc := ""
	switch item {
	case billing.ItemInboundVoiceCalls, billing.ItemOutboundVoiceCalls:
		qty = 5 + r.IntN(900)
		if r.IntN(10) < 2 {
			qty += r.IntN(3600)
		}
		recorded = r.IntN(5) == 0
		if item == billing.ItemOutboundVoiceCalls && r.IntN(20) == 0 {
			dest := destinations[r.IntN(len(destinations))]
			intlMilli = (qty/60 + 1) * (20 + r.IntN(180)) // 2 to 20 cents a minute
			desc = "International call to " + dest
		}
	case billing.ItemAILiveMinutes:
		qty = 30 + r.IntN(1200)
	case billing.ItemInboundFaxes, billing.ItemOutboundFaxes:
		qty = 1 + r.IntN(12)
	case billing.ItemLocalNumbers, billing.ItemTollFreeNumbers:
		qty = 1 + r.IntN(5)
		desc = "Number rental, \"daily\" charge"
	default:
		qty = 1
	}
	b = append(b, `{"type":"usage","id":"`...)
	b = append(b, idPrefix...)
	b = strconv.AppendInt(b, i+1, 10)
	b = append(b, `","accountId":`...)
	b = appendJSONString(b, account)
	b = append(b, `,"customerId":`...)
	b = appendJSONString(b, customer)
	b = append(b, `,"time":"`...)
	b = t.AppendFormat(b, time.RFC3339)
	b = append(b, `","item":"`...)
	b = append(b, item...)
	b = append(b, `","rawQuantity":"`...)
	b = strconv.AppendInt(b, int64(qty), 10)
	b = append(b, '"')
	if intlMilli > 0 {
		b = append(b, `,"internationalCost":"`...)
		b = strconv.AppendInt(b, int64(intlMilli/1000), 10)
		b = append(b, '.')
		frac := intlMilli % 1000
		b = append(b, byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
		b = append(b, '"')
	}
	if recorded {
		b = append(b, `,"recorded":true`...)
	}
	if desc != "" {
		b = append(b, `,"description":`...)
		b = appendJSONString(b, desc)
	}
	return append(b, "}\n"...)
}

// appendJSONString appends s as a JSON string (UTF-8 kept as is).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
