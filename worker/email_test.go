package worker

import (
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
)

var update = flag.Bool("update", false, "rewrite the golden files of the email parts in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s (run go test ./worker -run TestEmailGolden -update to create it): %v", path, err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (rerun with -update if the change is intended):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// TestEmailGolden pins both parts of the completed and the failed email as a
// reseller receives them, with user text that tries to inject markup and
// lines: an account and customers named with HTML, a CR/LF and a name longer
// than the text table's column.
func TestEmailGolden(t *testing.T) {
	h := newHarness(t)
	h.seedSmall()
	acct := h.data.accounts["acct-a"]
	acct.Name = `Acme <script>alert("x")</script> & Co`
	acct.Currency = "EUR"
	h.data.accounts["acct-a"] = acct
	cs := h.data.customers["acct-a"]
	cs[0].Name = "Dental <b>&</b>\r\nSubject: forged"
	cs[1].Name = "=Law Offices of Smith, Jones, Müller & Partners (Downtown Branch)"
	h.queue1("r-1", billing.ReportRequest{EmailAddressToNotify: "boss@example.com"})
	h.deliver(t.Context(), sqsMessage("m-1", "r-1", 1))
	mails := h.mailer.emails()
	if len(mails) != 1 {
		t.Fatalf("emails = %d", len(mails))
	}
	m := mails[0]
	// The token changes with the signing key and the clock; pin everything else.
	token := func(s string) string {
		i := strings.Index(s, "token=")
		if i < 0 {
			t.Fatalf("no token in:\n%s", s)
		}
		j := i + len("token=")
		for j < len(s) && strings.IndexByte("\"\n< ", s[j]) < 0 {
			j++
		}
		return s[:i] + "token=TOKEN" + s[j:]
	}
	golden(t, "email-completed.subject", m.Subject+"\n")
	golden(t, "email-completed.html", token(m.HTML))
	golden(t, "email-completed.txt", token(m.Text))
	if strings.Contains(m.Text, "\nSubject: forged") || strings.Contains(m.HTML, "<script>") {
		t.Error("user text escaped its field")
	}

	// A failed report: the reason is stored text that quotes user data.
	r := h.reports.get("r-1")
	r.ID, r.Status, r.StatusMessage = "r-2", billing.ReportError, "Usage of unknown customer '<img src=x>'\r\nat line 7."
	failed := h.w.buildEmail(t.Context(), slog.New(slog.DiscardHandler), &r, nil)
	golden(t, "email-failed.subject", failed.Subject+"\n")
	golden(t, "email-failed.html", failed.HTML)
	golden(t, "email-failed.txt", failed.Text)
}

func TestGroupThousandsAndLinkLifetime(t *testing.T) {
	for in, want := range map[string]string{"0.00": "0.00", "999.99": "999.99", "1000.00": "1,000.00", "40046.15": "40,046.15", "1234567": "1,234,567", "-1234.5": "-1,234.5"} {
		if got := groupThousands(in); got != want {
			t.Errorf("groupThousands(%q) = %q, want %q", in, got, want)
		}
	}
	for ttl, want := range map[time.Duration]string{168 * time.Hour: "7 days", 24 * time.Hour: "1 day", 36 * time.Hour: "36 hours", 15 * time.Minute: "15 minutes", time.Minute: "1 minute"} {
		if got := linkLifetime(ttl); got != want {
			t.Errorf("linkLifetime(%v) = %q, want %q", ttl, got, want)
		}
	}
}
