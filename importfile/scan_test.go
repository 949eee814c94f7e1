package importfile

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/rating/ratingtest"
)

const (
	acctLine  = `{"type":"account","id":"a1","name":"Acme","timeZoneId":"America/New_York","currency":"CAD","billingSettings":{"Base":{"baseCost":"30.00"},"InboundVoiceCalls":{"unitCost":"0.015","rawUnitMultiplier":0.0166666667,"allowance":"100"}}}`
	rootLine  = `{"type":"customer","id":"c1","accountId":"a1","name":"Root"}`
	childLine = `{"type":"customer","id":"c2","accountId":"a1","parentCustomerId":"c1","name":"Child","overrideBillingSettings":true,"billingSettings":{"Base":{"baseCost":"5"}}}`
)

func usageLine(id, customer, qty string) string {
	return fmt.Sprintf(`{"type":"usage","id":%q,"accountId":"a1","customerId":%q,"time":"2026-10-01T04:00:00Z","item":"InboundVoiceCalls","rawQuantity":%q}`, id, customer, qty)
}

func lines(ls ...string) []byte { return []byte(strings.Join(ls, "\n") + "\n") }

// collect scans data and returns the delivered events of the last StartFunc call
// (a second call means "start over") and how often StartFunc was called.
func collect(t *testing.T, data []byte, opts Options) (*Dataset, []billing.UsageEvent, int, error) {
	t.Helper()
	var got []billing.UsageEvent
	starts := 0
	d, err := Scan(context.Background(), Bytes(data), opts, func(d *Dataset) (UsageFunc, error) {
		starts++
		got = nil
		return func(e *billing.UsageEvent) error {
			got = append(got, *e)
			return nil
		}, nil
	})
	return d, got, starts, err
}

func ids(evs []billing.UsageEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	slices.Sort(out)
	return out
}

