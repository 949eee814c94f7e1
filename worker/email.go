package worker

import (
	"context"
	"html"
	"log/slog"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/rating"
)

// emailData is what both parts of the email show. It is written so that a
// reseller can forward the email to a colleague as it is: it names the
// account (three accounts' emails must not look alike), the currency of every
// amount, and what to do when the link has expired.
type emailData struct {
	Account     string // the account's name, else its id
	AccountID   string
	Name        string // the report's name ("Billing Report <start> to <end>")
	ReportID    string
	Failed      bool
	Reason      string
	Start, End  string
	Zone        string
	Customers   int
	Currency    string // ISO 4217
	GrandTotal  string // grouped: 12,345.67
	Top         []topCustomer
	Link        string
	LinkTTL     string // "7 days"
	LinkExpires string
	APIBase     string // where GET /reports/{id} gives a fresh link
}

type topCustomer struct {
	Customer string
	Total    string // grouped
}

// Column widths of the text part's table of largest customers: a name longer
// than nameWidth is cut with "…" so that the totals stay in one column.
const nameWidth = 40

func (d emailData) heading() string { return d.Account + ": " + d.Name }

func (d emailData) period() string {
	p := d.Start + " to " + d.End
	if d.Zone != "" {
		p += " (" + d.Zone + ")"
	}
	return p
}

// afterExpiry tells the reader how to get the file once the link has expired;
// sep goes between its two sentences (a line break in the text part).
func (d emailData) afterExpiry(sep string) string {
	return "After that, ask the billing-reports API for a new link:" + sep +
		"GET " + d.APIBase + "/reports/" + d.ReportID + " (report id " + d.ReportID + ") with your API token returns a fresh downloadLink."
}

// The parts are written with html.EscapeString rather than html/template:
// text/template's reflective method calls make the linker keep every method of
// every SDK client in the binary, which doubles the run Lambda's size (and its
// cold start). Every value below goes through esc; nothing else is dynamic.
func renderHTML(d emailData) string {
	esc := html.EscapeString
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + esc(d.heading()) + "</title></head>\n")
	b.WriteString("<body style=\"font-family:Arial,Helvetica,sans-serif;color:#222\">\n")
	b.WriteString("<h1 style=\"font-size:20px\">" + esc(d.Account) + "</h1>\n")
	b.WriteString("<h2 style=\"font-size:16px;font-weight:normal\">" + esc(d.Name) + "</h2>\n")
	row := func(k, v string) { b.WriteString("<tr><th align=\"left\">" + k + "</th><td>" + v + "</td></tr>\n") }
	if d.Failed {
		b.WriteString("<p>The report could not be produced.</p>\n<table cellpadding=\"4\" style=\"border-collapse:collapse\">\n")
		row("Reason", esc(d.Reason))
		row("Account", esc(d.Account)+" ("+esc(d.AccountID)+")")
		row("Period", esc(d.period()))
		row("Report id", esc(d.ReportID))
		b.WriteString("</table>\n</body></html>\n")
		return b.String()
	}
	b.WriteString("<p>Your billing report is ready.</p>\n<table cellpadding=\"4\" style=\"border-collapse:collapse\">\n")
	row("Account", esc(d.Account)+" ("+esc(d.AccountID)+")")
	row("Period", esc(d.period()))
	row("Customers", strconv.Itoa(d.Customers))
	row("Grand total", "<strong>"+esc(d.Currency)+" "+esc(d.GrandTotal)+"</strong>")
	b.WriteString("</table>\n")
	if len(d.Top) > 0 {
		b.WriteString("<h3 style=\"font-size:14px\">Largest customers</h3>\n<table cellpadding=\"4\" style=\"border-collapse:collapse\">\n")
		b.WriteString("<tr><th align=\"left\">Customer</th><th align=\"right\">Total (" + esc(d.Currency) + ")</th></tr>\n")
		for _, c := range d.Top {
			b.WriteString("<tr><td>" + esc(c.Customer) + "</td><td align=\"right\" style=\"font-variant-numeric:tabular-nums\">" + esc(c.Total) + "</td></tr>\n")
		}
		b.WriteString("</table>\n")
	}
	b.WriteString("<p><a id=\"download\" href=\"" + esc(d.Link) + "\">Download the report (CSV)</a></p>\n")
	b.WriteString("<p style=\"font-size:12px;color:#666\">This link works for " + esc(d.LinkTTL) + ", until " + esc(d.LinkExpires) +
		", and needs no login, so forward it only to people who may see these figures. " + esc(d.afterExpiry(" ")) + "</p>\n</body></html>\n")
	return b.String()
}

