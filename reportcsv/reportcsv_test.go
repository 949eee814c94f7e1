package reportcsv_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"math/big"
	"strings"
	"testing"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/rating"
	"github.com/evovoice/billing/reportcsv"
)

func TestAppendTextCell(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"Plain", "Plain"},
		{"Acme, Inc", `"Acme, Inc"`},
		{`Annex "B"`, `"Annex ""B"""`},
		{"two\nlines", "\"two\nlines\""},
		{"cr\rhere", "\"cr\rhere\""},
		{"=SUM(A1)", "'=SUM(A1)"},
		{"+1", "'+1"},
		{"-1", "'-1"},
		{"@cmd", "'@cmd"},
		{"\tTab", "'\tTab"},
		{"\rCR", "\"'\rCR\""},
		{`=HYPERLINK("http://x") Law, LLC`, `"'=HYPERLINK(""http://x"") Law, LLC"`},
		{" leading space", " leading space"},
		{"a=b", "a=b"},
		{"Zoë – Ünïcode", "Zoë – Ünïcode"},
		{"'quoted already", "'quoted already"},
	}
	for _, tt := range tests {
		if got := string(reportcsv.AppendTextCell(nil, tt.in)); got != tt.want {
			t.Errorf("AppendTextCell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHeader(t *testing.T) {
	h := reportcsv.Header(reportcsv.Options{})
	if len(h) != 2+2*(billing.NumItems-1)+3 || h[0] != "Customer" || h[1] != "BaseCost" || h[2] != "LocalNumbersUnits" || h[len(h)-1] != "Total" {
		t.Errorf("header = %v", h)
	}
	withIDs := reportcsv.Header(reportcsv.Options{IncludeCustomerIDs: true})
	if withIDs[0] != "CustomerId" || len(withIDs) != len(h)+1 {
		t.Errorf("header with ids = %v", withIDs)
	}
}

// TestWriteRoundTrips writes hostile names and ids and reads them back with
// encoding/csv: every row has the header's width, and every text cell is the
// original text (plus the formula guard), so no name can break the file.
func TestWriteRoundTrips(t *testing.T) {
	names := []string{"=cmd|' /C calc'!A0", "line\r\nbreak", `"quoted"`, "a,b,c", "-10", "@SUM(1)", "\ttab", "ok"}
	var customers []billing.Customer
	for i, n := range names {
		customers = append(customers, billing.Customer{ID: "-id" + string(rune('a'+i)) + ",x", AccountID: "a", Name: n})
	}
	r, err := rating.NewRater(billing.Account{ID: "a"}, customers, rating.Period{Start: billing.Date{Year: 2026, Month: 1, Day: 1}, End: billing.Date{Year: 2026, Month: 1, Day: 31}}, "")
	if err != nil {
		t.Fatal(err)
	}
	res := r.Result()
	var buf bytes.Buffer
	if err := reportcsv.Write(&buf, res, reportcsv.Options{IncludeCustomerIDs: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(buf.String(), "\r\n") || strings.Count(buf.String(), "\r\n") < len(names)+2 {
		t.Errorf("lines do not end in CRLF: %q", buf.String())
	}
	records, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("the report is not valid CSV: %v", err)
	}
	if len(records) != len(names)+2 {
		t.Fatalf("%d records, want %d", len(records), len(names)+2)
	}
	width := len(reportcsv.Header(reportcsv.Options{IncludeCustomerIDs: true}))
	for k, rec := range records {
		if len(rec) != width {
			t.Errorf("record %d has %d cells, want %d", k, len(rec), width)
		}
	}
	for k, row := range res.Rows {
		rec := records[k+1]
		// encoding/csv turns \r\n inside quotes into \n.
		wantName := strings.ReplaceAll(row.Customer, "\r\n", "\n")
		if strings.ContainsAny(row.Customer[:1], "=+-@\t\r") {
			wantName = "'" + wantName
		}
		if rec[1] != wantName || rec[0] != "'"+row.CustomerID {
			t.Errorf("record %d = %q, %q; want %q, %q", k+1, rec[0], rec[1], "'"+row.CustomerID, wantName)
		}
	}
	if last := records[len(records)-1]; last[0] != "" || last[1] != "Total" {
		t.Errorf("last record starts %q, %q", last[0], last[1])
	}
}

// TestWriteFormatsNumbers writes a hand-made result to pin the number formats.
func TestWriteFormatsNumbers(t *testing.T) {
	row := func(id, name string, u, c, intl, total string, rec bool) rating.Row {
		r := rating.Row{CustomerID: id, Customer: name, InternationalCosts: ratOf(intl), Total: ratOf(total), HasCallRecording: rec}
		for i := range billing.NumItems {
			r.Units[i], r.Costs[i] = new(big.Rat), new(big.Rat)
		}
		r.Units[3], r.Costs[0], r.Costs[3] = ratOf(u), ratOf("30"), ratOf(c)
		return r
	}
	res := &rating.Result{
		Rows:  []rating.Row{row("c1", "One", "2.0833333375", "0.1", "1.2345", "31.33", true)},
		Total: row("", "Total", "1/3", "1234.5", "0", "1264.50", true),
	}
	var buf bytes.Buffer
	if err := reportcsv.Write(&buf, res, reportcsv.Options{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(buf.String(), "\r\n")
	want := []string{
		"One,30.00,0,0.00,0,0.00,2.0833,0.10,0,0.00,0,0.00,0,0.00,0,0.00,0,0.00,0,0.00,0,0.00,1.23,true,31.33",
		"Total,30.00,0,0.00,0,0.00,0.3333,1234.50,0,0.00,0,0.00,0,0.00,0,0.00,0,0.00,0,0.00,0,0.00,0.00,true,1264.50",
		"",
	}
	if strings.Join(lines[1:], "|") != strings.Join(want, "|") {
		t.Errorf("rows\n got %q\nwant %q", lines[1:], want)
	}
}

func ratOf(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic(s)
	}
	return r
}

type failingWriter struct{ after int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.after <= 0 {
		return 0, errors.New("disk full")
	}
	w.after--
	return len(p), nil
}

func TestWriteReportsWriterErrors(t *testing.T) {
	customers := make([]billing.Customer, 2000)
	for i := range customers {
		customers[i] = billing.Customer{ID: string(rune('a'+i%26)) + strings.Repeat("x", i%7) + "-" + big.NewInt(int64(i)).String(), AccountID: "a", Name: "N"}
	}
	r, err := rating.NewRater(billing.Account{ID: "a"}, customers, rating.Period{Start: billing.Date{Year: 2026, Month: 1, Day: 1}, End: billing.Date{Year: 2026, Month: 1, Day: 1}}, "")
	if err != nil {
		t.Fatal(err)
	}
	res := r.Result()
	for _, after := range []int{0, 1} {
		err := reportcsv.Write(&failingWriter{after: after}, res, reportcsv.Options{})
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("after %d writes: err = %v, want the writer's error", after, err)
		}
	}
}
