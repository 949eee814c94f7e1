package billing

import (
	"fmt"
	"math/big"
)

// ParseDecimal reads a non-negative decimal number exactly: digits with an
// optional fraction and an optional exponent (JSON numbers are read as decimal
// text, never as floats). It rejects signs, NaN, fractions like "1/3", hex and
// empty input, so that money never enters the system in a form that cannot be
// explained.
func ParseDecimal(s string) (*big.Rat, error) {
	if !ValidDecimal(s) {
		return nil, fmt.Errorf("%q is not a non-negative decimal number", s)
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, fmt.Errorf("%q is not a non-negative decimal number", s)
	}
	return r, nil
}

// ValidDecimal reports whether s has the syntax ParseDecimal accepts:
// digits [ "." digits ] [ ("e"|"E") ["+"|"-"] digits ], with at most 3 exponent
// digits so that no input can make big.Rat allocate without bound.
func ValidDecimal(s string) bool {
	i, n := 0, len(s)
	digits := func() int {
		start := i
		for i < n && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - start
	}
	if digits() == 0 {
		return false
	}
	if i < n && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < n && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < n && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if d := digits(); d == 0 || d > 3 {
			return false
		}
	}
	return i == n
}
