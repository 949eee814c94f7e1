package rating

import (
	"math"
	"math/rand/v2"
	"testing"
)

// exactSum.text's fast path agrees with exactDecimal on every fixed-point
// state, including unnormalized nanos and sums near the int64 limit.
func TestExactSumTextMatchesExactDecimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	states := []fixedSum{{0, 0}, {1, 0}, {0, 1}, {0, nanoScale}, {7, 3 * nanoScale}, {0, 500_000_000}, {math.MaxInt64, 0},
		{math.MaxInt64, nanoScale}, {math.MaxInt64 - 1, math.MaxInt64}, {12, 10}}
	for range 20000 {
		states = append(states, fixedSum{rng.Int64N(1 << uint(rng.IntN(63))), rng.Int64N(1 << uint(rng.IntN(63)))})
	}
	for _, st := range states {
		s := exactSum{fixed: st}
		if got, want := s.text(), exactDecimal(st.rat()); got != want {
			t.Fatalf("text(%+v) = %s, want %s", st, got, want)
		}
	}
}
