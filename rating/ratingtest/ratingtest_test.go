package ratingtest

import (
	"path/filepath"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
)

func TestParseCaseName(t *testing.T) {
	d := func(y, m, day int) billing.Date { return billing.Date{Year: y, Month: timeMonth(m), Day: day} }
	tests := []struct {
		file string
		want Case
	}{
		{"expected-acme-2026-10.csv", Case{AccountID: "acct-acme", Start: d(2026, 10, 1), End: d(2026, 10, 31)}},
		{"expected-acme-2026-02.csv", Case{AccountID: "acct-acme", Start: d(2026, 2, 1), End: d(2026, 2, 28)}},
		{"expected-acme-2026-10-ids.csv", Case{AccountID: "acct-acme", Start: d(2026, 10, 1), End: d(2026, 10, 31), IncludeCustomerIDs: true}},
		{"expected-acme-2026-10-utc.csv", Case{AccountID: "acct-acme", Start: d(2026, 10, 1), End: d(2026, 10, 31), UTC: true}},
		{"expected-acme-2026-10-16-to-11-15-ids.csv", Case{AccountID: "acct-acme", Start: d(2026, 10, 16), End: d(2026, 11, 15), IncludeCustomerIDs: true}},
		{"expected-acme-2026-12-16-to-01-15.csv", Case{AccountID: "acct-acme", Start: d(2026, 12, 16), End: d(2027, 1, 15)}},
		{"expected-acme-2026-10-scope-c-law-ids.csv", Case{AccountID: "acct-acme", Start: d(2026, 10, 1), End: d(2026, 10, 31), IncludeCustomerIDs: true, CustomerScope: "c-law"}},
		{"expected-acme-2026-10-utc-ids-scope-c-law.csv", Case{AccountID: "acct-acme", Start: d(2026, 10, 1), End: d(2026, 10, 31), UTC: true, IncludeCustomerIDs: true, CustomerScope: "c-law"}},
	}
	for _, tt := range tests {
		got, err := ParseCaseName(tt.file)
		tt.want.File = tt.file
		if err != nil || got != tt.want {
			t.Errorf("ParseCaseName(%s) = %+v, %v; want %+v", tt.file, got, err, tt.want)
		}
	}
	for _, bad := range []string{"expected-acme.csv", "expected-acme-2026-10-weird.csv", "dataset.jsonl", "expected-acme-2026-10-scope-.csv"} {
		if _, err := ParseCaseName(bad); err == nil {
			t.Errorf("ParseCaseName(%s) accepted", bad)
		}
	}
}

func TestLoadDatasetFixture(t *testing.T) {
	dir, err := FixtureDir("billing-small")
	if err != nil {
		t.Fatal(err)
	}
	ds, err := LoadDataset(filepath.Join(dir, "dataset.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Accounts) != 2 || len(ds.CustomersOf("acct-acme")) != 4 || len(ds.Usage) != 13 {
		t.Errorf("loaded %d accounts, %d acme customers, %d events", len(ds.Accounts), len(ds.CustomersOf("acct-acme")), len(ds.Usage))
	}
	law := ds.CustomersOf("acct-acme")[2]
	if law.ID != "c-law" || !law.OverrideBillingSettings || law.BillingSettings[billing.ItemOutboundVoiceCalls].RawUnitMultiplier != "0.0166666667" {
		t.Errorf("c-law loaded as %+v", law)
	}
	if u := ds.Usage[1]; u.ID != "u-002" || !u.Recorded || u.RawQuantity != "3600" || u.Time.Format("2006-01-02T15:04:05Z07:00") != "2026-10-01T04:00:00Z" {
		t.Errorf("u-002 loaded as %+v", u)
	}
}

func timeMonth(m int) time.Month { return time.Month(m) }
