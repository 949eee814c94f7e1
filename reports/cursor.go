package reports

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"

	billing "github.com/evovoice/billing"
)

// The list's nextToken is the store's cursor sealed with an HMAC that also
// covers the filter it was issued for. A caller can neither forge a cursor nor
// replay one under another account, customer scope or status: the store's
// cursor (which names keys of the table) is only ever used for the query that
// produced it.

func cursorMAC(key []byte, storeCursor string, f billing.ReportFilter) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("list-cursor\x00" + f.AccountID + "\x00" + f.CustomerScope + "\x00" + string(f.Status) + "\x00" + storeCursor))
	return h.Sum(nil)
}

// SealCursor turns the store's cursor into a nextToken bound to f; "" stays "".
func SealCursor(key []byte, storeCursor string, f billing.ReportFilter) string {
	if storeCursor == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(storeCursor)) + "." + base64.RawURLEncoding.EncodeToString(cursorMAC(key, storeCursor, f))
}

var errBadNextToken = billing.InvalidNextToken(nil)

// OpenCursor returns the store's cursor a nextToken sealed for f, or the
// EINVALID field error of a token that is forged, damaged or of another query.
func OpenCursor(key []byte, token string, f billing.ReportFilter) (string, error) {
	payload, sig, ok := strings.Cut(token, ".")
	if !ok {
		return "", errBadNextToken
	}
	raw, err1 := base64.RawURLEncoding.DecodeString(payload)
	mac, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil || len(raw) == 0 || !hmac.Equal(mac, cursorMAC(key, string(raw), f)) {
		return "", errBadNextToken
	}
	return string(raw), nil
}