func TestScanWellOrderedFileIsOnePass(t *testing.T) {
	data := lines(acctLine, rootLine, childLine, usageLine("u1", "c1", "60"), usageLine("u2", "c2", "3600.5"))
	d, got, starts, err := collect(t, data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if starts != 1 || d.Summary.Passes != 1 {
		t.Fatalf("starts=%d passes=%d, want 1 and 1", starts, d.Summary.Passes)
	}
	if want := []string{"u1", "u2"}; !slices.Equal(ids(got), want) {
		t.Fatalf("events %v, want %v", ids(got), want)
	}
	checkWellOrderedContent(t, d, got)
	want := Summary{Lines: 5, Accounts: 1, Customers: 2, UsageEvents: 2, Passes: 1}
	if d.Summary != want {
		t.Fatalf("summary %+v, want %+v", d.Summary, want)
	}
}

// checkWellOrderedContent checks the records and events that
// TestScanWellOrderedFileIsOnePass read.
func checkWellOrderedContent(t *testing.T, d *Dataset, got []billing.UsageEvent) {
	t.Helper()
	// A JSON number is kept as its exact text, never a float.
	acct, ok := d.Account("a1")
	if !ok || acct.BillingSettings[billing.ItemInboundVoiceCalls].RawUnitMultiplier != "0.0166666667" || acct.TimeZoneID != "America/New_York" || acct.Currency != "CAD" {
		t.Fatalf("account = %+v", acct)
	}
	if got[1].RawQuantity != "3600.5" || got[1].CustomerID != "c2" || got[1].AccountID != "a1" || !got[1].Time.Equal(got[0].Time) {
		t.Fatalf("event = %+v", got[1])
	}
	if cs := d.CustomersOf("a1"); len(cs) != 2 || !cs[1].OverrideBillingSettings || cs[1].ParentCustomerID != "c1" {
		t.Fatalf("customers = %+v", cs)
	}
}

func TestScanUsageBeforeItsCustomerTakesASecondPass(t *testing.T) {
	data := lines(usageLine("u1", "c2", "1"), acctLine, usageLine("u2", "c1", "2"), rootLine, childLine, usageLine("u3", "c2", "3"))
	d, got, starts, err := collect(t, data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Summary.Passes != 2 {
		t.Fatalf("passes = %d, want 2", d.Summary.Passes)
	}
	// Whatever the first StartFunc got is discarded; the last one gets every event once.
	if want := []string{"u1", "u2", "u3"}; !slices.Equal(ids(got), want) {
		t.Fatalf("events after %d starts: %v, want %v", starts, ids(got), want)
	}
}

func TestScanRepeatedUsage(t *testing.T) {
	t.Run("identical repeats count once", func(t *testing.T) {
		data := lines(acctLine, rootLine, usageLine("u1", "c1", "1"), usageLine("u2", "c1", "2"), usageLine("u1", "c1", "1"), usageLine("u1", "c1", "1"))
		d, got, _, err := collect(t, data, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"u1", "u2"}; !slices.Equal(ids(got), want) {
			t.Fatalf("events %v, want %v", ids(got), want)
		}
		if d.Summary.UsageEvents != 2 || d.Summary.RepeatedUsage != 2 || d.Summary.Passes != 2 {
			t.Fatalf("summary %+v", d.Summary)
		}
	})
	t.Run("different content is a problem naming both lines", func(t *testing.T) {
		data := lines(acctLine, rootLine, usageLine("u1", "c1", "1"), usageLine("u1", "c1", "2"))
		_, _, _, err := collect(t, data, Options{})
		wantProblems(t, err, Problem{4, `duplicate usage id "u1" with different content (first at line 3)`})
	})
	t.Run("a saturated filter raises false alarms that are settled exactly", func(t *testing.T) {
		ls := []string{acctLine, rootLine}
		var want []string
		for i := range 3000 {
			id := fmt.Sprintf("u%d", i)
			ls = append(ls, usageLine(id, "c1", "1"))
			want = append(want, id)
		}
		slices.Sort(want)
		d, got, _, err := collect(t, lines(ls...), Options{BloomBits: 512})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(got), want) {
			t.Fatalf("got %d events, want %d distinct ones each once", len(got), len(want))
		}
		if d.Summary.Passes != 2 || d.Summary.RepeatedUsage != 0 {
			t.Fatalf("summary %+v, want 2 passes and no repeats", d.Summary)
		}
	})
	t.Run("the second pass finds repeats written with escapes", func(t *testing.T) {
		escaped := `{"type":"usage","id":"\u0075\u0031","accountId":"a1","customerId":"c1","time":"2026-10-01T04:00:00Z","item":"InboundVoiceCalls","rawQuantity":"9"}`
		data := lines(acctLine, rootLine, usageLine("u1", "c1", "1"), usageLine("u10", "c1", "1"), usageLine("u1", "c1", "1"), escaped)
		_, _, _, err := collect(t, data, Options{})
		wantProblems(t, err, Problem{6, `duplicate usage id "u1" with different content (first at line 3)`})
	})
	t.Run("repeated records", func(t *testing.T) {
		d, _, _, err := collect(t, lines(acctLine, rootLine, acctLine, rootLine), Options{})
		if err != nil || d.Summary.RepeatedRecords != 2 || d.Summary.Customers != 1 {
			t.Fatalf("err=%v summary=%+v", err, d.Summary)
		}
	})
}

func wantProblems(t *testing.T, err error, want ...Problem) {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want a *ValidationError", err)
	}
	if !slices.Equal(ve.Problems, want) || ve.Total != len(want) {
		t.Fatalf("problems (total %d):\n%s\nwant:\n%s", ve.Total, fmtProblems(ve.Problems), fmtProblems(want))
	}
	if billing.ErrorCode(err) != billing.EINVALID {
		t.Fatalf("ErrorCode = %q, want %q", billing.ErrorCode(err), billing.EINVALID)
	}
}

func fmtProblems(ps []Problem) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "  %s\n", p)
	}
	return b.String()
}

