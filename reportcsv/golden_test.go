package reportcsv_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/rating"
	"github.com/evovoice/billing/rating/ratingtest"
	"github.com/evovoice/billing/reportcsv"
)

// TestGoldenBillingSmall reproduces every expected report of
// shared/fixtures/billing-small byte for byte, with the events in file order and
// in reverse order.
func TestGoldenBillingSmall(t *testing.T) {
	dir, ds := ratingtest.FixtureDataset(t, "billing-small")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	cases := 0
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "expected-") {
			continue
		}
		cases++
		t.Run(e.Name(), func(t *testing.T) {
			c, err := ratingtest.ParseCaseName(e.Name())
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			acct, ok := ds.Accounts[c.AccountID]
			if !ok {
				t.Fatalf("dataset has no account %s", c.AccountID)
			}
			loc, err := c.Location(acct)
			if err != nil {
				t.Fatal(err)
			}
			period := rating.Period{Start: c.Start, End: c.End, Loc: loc}
			for _, order := range []string{"file order", "reversed"} {
				events := slices.Clone(ds.Usage)
				if order == "reversed" {
					slices.Reverse(events)
				}
				// All customers of the dataset: the rater must leave other accounts' out itself.
				r, err := rating.NewRater(acct, ds.Customers, period, c.CustomerScope)
				if err != nil {
					t.Fatal(err)
				}
				for i := range events {
					if err := r.Add(&events[i]); err != nil {
						t.Fatalf("%s: Add(%s): %v", order, events[i].ID, err)
					}
				}
				res := r.Result()
				var got bytes.Buffer
				if err := reportcsv.Write(&got, res, reportcsv.Options{IncludeCustomerIDs: c.IncludeCustomerIDs}); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Bytes(), want) {
					t.Errorf("%s: report differs\n got:\n%s\nwant:\n%s", order, got.Bytes(), want)
				}
				if res.Counted+res.Ignored != int64(len(events)) {
					t.Errorf("%s: counted %d + ignored %d != %d events", order, res.Counted, res.Ignored, len(events))
				}
			}
		})
	}
	if cases < 5 {
		t.Fatalf("found %d expected-*.csv fixtures in %s, want at least 5", cases, dir)
	}
}

// TestGoldenCountsOfOctober pins which fixture events an October New York
// report counts: u-002..u-009 and u-011 (9 events); u-001 is Sep 30 local,
// u-010 and u-013 are November, u-012 is another account.
func TestGoldenCountsOfOctober(t *testing.T) {
	_, ds := ratingtest.FixtureDataset(t, "billing-small")
	acct := ds.Accounts["acct-acme"]
	loc, err := billing.LoadZone(acct.TimeZoneID)
	if err != nil {
		t.Fatal(err)
	}
	r, err := rating.NewRater(acct, ds.CustomersOf(acct.ID), rating.Period{
		Start: billing.Date{Year: 2026, Month: 10, Day: 1}, End: billing.Date{Year: 2026, Month: 10, Day: 31}, Loc: loc,
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	for i := range ds.Usage {
		if err := r.Add(&ds.Usage[i]); err != nil {
			t.Fatal(err)
		}
	}
	res := r.Result()
	if res.Counted != 9 || res.Ignored != 4 {
		t.Errorf("counted %d, ignored %d; want 9 and 4", res.Counted, res.Ignored)
	}
}
