package importfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Field presence bits of lineFields.
const (
	hasType = 1 << iota
	hasID
	hasAccountID
	hasCustomerID
	hasTime
	hasItem
	hasRawQuantity
	hasIntlCost
	hasRecorded
	hasDescription
)

// lineFields is what the fast decoder reads from any line: every field of a
// usage line, and the type and id of the others. Slices point into the line (or
// into a fresh buffer for strings with escapes) and are valid until the next line.
type lineFields struct {
	typ, id, accountID, customerID, time, item, rawQuantity, intlCost, description []byte
	has                                                                            uint16
	recorded                                                                       bool
	typeErrs                                                                       []string // fields of the wrong JSON type
	wrongType                                                                      uint16   // their presence bits
}

func (f *lineFields) reset() {
	errs := f.typeErrs[:0]
	*f = lineFields{typeErrs: errs}
}

// decodeLine reads one JSON object into f. It returns a syntax error for
// anything that is not exactly one JSON object; fields of the wrong JSON type are
// listed in f.typeErrs instead, so the line's other problems are still reported.
func decodeLine(line []byte, f *lineFields) error {
	f.reset()
	l := lexer{b: line}
	if !l.consume('{') {
		return l.syntaxError("expected '{'")
	}
	if !l.consume('}') {
		for {
			l.ws()
			if l.i >= len(l.b) || l.b[l.i] != '"' {
				return l.syntaxError("expected a key")
			}
			key, err := l.str()
			if err != nil {
				return err
			}
			if !l.consume(':') {
				return l.syntaxError("expected ':'")
			}
			l.ws()
			if err := f.value(&l, key); err != nil {
				return err
			}
			if l.consume(',') {
				continue
			}
			if l.consume('}') {
				break
			}
			return l.syntaxError("expected ',' or '}'")
		}
	}
	l.ws()
	if l.i != len(l.b) {
		return l.syntaxError("unexpected text after the object")
	}
	return nil
}

// usageKeys are the keys the fast decoder keeps, with their presence bits. Keys
// match case-insensitively, as encoding/json does for the other line types.
var usageKeys = [...]struct {
	name string
	bit  uint16
}{
	{"type", hasType}, {"id", hasID}, {"accountId", hasAccountID}, {"customerId", hasCustomerID},
	{"time", hasTime}, {"item", hasItem}, {"rawQuantity", hasRawQuantity},
	{"internationalCost", hasIntlCost}, {"recorded", hasRecorded}, {"description", hasDescription},
}

func keyBit(key []byte) uint16 {
	switch string(key) { // exact spelling first: no allocation, the common case
	case "type":
		return hasType
	case "id":
		return hasID
	case "accountId":
		return hasAccountID
	case "customerId":
		return hasCustomerID
	case "time":
		return hasTime
	case "item":
		return hasItem
	case "rawQuantity":
		return hasRawQuantity
	case "internationalCost":
		return hasIntlCost
	case "recorded":
		return hasRecorded
	case "description":
		return hasDescription
	}
	for _, k := range usageKeys {
		if len(k.name) == len(key) && bytes.EqualFold([]byte(k.name), key) {
			return k.bit
		}
	}
	return 0
}

func (f *lineFields) slot(bit uint16) *[]byte {
	switch bit {
	case hasType:
		return &f.typ
	case hasID:
		return &f.id
	case hasAccountID:
		return &f.accountID
	case hasCustomerID:
		return &f.customerID
	case hasTime:
		return &f.time
	case hasItem:
		return &f.item
	case hasRawQuantity:
		return &f.rawQuantity
	case hasIntlCost:
		return &f.intlCost
	case hasDescription:
		return &f.description
	}
	return nil
}

func (f *lineFields) value(l *lexer, key []byte) error {
	bit := keyBit(key)
	if bit == 0 {
		return l.skipValue(0)
	}
	if l.i >= len(l.b) {
		return l.syntaxError("missing value")
	}
	c := l.b[l.i]
	if c == 'n' { // null: as if absent
		if _, err := l.literal(); err != nil {
			return err
		}
		f.has &^= bit
		if p := f.slot(bit); p != nil {
			*p = nil
		}
		return nil
	}
	if bit == hasRecorded {
		return f.recordedValue(l, c)
	}
	var v []byte
	var err error
	switch {
	case c == '"':
		v, err = l.str()
	case (c == '-' || c >= '0' && c <= '9') && (bit == hasRawQuantity || bit == hasIntlCost):
		v, err = l.number() // a JSON number is kept as its exact text, never a float
	default:
		f.typeErrs, f.wrongType = append(f.typeErrs, fmt.Sprintf("%q must be a string", fieldName(bit))), f.wrongType|bit
		return l.skipValue(0)
	}
	if err != nil {
		return err
	}
	*f.slot(bit), f.has = v, f.has|bit
	return nil
}

