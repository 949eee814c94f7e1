package httpapi

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	billing "github.com/evovoice/billing"
)

// TestOpenAPIStatesTheDomainLimits keeps openapi.json, a hand-written
// document, in step with the one source of each limit: every id schema has
// billing.MaxIDLength and a pattern that accepts exactly ValidID's characters,
// every limit parameter billing's list limits, the Idempotency-Key header
// billing.MaxIdempotencyKey.
func TestOpenAPIStatesTheDomainLimits(t *testing.T) {
	var doc any
	if err := json.Unmarshal(OpenAPIDocument, &doc); err != nil {
		t.Fatalf("decoding openapi.json: %v", err)
	}
	ids, limits, idemKeys := 0, 0, 0
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case []any:
			for _, e := range v {
				walk(path+"[]", e)
			}
		case map[string]any:
			if p, ok := v["pattern"].(string); ok && v["type"] == "string" && !notAnID(path, v) {
				ids++
				checkIDSchema(t, path, p, v["maxLength"])
			}
			if v["in"] == "query" && v["name"] == "limit" {
				limits++
				s, _ := v["schema"].(map[string]any)
				if s["maximum"] != float64(billing.MaxListLimit) || s["default"] != float64(billing.DefaultListLimit) || s["minimum"] != float64(1) {
					t.Errorf("%s: limit schema %v, want minimum 1, maximum %d, default %d", path, s, billing.MaxListLimit, billing.DefaultListLimit)
				}
			}
			if v["in"] == "header" && v["name"] == "Idempotency-Key" {
				idemKeys++
				s, _ := v["schema"].(map[string]any)
				if s["maxLength"] != float64(billing.MaxIdempotencyKey) {
					t.Errorf("%s: Idempotency-Key maxLength %v, want %d", path, s["maxLength"], billing.MaxIdempotencyKey)
				}
			}
			for k, e := range v {
				walk(path+"/"+k, e)
			}
		}
	}
	walk("", doc)
	if ids == 0 || limits == 0 || idemKeys == 0 {
		t.Fatalf("found %d id schemas, %d limit parameters, %d Idempotency-Key headers: the walk misses the document", ids, limits, idemKeys)
	}
}

// notAnID tells the two patterned strings of the schedules that are not ids
// (a schedule's timeOfDay, a run's period) from the id schemas.
func notAnID(path string, v map[string]any) bool {
	return strings.HasSuffix(path, "/properties/timeOfDay") || strings.HasPrefix(v["pattern"].(string), `^\d{4}-`)
}

func checkIDSchema(t *testing.T, path, pattern string, maxLength any) {
	t.Helper()
	if maxLength != float64(billing.MaxIDLength) {
		t.Errorf("%s: id maxLength %v, want billing.MaxIDLength %d", path, maxLength, billing.MaxIDLength)
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		t.Errorf("%s: pattern %q: %v", path, pattern, err)
		return
	}
	for c := 0; c < 256; c++ {
		s := string([]byte{byte(c)})
		if re.MatchString(s) != billing.ValidID(s) {
			t.Errorf("%s: pattern %q and billing.ValidID disagree on %q", path, pattern, s)
		}
	}
}
