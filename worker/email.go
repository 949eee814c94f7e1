package worker

import (
	htmltemplate "html/template"
	"math/big"
	"slices"
	"strings"
	texttemplate "text/template"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/rating"
)

// emailData is what both parts of the email show. html/template escapes every
// value in the HTML part, customer names included; the text part strips
// control characters instead.
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

var emailHTML = htmltemplate.Must(htmltemplate.New("html").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Name}}</title></head>
<body style="font-family:Arial,Helvetica,sans-serif;color:#222">
<h1 style="font-size:20px">{{.Name}}</h1>
{{if .Failed}}<p>The report could not be produced.</p>
<p><strong>Reason:</strong> {{.Reason}}</p>
<p>Period: {{.Start}} to {{.End}}{{if .Zone}} ({{.Zone}}){{end}}</p>
{{else}}<p>Your billing report is ready.</p>
<table cellpadding="4" style="border-collapse:collapse">
<tr><th align="left">Period</th><td>{{.Start}} to {{.End}} ({{.Zone}})</td></tr>
<tr><th align="left">Customers</th><td>{{.Customers}}</td></tr>
<tr><th align="left">Grand total</th><td>{{.GrandTotal}}</td></tr>
</table>
{{if .Top}}<h2 style="font-size:16px">Largest customers</h2>
<table cellpadding="4" style="border-collapse:collapse">
<tr><th align="left">Customer</th><th align="right">Total</th></tr>
{{range .Top}}<tr><td>{{.Customer}}</td><td align="right">{{.Total}}</td></tr>
{{end}}</table>{{end}}
<p><a id="download" href="{{.Link}}">Download the report (CSV)</a></p>
<p style="font-size:12px;color:#666">This link works until {{.LinkExpires}}. After that, get a fresh link with GET /reports/{id} of the API.</p>
{{end}}</body></html>
`))

var emailText = texttemplate.Must(texttemplate.New("text").Parse(`{{.Name}}
{{if .Failed}}
The report could not be produced.
Reason: {{.Reason}}
Period: {{.Start}} to {{.End}}{{if .Zone}} ({{.Zone}}){{end}}
{{else}}
Your billing report is ready.

Period:      {{.Start}} to {{.End}} ({{.Zone}})
Customers:   {{.Customers}}
Grand total: {{.GrandTotal}}
{{if .Top}}
Largest customers:
{{range .Top}}  {{.Total}}  {{.Customer}}
{{end}}{{end}}
Download the report (CSV):
{{.Link}}

This link works until {{.LinkExpires}}.
{{end}}`))

func (w *Worker) buildEmail(r *billing.Report, gen *generated) (billing.Email, error) {
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
	var html, text strings.Builder
	if err := emailHTML.Execute(&html, d); err != nil {
		return billing.Email{}, err
	}
	td := d
	td.Reason = plain(td.Reason)
	td.Top = slices.Clone(td.Top)
	for i := range td.Top {
		td.Top[i].Customer = plain(td.Top[i].Customer)
	}
	if err := emailText.Execute(&text, td); err != nil {
		return billing.Email{}, err
	}
	return billing.Email{To: r.Request.EmailAddressToNotify, Subject: plain(subject), HTML: html.String(), Text: text.String()}, nil
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