func TestScanReportsEveryBadLine(t *testing.T) {
	u := func(fields string) string { // a usage line of c1 with fields replaced/added
		return `{"type":"usage","accountId":"a1","customerId":"c1","time":"2026-10-01T04:00:00Z","item":"AIInsights","rawQuantity":"1",` + fields + `}`
	}
	tests := []struct {
		name string
		line string
		want string
	}{
		{"not JSON", `{"type":"usage",`, "malformed JSON: expected a key at end of line"},
		{"trailing text", `{"type":"usage"} x`, "malformed JSON: unexpected text after the object at column 18"},
		{"not an object", `[1,2]`, "malformed JSON: expected '{' at column 1"},
		{"invalid UTF-8", "{\"type\":\"usage\",\"id\":\"\xff\"}", "not valid UTF-8"},
		{"missing type", `{"id":"x"}`, `missing "type" (account, customer or usage)`},
		{"unknown type", `{"type":"invoice"}`, `unknown type "invoice" (want account, customer or usage)`},
		{"missing usage fields", `{"type":"usage"}`, `missing "id"; missing "accountId"; missing "customerId"; missing "time"; missing "item"; missing "rawQuantity"`},
		{"unknown item", u(`"id":"x","item":"Pizza"`), `unknown item "Pizza"`},
		{"usage of Base", u(`"id":"x","item":"Base"`), `item "Base" is a fixed monthly cost and has no usage`},
		{"negative quantity", u(`"id":"x","rawQuantity":"-5"`), `"rawQuantity" must not be negative (got "-5")`},
		{"negative JSON number", u(`"id":"x","rawQuantity":-5`), `"rawQuantity" must not be negative (got "-5")`},
		{"malformed quantity", u(`"id":"x","rawQuantity":"1,5"`), `"rawQuantity" must be a non-negative decimal number such as "1.25" (got "1,5")`},
		{"huge exponent", u(`"id":"x","rawQuantity":1e999999`), `"rawQuantity" must be a non-negative decimal number such as "1.25" (got "1e999999")`},
		{"malformed cost", u(`"id":"x","internationalCost":"NaN"`), `"internationalCost" must be a non-negative decimal number such as "1.25" (got "NaN")`},
		{"bad time", u(`"id":"x","time":"2026-10-01 04:00"`), `"time" must be an RFC 3339 timestamp such as "2026-10-01T04:00:00Z" (got "2026-10-01 04:00")`},
		{"impossible date", u(`"id":"x","time":"2026-02-30T00:00:00Z"`), `"time" must be an RFC 3339 timestamp such as "2026-10-01T04:00:00Z" (got "2026-02-30T00:00:00Z")`},
		{"wrong JSON type", u(`"id":7,"recorded":"yes"`), `"id" must be a string; "recorded" must be true or false`},
		{"control character in id", u(`"id":"a\u0000b"`), `"id" must be 1 to 128 characters of A-Z a-z 0-9 . _ : @ - (got "a\x00b")`},
		// Spec 2.6: the audit's ids that read as other ids in a claim list.
		{"account id with a space", `{"type":"account","id":"Acme Corp","name":"N"}`, `"id" must be 1 to 128 characters of A-Z a-z 0-9 . _ : @ - (got "Acme Corp")`},
		{"account id in brackets", `{"type":"account","id":"[acct-003]","name":"N"}`, `"id" must be 1 to 128 characters of A-Z a-z 0-9 . _ : @ - (got "[acct-003]")`},
		{"account id with a comma", `{"type":"account","id":"a,b","name":"N"}`, `"id" must be 1 to 128 characters of A-Z a-z 0-9 . _ : @ - (got "a,b")`},
		{"customer id too long", `{"type":"customer","id":"` + strings.Repeat("c", 129) + `","accountId":"a1","name":"N"}`, `"id" must be 1 to 128 characters of A-Z a-z 0-9 . _ : @ - (got "` + strings.Repeat("c", 40) + `"...)`},
		{"usage id with a slash", u(`"id":"u/1"`), `"id" must be 1 to 128 characters of A-Z a-z 0-9 . _ : @ - (got "u/1")`},
		{"usage customer id non-ASCII", u(`"id":"x","customerId":"cé"`), `"customerId" must be 1 to 128 characters of A-Z a-z 0-9 . _ : @ - (got "cé")`},
		{"unknown customer", usageLine("x", "nobody", "1"), `usage for an unknown customer "nobody"`},
		{"customer of another account", `{"type":"usage","id":"x","accountId":"a2","customerId":"c1","time":"2026-10-01T04:00:00Z","item":"AIInsights","rawQuantity":"1"}`, `customer "c1" belongs to account "a1", not "a2"`},
		{"account without name", `{"type":"account","id":"a9"}`, `missing "name"`},
		{"account with a lower-case currency", `{"type":"account","id":"a9","name":"N","currency":"usd"}`, `"currency" "usd" is not an ISO 4217 code (three upper-case letters such as USD)`},
		{"account with a currency name", `{"type":"account","id":"a9","name":"N","currency":"Euro"}`, `"currency" "Euro" is not an ISO 4217 code (three upper-case letters such as USD)`},
		{"account with bad zone", `{"type":"account","id":"a9","name":"N","timeZoneId":"Mars/Olympus"}`, `unknown time zone "Mars/Olympus" in "timeZoneId"`},
		{"unknown item in settings", `{"type":"account","id":"a9","name":"N","billingSettings":{"Pizza":{"unitCost":"1"}}}`, `unknown item "Pizza" in "billingSettings"`},
		{"negative price", `{"type":"account","id":"a9","name":"N","billingSettings":{"LocalNumbers":{"unitCost":-1}}}`, `"billingSettings.LocalNumbers.unitCost" must not be negative (got "-1")`},
		{"Base with unit price", `{"type":"account","id":"a9","name":"N","billingSettings":{"Base":{"unitCost":"1"}}}`, `item "Base" takes only "baseCost"`},
		{"price of wrong type", `{"type":"account","id":"a9","name":"N","billingSettings":{"Base":{"baseCost":true}}}`, `"billingSettings.Base.baseCost" has the wrong type (bool)`},
		{"customer of unknown account", `{"type":"customer","id":"c9","accountId":"nope","name":"N"}`, `unknown account "nope"`},
		{"unknown parent", `{"type":"customer","id":"c9","accountId":"a1","parentCustomerId":"ghost","name":"N"}`, `unknown parent customer "ghost"`},
		{"own parent", `{"type":"customer","id":"c9","accountId":"a1","parentCustomerId":"c9","name":"N"}`, `customer "c9" is its own parent`},
		{"conflicting account", `{"type":"account","id":"a1","name":"Other"}`, `duplicate account id "a1" with different content (first at line 1)`},
		{"conflicting customer", `{"type":"customer","id":"c1","accountId":"a1","name":"Renamed"}`, `duplicate customer id "c1" with different content (first at line 2)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := lines(acctLine, rootLine, usageLine("ok", "c1", "1"), tt.line, usageLine("ok2", "c1", "1"))
			_, _, _, err := collect(t, data, Options{})
			wantProblems(t, err, Problem{4, tt.want})
		})
	}
}

func TestScanParentCycle(t *testing.T) {
	data := lines(acctLine,
		`{"type":"customer","id":"x","accountId":"a1","parentCustomerId":"z","name":"X"}`,
		`{"type":"customer","id":"y","accountId":"a1","parentCustomerId":"x","name":"Y"}`,
		`{"type":"customer","id":"z","accountId":"a1","parentCustomerId":"y","name":"Z"}`,
		`{"type":"customer","id":"leaf","accountId":"a1","parentCustomerId":"z","name":"Leaf"}`,
	)
	_, _, _, err := collect(t, data, Options{})
	chain := `parent cycle: "x" > "z" > "y" > "x"`
	wantProblems(t, err, Problem{2, chain}, Problem{3, chain}, Problem{4, chain})
}

func TestScanDeliversNothingOnceAProblemIsSeen(t *testing.T) {
	data := lines(acctLine, rootLine, usageLine("u1", "c1", "1"), `{"type":"usage"}`, usageLine("u2", "c1", "1"))
	for _, n := range []int{batchSize - 1, batchSize, 3 * batchSize} { // problems before, at and after a batch boundary
		var ls []string
		ls = append(ls, acctLine, rootLine)
		for i := range n {
			ls = append(ls, usageLine(fmt.Sprint("u", i), "c1", "1"))
		}
		ls = append(ls, `{"type":"usage"}`)
		for i := range batchSize {
			ls = append(ls, usageLine(fmt.Sprint("v", i), "c1", "1"))
		}
		_, got, _, err := collect(t, lines(ls...), Options{})
		if err == nil {
			t.Fatal("no error")
		}
		for _, e := range got {
			if strings.HasPrefix(e.ID, "v") {
				t.Fatalf("n=%d: event %s after the bad line was delivered", n, e.ID)
			}
		}
	}
	if _, _, _, err := collect(t, data, Options{}); err == nil {
		t.Fatal("no error")
	}
}

func TestValidationErrorIsCappedAndCounted(t *testing.T) {
	ls := []string{acctLine, rootLine}
	for range 50 {
		ls = append(ls, `{"type":"usage"}`, `{"type":"nope"}`)
	}
	_, err := Validate(context.Background(), Bytes(lines(ls...)), Options{MaxProblems: 30})
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v", err)
	}
	if ve.Total != 100 || len(ve.Problems) != 30 || ve.Problems[0].Line != 3 || ve.Problems[29].Line != 32 {
		t.Fatalf("total %d, kept %d, first line %d, last line %d", ve.Total, len(ve.Problems), ve.Problems[0].Line, ve.Problems[len(ve.Problems)-1].Line)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "the import file has 100 problem(s); nothing was used:\n  line 3: missing") ||
		!strings.HasSuffix(msg, "\n  ... and 80 more") || strings.Count(msg, "\n  line ") != printedProblems {
		t.Fatalf("message:\n%s", msg)
	}
}

func TestUsageStreamsDistinctEventsAfterValidate(t *testing.T) {
	data := lines(acctLine, rootLine, usageLine("u1", "c1", "1"), usageLine("u1", "c1", "1"), usageLine("u2", "c1", "2"))
	src := Bytes(data)
	d, err := Validate(context.Background(), src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := d.Usage(context.Background(), src, func(e *billing.UsageEvent) error {
		got = append(got, e.ID+"="+e.RawQuantity)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"u1=1", "u2=2"}; !slices.Equal(got, want) {
		t.Fatalf("streamed %v, want %v", got, want)
	}
	// A file changed after validation is refused, not half-streamed silently.
	changed := Bytes(lines(acctLine, rootLine, usageLine("u3", "ghost", "1")))
	if err := d.Usage(context.Background(), changed, func(*billing.UsageEvent) error { return nil }); err == nil || !strings.Contains(err.Error(), "changed after it was validated") {
		t.Fatalf("err = %v", err)
	}
}

func TestScanConsumerErrorsAbort(t *testing.T) {
	boom := errors.New("boom")
	data := lines(acctLine, rootLine, usageLine("u1", "c1", "1"))
	_, err := Scan(context.Background(), Bytes(data), Options{}, func(*Dataset) (UsageFunc, error) {
		return func(*billing.UsageEvent) error { return boom }, nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	// A failing consumer stops the reading early, and is called no more.
	ls := []string{acctLine, rootLine}
	for i := range 20 * batchSize {
		ls = append(ls, usageLine(fmt.Sprint("u", i), "c1", "1"))
	}
	calls := 0
	_, err = Scan(context.Background(), Bytes(lines(ls...)), Options{}, func(*Dataset) (UsageFunc, error) {
		return func(*billing.UsageEvent) error { calls++; return boom }, nil
	})
	if !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("err = %v after %d calls, want boom after 1", err, calls)
	}
	_, err = Scan(context.Background(), Bytes(data), Options{}, func(*Dataset) (UsageFunc, error) { return nil, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("start error = %v, want boom", err)
	}
	// Refusing incomplete records (usage came first) is not final: the consumer
	// is asked again with the complete data.
	disordered := lines(usageLine("u1", "c1", "1"), acctLine, rootLine)
	calls = 0
	_, err = Scan(context.Background(), Bytes(disordered), Options{}, func(d *Dataset) (UsageFunc, error) {
		calls++
		if _, ok := d.Account("a1"); !ok {
			return nil, boom
		}
		return func(*billing.UsageEvent) error { return nil }, nil
	})
	if err != nil || calls != 2 {
		t.Fatalf("err = %v after %d calls, want success after 2", err, calls)
	}
}

func TestScanFileWithoutUsageStillStarts(t *testing.T) {
	_, got, starts, err := collect(t, lines(acctLine, rootLine), Options{})
	if err != nil || starts != 1 || len(got) != 0 {
		t.Fatalf("err=%v starts=%d events=%d", err, starts, len(got))
	}
}

func TestScanLongLinesAndCRLF(t *testing.T) {
	long := `{"type":"usage","description":"` + strings.Repeat("x", maxLineBytes) + `"}`
	data := []byte(acctLine + "\r\n" + rootLine + "\r\n\r\n" + long + "\n" + usageLine("u1", "c1", "1") + "\r\n")
	_, _, _, err := collect(t, data, Options{})
	wantProblems(t, err, Problem{4, fmt.Sprintf("line is longer than %d bytes", maxLineBytes)})
}

func TestScanFixtureDataset(t *testing.T) {
	path := filepath.Join(ratingtest.Fixture(t, "billing-small"), "dataset.jsonl")
	var n int
	d, err := Scan(context.Background(), File(path), Options{}, func(*Dataset) (UsageFunc, error) {
		return func(*billing.UsageEvent) error { n++; return nil }, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if d.Summary.Accounts != 2 || d.Summary.Customers != 5 || n != 13 || d.Summary.Passes != 1 {
		t.Fatalf("summary %+v, %d events", d.Summary, n)
	}
	law := d.CustomersOf("acct-acme")[2]
	if law.Name != `=HYPERLINK("http://x") Law, LLC` || !law.OverrideBillingSettings {
		t.Fatalf("c-law = %+v", law)
	}
}

func TestScanStopsWhenCancelled(t *testing.T) {
	ls := []string{acctLine, rootLine}
	for i := range 70_000 {
		ls = append(ls, usageLine(fmt.Sprint("u", i), "c1", "1"))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Validate(ctx, Bytes(lines(ls...)), Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestValidationErrorIsInvalidInput(t *testing.T) {
	_, err := Validate(context.Background(), Bytes(lines(acctLine, `{"type":"x"}`)), Options{})
	var be *billing.Error
	if !errors.As(err, &be) || be.Code != billing.EINVALID || len(be.FieldErrors) != 1 ||
		be.FieldErrors[0].FieldName != "line 2" || !strings.Contains(be.Message, "1 problem(s); the first: line 2: unknown type") {
		t.Fatalf("domain error = %+v", be)
	}
}

func TestScanReportsProgressPerPass(t *testing.T) {
	data := lines(usageLine("u1", "c1", "1"), acctLine, rootLine) // disordered: two passes
	var seen []Progress
	_, err := Validate(context.Background(), Bytes(data), Options{Progress: func(p Progress) { seen = append(seen, p) }})
	if err != nil {
		t.Fatal(err)
	}
	size := int64(len(data))
	want := []Progress{{Pass: 1, Name: "reading", Done: size, Total: size}, {Pass: 2, Name: "re-checking", Done: size, Total: size}}
	if !slices.Equal(seen, want) {
		t.Fatalf("progress %+v, want %+v", seen, want)
	}
}

// DecodeUsage reads usage lines with the validator's decoder and nothing else:
// records, blank and non-usage lines are passed over, references are not
// checked, and the first usage line that does not decode stops it with its
// line number.
func TestDecodeUsage(t *testing.T) {
	data := lines(acctLine, usageLine("u1", "nobody", "1"), "", `{"type":"other"}`, usageLine("u2", "c1", "2.5"))
	var got []string
	n, err := DecodeUsage(context.Background(), Bytes(data), func(e *billing.UsageEvent) error {
		got = append(got, e.ID+"/"+e.CustomerID+"/"+e.RawQuantity)
		return nil
	})
	if err != nil || n != 2 || !slices.Equal(got, []string{"u1/nobody/1", "u2/c1/2.5"}) {
		t.Fatalf("DecodeUsage = %d, %v, events %v", n, err, got)
	}
	bad := lines(acctLine, usageLine("u1", "c1", "1"), usageLine("u2", "c1", "-1"))
	n, err = DecodeUsage(context.Background(), Bytes(bad), func(*billing.UsageEvent) error { return nil })
	if err == nil || !strings.HasPrefix(err.Error(), "line 3: ") || n != 1 {
		t.Fatalf("DecodeUsage of a bad line = %d, %v; want 1 event and an error at line 3", n, err)
	}
}
