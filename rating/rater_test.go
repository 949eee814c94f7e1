package rating_test

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/rating"
)

const acctID = "acct-1"

func account(settings billing.BillingSettings) billing.Account {
	return billing.Account{ID: acctID, Name: "Reseller", TimeZoneID: "America/New_York", BillingSettings: settings}
}

func customer(id, parent string, override bool, settings billing.BillingSettings) billing.Customer {
	return billing.Customer{ID: id, AccountID: acctID, ParentCustomerID: parent, Name: "Name " + id, OverrideBillingSettings: override, BillingSettings: settings}
}

func usage(customerID, at string, item billing.Item, qty string) billing.UsageEvent {
	return billing.UsageEvent{ID: "u-" + customerID + "-" + at, AccountID: acctID, CustomerID: customerID, Time: utc(at), Item: item, RawQuantity: qty}
}

func october(t *testing.T) rating.Period {
	return rating.Period{Start: day(2026, 10, 1), End: day(2026, 10, 31), Loc: zone(t, "America/New_York")}
}

// rate runs a whole rating and fails the test on any error.
func rate(t *testing.T, acct billing.Account, customers []billing.Customer, p rating.Period, scope string, events ...billing.UsageEvent) *rating.Result {
	t.Helper()
	r, err := rating.NewRater(acct, customers, p, scope)
	if err != nil {
		t.Fatalf("NewRater: %v", err)
	}
	for i := range events {
		if err := r.Add(&events[i]); err != nil {
			t.Fatalf("Add(%s): %v", events[i].ID, err)
		}
	}
	return r.Result()
}

func rowOf(t *testing.T, res *rating.Result, id string) rating.Row {
	t.Helper()
	for _, r := range res.Rows {
		if r.CustomerID == id {
			return r
		}
	}
	t.Fatalf("no row for customer %s", id)
	return rating.Row{}
}

func cost(row rating.Row, it billing.Item) string { return rating.FormatCents(row.Costs[it.Index()]) }
func units(row rating.Row, it billing.Item) string {
	return rating.FormatUnits(row.Units[it.Index()])
}

func TestSettingsInheritance(t *testing.T) {
	acct := account(billing.BillingSettings{billing.ItemBase: {BaseCost: "30"}, billing.ItemAIInsights: {UnitCost: "1"}})
	own := billing.BillingSettings{billing.ItemBase: {BaseCost: "10"}, billing.ItemAIInsights: {UnitCost: "2"}}
	nested := billing.BillingSettings{billing.ItemBase: {BaseCost: "5"}}
	customers := []billing.Customer{
		customer("root-plain", "", false, billing.BillingSettings{billing.ItemBase: {BaseCost: "999"}}), // not overriding: ignored
		customer("root-own", "", true, own),
		customer("child-of-own", "root-own", false, nil),
		customer("grandchild-of-own", "child-of-own", false, nil),
		customer("nested-own", "child-of-own", true, nested),
		customer("under-nested", "nested-own", false, nil),
		customer("child-of-plain", "root-plain", false, nil),
	}
	var events []billing.UsageEvent
	for _, c := range customers {
		events = append(events, usage(c.ID, "2026-10-10T12:00:00Z", billing.ItemAIInsights, "1"))
	}
	res := rate(t, acct, customers, october(t), "", events...)
	want := map[string][2]string{ // base, AIInsights
		"root-plain":        {"30.00", "1.00"},
		"child-of-plain":    {"30.00", "1.00"},
		"root-own":          {"10.00", "2.00"},
		"child-of-own":      {"10.00", "2.00"},
		"grandchild-of-own": {"10.00", "2.00"},
		"nested-own":        {"5.00", "0.00"}, // its own settings replace the parent's entirely
		"under-nested":      {"5.00", "0.00"},
	}
	for id, w := range want {
		row := rowOf(t, res, id)
		if got := [2]string{cost(row, billing.ItemBase), cost(row, billing.ItemAIInsights)}; got != w {
			t.Errorf("%s: base, AIInsights = %v, want %v", id, got, w)
		}
	}
}

