//go:build integration

package ddbstore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/resources"
)

func TestAccountsAndCustomersRoundTripExactly(t *testing.T) {
	s, ctx, acct := billingStore(), context.Background(), uniq("acct")
	account := billing.Account{ID: acct, Name: "Acme <Dental>", TimeZoneID: "America/New_York", Currency: "EUR", BillingSettings: billing.BillingSettings{
		billing.ItemBase:              {BaseCost: "49.00"},
		billing.ItemInboundVoiceCalls: {RawUnitMultiplier: "0.0166666666666666666666666666666667", UnitCost: "0.0100", Allowance: "100"},
	}}
	if err := s.PutAccounts(ctx, []billing.Account{account}); err != nil {
		t.Fatalf("PutAccounts: %v", err)
	}
	got, err := s.GetAccount(ctx, acct)
	if err != nil {
		t.Fatalf("GetAccount: %v", err)
	}
	if !reflect.DeepEqual(*got, account) {
		t.Fatalf("GetAccount = %+v, want %+v (prices must keep their exact text)", *got, account)
	}
	_, err = s.GetAccount(ctx, uniq("missing"))
	wantCode(t, err, billing.ENOTFOUND)

	var customers []billing.Customer
	for i := range 60 { // more than one BatchWriteItem
		c := billing.Customer{ID: fmt.Sprintf("c-%03d", i), AccountID: acct, Name: fmt.Sprintf("Customer %d", i)}
		if i > 0 {
			c.ParentCustomerID = "c-000"
		}
		if i == 5 {
			c.OverrideBillingSettings = true
			c.BillingSettings = billing.BillingSettings{billing.ItemOutboundSmsMessages: {UnitCost: "0.0075"}}
		}
		customers = append(customers, c)
	}
	if err := s.PutCustomers(ctx, customers); err != nil {
		t.Fatalf("PutCustomers: %v", err)
	}
	// Re-importing is idempotent.
	if err := s.PutCustomers(ctx, customers); err != nil {
		t.Fatalf("PutCustomers again: %v", err)
	}
	gotCustomers, err := s.ListCustomers(ctx, acct)
	if err != nil {
		t.Fatalf("ListCustomers: %v", err)
	}
	if !reflect.DeepEqual(gotCustomers, customers) {
		t.Fatalf("ListCustomers returned %d customers, want the %d written, equal", len(gotCustomers), len(customers))
	}
}

