package httpapi

import (
	"regexp"
	"strings"
	"testing"
)

func TestNewReportID(t *testing.T) {
	shape := regexp.MustCompile(`^[a-z2-7]{26}$`)
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := NewReportID()
		if !shape.MatchString(id) || !validReportID(id) {
			t.Fatalf("id %q has the wrong shape", id)
		}
		if seen[id] {
			t.Fatalf("id %q repeated", id)
		}
		seen[id] = true
	}
	for _, bad := range []string{"", "a/b", "a b", "[a]", "a,b", "../x", "é", strings.Repeat("a", 129)} {
		if validReportID(bad) {
			t.Errorf("validReportID(%q) = true", bad)
		}
	}
}