// TestPeriodEdges counts events one second either side of the period's local
// bounds, including a month whose DST change shifts the UTC offset.
func TestPeriodEdges(t *testing.T) {
	acct := account(billing.BillingSettings{billing.ItemAIInsights: {UnitCost: "1"}})
	customers := []billing.Customer{customer("c", "", false, nil)}
	tests := []struct {
		name   string
		period rating.Period
		at     string
		counts bool
	}{
		{"second before the first local midnight", october(t), "2026-10-01T03:59:59Z", false},
		{"first local midnight", october(t), "2026-10-01T04:00:00Z", true},
		{"last second (EDT)", october(t), "2026-11-01T03:59:59Z", true},
		{"end instant", october(t), "2026-11-01T04:00:00Z", false},
		{"November ends in EST: last second", rating.Period{Start: day(2026, 11, 1), End: day(2026, 11, 30), Loc: zone(t, "America/New_York")}, "2026-12-01T04:59:59Z", true},
		{"November ends in EST: end instant", rating.Period{Start: day(2026, 11, 1), End: day(2026, 11, 30), Loc: zone(t, "America/New_York")}, "2026-12-01T05:00:00Z", false},
		{"the 25-hour day of fall back counts whole", rating.Period{Start: day(2026, 11, 1), End: day(2026, 11, 1), Loc: zone(t, "America/New_York")}, "2026-11-02T04:59:59Z", true},
		{"Sao Paulo day without midnight: 00:30 does not exist, 01:00 is the start", rating.Period{Start: day(2018, 11, 4), End: day(2018, 11, 4), Loc: zone(t, "America/Sao_Paulo")}, "2018-11-04T03:00:00Z", true},
		{"Sao Paulo: 23:59:59 of the day before", rating.Period{Start: day(2018, 11, 4), End: day(2018, 11, 4), Loc: zone(t, "America/Sao_Paulo")}, "2018-11-04T02:59:59Z", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := rate(t, acct, customers, tt.period, "", usage("c", tt.at, billing.ItemAIInsights, "1"))
			counted := res.Counted == 1 && res.Ignored == 0 && units(res.Rows[0], billing.ItemAIInsights) == "1"
			ignored := res.Counted == 0 && res.Ignored == 1 && units(res.Rows[0], billing.ItemAIInsights) == "0"
			if tt.counts && !counted || !tt.counts && !ignored {
				t.Errorf("counted %d ignored %d units %s; want counted=%v", res.Counted, res.Ignored, units(res.Rows[0], billing.ItemAIInsights), tt.counts)
			}
		})
	}
}

// TestLocalMonthOfEvent: an event belongs to the local month it falls in, so it
// uses that month's prorated allowance.
func TestLocalMonthOfEvent(t *testing.T) {
	// Allowance 31 a month; the period is Oct 1..Nov 30 (f = 1 and 1).
	acct := account(billing.BillingSettings{billing.ItemOutboundSmsMessages: {UnitCost: "1", Allowance: "31"}})
	customers := []billing.Customer{customer("c", "", false, nil)}
	p := rating.Period{Start: day(2026, 10, 1), End: day(2026, 11, 30), Loc: zone(t, "America/New_York")}
	// 40 messages at 23:30 on Oct 31 New York time (03:30Z Nov 1): October has 40 > 31.
	// In UTC they would be November's and November's allowance would apply as well.
	res := rate(t, acct, customers, p, "", usage("c", "2026-11-01T03:30:00Z", billing.ItemOutboundSmsMessages, "40"))
	if got := cost(res.Rows[0], billing.ItemOutboundSmsMessages); got != "9.00" {
		t.Errorf("cost = %s, want 9.00 (40 - 31 in October, none in November)", got)
	}
	pUTC := p
	pUTC.Loc = time.UTC
	res = rate(t, acct, customers, pUTC, "", usage("c", "2026-11-01T03:30:00Z", billing.ItemOutboundSmsMessages, "40"))
	if got := cost(res.Rows[0], billing.ItemOutboundSmsMessages); got != "9.00" {
		t.Errorf("UTC cost = %s, want 9.00", got)
	}
	// With November prorated to half (allowance 15.5), the month an event lands
	// in shows in the cost: the last second of October vs November's first instant.
	half := rating.Period{Start: day(2026, 10, 1), End: day(2026, 11, 15), Loc: zone(t, "America/New_York")}
	for at, want := range map[string]string{"2026-11-01T03:59:59Z": "9.00", "2026-11-01T04:00:00Z": "24.50"} {
		res = rate(t, acct, customers, half, "", usage("c", at, billing.ItemOutboundSmsMessages, "40"))
		if got := cost(res.Rows[0], billing.ItemOutboundSmsMessages); got != want {
			t.Errorf("40 messages at %s cost %s, want %s", at, got, want)
		}
	}
	// Split 20 + 20 across the months stays under each month's allowance.
	res = rate(t, acct, customers, p, "",
		usage("c", "2026-11-01T03:30:00Z", billing.ItemOutboundSmsMessages, "20"),
		usage("c", "2026-11-01T04:30:00Z", billing.ItemOutboundSmsMessages, "20"))
	if got := cost(res.Rows[0], billing.ItemOutboundSmsMessages); got != "0.00" {
		t.Errorf("split cost = %s, want 0.00", got)
	}
	if got := units(res.Rows[0], billing.ItemOutboundSmsMessages); got != "40" {
		t.Errorf("split units = %s, want 40", got)
	}
}

