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
	i, ok := digitsAt(s, 0, len(s))
	if !ok {
		return false
	}
	if i < len(s) && s[i] == '.' {
		if i, ok = digitsAt(s, i+1, len(s)); !ok {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i, ok = digitsAt(s, i, 3); !ok {
			return false
		}
	}
	return i == len(s)
}

// digitsAt skips the run of 1 to most digits at s[i:], returning the index
// after it; ok is false for no digit or more than most.
func digitsAt(s string, i, most int) (int, bool) {
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i, i > start && i-start <= most
}
