package rating

import (
	"math"
	"math/big"
	"strconv"
	"strings"
)

var (
	bigHundred = big.NewInt(100)
	bigTwo     = big.NewInt(2)
)

// RoundCents returns r rounded to cents, half away from zero (spec 3.2), as a new Rat.
func RoundCents(r *big.Rat) *big.Rat {
	var tmp [2]big.Int
	return roundCentsInto(new(big.Rat), r, &tmp)
}

// roundCentsInto sets dst to r rounded to cents, using tmp as scratch.
func roundCentsInto(dst, r *big.Rat, tmp *[2]big.Int) *big.Rat {
	return dst.SetFrac(roundScaledInto(&tmp[0], &tmp[1], r, bigHundred), bigHundred)
}

// roundScaled returns r×scale rounded to an integer, half away from zero.
func roundScaled(r *big.Rat, scale *big.Int) *big.Int {
	return roundScaledInto(new(big.Int), new(big.Int), r, scale)
}

// roundScaledInto sets num to r×scale rounded to an integer, half away from
// zero; den is scratch.
func roundScaledInto(num, den *big.Int, r *big.Rat, scale *big.Int) *big.Int {
	num.Mul(r.Num(), scale)
	num.Abs(num)
	// floor((2·|num| + den) / (2·den)) is |num|/den rounded half up.
	num.Mul(num, bigTwo).Add(num, r.Denom())
	den.Mul(r.Denom(), bigTwo)
	num.Quo(num, den)
	if r.Sign() < 0 {
		num.Neg(num)
	}
	return num
}

// FormatCents formats r rounded to cents with exactly 2 decimals ("1234.50").
func FormatCents(r *big.Rat) string { return string(AppendCents(nil, r)) }

// FormatUnits formats r rounded to 4 decimals, half away from zero, without
// trailing zeros ("60", "2.0833", "0").
func FormatUnits(r *big.Rat) string { return string(AppendUnits(nil, r)) }

// AppendCents appends FormatCents(r) to dst. Amounts that fit an int64 are
// formatted without math/big so that writing large reports stays cheap.
func AppendCents(dst []byte, r *big.Rat) []byte {
	return appendDecimal(dst, r, 2, false)
}

// AppendUnits appends FormatUnits(r) to dst.
func AppendUnits(dst []byte, r *big.Rat) []byte {
	return appendDecimal(dst, r, 4, true)
}

// appendDecimal appends r rounded half away from zero to prec decimals; trim
// drops trailing fractional zeros (and the point).
func appendDecimal(dst []byte, r *big.Rat, prec int, trim bool) []byte {
	scale := pow10[prec]
	var scaled int64
	if n, d := r.Num(), r.Denom(); fitsFast(n, d, scale) {
		num, den := n.Int64(), d.Int64()
		neg := num < 0
		scaled = (2*abs64(num)*scale + den) / (2 * den)
		if neg {
			scaled = -scaled
		}
	} else {
		rounded := roundScaled(r, big.NewInt(scale))
		if !rounded.IsInt64() || rounded.Int64() == math.MinInt64 {
			// Beyond int64 even when scaled: let math/big format it.
			return appendTrimmed(dst, r.FloatString(prec), trim)
		}
		scaled = rounded.Int64()
	}
	if scaled < 0 {
		dst = append(dst, '-')
	}
	u := uint64(abs64(scaled))
	dst = strconv.AppendUint(dst, u/uint64(scale), 10)
	frac := u % uint64(scale)
	if trim && frac == 0 {
		return dst
	}
	var digits [9]byte
	for i := prec - 1; i >= 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	n := prec
	if trim {
		for n > 0 && digits[n-1] == '0' {
			n--
		}
	}
	dst = append(dst, '.')
	return append(dst, digits[:n]...)
}

// fitsFast reports whether 2·|n|·scale + d cannot overflow an int64.
func fitsFast(n, d *big.Int, scale int64) bool {
	if !n.IsInt64() || !d.IsInt64() || n.Int64() == math.MinInt64 || d.Int64() > math.MaxInt64/4 {
		return false
	}
	return abs64(n.Int64()) <= (math.MaxInt64/2-d.Int64())/scale
}

func appendTrimmed(dst []byte, s string, trim bool) []byte {
	if trim && strings.Contains(s, ".") {
		for len(s) > 0 && s[len(s)-1] == '0' {
			s = s[:len(s)-1]
		}
		s = strings.TrimSuffix(s, ".")
	}
	return append(dst, s...)
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
