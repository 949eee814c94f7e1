package billing

import (
	"strconv"
	"strings"
)

// MaxIDLength is the longest id of an account, customer, usage event, report or
// schedule (spec 2.6).
const MaxIDLength = 128

// ValidID reports whether s is 1 to MaxIDLength characters of
// A-Z a-z 0-9 . _ : @ - (spec 2.6). The set is narrow on purpose: ids become
// parts of DynamoDB keys, S3 object names, claim lists (split on commas) and
// log lines, and a space, bracket or comma in one has been a way to make one
// id read as another. It takes string or []byte so the import can check ids
// in place without copying.
func ValidID[T ~string | ~[]byte](s T) bool {
	if len(s) == 0 || len(s) > MaxIDLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !idByte[s[i]] {
			return false
		}
	}
	return true
}

// idPunctuation are the characters other than letters and digits an id may have.
const idPunctuation = "._:@-"

// IDRule is the id rule in words, for field errors and import problems:
// "1 to 128 characters of A-Z a-z 0-9 . _ : @ -".
var IDRule = "1 to " + strconv.Itoa(MaxIDLength) + " characters of A-Z a-z 0-9 " +
	strings.Join(strings.Split(idPunctuation, ""), " ")

var idByte = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range idPunctuation {
		t[c] = true
	}
	return t
}()