func TestQueryUsageReadsExactlyOneDayInPages(t *testing.T) {
	s, ctx, acct := billingStore(), context.Background(), uniq("acct")
	day := billing.Date{Year: 2026, Month: 10, Day: 5}
	start := day.In(time.UTC)
	var events, want []billing.UsageEvent
	const perDay = 1500
	for i := range perDay {
		// Spread over the day, written out of order.
		at := start.Add(time.Duration((i*7919)%perDay) * (24 * time.Hour / perDay)).Add(time.Duration(i%3) * time.Nanosecond)
		ev := usageEvent(acct, fmt.Sprintf("u-%05d", i), at, fmt.Sprintf("%d.%d", i, i%10))
		ev.Recorded = i%2 == 0
		ev.Description = "call"
		if i%5 == 0 {
			ev.InternationalCost = "0.25"
		}
		events = append(events, ev)
		want = append(want, ev)
	}
	// Neighbours that must not be read: the days around, and another account.
	events = append(events,
		usageEvent(acct, "before", start.Add(-time.Nanosecond), "1"),
		usageEvent(acct, "after", start.Add(24*time.Hour), "1"),
		usageEvent(uniq("other"), "other", start.Add(time.Hour), "1"))
	if err := s.PutUsage(ctx, events); err != nil {
		t.Fatalf("PutUsage: %v", err)
	}
	// The planner's estimate counts the day alone, neighbours excluded.
	if n, err := s.CountUsage(ctx, billing.UsageQuery{AccountID: acct, Day: day}); err != nil || n != perDay {
		t.Fatalf("CountUsage = %d, %v; want %d", n, err, perDay)
	}
	slices.SortFunc(want, func(a, b billing.UsageEvent) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return compareStrings(a.ID, b.ID)
	})

	paged := NewBillingStore(client(), stack.Names.BillingTable, func(o *Options) { o.UsagePageSize = 100 })
	var got []billing.UsageEvent
	pages := 0
	err := paged.QueryUsage(ctx, billing.UsageQuery{AccountID: acct, Day: day}, func(page []billing.UsageEvent) error {
		pages++
		got = append(got, page...)
		return nil
	})
	if err != nil {
		t.Fatalf("QueryUsage: %v", err)
	}
	if pages != perDay/100 {
		t.Errorf("%d pages, want %d", pages, perDay/100)
	}
	if len(got) != len(want) {
		t.Fatalf("read %d events, want %d", len(got), len(want))
	}
	for i := range want {
		if !sameUsage(got[i], want[i]) {
			t.Fatalf("event %d = %+v, want %+v", i, got[i], want[i])
		}
	}

	// From and To cut the day: from <= time < to.
	from, to := want[10].Time, want[20].Time
	var ids []string
	err = paged.QueryUsage(ctx, billing.UsageQuery{AccountID: acct, Day: day, From: from, To: to}, func(page []billing.UsageEvent) error {
		for _, ev := range page {
			ids = append(ids, ev.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("QueryUsage with bounds: %v", err)
	}
	var wantIDs []string
	for _, ev := range want {
		if !ev.Time.Before(from) && ev.Time.Before(to) {
			wantIDs = append(wantIDs, ev.ID)
		}
	}
	if !slices.Equal(ids, wantIDs) {
		t.Fatalf("bounded read = %v, want %v", ids, wantIDs)
	}

	// An error from fn stops the read and comes back as is.
	stop := errors.New("stop")
	if err := paged.QueryUsage(ctx, billing.UsageQuery{AccountID: acct, Day: day}, func([]billing.UsageEvent) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("QueryUsage returned %v, want fn's error", err)
	}
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// sameUsage compares events with quantities as numbers (the rating reads
// them so), and without Description, which QueryUsage does not read.
func sameUsage(a, b billing.UsageEvent) bool {
	sameNum := func(x, y string) bool {
		if x == "" || y == "" {
			return x == y
		}
		rx, okx := new(big.Rat).SetString(x)
		ry, oky := new(big.Rat).SetString(y)
		return okx && oky && rx.Cmp(ry) == 0
	}
	return a.ID == b.ID && a.AccountID == b.AccountID && a.CustomerID == b.CustomerID && a.Time.Equal(b.Time) &&
		a.Item == b.Item && sameNum(a.RawQuantity, b.RawQuantity) && sameNum(a.InternationalCost, b.InternationalCost) &&
		a.Recorded == b.Recorded
}

func TestUsageNumbersAreExactAndValidatedBeforeWriting(t *testing.T) {
	s, ctx, acct := billingStore(), context.Background(), uniq("acct")
	day := billing.Date{Year: 2026, Month: 10, Day: 6}
	at := day.In(time.UTC).Add(time.Hour)
	exact := []string{"0.000000000000000000000000000000000001", "12345678901234567890.123456789012345678", "1e100", "0"}
	var events []billing.UsageEvent
	for i, q := range exact {
		events = append(events, usageEvent(acct, fmt.Sprintf("u-%d", i), at.Add(time.Duration(i)*time.Second), q))
	}
	if err := s.PutUsage(ctx, events); err != nil {
		t.Fatalf("PutUsage: %v", err)
	}
	got := readDay(t, s, acct, day)
	if len(got) != len(events) {
		t.Fatalf("read %d events, want %d", len(got), len(events))
	}
	for i := range events {
		if !sameUsage(got[i], events[i]) {
			t.Errorf("quantity %q came back as %q", events[i].RawQuantity, got[i].RawQuantity)
		}
	}

	// One bad event among many: nothing at all is written.
	badDay := billing.Date{Year: 2026, Month: 10, Day: 7}
	var batch []billing.UsageEvent
	for i := range 60 {
		batch = append(batch, usageEvent(acct, fmt.Sprintf("b-%d", i), badDay.In(time.UTC).Add(time.Duration(i)*time.Minute), "1"))
	}
	batch[40].RawQuantity = "123456789012345678901234567890123456789" // 39 digits: DynamoDB would round it
	batch[50].Item = "Teleportation"
	err := s.PutUsage(ctx, batch)
	wantCode(t, err, billing.EINVALID)
	if got := readDay(t, s, acct, badDay); len(got) != 0 {
		t.Fatalf("%d events written despite invalid input", len(got))
	}
}

func readDay(t *testing.T, s *BillingStore, acct string, day billing.Date) []billing.UsageEvent {
	t.Helper()
	var got []billing.UsageEvent
	if err := s.QueryUsage(context.Background(), billing.UsageQuery{AccountID: acct, Day: day}, func(page []billing.UsageEvent) error {
		got = append(got, page...)
		return nil
	}); err != nil {
		t.Fatalf("QueryUsage: %v", err)
	}
	return got
}

func TestPutUsageIsIdempotent(t *testing.T) {
	s, ctx, acct := billingStore(), context.Background(), uniq("acct")
	day := billing.Date{Year: 2026, Month: 10, Day: 8}
	ev := usageEvent(acct, "u-1", day.In(time.UTC).Add(time.Hour), "60")
	// The same id twice in one call, and again in a second call.
	if err := s.PutUsage(ctx, []billing.UsageEvent{ev, ev}); err != nil {
		t.Fatalf("PutUsage: %v", err)
	}
	if err := s.PutUsage(ctx, []billing.UsageEvent{ev}); err != nil {
		t.Fatalf("PutUsage again: %v", err)
	}
	if got := readDay(t, s, acct, day); len(got) != 1 {
		t.Fatalf("%d events after re-import, want 1", len(got))
	}
}

// A stored usage item the code cannot read is bad data, not an outage: retrying
// cannot fix it, so the worker must fail the report at once (spec 4) instead of
// burning five receives on it.
func TestQueryUsageOfAMalformedItemIsPermanent(t *testing.T) {
	s, ctx, acct := billingStore(), context.Background(), uniq("acct")
	day := billing.Date{Year: 2026, Month: 10, Day: 5}
	it := billingKey(UsagePartition(acct, day), "2026-10-05T10:00:00.000000000Z#u-bad")
	it[attrUsage] = avS("XX|1||r|c-1") // an item code no version wrote
	if _, err := client().PutItem(ctx, &ddb.PutItemInput{TableName: aws.String(stack.Names.BillingTable), Item: it}); err != nil {
		t.Fatal(err)
	}
	err := s.QueryUsage(ctx, billing.UsageQuery{AccountID: acct, Day: day}, func([]billing.UsageEvent) error { return nil })
	if err == nil || billing.IsRetryable(err) || !strings.Contains(billing.ErrorMessage(err), "u-bad") {
		t.Fatalf("QueryUsage = %v (retryable %v), want a permanent error naming the event", err, billing.IsRetryable(err))
	}
}

// Against the emulator: the stored item is the compact one (the key, u, d),
// the description is kept, and QueryUsage returns the exact imported text.
func TestPutUsageStoresCompactItems(t *testing.T) {
	s, ctx, acct := billingStore(), context.Background(), uniq("acct")
	ev := usageEvent(acct, "u-1", t0, "1.50")
	ev.InternationalCost, ev.Recorded, ev.Description = "0.0100", true, "International call to +44 20 7946 0958"
	if err := s.PutUsage(ctx, []billing.UsageEvent{ev}); err != nil {
		t.Fatalf("PutUsage: %v", err)
	}
	out, err := client().GetItem(ctx, &ddb.GetItemInput{
		TableName: aws.String(stack.Names.BillingTable), ConsistentRead: aws.Bool(true),
		Key: billingKey(UsagePartition(acct, billing.DateOf(t0)), usageSortKey(t0, "u-1")),
	})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	names := slices.Sorted(maps.Keys(out.Item))
	if want := []string{attrUsageDesc, resources.BillingPK, resources.BillingSK, attrUsage}; !slices.Equal(names, want) {
		t.Fatalf("stored attributes %v, want %v", names, want)
	}
	if got := getS(out.Item, attrUsageDesc); got != ev.Description {
		t.Fatalf("description stored as %q", got)
	}
	got := readDay(t, s, acct, billing.DateOf(t0))
	if len(got) != 1 || !exactlySame(got[0], ev) || got[0].Description != "" {
		t.Fatalf("read %+v, want %+v without its description", got, ev)
	}
	if !strings.Contains(getS(out.Item, attrUsage), "1.50|0.0100|r|") {
		t.Fatalf("u = %q, want the imported decimal text", getS(out.Item, attrUsage))
	}
}
