package ddbstore

import (
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/evovoice/billing/resources"
)

type item = map[string]types.AttributeValue

func avS(s string) types.AttributeValue     { return &types.AttributeValueMemberS{Value: s} }
func avN(s string) types.AttributeValue     { return &types.AttributeValueMemberN{Value: s} }
func avInt(n int64) types.AttributeValue    { return avN(strconv.FormatInt(n, 10)) }
func avBool(b bool) types.AttributeValue    { return &types.AttributeValueMemberBOOL{Value: b} }
func avSS(s ...string) types.AttributeValue { return &types.AttributeValueMemberSS{Value: s} }

// putS sets a string attribute only when it is non-empty: DynamoDB rejects
// empty key attributes, and absent attributes keep items small.
func putS(it item, name, v string) {
	if v != "" {
		it[name] = avS(v)
	}
}

func getS(it item, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// getN returns a number attribute's decimal text as DynamoDB returns it.
func getN(it item, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberN); ok {
		return v.Value
	}
	return ""
}

func getInt(it item, name string) int64 {
	n, _ := strconv.ParseInt(getN(it, name), 10, 64)
	return n
}

func getBool(it item, name string) bool {
	if v, ok := it[name].(*types.AttributeValueMemberBOOL); ok {
		return v.Value
	}
	return false
}

func getSS(it item, name string) []string {
	if v, ok := it[name].(*types.AttributeValueMemberSS); ok {
		return v.Value
	}
	return nil
}

// timeKey is t in the fixed-width UTC layout whose byte order is time order,
// used wherever times are compared by DynamoDB (keys and conditions).
func timeKey(t time.Time) string { return t.UTC().Format(resources.UsageTimeLayout) }

func putTime(it item, name string, t time.Time) {
	if !t.IsZero() {
		it[name] = avS(timeKey(t))
	}
}

func getTime(it item, name string) time.Time {
	s := getS(it, name)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(resources.UsageTimeLayout, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// fitsNumber reports whether the decimal text s (billing.ValidDecimal syntax)
// can be stored exactly as a DynamoDB number: at most 38 significant digits and
// a magnitude between 1e-130 and 1e126.
func fitsNumber(s string) bool {
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil {
			return false
		}
		mant, exp = s[:i], e
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := strings.TrimLeft(intPart+frac, "0")
	// Position of the first significant digit relative to the decimal point.
	leading := len(intPart+frac) - len(digits)
	digits = strings.TrimRight(digits, "0")
	if digits == "" {
		return true // zero
	}
	if len(digits) > 38 {
		return false
	}
	magnitude := len(intPart) - leading + exp // value is in [10^(magnitude-1), 10^magnitude)
	return magnitude >= -129 && magnitude <= 126
}
