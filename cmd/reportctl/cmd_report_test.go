package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/evovoice/billing/rating/ratingtest"
)

// goldenReports are the fixture's expected files with the flags that make them
// (shared/fixtures/billing-small/README.md).
var goldenReports = map[string][]string{
	"expected-acme-2026-10.csv":                 {"--account", "acct-acme", "--start", "2026-10-01", "--end", "2026-10-31"},
	"expected-acme-2026-10-ids.csv":             {"--account", "acct-acme", "--start", "2026-10-01", "--end", "2026-10-31", "--ids"},
	"expected-acme-2026-10-16-to-11-15-ids.csv": {"--account", "acct-acme", "--start", "2026-10-16", "--end", "2026-11-15", "--ids"},
	"expected-acme-2026-10-utc.csv":             {"--account", "acct-acme", "--start", "2026-10-01", "--end", "2026-10-31", "--tz", "UTC"},
	"expected-acme-2026-10-scope-c-law-ids.csv": {"--account", "acct-acme", "--start", "2026-10-01", "--end", "2026-10-31", "--customer", "c-law", "--ids"},
}

func runReportForTest(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = runReport(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestReportMatchesEveryGoldenFile(t *testing.T) {
	fixtures := ratingtest.Fixture(t, "billing-small")
	files, err := filepath.Glob(filepath.Join(fixtures, "expected-*.csv"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no expected files in %s: %v", fixtures, err)
	}
	data := filepath.Join(fixtures, "dataset.jsonl")
	// The same data with its lines reversed (usage before customers, customers
	// before their accounts) must give the same bytes: that takes the second pass.
	reversed := filepath.Join(t.TempDir(), "reversed.jsonl")
	raw, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	ls := strings.Split(strings.TrimSpace(string(raw)), "\n")
	slices.Reverse(ls)
	if err := os.WriteFile(reversed, []byte(strings.Join(ls, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		args, ok := goldenReports[name]
		if !ok {
			t.Errorf("%s has no entry in goldenReports: add its flags", name)
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, input := range []string{data, reversed} {
			t.Run(name+"/"+filepath.Base(input), func(t *testing.T) {
				got, stderr, err := runReportForTest(t, append([]string{"--data", input}, args...)...)
				if err != nil {
					t.Fatalf("report failed: %v\n%s", err, stderr)
				}
				if got != string(want) {
					t.Fatalf("CSV differs from %s\n--- got\n%s\n--- want\n%s", name, got, want)
				}
				if stderr != "" {
					t.Fatalf("stderr is not quiet: %q", stderr)
				}
			})
		}
	}
}

func TestReportWritesOutputFileAtomically(t *testing.T) {
	fixtures := ratingtest.Fixture(t, "billing-small")
	dir := t.TempDir()
	out := filepath.Join(dir, "report.csv")
	_, stderr, err := runReportForTest(t, append([]string{"--data", filepath.Join(fixtures, "dataset.jsonl"), "-o", out}, goldenReports["expected-acme-2026-10.csv"]...)...)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	want, _ := os.ReadFile(filepath.Join(fixtures, "expected-acme-2026-10.csv"))
	if !bytes.Equal(got, want) {
		t.Fatalf("file differs:\n%s", got)
	}
	if !strings.Contains(stderr, "Billing Report 2026-10-01 to 2026-10-31: 4 customers, 9 of 13 usage events in the period, grand total USD 97.26, written to "+out) {
		t.Fatalf("summary = %q", stderr)
	}

	// A failing report leaves the previous file untouched and no temporary files.
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte(`{"type":"account","id":"acct-acme","name":"A"}`+"\n"+`{"type":"usage"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runReportForTest(t, "--data", bad, "--account", "acct-acme", "--start", "2026-10-01", "--end", "2026-10-31", "-o", out); err == nil {
		t.Fatal("bad data did not fail")
	}
	if after, _ := os.ReadFile(out); !bytes.Equal(after, want) {
		t.Fatal("a failed run changed the output file")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("directory holds %d entries, want report.csv and bad.jsonl only", len(entries))
	}
}

func TestReportBadInput(t *testing.T) {
	fixtures := ratingtest.Fixture(t, "billing-small")
	data := filepath.Join(fixtures, "dataset.jsonl")
	badData := filepath.Join(t.TempDir(), "bad.jsonl")
	content := `{"type":"account","id":"a","name":"A"}` + "\n" +
		`{"type":"customer","id":"c","accountId":"a","name":"C","parentCustomerId":"ghost"}` + "\n" +
		`{"type":"usage","id":"u","accountId":"a","customerId":"c","time":"yesterday","item":"Calls","rawQuantity":"-1"}` + "\n"
	if err := os.WriteFile(badData, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"no data", []string{"--account", "a", "--start", "2026-10-01", "--end", "2026-10-31"}, []string{"--data is required"}},
		{"no account", []string{"--data", data, "--start", "2026-10-01", "--end", "2026-10-31"}, []string{"--account is required"}},
		{"API validation messages", []string{"--data", data, "--account", "acct-acme", "--end", "2026-1-31", "--tz", "Mars/Base"}, []string{
			"invalid request: 'StartDate' must not be empty. 'EndDate' must be a date in the format YYYY-MM-DD. 'TimeZoneId' must be an IANA time zone such as 'America/New_York'."}},
		{"reversed range", []string{"--data", data, "--account", "acct-acme", "--start", "2026-10-31", "--end", "2026-10-01"}, []string{"'EndDate' must be greater than or equal to '2026-10-31'."}},
		{"missing file", []string{"--data", "/nonexistent/x.jsonl", "--account", "a", "--start", "2026-10-01", "--end", "2026-10-31"}, []string{"reading the import file", "no such file"}},
		{"unknown account", []string{"--data", data, "--account", "acct-nope", "--start", "2026-10-01", "--end", "2026-10-31"}, []string{`account "acct-nope" is not in`}},
		{"customer of another account", []string{"--data", data, "--account", "acct-acme", "--start", "2026-10-01", "--end", "2026-10-31", "--customer", "c-other"}, []string{`customer "c-other" is not a customer of account "acct-acme"`}},
		{"bad lines listed", []string{"--data", badData, "--account", "a", "--start", "2026-10-01", "--end", "2026-10-31"}, []string{
			"the import file has 2 problem(s); nothing was used:",
			`line 2: unknown parent customer "ghost"`,
			`line 3: "time" must be an RFC 3339 timestamp such as "2026-10-01T04:00:00Z" (got "yesterday"); unknown item "Calls"; "rawQuantity" must not be negative (got "-1")`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, _, err := runReportForTest(t, tt.args...)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if stdout != "" {
				t.Errorf("printed a report despite the error: %q", stdout)
			}
		})
	}
}
