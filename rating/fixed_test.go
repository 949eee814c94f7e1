package rating

import (
	"math"
	"testing"

	billing "github.com/evovoice/billing"
)

func TestParseFixed(t *testing.T) {
	tests := []struct {
		in           string
		whole, nanos int64
		ok           bool
	}{
		{"0", 0, 0, true},
		{"3600", 3600, 0, true},
		{"1.5", 1, 500_000_000, true},
		{"0.0166666667", 0, 16_666_666, false}, // 10 decimals: slow path
		{"0.016666666", 0, 16_666_666, true},
		{"0.000000001", 0, 1, true},
		{"999999999999999999", 999999999999999999, 0, true},
		{"1000000000000000000", 0, 0, false},
		{"1.", 0, 0, false},
		{".5", 0, 0, false},
		{"", 0, 0, false},
		{"-1", 0, 0, false},
		{"+1", 0, 0, false},
		{"1e3", 0, 0, false},
		{"1.2.3", 0, 0, false},
		{"1 ", 0, 0, false},
	}
	for _, tt := range tests {
		whole, nanos, ok := parseFixed(tt.in)
		if ok != tt.ok || ok && (whole != tt.whole || nanos != tt.nanos) {
			t.Errorf("parseFixed(%q) = %d, %d, %v; want %d, %d, %v", tt.in, whole, nanos, ok, tt.whole, tt.nanos, tt.ok)
		}
	}
}

func TestFixedSumOverflowIsRefused(t *testing.T) {
	s := fixedSum{whole: math.MaxInt64 - 1}
	if !s.add(1, 0) {
		t.Fatal("add up to MaxInt64 refused")
	}
	before := s
	if s.add(1, 0) {
		t.Fatal("overflowing add accepted")
	}
	if s != before {
		t.Error("refused add changed the sum")
	}
	n := fixedSum{nanos: math.MaxInt64}
	if n.add(0, 1) {
		t.Error("overflowing nanos accepted")
	}
}

func TestFixedSumRat(t *testing.T) {
	s := fixedSum{whole: 2, nanos: 3_500_000_000}
	if got := s.rat().RatString(); got != "11/2" {
		t.Errorf("rat = %s, want 11/2", got)
	}
}

// FuzzParseFixed: the allocation-free parser agrees with billing.ParseDecimal
// on every input it accepts and accepts nothing ParseDecimal rejects.
func FuzzParseFixed(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		whole, nanos, ok := parseFixed(s)
		want, err := billing.ParseDecimal(s)
		if !ok {
			return
		}
		if err != nil {
			t.Fatalf("parseFixed accepted %q, which ParseDecimal rejects: %v", s, err)
		}
		if got := fixedRat(whole, nanos); got.Cmp(want) != 0 {
			t.Fatalf("parseFixed(%q) = %s, ParseDecimal = %s", s, got.RatString(), want.RatString())
		}
	})
}
