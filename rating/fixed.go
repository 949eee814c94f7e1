package rating

import (
	"math"
	"math/big"
)

// nanoScale is the fixed-point scale of accumulated quantities: 9 decimals cover
// every quantity the platform records (seconds, counts, cents with sub-cent
// fractions) without touching math/big.
const nanoScale = 1_000_000_000

// maxFastIntDigits keeps a parsed integer part below 10^18 so it fits an int64.
const maxFastIntDigits = 18

var pow10 = [...]int64{1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000}

// parseFixed reads the common decimal forms "123" and "123.456" (at most 18
// integer and 9 fraction digits) without allocating. ok is false for anything
// else, including valid forms it does not handle (exponents, more digits), which
// the caller then reads with billing.ParseDecimal.
func parseFixed(s string) (whole, nanos int64, ok bool) {
	i, n := 0, len(s)
	for ; i < n; i++ {
		c := s[i]
		if c == '.' {
			break
		}
		if c < '0' || c > '9' || i == maxFastIntDigits {
			return 0, 0, false
		}
		whole = whole*10 + int64(c-'0')
	}
	if i == 0 {
		return 0, 0, false
	}
	if i == n {
		return whole, 0, true
	}
	frac := s[i+1:]
	if len(frac) == 0 || len(frac) > 9 {
		return 0, 0, false
	}
	for j := 0; j < len(frac); j++ {
		c := frac[j]
		if c < '0' || c > '9' {
			return 0, 0, false
		}
		nanos = nanos*10 + int64(c-'0')
	}
	return whole, nanos * pow10[9-len(frac)], true
}

// fixedSum is an exact non-negative sum: whole + nanos/10^9 (nanos may exceed
// 10^9; it is normalized only when read).
type fixedSum struct {
	whole, nanos int64
}

// add adds whole + nanos/10^9 and reports false, changing nothing, when the sum
// would overflow; the caller then moves the amount to an exact big.Rat.
func (s *fixedSum) add(whole, nanos int64) bool {
	if s.whole > math.MaxInt64-whole || s.nanos > math.MaxInt64-nanos {
		return false
	}
	s.whole += whole
	s.nanos += nanos
	return true
}

func (s fixedSum) isZero() bool { return s.whole == 0 && s.nanos == 0 }

// rat returns the exact value of s.
func (s fixedSum) rat() *big.Rat {
	var tmp [2]big.Int
	return s.setRat(new(big.Rat), &tmp)
}

var bigNanoScale = big.NewInt(nanoScale)

// setRat sets dst to the exact value of s, using tmp as scratch so that a
// caller looping over many sums reuses the same memory.
func (s fixedSum) setRat(dst *big.Rat, tmp *[2]big.Int) *big.Rat {
	if s.nanos == 0 {
		return dst.SetInt64(s.whole)
	}
	num := tmp[0].SetInt64(s.whole)
	num.Mul(num, bigNanoScale)
	num.Add(num, tmp[1].SetInt64(s.nanos))
	return dst.SetFrac(num, bigNanoScale)
}

// fixedRat returns whole + nanos/10^9 as a big.Rat.
func fixedRat(whole, nanos int64) *big.Rat {
	return fixedSum{whole: whole, nanos: nanos}.rat()
}
