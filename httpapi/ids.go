package httpapi

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
	"unicode"
	"unicode/utf8"

	billing "github.com/evovoice/billing"
)

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewReportID returns a random, unguessable report id: 128 bits from
// crypto/rand as 26 lowercase base32 characters. Ids are not secrets (every read
// is authorized), but guessable ids would invite enumeration.
func NewReportID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand panics rather than return short)
	return idEncoding.EncodeToString(b[:])
}

// validReportID rejects path segments that cannot be report ids before any
// lookup, so junk never reaches the store.
func validReportID(id string) bool {
	return id != "" && len(id) <= 64 && strings.IndexFunc(id, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) < 0
}

// maxAccountIDBytes is the longest account id the import accepts
// (importfile's id rule): anything longer names no account.
const maxAccountIDBytes = 256

// checkAccountID rejects an account id that no imported account can have,
// before any store sees it: DynamoDB answers an over-long key with a
// ValidationException, which is a bug (500) to the adapter, not bad input.
func checkAccountID(id string) *billing.FieldError {
	if len(id) > maxAccountIDBytes || !utf8.ValidString(id) || strings.IndexFunc(id, unicode.IsControl) >= 0 {
		return &billing.FieldError{ErrorCode: "InvalidFormat", FieldName: "AccountId",
			Message: "'AccountId' must be at most 256 bytes of text without control characters."}
	}
	return nil
}
