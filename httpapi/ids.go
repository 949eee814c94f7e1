package httpapi

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
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