// renderText is the plain part; plain() has already removed control
// characters from user text, so no value can add lines or headers.
func renderText(d emailData) string {
	var b strings.Builder
	b.WriteString(d.Account + "\n" + d.Name + "\n\n")
	field := func(k, v string) { b.WriteString(padRight(k+":", 13) + v + "\n") }
	if d.Failed {
		b.WriteString("The report could not be produced.\n\n")
		field("Reason", d.Reason)
		field("Account", d.Account+" ("+d.AccountID+")")
		field("Period", d.period())
		field("Report id", d.ReportID)
		return b.String()
	}
	b.WriteString("Your billing report is ready.\n\n")
	field("Account", d.Account+" ("+d.AccountID+")")
	field("Period", d.period())
	field("Customers", strconv.Itoa(d.Customers))
	field("Grand total", d.Currency+" "+d.GrandTotal)
	if len(d.Top) > 0 {
		head := "Total (" + d.Currency + ")"
		width := utf8.RuneCountInString(head)
		for _, c := range d.Top {
			width = max(width, utf8.RuneCountInString(c.Total))
		}
		b.WriteString("\nLargest customers:\n\n")
		b.WriteString("  " + padRight("Customer", nameWidth) + "  " + padLeft(head, width) + "\n")
		for _, c := range d.Top {
			b.WriteString("  " + padRight(cut(c.Customer, nameWidth), nameWidth) + "  " + padLeft(c.Total, width) + "\n")
		}
	}
	b.WriteString("\nDownload the report (CSV):\n" + d.Link + "\n\n")
	b.WriteString("This link works for " + d.LinkTTL + ", until " + d.LinkExpires + ", and needs no login,\n" +
		"so forward it only to people who may see these figures.\n" + d.afterExpiry("\n") + "\n")
	return b.String()
}

func padRight(s string, n int) string {
	return s + strings.Repeat(" ", max(0, n-utf8.RuneCountInString(s)))
}

func padLeft(s string, n int) string {
	return strings.Repeat(" ", max(0, n-utf8.RuneCountInString(s))) + s
}

// cut shortens s to n runes, marking the cut with "…".
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// groupThousands writes "1234567.89" as "1,234,567.89", as an invoice would.
func groupThousands(amount string) string {
	sign := ""
	if strings.HasPrefix(amount, "-") {
		sign, amount = "-", amount[1:]
	}
	whole, frac, hasFrac := strings.Cut(amount, ".")
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if hasFrac {
		b.WriteString("." + frac)
	}
	return sign + b.String()
}

// linkLifetime says a token lifetime in the largest whole unit people use.
func linkLifetime(ttl time.Duration) string {
	unit := func(n int64, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return strconv.FormatInt(n, 10) + " " + one + "s"
	}
	switch {
	case ttl >= 24*time.Hour && ttl%(24*time.Hour) == 0:
		return unit(int64(ttl/(24*time.Hour)), "day")
	case ttl >= time.Hour && ttl%time.Hour == 0:
		return unit(int64(ttl/time.Hour), "hour")
	default:
		return unit(max(1, int64(ttl/time.Minute)), "minute")
	}
}

// buildEmail composes the notification of a final report. The account is read
// again for its name and currency; if that fails the email still goes out,
// naming the account by its id, because the email matters more than its
// heading.
func (w *Worker) buildEmail(ctx context.Context, log *slog.Logger, r *billing.Report, gen *generated) billing.Email {
	acct, err := w.d.Data.GetAccount(ctx, r.AccountID)
	if err != nil {
		log.Warn("reading the account for the email; naming it by its id", "err", err)
		acct = &billing.Account{ID: r.AccountID}
	}
	d := w.emailContent(r, gen, acct)
	subject := d.heading() + " is ready"
	if d.Failed {
		subject = d.heading() + " failed"
	}
	td := d
	td.Account = plain(td.Account)
	td.Reason = plain(td.Reason)
	td.Top = slices.Clone(td.Top)
	for i := range td.Top {
		td.Top[i].Customer = plain(td.Top[i].Customer)
	}
	return billing.Email{To: r.Request.EmailAddressToNotify, Subject: plain(subject), HTML: renderHTML(d), Text: renderText(td)}
}

// emailContent gathers what the email shows.
func (w *Worker) emailContent(r *billing.Report, gen *generated, acct *billing.Account) emailData {
	name := r.Name
	if name == "" {
		name = billing.ReportName(r.Request.StartDate, r.Request.EndDate)
	}
	d := emailData{
		Account:    firstNonEmpty(acct.Name, acct.ID),
		AccountID:  acct.ID,
		Name:       name,
		ReportID:   r.ID,
		Failed:     r.Status == billing.ReportError,
		Reason:     r.StatusMessage,
		Start:      r.Request.StartDate.String(),
		End:        r.Request.EndDate.String(),
		Zone:       r.Request.TimeZoneID,
		Customers:  r.RowCount,
		Currency:   acct.CurrencyCode(),
		GrandTotal: groupThousands(r.GrandTotal),
		APIBase:    strings.TrimRight(w.cfg.PublicAPIURL, "/"),
	}
	if gen != nil {
		d.Top = largestCustomers(gen.result, w.cfg.TopCustomers)
		d.Zone = gen.zone
	}
	if d.Zone == "" {
		// A redelivery after a crash has no generation at hand: the same
		// rule as the rating's (request, else account, else UTC).
		d.Zone = billing.ReportZoneName(r.Request.TimeZoneID, acct.TimeZoneID)
	}
	if !d.Failed {
		link, expires := w.downloadLink(r)
		d.Link, d.LinkExpires = link, expires.UTC().Format(time.RFC1123)
		d.LinkTTL = linkLifetime(w.cfg.TokenTTL)
	}
	return d
}

// firstNonEmpty returns the first non-empty string.
func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
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
		out = append(out, topCustomer{Customer: r.Customer, Total: groupThousands(rating.FormatCents(totalOf(r)))})
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