// recordedValue reads "recorded", a JSON boolean, starting with c.
func (f *lineFields) recordedValue(l *lexer, c byte) error {
	if c != 't' && c != 'f' {
		f.typeErrs, f.wrongType = append(f.typeErrs, `"recorded" must be true or false`), f.wrongType|hasRecorded
		return l.skipValue(0)
	}
	k, err := l.literal()
	if err != nil {
		return err
	}
	f.recorded, f.has = k == 't', f.has|hasRecorded
	return nil
}

func fieldName(bit uint16) string {
	for _, k := range usageKeys {
		if k.bit == bit {
			return k.name
		}
	}
	return "?"
}

// parseTime reads an RFC 3339 timestamp. The common UTC form
// "2006-01-02T15:04:05[.fff]Z" is read by hand (time.Parse is a large share of
// the per-line cost); anything else goes through time.Parse.
func parseTime(b []byte) (time.Time, bool) {
	if t, ok := parseUTCTime(b); ok {
		return t, true
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

func parseUTCTime(b []byte) (time.Time, bool) {
	if !utcLayout(b) {
		return time.Time{}, false
	}
	ok := true
	y, mo, d := digitsOf(b[0:4], &ok), digitsOf(b[5:7], &ok), digitsOf(b[8:10], &ok)
	h, mi, s := digitsOf(b[11:13], &ok), digitsOf(b[14:16], &ok), digitsOf(b[17:19], &ok)
	if !ok || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, time.Month(mo)) || h > 23 || mi > 59 || s > 59 {
		return time.Time{}, false
	}
	ns, ok := nanosOf(b[19 : len(b)-1])
	if !ok {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), d, h, mi, s, ns, time.UTC), true
}

// utcLayout checks the separators of 2006-01-02T15:04:05[.fraction]Z.
func utcLayout(b []byte) bool {
	return len(b) >= 20 && b[4] == '-' && b[7] == '-' && b[10] == 'T' && b[13] == ':' && b[16] == ':' && b[len(b)-1] == 'Z'
}

// digitsOf reads b as a decimal number; *ok turns false if b has a non-digit.
func digitsOf(b []byte, ok *bool) int {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			*ok = false
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// nanosOf reads a seconds fraction (".d" to ".ddddddddd", or none) as
// nanoseconds.
func nanosOf(rest []byte) (int, bool) {
	if len(rest) == 0 {
		return 0, true
	}
	if rest[0] != '.' || len(rest) < 2 || len(rest) > 10 {
		return 0, false
	}
	ok := true
	frac := digitsOf(rest[1:], &ok)
	for i := len(rest) - 1; i < 9; i++ {
		frac *= 10
	}
	return frac, ok
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// decimalText is a price as exact decimal text: account and customer lines go
// through encoding/json, and this keeps a JSON number's digits instead of a float.
type decimalText struct {
	text string
	set  bool
}

func (d *decimalText) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		*d = decimalText{}
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*d = decimalText{text: s, set: true}
	case len(b) > 0 && (b[0] == '-' || b[0] >= '0' && b[0] <= '9'):
		*d = decimalText{text: string(b), set: true}
	default:
		return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeFor[string]()}
	}
	return nil
}

func jsonKind(b []byte) string {
	switch b[0] {
	case 't', 'f':
		return "bool"
	case '{':
		return "object"
	case '[':
		return "array"
	}
	return "value"
}

type settingsJSON struct {
	BaseCost          decimalText `json:"baseCost"`
	RawUnitMultiplier decimalText `json:"rawUnitMultiplier"`
	UnitCost          decimalText `json:"unitCost"`
	Allowance         decimalText `json:"allowance"`
}

// recordJSON is an account or customer line.
type recordJSON struct {
	ID                      string                     `json:"id"`
	AccountID               string                     `json:"accountId"`
	ParentCustomerID        string                     `json:"parentCustomerId"`
	Name                    string                     `json:"name"`
	TimeZoneID              string                     `json:"timeZoneId"`
	Currency                string                     `json:"currency"`
	OverrideBillingSettings bool                       `json:"overrideBillingSettings"`
	BillingSettings         map[string]json.RawMessage `json:"billingSettings"`
}

// typeProblem turns encoding/json's errors into a reason naming the field.
func typeProblem(prefix string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("%q has the wrong type (%s)", strings.TrimSuffix(prefix+te.Field, "."), te.Value)
	}
	return fmt.Errorf("%s%s", prefix, strings.TrimPrefix(err.Error(), "json: "))
}

// decodeRecord reads an account or customer line, whose syntax decodeLine has
// already checked, and turns encoding/json's type errors into readable reasons.
func decodeRecord(line []byte) (recordJSON, error) {
	var r recordJSON
	if err := json.Unmarshal(line, &r); err != nil {
		return r, typeProblem("", err)
	}
	return r, nil
}