func TestProration(t *testing.T) {
	tests := []struct {
		name       string
		start, end billing.Date
		baseCost   string
		want       string
	}{
		{"whole month", day(2026, 10, 1), day(2026, 10, 31), "30.00", "30.00"},
		{"half of a 30-day month", day(2026, 11, 1), day(2026, 11, 15), "30.00", "15.00"},
		{"one day of 31", day(2026, 10, 5), day(2026, 10, 5), "31.00", "1.00"},
		{"Oct 16 - Nov 15: 16/31 + 15/30", day(2026, 10, 16), day(2026, 11, 15), "30.00", "30.48"},
		{"Jan 20 - Feb 10 2027: 12/31 + 10/28", day(2027, 1, 20), day(2027, 2, 10), "31.00", "23.07"},
		{"Jan 20 - Feb 10 2028 (leap): 12/31 + 10/29", day(2028, 1, 20), day(2028, 2, 10), "31.00", "22.69"},
		{"a whole year of months is 12 bases", day(2026, 1, 1), day(2026, 12, 31), "10.00", "120.00"},
		{"13 months touched", day(2026, 1, 15), day(2027, 1, 14), "31.00", "372.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acct := account(billing.BillingSettings{billing.ItemBase: {BaseCost: tt.baseCost}})
			p := rating.Period{Start: tt.start, End: tt.end, Loc: time.UTC}
			res := rate(t, acct, []billing.Customer{customer("c", "", false, nil)}, p, "")
			if got := cost(res.Rows[0], billing.ItemBase); got != tt.want {
				t.Errorf("base = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestAllowance(t *testing.T) {
	tests := []struct {
		name      string
		settings  billing.ItemSettings
		start     billing.Date
		end       billing.Date
		events    map[string]string // time -> quantity
		wantUnits string
		wantCost  string
	}{
		{"usage below allowance is free", billing.ItemSettings{UnitCost: "0.10", Allowance: "100"}, day(2026, 10, 1), day(2026, 10, 31),
			map[string]string{"2026-10-10T12:00:00Z": "60"}, "60", "0.00"},
		{"usage equal to allowance is free", billing.ItemSettings{UnitCost: "0.10", Allowance: "100"}, day(2026, 10, 1), day(2026, 10, 31),
			map[string]string{"2026-10-10T12:00:00Z": "100"}, "100", "0.00"},
		{"usage above allowance pays the excess", billing.ItemSettings{UnitCost: "0.10", Allowance: "100"}, day(2026, 10, 1), day(2026, 10, 31),
			map[string]string{"2026-10-10T12:00:00Z": "150"}, "150", "5.00"},
		{"allowance is prorated: half of November allows 50", billing.ItemSettings{UnitCost: "0.10", Allowance: "100"}, day(2026, 11, 1), day(2026, 11, 15),
			map[string]string{"2026-11-10T12:00:00Z": "60"}, "60", "1.00"},
		{"base cost is charged besides the excess", billing.ItemSettings{BaseCost: "5", UnitCost: "0.10", Allowance: "100"}, day(2026, 10, 1), day(2026, 10, 31),
			map[string]string{"2026-10-10T12:00:00Z": "150"}, "150", "10.00"},
		{"an unused allowance of one month does not cover another", billing.ItemSettings{UnitCost: "1", Allowance: "31"}, day(2026, 10, 1), day(2026, 11, 30),
			map[string]string{"2026-10-10T12:00:00Z": "41"}, "41", "10.00"},
		{"allowance applies to units after the multiplier", billing.ItemSettings{UnitCost: "1", Allowance: "2", RawUnitMultiplier: "0.5"}, day(2026, 10, 1), day(2026, 10, 31),
			map[string]string{"2026-10-10T12:00:00Z": "10"}, "5", "3.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acct := account(billing.BillingSettings{billing.ItemInboundFaxes: tt.settings})
			var events []billing.UsageEvent
			for at, q := range tt.events {
				events = append(events, usage("c", at, billing.ItemInboundFaxes, q))
			}
			res := rate(t, acct, []billing.Customer{customer("c", "", false, nil)}, rating.Period{Start: tt.start, End: tt.end, Loc: time.UTC}, "", events...)
			row := res.Rows[0]
			if u, c := units(row, billing.ItemInboundFaxes), cost(row, billing.ItemInboundFaxes); u != tt.wantUnits || c != tt.wantCost {
				t.Errorf("units, cost = %s, %s; want %s, %s", u, c, tt.wantUnits, tt.wantCost)
			}
		})
	}
}

func TestRounding(t *testing.T) {
	tests := []struct {
		name     string
		unitCost string
		qty      []string // one event each, different months when months is 2
		months   int
		intl     []string
		wantCost string
		wantIntl string
	}{
		{"exactly half a cent rounds up", "0.005", []string{"1"}, 1, []string{"0.005"}, "0.01", "0.01"},
		{"1.5 cents rounds to 2", "0.015", []string{"1"}, 1, []string{"0.015"}, "0.02", "0.02"},
		{"just below half a cent rounds down", "0.0049999", []string{"1"}, 1, []string{"0.0049999999"}, "0.00", "0.00"},
		{"12.5 cents", "0.125", []string{"1"}, 1, nil, "0.13", "0.00"},
		{"rounded once over months, not per month", "0.005", []string{"1", "1"}, 2, nil, "0.01", "0.00"},
		{"international costs add before rounding", "0", []string{"1"}, 1, []string{"0.004", "0.004"}, "0.00", "0.01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acct := account(billing.BillingSettings{billing.ItemInboundSmsMessages: {UnitCost: tt.unitCost}})
			end := day(2026, 10, 31)
			if tt.months == 2 {
				end = day(2026, 11, 30)
			}
			var events []billing.UsageEvent
			for i, q := range tt.qty {
				e := usage("c", fmt.Sprintf("2026-%d-10T12:00:00Z", 10+i), billing.ItemInboundSmsMessages, q)
				events = append(events, e)
			}
			for i, c := range tt.intl {
				e := usage("c", "2026-10-20T12:00:00Z", billing.ItemOutboundVoiceCalls, "0")
				e.ID, e.InternationalCost = fmt.Sprintf("intl-%d", i), c
				events = append(events, e)
			}
			res := rate(t, acct, []billing.Customer{customer("c", "", false, nil)}, rating.Period{Start: day(2026, 10, 1), End: end, Loc: time.UTC}, "", events...)
			row := res.Rows[0]
			if got := cost(row, billing.ItemInboundSmsMessages); got != tt.wantCost {
				t.Errorf("cost = %s, want %s", got, tt.wantCost)
			}
			if got := rating.FormatCents(row.InternationalCosts); got != tt.wantIntl {
				t.Errorf("international = %s, want %s", got, tt.wantIntl)
			}
			sum := new(big.Rat).Add(row.Costs[billing.ItemInboundSmsMessages.Index()], row.InternationalCosts)
			if row.Total.Cmp(sum) != 0 {
				t.Errorf("total %s != sum of rounded costs %s", row.Total.RatString(), sum.RatString())
			}
		})
	}
}

// TestInexactMultiplier uses 1/60 written as 0.0166666667: units are the exact
// product, shown rounded to 4 decimals, and charged exactly.
func TestInexactMultiplier(t *testing.T) {
	acct := account(billing.BillingSettings{billing.ItemOutboundVoiceCalls: {UnitCost: "0.03", RawUnitMultiplier: "0.0166666667"}})
	res := rate(t, acct, []billing.Customer{customer("c", "", false, nil)}, october(t), "",
		usage("c", "2026-10-10T12:00:00Z", billing.ItemOutboundVoiceCalls, "60"),
		usage("c", "2026-10-11T12:00:00Z", billing.ItemOutboundVoiceCalls, "125"))
	row := res.Rows[0]
	exact := row.Units[billing.ItemOutboundVoiceCalls.Index()]
	if want := big.NewRat(185*166666667, 10_000_000_000); exact.Cmp(want) != 0 {
		t.Errorf("exact units = %s, want %s", exact.RatString(), want.RatString())
	}
	if u, c := units(row, billing.ItemOutboundVoiceCalls), cost(row, billing.ItemOutboundVoiceCalls); u != "3.0833" || c != "0.09" {
		t.Errorf("units, cost = %s, %s; want 3.0833, 0.09", u, c)
	}
}

func TestScope(t *testing.T) {
	acct := account(billing.BillingSettings{billing.ItemAIInsights: {UnitCost: "1"}})
	customers := []billing.Customer{
		customer("a", "", false, nil),
		customer("a1", "a", false, nil),
		customer("a11", "a1", false, nil),
		customer("b", "", false, nil),
	}
	events := []billing.UsageEvent{
		usage("a", "2026-10-10T12:00:00Z", billing.ItemAIInsights, "1"),
		usage("a1", "2026-10-10T12:00:00Z", billing.ItemAIInsights, "2"),
		usage("a11", "2026-10-10T12:00:00Z", billing.ItemAIInsights, "4"),
		usage("b", "2026-10-10T12:00:00Z", billing.ItemAIInsights, "8"),
	}
	tests := []struct {
		scope     string
		wantRows  []string
		wantTotal string
		ignored   int64
	}{
		{"", []string{"a", "a1", "a11", "b"}, "15.00", 0},
		{"a", []string{"a", "a1", "a11"}, "7.00", 1},
		{"a1", []string{"a1", "a11"}, "6.00", 2},
		{"a11", []string{"a11"}, "4.00", 3},
		{"b", []string{"b"}, "8.00", 3},
	}
	for _, tt := range tests {
		t.Run("scope "+tt.scope, func(t *testing.T) {
			res := rate(t, acct, customers, october(t), tt.scope, events...)
			var ids []string
			for _, r := range res.Rows {
				ids = append(ids, r.CustomerID)
			}
			if strings.Join(ids, ",") != strings.Join(tt.wantRows, ",") {
				t.Errorf("rows %v, want %v", ids, tt.wantRows)
			}
			if got := rating.FormatCents(res.Total.Total); got != tt.wantTotal {
				t.Errorf("total %s, want %s", got, tt.wantTotal)
			}
			if res.Ignored != tt.ignored {
				t.Errorf("ignored %d, want %d", res.Ignored, tt.ignored)
			}
		})
	}
}

func TestRowsOrderAndBreadcrumbs(t *testing.T) {
	customers := []billing.Customer{
		{ID: "z", AccountID: acctID, Name: "beta"},
		{ID: "y", AccountID: acctID, Name: "Beta"},
		{ID: "x2", AccountID: acctID, Name: "Same"},
		{ID: "x1", AccountID: acctID, Name: "Same"},
		{ID: "k", AccountID: acctID, ParentCustomerID: "y", Name: "Kid"},
		{ID: "g", AccountID: acctID, ParentCustomerID: "k", Name: "Grandkid"},
		{ID: "other", AccountID: "acct-2", Name: "Another account's"},
	}
	res := rate(t, account(nil), customers, october(t), "")
	var got []string
	for _, r := range res.Rows {
		got = append(got, r.CustomerID+"="+r.Customer)
	}
	want := []string{"y=Beta", "k=Beta > Kid", "g=Beta > Kid > Grandkid", "x1=Same", "x2=Same", "z=beta"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("rows\n got %v\nwant %v", got, want)
	}
	if res.Total.Customer != "Total" || res.Total.CustomerID != "" {
		t.Errorf("total row named %q/%q", res.Total.CustomerID, res.Total.Customer)
	}
}

func TestNewRaterRejects(t *testing.T) {
	good := []billing.Customer{customer("a", "", false, nil)}
	tests := []struct {
		name      string
		acct      billing.Account
		customers []billing.Customer
		period    rating.Period
		scope     string
		wantMsg   string
	}{
		{"malformed account setting", account(billing.BillingSettings{billing.ItemBase: {BaseCost: "1,5"}}), good, october(t), "", "Base.baseCost"},
		{"negative setting", account(billing.BillingSettings{billing.ItemAIInsights: {UnitCost: "-1"}}), good, october(t), "", "AIInsights.unitCost"},
		{"unknown item in settings", account(billing.BillingSettings{"Pigeons": {UnitCost: "1"}}), good, october(t), "", "Pigeons"},
		{"malformed override", account(nil), []billing.Customer{customer("a", "", true, billing.BillingSettings{billing.ItemBase: {Allowance: "x"}})}, october(t), "", "customer a"},
		{"unknown parent", account(nil), []billing.Customer{customer("a", "ghost", false, nil)}, october(t), "", "unknown parent ghost"},
		{"parent in another account", account(nil), []billing.Customer{customer("a", "b", false, nil), {ID: "b", AccountID: "acct-2"}}, october(t), "", "unknown parent b"},
		{"cycle", account(nil), []billing.Customer{customer("a", "b", false, nil), customer("b", "c", false, nil), customer("c", "a", false, nil)}, october(t), "", "cycle"},
		{"self parent", account(nil), []billing.Customer{customer("a", "a", false, nil)}, october(t), "", "cycle"},
		{"duplicate id", account(nil), []billing.Customer{customer("a", "", false, nil), customer("a", "", false, nil)}, october(t), "", "twice"},
		{"unknown scope", account(nil), good, october(t), "ghost", "ghost"},
		{"scope in another account", account(nil), []billing.Customer{customer("a", "", false, nil), {ID: "b", AccountID: "acct-2"}}, october(t), "b", "not a customer"},
		{"end before start", account(nil), good, rating.Period{Start: day(2026, 10, 2), End: day(2026, 10, 1)}, "", "before"},
		{"too long", account(nil), good, rating.Period{Start: day(2026, 1, 1), End: day(2027, 1, 2)}, "", "at most 366"},
		{"no dates", account(nil), good, rating.Period{}, "", "start and an end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rating.NewRater(tt.acct, tt.customers, tt.period, tt.scope)
			if billing.ErrorCode(err) != billing.EINVALID {
				t.Fatalf("err = %v, want EINVALID", err)
			}
			if !strings.Contains(billing.ErrorMessage(err), tt.wantMsg) {
				t.Errorf("message %q does not mention %q", billing.ErrorMessage(err), tt.wantMsg)
			}
		})
	}
}

func TestAddRejectsAndChangesNothing(t *testing.T) {
	acct := account(billing.BillingSettings{billing.ItemAIInsights: {UnitCost: "1"}})
	customers := []billing.Customer{customer("c", "", false, nil)}
	bad := func(mut func(e *billing.UsageEvent)) billing.UsageEvent {
		e := usage("c", "2026-10-10T12:00:00Z", billing.ItemAIInsights, "3")
		mut(&e)
		return e
	}
	tests := []struct {
		name    string
		event   billing.UsageEvent
		wantMsg string
	}{
		{"unknown customer", bad(func(e *billing.UsageEvent) { e.CustomerID = "ghost" }), "ghost"},
		{"unknown item", bad(func(e *billing.UsageEvent) { e.Item = "Pigeons" }), "Pigeons"},
		{"Base carries no units", bad(func(e *billing.UsageEvent) { e.Item = billing.ItemBase }), "Base"},
		{"negative quantity", bad(func(e *billing.UsageEvent) { e.RawQuantity = "-3" }), "rawQuantity"},
		{"empty quantity", bad(func(e *billing.UsageEvent) { e.RawQuantity = "" }), "rawQuantity"},
		{"float syntax", bad(func(e *billing.UsageEvent) { e.RawQuantity = "1e5000" }), "rawQuantity"},
		{"malformed international cost", bad(func(e *billing.UsageEvent) { e.InternationalCost = "0.5.1" }), "internationalCost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := rating.NewRater(acct, customers, october(t), "")
			if err != nil {
				t.Fatal(err)
			}
			good := usage("c", "2026-10-09T12:00:00Z", billing.ItemAIInsights, "2")
			if err := r.Add(&good); err != nil {
				t.Fatal(err)
			}
			err = r.Add(&tt.event)
			if billing.ErrorCode(err) != billing.EINVALID || !strings.Contains(billing.ErrorMessage(err), tt.wantMsg) {
				t.Fatalf("err = %v, want EINVALID mentioning %q", err, tt.wantMsg)
			}
			res := r.Result()
			if res.Counted != 1 || units(res.Rows[0], billing.ItemAIInsights) != "2" || rating.FormatCents(res.Rows[0].InternationalCosts) != "0.00" {
				t.Errorf("a rejected event changed the result: counted %d, units %s", res.Counted, units(res.Rows[0], billing.ItemAIInsights))
			}
		})
	}
}

