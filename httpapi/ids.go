package httpapi

import (
	"crypto/rand"
	"encoding/base32"

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

// validReportID rejects path segments that cannot be report ids (spec 2.6's id
// rule) before any lookup, so junk never reaches the store.
func validReportID(id string) bool { return billing.ValidID(id) }

// checkAccountID rejects a given account id that no import accepts (spec 2.6)
// with a field error, before any store sees it: DynamoDB answers an over-long
// key with a ValidationException, which is a bug (500) to the adapter, not bad
// input. "" passes: the caller may omit the account.
func checkAccountID(id string) *billing.FieldError {
	if id != "" && !billing.ValidID(id) {
		return &billing.FieldError{ErrorCode: "InvalidFormat", FieldName: "AccountId",
			Message: "'AccountId' must be " + billing.IDRule + "."}
	}
	return nil
}
