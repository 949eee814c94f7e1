// Package ratingtest loads the shared golden fixtures (shared/fixtures/...) for
// tests of the rating engine, the CSV writer and anything else that must
// reproduce them byte for byte. It reads the import format with a small decoder
// of its own so that golden tests do not depend on the real import reader.
package ratingtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
)

// FixtureDir finds shared/fixtures/<name> by walking up from the working
// directory to the first folder that holds shared/: in the team checkout and in
// CI's clean clone, shared/ sits beside the repository.
func FixtureDir(name string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding fixtures: %w", err)
	}
	for {
		candidate := filepath.Join(dir, "shared", "fixtures", name)
		if st, err := os.Stat(candidate); err == nil && st.IsDir() {
			return candidate, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("finding fixtures: no shared/fixtures/%s above the working directory", name)
		}
		dir = parent
	}
}

// Fixture is FixtureDir for tests: a missing fixture fails t (CI lays shared/
// beside the clone, so it is never a reason to skip).
func Fixture(t testing.TB, name string) string {
	t.Helper()
	dir, err := FixtureDir(name)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// FixtureDataset is Fixture plus the fixture's dataset.jsonl, loaded.
func FixtureDataset(t testing.TB, name string) (dir string, ds *Dataset) {
	t.Helper()
	dir = Fixture(t, name)
	ds, err := LoadDataset(filepath.Join(dir, "dataset.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return dir, ds
}

// Dataset is the content of an import file.
type Dataset struct {
	Accounts  map[string]billing.Account
	Customers []billing.Customer
	Usage     []billing.UsageEvent
}

// CustomersOf returns the customers of one account, in file order.
func (d *Dataset) CustomersOf(accountID string) []billing.Customer {
	var out []billing.Customer
	for _, c := range d.Customers {
		if c.AccountID == accountID {
			out = append(out, c)
		}
	}
	return out
}

// decimalText accepts a decimal as a JSON string or a JSON number, keeping its
// exact text (a number is never read through a float).
type decimalText string

func (t *decimalText) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = decimalText(s)
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	*t = decimalText(b)
	return nil
}

type itemSettings struct {
	BaseCost          decimalText `json:"baseCost"`
	RawUnitMultiplier decimalText `json:"rawUnitMultiplier"`
	UnitCost          decimalText `json:"unitCost"`
	Allowance         decimalText `json:"allowance"`
}

type line struct {
	Type                    string                  `json:"type"`
	ID                      string                  `json:"id"`
	AccountID               string                  `json:"accountId"`
	Name                    string                  `json:"name"`
	TimeZoneID              string                  `json:"timeZoneId"`
	ParentCustomerID        string                  `json:"parentCustomerId"`
	OverrideBillingSettings bool                    `json:"overrideBillingSettings"`
	BillingSettings         map[string]itemSettings `json:"billingSettings"`
	CustomerID              string                  `json:"customerId"`
	Time                    time.Time               `json:"time"`
	Item                    string                  `json:"item"`
	RawQuantity             decimalText             `json:"rawQuantity"`
	InternationalCost       decimalText             `json:"internationalCost"`
	Recorded                bool                    `json:"recorded"`
	Description             string                  `json:"description"`
}

func settingsOf(m map[string]itemSettings) billing.BillingSettings {
	if m == nil {
		return nil
	}
	out := make(billing.BillingSettings, len(m))
	for item, s := range m {
		out[billing.Item(item)] = billing.ItemSettings{
			BaseCost: string(s.BaseCost), RawUnitMultiplier: string(s.RawUnitMultiplier),
			UnitCost: string(s.UnitCost), Allowance: string(s.Allowance),
		}
	}
	return out
}

// LoadDataset reads a JSON Lines import file.
func LoadDataset(path string) (*Dataset, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading dataset: %w", err)
	}
	ds := &Dataset{Accounts: map[string]billing.Account{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("reading dataset line %d: %w", n, err)
		}
		switch l.Type {
		case "account":
			ds.Accounts[l.ID] = billing.Account{ID: l.ID, Name: l.Name, TimeZoneID: l.TimeZoneID, BillingSettings: settingsOf(l.BillingSettings)}
		case "customer":
			ds.Customers = append(ds.Customers, billing.Customer{
				ID: l.ID, AccountID: l.AccountID, ParentCustomerID: l.ParentCustomerID, Name: l.Name,
				OverrideBillingSettings: l.OverrideBillingSettings, BillingSettings: settingsOf(l.BillingSettings),
			})
		case "usage":
			ds.Usage = append(ds.Usage, billing.UsageEvent{
				ID: l.ID, AccountID: l.AccountID, CustomerID: l.CustomerID, Time: l.Time.UTC(), Item: billing.Item(l.Item),
				RawQuantity: string(l.RawQuantity), InternationalCost: string(l.InternationalCost),
				Recorded: l.Recorded, Description: l.Description,
			})
		default:
			return nil, fmt.Errorf("reading dataset line %d: unknown type %q", n, l.Type)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading dataset: %w", err)
	}
	return ds, nil
}

// Case is one expected report, decoded from its file name
// expected-<account>-<range>[-utc][-ids][-scope-<customer>].csv.
type Case struct {
	File               string
	AccountID          string
	Start, End         billing.Date
	UTC                bool
	IncludeCustomerIDs bool
	CustomerScope      string
}

var caseName = regexp.MustCompile(`^expected-([a-z0-9]+)-(\d{4})-(\d{2})(?:-(\d{2})-to-(\d{2})-(\d{2}))?(.*)\.csv$`)

// ParseCaseName decodes an expected-report file name (see the fixture README).
func ParseCaseName(file string) (Case, error) {
	m := caseName.FindStringSubmatch(file)
	if m == nil {
		return Case{}, fmt.Errorf("fixture name %q does not follow expected-<account>-<range>[options].csv", file)
	}
	c := Case{File: file, AccountID: "acct-" + m[1]}
	var year, month, day, endMonth, endDay int
	fmt.Sscan(m[2], &year)
	fmt.Sscan(m[3], &month)
	if m[4] == "" {
		c.Start = billing.Date{Year: year, Month: time.Month(month), Day: 1}
		c.End = billing.DateOf(time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC))
	} else {
		fmt.Sscan(m[4], &day)
		fmt.Sscan(m[5], &endMonth)
		fmt.Sscan(m[6], &endDay)
		c.Start = billing.Date{Year: year, Month: time.Month(month), Day: day}
		endYear := year
		if endMonth < month {
			endYear++ // the range runs into the next year
		}
		c.End = billing.Date{Year: endYear, Month: time.Month(endMonth), Day: endDay}
	}
	opts := m[7]
	for {
		switch {
		case strings.HasSuffix(opts, "-utc"):
			c.UTC, opts = true, strings.TrimSuffix(opts, "-utc")
			continue
		case strings.HasSuffix(opts, "-ids"):
			c.IncludeCustomerIDs, opts = true, strings.TrimSuffix(opts, "-ids")
			continue
		}
		break
	}
	if before, scope, ok := strings.Cut(opts, "-scope-"); ok {
		c.CustomerScope, opts = scope, before
	}
	for opts != "" {
		switch {
		case strings.HasPrefix(opts, "-utc"):
			c.UTC, opts = true, opts[len("-utc"):]
		case strings.HasPrefix(opts, "-ids"):
			c.IncludeCustomerIDs, opts = true, opts[len("-ids"):]
		default:
			return Case{}, fmt.Errorf("fixture name %q: unknown option %q", file, opts)
		}
	}
	if c.CustomerScope == "" && strings.Contains(file, "-scope-") {
		return Case{}, errors.New("fixture name " + file + ": empty scope")
	}
	return c, nil
}

// Location is the zone the case's report uses: UTC for -utc, else the account's.
func (c Case) Location(acct billing.Account) (*time.Location, error) {
	if c.UTC {
		return time.UTC, nil
	}
	return billing.LoadZone(acct.TimeZoneID)
}
