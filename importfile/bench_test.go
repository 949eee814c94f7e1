package importfile

import (
	"bytes"
	"context"
	"testing"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/seed"
)

const benchEvents = 200_000

func benchData(b *testing.B) []byte {
	b.Helper()
	var buf bytes.Buffer
	if err := seed.Write(&buf, seed.Config{Accounts: 3, Customers: 40, Events: benchEvents, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkDecodeUsage is the floor: decoding usage lines and nothing else.
func BenchmarkDecodeUsage(b *testing.B) {
	src := Bytes(benchData(b))
	for b.Loop() {
		if _, err := DecodeUsage(context.Background(), src, func(*billing.UsageEvent) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchEvents)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkScan adds validation, references and the duplicate filter, with a
// consumer that does nothing.
func BenchmarkScan(b *testing.B) {
	src := Bytes(benchData(b))
	for b.Loop() {
		_, err := Scan(context.Background(), src, Options{}, func(*Dataset) (UsageFunc, error) {
			return func(*billing.UsageEvent) error { return nil }, nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchEvents)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
