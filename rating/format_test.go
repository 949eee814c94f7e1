package rating_test

import (
	"math/big"
	"testing"

	"github.com/evovoice/billing/rating"
)

func rat(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic(s)
	}
	return r
}

func TestFormatCents(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0", "0.00"},
		{"1234.5", "1234.50"},
		{"0.005", "0.01"},
		{"0.0049999999", "0.00"},
		{"2.675", "2.68"},
		{"-0.005", "-0.01"},
		{"-0.004", "0.00"},
		{"1/3", "0.33"},
		{"2/3", "0.67"},
		{"99999999999999999.995", "100000000000000000.00"},
		{"123456789012345678901234567890.125", "123456789012345678901234567890.13"},
		{"1/12345678901234567890123", "0.00"},
	}
	for _, tt := range tests {
		if got := rating.FormatCents(rat(tt.in)); got != tt.want {
			t.Errorf("FormatCents(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestFormatUnits(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0", "0"},
		{"60", "60"},
		{"60.00000012", "60"},
		{"2.0833333375", "2.0833"},
		{"2.08335", "2.0834"},
		{"2.08345", "2.0835"},
		{"0.00005", "0.0001"},
		{"0.00004999", "0"},
		{"1.5", "1.5"},
		{"1.10", "1.1"},
		{"103.0833333595", "103.0833"},
		{"1/3", "0.3333"},
		{"-1.00005", "-1.0001"},
		{"-0.00001", "0"},
		{"19800000000000000001/2", "9900000000000000000.5"},
		{"123456789012345678901234567890", "123456789012345678901234567890"},
	}
	for _, tt := range tests {
		if got := rating.FormatUnits(rat(tt.in)); got != tt.want {
			t.Errorf("FormatUnits(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestRoundCents(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0.005", "1/100"},
		{"0.015", "2/100"},
		{"0.0149", "1/100"},
		{"-0.005", "-1/100"},
		{"-0.0049", "0"},
		{"10.161290322580645", "1016/100"},
	}
	for _, tt := range tests {
		if got := rating.RoundCents(rat(tt.in)); got.Cmp(rat(tt.want)) != 0 {
			t.Errorf("RoundCents(%s) = %s, want %s", tt.in, got.RatString(), tt.want)
		}
	}
	in := rat("1.005")
	rating.RoundCents(in)
	if in.Cmp(rat("1.005")) != 0 {
		t.Error("RoundCents changed its argument")
	}
}

// TestAppendFormsMatchFloatString cross-checks the int64 fast path against
// math/big's own formatting (which also rounds half away from zero).
func TestAppendFormsMatchFloatString(t *testing.T) {
	for _, s := range []string{"0", "1/7", "22/7", "1234567.125", "0.995", "-0.995", "9223372036854775807/1000", "1/9223372036854775807", "-9223372036854775808/3", "987654321987654321987/1000"} {
		r := rat(s)
		if got, want := string(rating.AppendCents([]byte("x"), r)), "x"+r.FloatString(2); got != want {
			t.Errorf("AppendCents(%s) = %s, want %s", s, got, want)
		}
	}
}