func TestIgnoredEvents(t *testing.T) {
	acct := account(nil)
	customers := []billing.Customer{customer("c", "", false, nil)}
	other := usage("c", "2026-10-10T12:00:00Z", billing.ItemAIInsights, "1")
	other.AccountID, other.CustomerID = "acct-2", "not-even-known"
	res := rate(t, acct, customers, october(t), "", other, usage("c", "2020-01-01T00:00:00Z", billing.ItemAIInsights, "1"), billing.UsageEvent{AccountID: acctID, CustomerID: "c"})
	if res.Counted != 0 || res.Ignored != 3 {
		t.Errorf("counted %d ignored %d, want 0 and 3", res.Counted, res.Ignored)
	}
}

func TestAddAfterResult(t *testing.T) {
	r, err := rating.NewRater(account(nil), []billing.Customer{customer("c", "", false, nil)}, october(t), "")
	if err != nil {
		t.Fatal(err)
	}
	first := r.Result()
	e := usage("c", "2026-10-10T12:00:00Z", billing.ItemAIInsights, "1")
	if err := r.Add(&e); err == nil {
		t.Error("Add after Result succeeded")
	}
	if r.Result() != first {
		t.Error("Result changed on the second call")
	}
}

// TestLargeAndUnusualQuantities drives the exact fallbacks: values with more
// than 9 decimals, exponents, more than 18 integer digits and sums that
// overflow the fixed-point accumulator must all stay exact.
func TestLargeAndUnusualQuantities(t *testing.T) {
	acct := account(billing.BillingSettings{billing.ItemAIInsights: {UnitCost: "1"}})
	customers := []billing.Customer{customer("c", "", false, nil)}
	tests := []struct {
		name      string
		qty       []string
		wantUnits string // exact, as RatString
	}{
		{"ten decimals", []string{"0.0000000001", "1"}, "10000000001/10000000000"},
		{"exponent", []string{"1.5e3", "2E-1"}, "7501/5"},
		{"19 integer digits", []string{"1234567890123456789"}, "1234567890123456789"},
		{"overflowing sum", []string{"900000000000000000", "900000000000000000", "900000000000000000", "900000000000000000", "900000000000000000", "900000000000000000", "900000000000000000", "900000000000000000", "900000000000000000", "900000000000000000", "900000000000000000.5"}, "19800000000000000001/2"},
		{"leading zeros", []string{"007.50"}, "15/2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var events []billing.UsageEvent
			for i, q := range tt.qty {
				e := usage("c", "2026-10-10T12:00:00Z", billing.ItemAIInsights, q)
				e.ID = fmt.Sprint(i)
				e.InternationalCost = q
				events = append(events, e)
			}
			row := rate(t, acct, customers, october(t), "", events...).Rows[0]
			want, _ := new(big.Rat).SetString(tt.wantUnits)
			if got := row.Units[billing.ItemAIInsights.Index()]; got.Cmp(want) != 0 {
				t.Errorf("units = %s, want %s", got.RatString(), tt.wantUnits)
			}
			if got, w := row.InternationalCosts, rating.RoundCents(want); got.Cmp(w) != 0 {
				t.Errorf("international = %s, want %s", got.RatString(), w.RatString())
			}
		})
	}
}

func TestErrorsAreDomainErrors(t *testing.T) {
	_, err := rating.NewRater(account(nil), nil, rating.Period{}, "")
	var e *billing.Error
	if !errors.As(err, &e) {
		t.Fatalf("%T is not a *billing.Error", err)
	}
}

// TestScopedSettingsErrors: a Customer-role report parses only the settings
// that apply to its subtree, including an overriding ancestor's.
func TestScopedSettingsErrors(t *testing.T) {
	bad := billing.BillingSettings{billing.ItemBase: {BaseCost: "ten"}}
	customers := []billing.Customer{
		customer("parent", "", true, bad),
		customer("child", "parent", false, nil),
		customer("other", "", true, bad),
		customer("mine", "", false, nil),
	}
	if _, err := rating.NewRater(account(nil), customers, october(t), "mine"); err != nil {
		t.Errorf("scope mine: %v; other subtrees' settings do not apply", err)
	}
	for _, scope := range []string{"child", ""} {
		if _, err := rating.NewRater(account(nil), customers, october(t), scope); billing.ErrorCode(err) != billing.EINVALID {
			t.Errorf("scope %q: err = %v, want EINVALID for the settings that apply", scope, err)
		}
	}
}
