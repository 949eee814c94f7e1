package httpapi

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/resources"
)

// readBody reads at most the body limit; a longer body is ETOOLARGE, not a
// truncated request.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	if r.ContentLength > resources.MaxRequestBody {
		return nil, tooLarge()
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, resources.MaxRequestBody+1))
	if err != nil {
		return nil, billing.WrapError(billing.EINVALID, err, "The request body could not be read.")
	}
	if len(body) > resources.MaxRequestBody {
		return nil, tooLarge()
	}
	return body, nil
}

func tooLarge() error {
	return billing.Errorf(billing.ETOOLARGE, "The request body is larger than %d bytes.", resources.MaxRequestBody)
}

// dtoField is one bindable property of BillingReport, under its PascalCase name.
type dtoField struct {
	name string
	set  func(b *billing.BillingReport, v string) *billing.FieldError
}

func setString(dst func(*billing.BillingReport) *string) func(*billing.BillingReport, string) *billing.FieldError {
	return func(b *billing.BillingReport, v string) *billing.FieldError {
		*dst(b) = v
		return nil
	}
}

var billingReportFields = []dtoField{
	{"AccountId", setString(func(b *billing.BillingReport) *string { return &b.AccountID })},
	{"StartDate", setString(func(b *billing.BillingReport) *string { return &b.StartDate })},
	{"EndDate", setString(func(b *billing.BillingReport) *string { return &b.EndDate })},
	{"TimeZoneId", setString(func(b *billing.BillingReport) *string { return &b.TimeZoneID })},
	{"IncludeCustomerIds", func(b *billing.BillingReport, v string) *billing.FieldError {
		v = strings.TrimSpace(v)
		if v == "" {
			b.IncludeCustomerIDs = false
			return nil
		}
		ok, err := strconv.ParseBool(v)
		if err != nil {
			return &billing.FieldError{ErrorCode: "InvalidFormat", FieldName: "IncludeCustomerIds", Message: "'IncludeCustomerIds' must be true or false."}
		}
		b.IncludeCustomerIDs = ok
		return nil
	}},
	{"EmailAddressToNotify", setString(func(b *billing.BillingReport) *string { return &b.EmailAddressToNotify })},
	{"WebhookUrl", setString(func(b *billing.BillingReport) *string { return &b.WebhookURL })},
}

func fieldNamed(name string) *dtoField {
	for i := range billingReportFields {
		if strings.EqualFold(billingReportFields[i].name, name) {
			return &billingReportFields[i]
		}
	}
	return nil
}

// bindBillingReport fills the DTO in ServiceStack's order (bindFields).
func bindBillingReport(r *http.Request, body []byte) (billing.BillingReport, error) {
	var b billing.BillingReport
	err := bindFields(r, body, func(name string) string {
		if f := fieldNamed(name); f != nil {
			return f.name
		}
		return ""
	}, func(name, value string) *billing.FieldError {
		return fieldNamed(name).set(&b, value)
	})
	return b, err
}

// bindFields binds a request DTO in ServiceStack's order: JSON body, then
// query string, then form body, later sources overriding earlier ones; names
// are case-insensitive and unknown names are ignored. A body starting with
// '{' is JSON whatever its Content-Type. known returns a name's canonical
// (PascalCase) field name, or "" for an unknown name; set stores a value of a
// known one.
func bindFields(r *http.Request, body []byte, known func(string) string, set func(name, value string) *billing.FieldError) error {
	var errs []billing.FieldError
	apply := func(name, value string) {
		if known(name) != "" {
			if fe := set(name, value); fe != nil {
				errs = append(errs, *fe)
			}
		}
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n\ufeff")
	isJSON := len(trimmed) > 0 && trimmed[0] == '{'
	if isJSON {
		if err := bindJSON(trimmed, known, apply, &errs); err != nil {
			return err
		}
	} else if len(trimmed) > 0 && isJSONContent(r) {
		// Declared JSON that is not an object (an array, a bare value) would
		// otherwise be dropped silently and reported as missing fields.
		return badJSON(errors.New("a JSON body must be an object"))
	}
	// Malformed query pairs are skipped, as net/url's Query does.
	_ = forEachPair(r.URL.RawQuery, apply)
	if !isJSON && len(body) > 0 && isForm(r) {
		if err := forEachPair(string(body), func(string, string) {}); err != nil {
			return billing.WrapError(billing.EINVALID, err, "The form body is not valid application/x-www-form-urlencoded.")
		}
		_ = forEachPair(string(body), apply)
	}
	if len(errs) > 0 {
		return billing.Invalid(errs...)
	}
	return nil
}

// forEachPair calls fn with each name and value of a query string or form
// body in document order. url.ParseQuery would group them in a map, and
// ranging over it would make the winner among names that differ only in case
// ("startDate" and "STARTDATE") random; in document order the last one wins,
// every time, as in JSON bodies. It skips the pairs url.ParseQuery rejects and
// returns the first such error.
func forEachPair(raw string, fn func(name, value string)) error {
	var first error
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		if strings.Contains(pair, ";") {
			first = cmp.Or(first, errors.New("invalid semicolon separator in query"))
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		name, err1 := url.QueryUnescape(name)
		value, err2 := url.QueryUnescape(value)
		if err := cmp.Or(err1, err2); err != nil {
			first = cmp.Or(first, err)
			continue
		}
		fn(name, value)
	}
	return first
}

func isJSONContent(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

func isForm(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// bindJSON reads a JSON object's members as text: strings as they are, numbers
// and booleans as their literal, null as empty. Objects and arrays have no
// meaning for any field and are a field error.
func bindJSON(body []byte, known func(string) string, apply func(name, value string), errs *[]billing.FieldError) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return badJSON(err)
	}
	// Members are read in document order so that, as in ServiceStack, the last
	// of two names differing only in case wins, deterministically.
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return badJSON(err)
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return badJSON(err)
		}
		if canonical := known(name); canonical != "" {
			if err := bindMember(name, canonical, raw, apply, errs); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return badJSON(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badJSON(errors.New("data after the JSON object"))
	}
	return nil
}

// bindMember applies one known member's value as text.
func bindMember(name, canonical string, raw json.RawMessage, apply func(name, value string), errs *[]billing.FieldError) error {
	switch {
	case string(raw) == "null":
		apply(name, "")
	case raw[0] == '"' && !utf8.Valid(raw):
		// The decoder would replace invalid UTF-8 with U+FFFD and a
		// mangled address would pass validation and get mail; the bytes
		// as sent (escapes undecoded) fail the field's own rule instead.
		apply(name, string(raw[1:len(raw)-1]))
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return badJSON(err)
		}
		apply(name, s)
	case raw[0] == '{' || raw[0] == '[':
		*errs = append(*errs, billing.FieldError{ErrorCode: "InvalidFormat", FieldName: canonical, Message: "'" + canonical + "' must be a single value."})
	default: // number, true, false
		apply(name, string(raw))
	}
	return nil
}

func badJSON(cause error) error {
	return billing.WrapError(billing.EMALFORMED, cause, "The request body is not a valid JSON object.")
}
