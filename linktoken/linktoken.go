// Package linktoken signs and verifies the capability tokens of emailed download
// links (spec 2.3). A presigned S3 URL made with a Lambda role's session
// credentials dies within hours, so the email carries a link to
// /reports/{id}/download?token=... instead: the token grants GET of that one
// report until it expires, and is the whole authorization of that route.
package linktoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Errors of Verify; the HTTP layer turns each into a 403 with a clear message.
var (
	ErrMissing = errors.New("the download link has no token")
	ErrInvalid = errors.New("the download link's token is not valid for this report")
	ErrExpired = errors.New("the download link has expired; ask for a new one with GET /reports/{id}")
)

// Sign returns a token for reportID valid until expires: "<unix expiry>.<mac>",
// URL-safe, where mac = HMAC-SHA256(key, "download\x00" + reportID + "\x00" + expiry).
func Sign(key []byte, reportID string, expires time.Time) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	return exp + "." + base64.RawURLEncoding.EncodeToString(mac(key, reportID, exp))
}

// Verify checks that token was made by Sign with key for reportID and has not
// expired at now.
func Verify(key []byte, reportID, token string, now time.Time) error {
	if token == "" {
		return ErrMissing
	}
	exp, sig, ok := strings.Cut(token, ".")
	if !ok || len(exp) > 19 {
		return ErrInvalid
	}
	unix, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || unix <= 0 {
		return ErrInvalid
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(key, reportID, exp)) {
		return ErrInvalid
	}
	if !now.Before(time.Unix(unix, 0)) {
		return ErrExpired
	}
	return nil
}

func mac(key []byte, reportID, exp string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("download\x00" + reportID + "\x00" + exp))
	return h.Sum(nil)
}
