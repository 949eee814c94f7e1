package httpapi

import (
	"testing"

	billing "github.com/evovoice/billing"
)

// TestFormatAccepted pins the Accept rules: q-values, the most specific range
// deciding a format's q (RFC 9110 12.5.1), JSON on ties and by default, 406
// when nothing supported is acceptable.
func TestFormatAccepted(t *testing.T) {
	const notAcceptable = -1
	for _, tc := range []struct {
		accept []string
		want   format
	}{
		{nil, formatJSON},
		{[]string{""}, formatJSON},
		{[]string{"*/*"}, formatJSON},
		{[]string{"text/csv"}, formatCSV},
		{[]string{"text/*"}, formatCSV},
		{[]string{"application/*"}, formatJSON},
		{[]string{"text/csv, application/json"}, formatJSON},                // tie: JSON
		{[]string{"text/csv;q=0.9, application/json;q=0.5"}, formatCSV},     // q decides
		{[]string{"text/csv;q=0.5, */*"}, formatJSON},                       // */* gives JSON 1
		{[]string{"application/json;q=0.1, */*"}, formatCSV},                // JSON's own range says 0.1; CSV gets 1 from */*
		{[]string{"application/json;q=0, */*"}, formatCSV},                  // JSON refused outright
		{[]string{"text/csv;q=0, */*;q=0.2"}, formatJSON},                   // CSV refused
		{[]string{"application/json;q=0, text/csv;q=0"}, notAcceptable},     // both refused
		{[]string{"application/json;q=0, */*;q=0"}, notAcceptable},          // everything refused
		{[]string{"text/html", "application/xhtml+xml"}, notAcceptable},     // nothing supported
		{[]string{"text/html,application/xhtml+xml,*/*;q=0.8"}, formatJSON}, // a browser
		{[]string{"text/html", "text/csv;q=0.3"}, formatCSV},                // several header lines
		{[]string{"application/json;q=oops, text/csv;q=0.4"}, formatCSV},    // a bad q skips its range
		{[]string{"garbage"}, notAcceptable},
	} {
		got, err := formatAccepted(tc.accept)
		switch {
		case tc.want == notAcceptable:
			if billing.ErrorCode(err) != billing.ENOTACCEPTABLE {
				t.Errorf("Accept %q: %v, %v; want 406", tc.accept, got, err)
			}
		case err != nil || got != tc.want:
			t.Errorf("Accept %q: %v, %v; want %v", tc.accept, got, err, tc.want)
		}
	}
}
