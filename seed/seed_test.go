package seed

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/importfile"
)

func generate(t *testing.T, cfg Config) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, cfg); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestWriteIsDeterministic(t *testing.T) {
	cfg := Config{Accounts: 3, Customers: 20, Events: 3000, Seed: 42}
	if a, b := generate(t, cfg), generate(t, cfg); !bytes.Equal(a, b) {
		t.Fatal("same config, different bytes")
	}
	cfg.Seed = 43
	if a, b := generate(t, Config{Accounts: 3, Customers: 20, Events: 3000, Seed: 42}), generate(t, cfg); bytes.Equal(a, b) {
		t.Fatal("different seeds, same bytes")
	}
}

// The dataset must be a valid import file with what a demo needs to show.
func TestWriteIsValidAndRealistic(t *testing.T) {
	data := generate(t, Config{Accounts: 4, Customers: 60, Events: 20000, Seed: 1})
	var (
		events                  int
		last                    time.Time
		sorted                  = true
		international, recorded int
		items                   = map[billing.Item]int{}
		first, lastDay          time.Time
		perAccount              = map[string]int{}
		descriptionNeedsQuoting bool
	)
	d, err := importfile.Scan(context.Background(), importfile.Bytes(data), importfile.Options{}, func(*importfile.Dataset) (importfile.UsageFunc, error) {
		return func(e *billing.UsageEvent) error {
			events++
			if e.Time.Before(last) {
				sorted = false
			}
			last = e.Time
			if first.IsZero() {
				first = e.Time
			}
			lastDay = e.Time
			if e.InternationalCost != "" {
				international++
			}
			if e.Recorded {
				recorded++
			}
			if strings.ContainsAny(e.Description, `,"`) {
				descriptionNeedsQuoting = true
			}
			items[e.Item]++
			perAccount[e.AccountID]++
			return nil
		}, nil
	})
	if err != nil {
		t.Fatalf("seeded data does not validate: %v", err)
	}
	if events != 20000 || d.Summary.Customers != 60 || d.Summary.Accounts != 4 || d.Summary.Passes != 1 {
		t.Fatalf("summary %+v, %d events", d.Summary, events)
	}
	if !sorted {
		t.Error("usage is not sorted by time")
	}
	if months := lastDay.Sub(first); months < 80*24*time.Hour {
		t.Errorf("usage spans only %v, want about 3 months", months)
	}
	if international == 0 || recorded == 0 || !descriptionNeedsQuoting {
		t.Errorf("international %d, recorded %d, description needing quotes %v", international, recorded, descriptionNeedsQuoting)
	}
	for _, it := range billing.Items[1:] {
		if items[it] == 0 {
			t.Errorf("no usage of %s", it)
		}
	}
	if len(perAccount) != 4 {
		t.Errorf("usage of %d accounts, want all 4", len(perAccount))
	}
	zones := map[string]bool{}
	for _, a := range d.Accounts {
		zones[a.TimeZoneID] = true
	}
	if len(zones) < 3 {
		t.Errorf("zones %v, want several", zones)
	}
	depth := func(c billing.Customer) int {
		n := 1
		for c.ParentCustomerID != "" {
			for _, p := range d.Customers {
				if p.ID == c.ParentCustomerID {
					c = p
				}
			}
			n++
		}
		return n
	}
	maxDepth, overrides, inheritingChildren, quoted := 0, 0, 0, 0
	for _, c := range d.Customers {
		maxDepth = max(maxDepth, depth(c))
		if c.OverrideBillingSettings {
			overrides++
		} else if c.ParentCustomerID != "" {
			inheritingChildren++
		}
		if strings.ContainsAny(c.Name, "\",=+-@") {
			quoted++
		}
	}
	// Every unit column of a report must be in one unit: an override replaces
	// the inherited settings entirely, so it has to price every item, and the
	// time-based ones (recorded in seconds) in minutes like the accounts do.
	timeBased := []billing.Item{billing.ItemInboundVoiceCalls, billing.ItemOutboundVoiceCalls, billing.ItemAILiveMinutes}
	for _, set := range pricedSets(d) {
		for _, it := range billing.Items {
			if _, ok := set.settings[it]; !ok {
				t.Errorf("%s has no price for %s", set.id, it)
			}
		}
		for _, it := range timeBased {
			if m := set.settings[it].RawUnitMultiplier; m != perMinute {
				t.Errorf("%s: %s multiplier %q, want per minute %q", set.id, it, m, perMinute)
			}
		}
	}
	for _, a := range d.Accounts {
		if !billing.ValidCurrency(a.Currency) {
			t.Errorf("account %s: currency %q", a.ID, a.Currency)
		}
	}
	if maxDepth < 3 || maxDepth > 4 || overrides == 0 || inheritingChildren == 0 || quoted == 0 {
		t.Errorf("max depth %d, overrides %d, inheriting children %d, names needing escaping %d", maxDepth, overrides, inheritingChildren, quoted)
	}
}

func TestWriteRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{{Accounts: 0, Customers: 1}, {Accounts: 2, Customers: 1}, {Accounts: 1, Customers: 1, Events: -1}} {
		if err := Write(io.Discard, cfg); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
}

// BenchmarkWrite measures generation speed; memory per op must not depend on
// the number of events (streaming).
func BenchmarkWrite(b *testing.B) {
	const events = 1_000_000
	for b.Loop() {
		if err := Write(io.Discard, Config{Accounts: 3, Customers: 40, Events: events, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

type priced struct {
	id       string
	settings billing.BillingSettings
}

// pricedSets lists the settings that apply to someone: the accounts' and the
// overriding customers' (which their inheriting branches use too).
func pricedSets(d *importfile.Dataset) []priced {
	var out []priced
	for _, a := range d.Accounts {
		out = append(out, priced{"account " + a.ID, a.BillingSettings})
	}
	for _, c := range d.Customers {
		if c.OverrideBillingSettings {
			out = append(out, priced{"customer " + c.ID, c.BillingSettings})
		}
	}
	return out
}
