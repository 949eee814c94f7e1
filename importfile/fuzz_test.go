package importfile

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	billing "github.com/evovoice/billing"
)

// FuzzScan feeds arbitrary bytes to Scan: it must never panic, and it must
// either fail with a *ValidationError or deliver only events that hold up.
func FuzzScan(f *testing.F) {
	f.Add(lines(acctLine, rootLine, childLine, usageLine("u1", "c2", "60")))
	f.Add(lines(usageLine("u1", "c1", "1"), acctLine, rootLine, usageLine("u1", "c1", "1")))
	f.Add([]byte("{\"type\":\"usage\",\"id\":\"\\ud83d\\ude00\",\"rawQuantity\":1e5}\n\xff\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var events []billing.UsageEvent
		d, err := Scan(context.Background(), Bytes(data), Options{BloomBits: 512, MaxProblems: 10}, func(*Dataset) (UsageFunc, error) {
			events = events[:0]
			return func(e *billing.UsageEvent) error {
				events = append(events, *e)
				return nil
			}, nil
		})
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Total == 0 || len(ve.Problems) == 0 || len(ve.Problems) > 10 {
				t.Fatalf("error %v is not a proper *ValidationError", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, e := range events {
			if seen[e.ID] {
				t.Fatalf("event %q delivered twice", e.ID)
			}
			seen[e.ID] = true
			if _, ok := d.Account(e.AccountID); !ok || !billing.ValidDecimal(e.RawQuantity) || !e.Item.Valid() || e.Item == billing.ItemBase {
				t.Fatalf("delivered a bad event %+v", e)
			}
		}
		if int64(len(events)) != d.Summary.UsageEvents {
			t.Fatalf("%d events delivered, summary says %d", len(events), d.Summary.UsageEvents)
		}
	})
}

// FuzzDecodeLine checks the hand-written decoder against encoding/json: it must
// accept exactly the lines that are one valid JSON object, and read the same
// string values.
func FuzzDecodeLine(f *testing.F) {
	f.Add([]byte(usageLine("u1", "c1", "60")))
	f.Add([]byte(`{"type":"usage","description":"caf\u00e9 \"quoted\" \ud83d\ude00 \ud800","x":[1,{"y":null}],"recorded":false}`))
	f.Add([]byte(`{"rawQuantity":-0.5e+3 , "id" : "a\/b"}  `))
	f.Add([]byte(`{"ID":"upper","Type":"usage"}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		var fields lineFields
		err := decodeLine(line, &fields)
		trimmed := bytes.TrimLeft(line, " \t\r\n")
		isObject := len(trimmed) > 0 && trimmed[0] == '{'
		valid := json.Valid(line) && isObject
		if valid != (err == nil) {
			if err != nil && strings.Contains(err.Error(), "nesting too deep") {
				return // a documented limit; encoding/json allows deeper nesting
			}
			t.Fatalf("decodeLine error %v, json.Valid %v, for %q", err, valid, line)
		}
		if err != nil {
			return
		}
		var ref map[string]any
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		if err := dec.Decode(&ref); err != nil {
			t.Fatalf("encoding/json rejects %q: %v", line, err)
		}
		for _, k := range []struct {
			name string
			got  []byte
		}{{"type", fields.typ}, {"id", fields.id}, {"description", fields.description}, {"rawQuantity", fields.rawQuantity}} {
			v, ok := lastValue(ref, k.name)
			if !ok {
				continue
			}
			var want string
			switch v := v.(type) {
			case string:
				want = v
			case json.Number:
				want = v.String()
			default:
				continue
			}
			if bytes.ContainsRune([]byte(want), '\uFFFD') {
				continue // invalid UTF-8 and lone surrogates: both replace, details may differ
			}
			if string(k.got) != want {
				t.Fatalf("%s = %q, encoding/json says %q, line %q", k.name, k.got, want, line)
			}
		}
	})
}

// lastValue finds the one key that matches name case-insensitively; with
// several spellings in one object the map cannot tell which came last.
func lastValue(m map[string]any, name string) (any, bool) {
	var found any
	n := 0
	for k, v := range m {
		if strings.EqualFold(k, name) {
			found, n = v, n+1
		}
	}
	return found, n == 1
}
