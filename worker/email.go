package worker

import (
	"html"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/rating"
)

// emailData is what both parts of the email show.
type emailData struct {
	Name        string
	Failed      bool
	Reason      string
	Start, End  string
	Zone        string
	Customers   int
	GrandTotal  string
	Top         []topCustomer
	Link        string
	LinkExpires string
}

type topCustomer struct {
	Customer string
	Total    string
}

// The parts are written with html.EscapeString rather than html/template:
// text/template's reflective method calls make the linker keep every method of
// every SDK client in the binary, which doubles the run Lambda's size (and its
// cold start). Every value below goes through esc; nothing else is dynamic.
func renderHTML(d emailData) string {
	esc := html.EscapeString
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + esc(d.Name) + "</title></head>\n")
	b.WriteString("<body style=\"font-family:Arial,Helvetica,sans-serif;color:#222\">\n")
	b.WriteString("<h1 style=\"font-size:20px\">" + esc(d.Name) + "</h1>\n")
	period := esc(d.Start) + " to " + esc(d.End)
	if d.Zone != "" {
		period += " (" + esc(d.Zone) + ")"
	}
	if d.Failed {
		b.WriteString("<p>The report could not be produced.</p>\n")
		b.WriteString("<p><strong>Reason:</strong> " + esc(d.Reason) + "</p>\n")
		b.WriteString("<p>Period: " + period + "</p>\n</body></html>\n")
		return b.String()
	}
	b.WriteString("<p>Your billing report is ready.</p>\n<table cellpadding=\"4\" style=\"border-collapse:collapse\">\n")
	b.WriteString("<tr><th align=\"left\">Period</th><td>" + period + "</td></tr>\n")
	b.WriteString("<tr><th align=\"left\">Customers</th><td>" + strconv.Itoa(d.Customers) + "</td></tr>\n")
	b.WriteString("<tr><th align=\"left\">Grand total</th><td>" + esc(d.GrandTotal) + "</td></tr>\n</table>\n")
	if len(d.Top) > 0 {
		b.WriteString("<h2 style=\"font-size:16px\">Largest customers</h2>\n<table cellpadding=\"4\" style=\"border-collapse:collapse\">\n")
		b.WriteString("<tr><th align=\"left\">Customer</th><th align=\"right\">Total</th></tr>\n")
		for _, c := range d.Top {
			b.WriteString("<tr><td>" + esc(c.Customer) + "</td><td align=\"right\">" + esc(c.Total) + "</td></tr>\n")
		}
		b.WriteString("</table>\n")
	}
	b.WriteString("<p><a id=\"download\" href=\"" + esc(d.Link) + "\">Download the report (CSV)</a></p>\n")
	b.WriteString("<p style=\"font-size:12px;color:#666\">This link works until " + esc(d.LinkExpires) +
		". After that, get a fresh link with GET /reports/{id} of the API.</p>\n</body></html>\n")
	return b.String()
}

// renderText is the plain part; plain() has already removed control
// characters from user text, so no value can add lines or headers.
func renderText(d emailData) string {
	var b strings.Builder
	b.WriteString(d.Name + "\n\n")
	period := d.Start + " to " + d.End
	if d.Zone != "" {
		period += " (" + d.Zone + ")"
	}
	if d.Failed {
		b.WriteString("The report could not be produced.\nReason: " + d.Reason + "\nPeriod: " + period + "\n")
		return b.String()
	}
	b.WriteString("Your billing report is ready.\n\n")
	b.WriteString("Period:      " + period + "\n")
	b.WriteString("Customers:   " + strconv.Itoa(d.Customers) + "\n")
	b.WriteString("Grand total: " + d.GrandTotal + "\n")
	if len(d.Top) > 0 {
		b.WriteString("\nLargest customers:\n")
		for _, c := range d.Top {
			b.WriteString("  " + c.Total + "  " + c.Customer + "\n")
		}
	}
	b.WriteString("\nDownload the report (CSV):\n" + d.Link + "\n\nThis link works until " + d.LinkExpires + ".\n")
	return b.String()
}

func (w *Worker) buildEmail(r *billing.Report, gen *generated) billing.Email {
	name := r.Name
	if name == "" {
		name = billing.ReportName(r.Request.StartDate, r.Request.EndDate)
	}
	d := emailData{
		Name:       name,
		Failed:     r.Status == billing.ReportError,
		Reason:     r.StatusMessage,
		Start:      r.Request.StartDate.String(),
		End:        r.Request.EndDate.String(),
		Zone:       r.Request.TimeZoneID,
		Customers:  r.RowCount,
		GrandTotal: r.GrandTotal,
	}
	if gen != nil {
		d.Top = largestCustomers(gen.result, w.cfg.TopCustomers)
		d.Zone = gen.zone
	}
	if !d.Failed {
		link, expires := w.downloadLink(r)
		d.Link, d.LinkExpires = link, expires.UTC().Format(time.RFC1123)
		if d.Zone == "" {
			// A redelivery after a crash has no generation at hand and the
			// request left the zone to the account: name the rule, not a guess.
			d.Zone = "the account's time zone"
		}
	}
	subject := name + " is ready"
	if d.Failed {
		subject = name + " failed"
	}
	td := d
	td.Reason = plain(td.Reason)
	td.Top = slices.Clone(td.Top)
	for i := range td.Top {
		td.Top[i].Customer = plain(td.Top[i].Customer)
	}
	return billing.Email{To: r.Request.EmailAddressToNotify, Subject: plain(subject), HTML: renderHTML(d), Text: renderText(td)}
}

// largestCustomers are the n rows with the highest totals, ties by name.
func largestCustomers(res *rating.Result, n int) []topCustomer {
	rows := make([]*rating.Row, 0, len(res.Rows))
	for i := range res.Rows {
		rows = append(rows, &res.Rows[i])
	}
	slices.SortStableFunc(rows, func(a, b *rating.Row) int {
		if c := totalOf(b).Cmp(totalOf(a)); c != 0 {
			return c
		}
		return strings.Compare(a.Customer, b.Customer)
	})
	out := make([]topCustomer, 0, min(n, len(rows)))
	for _, r := range rows[:min(n, len(rows))] {
		out = append(out, topCustomer{Customer: r.Customer, Total: rating.FormatCents(totalOf(r))})
	}
	return out
}

func totalOf(r *rating.Row) *big.Rat {
	if r.Total == nil {
		return new(big.Rat)
	}
	return r.Total
}

// plain removes control characters (CR, LF, ...) so that user text cannot
// forge headers or lines in the text part.
func plain(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
