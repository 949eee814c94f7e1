package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/importfile"
	"github.com/evovoice/billing/progress"
	"github.com/evovoice/billing/rating"
	"github.com/evovoice/billing/reportcsv"
)

func init() {
	register("report", "rate a report offline from an import file and write its CSV", func(ctx context.Context, args []string) error {
		return runReport(ctx, args, os.Stdout, os.Stderr)
	})
}

// progressMinBytes is the input size from which a terminal gets a progress bar:
// smaller files are read before a bar would be worth looking at.
const progressMinBytes = 32 << 20

// runReport is the report subcommand with its output streams passed in, so that
// tests run it in-process.
func runReport(ctx context.Context, args []string, stdout io.Writer, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "", "the import `FILE` to read (JSON Lines, spec 3.1; required)")
	account := fs.String("account", "", "account `ID` to report on (required)")
	start := fs.String("start", "", "first day of the report, `YYYY-MM-DD` (required)")
	end := fs.String("end", "", "last day of the report, inclusive, `YYYY-MM-DD` (required)")
	zone := fs.String("tz", "", "IANA time `ZONE` of the report's days (default: the account's, else UTC)")
	ids := fs.Bool("ids", false, "add the CustomerId column")
	customer := fs.String("customer", "", "limit the report to this customer `ID` and its descendants (as for a Customer-role caller)")
	out := fs.String("o", "", "write the CSV to `FILE` (atomically) instead of standard output")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: reportctl report --data FILE.jsonl --account ID --start YYYY-MM-DD --end YYYY-MM-DD [--tz ZONE] [--ids] [--customer ID] [-o FILE]")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *data == "" {
		return errors.New("--data is required: the import file to read")
	}
	if strings.TrimSpace(*account) == "" {
		return errors.New("--account is required: the account to report on")
	}
	// The same validation as the HTTP API, so the CLI gives the same messages.
	req, err := billing.BillingReport{
		AccountID: *account, StartDate: *start, EndDate: *end, TimeZoneID: *zone, IncludeCustomerIDs: *ids,
	}.Validate(nil)
	if err != nil {
		return requestError(err)
	}
	if _, err := os.Stat(*data); err != nil {
		return fmt.Errorf("reading the import file: %w", err)
	}
	src := importfile.File(*data)
	// The live heap is mostly the 32 MiB duplicate filter, which the default
	// GOGC=100 would let the heap double around; a lower target keeps the peak
	// RSS flat in the number of events at little GC cost (the filter holds no
	// pointers to scan). An explicit GOGC wins.
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(25))
	}

	var bar *progress.Bar
	if f, ok := stderr.(*os.File); ok {
		bar = progress.ForTerminal(f, src.Size(), progressMinBytes)
	}
	opts := importfile.Options{Progress: func(p importfile.Progress) {
		bar.Update(fmt.Sprintf("pass %d, %s", p.Pass, p.Name), p.Done, p.Total)
	}}
	var rater *rating.Rater
	var currency string
	begin := func(d *importfile.Dataset) (importfile.UsageFunc, error) {
		// A second call (the file was not ordered) starts over with a new rater.
		r, cur, err := startRating(d, req, *customer, *data)
		if err != nil {
			return nil, err
		}
		rater, currency = r, cur
		return r.Add, nil
	}
	ds, err := importfile.Scan(ctx, src, opts, begin)
	bar.Finish()
	if err != nil {
		return cliError(err)
	}
	if rater == nil { // Scan promises a start call before success; guard the promise
		return errors.New("internal error: the import file was read but no report was started")
	}
	res := rater.Result()
	err = writeOutput(*out, stdout, func(w io.Writer) error {
		return reportcsv.Write(w, res, reportcsv.Options{IncludeCustomerIDs: req.IncludeCustomerIDs})
	})
	if err != nil {
		return err
	}
	if *out != "" {
		fmt.Fprintf(stderr, "%s: %d customers, %d of %d usage events in the period, grand total %s %s, written to %s\n",
			billing.ReportName(req.StartDate, req.EndDate), len(res.Rows), res.Counted, ds.Summary.UsageEvents,
			currency, rating.FormatCents(res.Total.Total), *out)
	}
	return nil
}

// startRating makes the rater of req over the dataset d of the file named
// data: the account must be in it (and customer, when given, one of its
// customers); the period lies in the report's zone (billing.ReportZone). It
// also returns the account's currency.
func startRating(d *importfile.Dataset, req billing.ReportRequest, customer, data string) (*rating.Rater, string, error) {
	acct, ok := d.Account(req.AccountID)
	if !ok {
		return nil, "", billing.Errorf(billing.ENOTFOUND, "account %q is not in %s", req.AccountID, data)
	}
	loc, err := billing.ReportZone(req.TimeZoneID, acct.TimeZoneID)
	if err != nil {
		return nil, "", err
	}
	if customer != "" && !hasCustomer(d, req.AccountID, customer) {
		return nil, "", billing.Errorf(billing.ENOTFOUND, "customer %q is not a customer of account %q", customer, req.AccountID)
	}
	period := rating.Period{Start: req.StartDate, End: req.EndDate, Loc: loc}
	r, err := rating.NewRater(acct, d.CustomersOf(acct.ID), period, customer)
	if err != nil {
		return nil, "", err
	}
	return r, acct.CurrencyCode(), nil
}

func hasCustomer(d *importfile.Dataset, accountID, id string) bool {
	for _, c := range d.CustomersOf(accountID) {
		if c.ID == id {
			return true
		}
	}
	return false
}

// requestError lists every failed field of a request validation, in the API's words.
func requestError(err error) error {
	var be *billing.Error
	if !errors.As(err, &be) || len(be.FieldErrors) == 0 {
		return err
	}
	msgs := make([]string, len(be.FieldErrors))
	for i, fe := range be.FieldErrors {
		msgs[i] = fe.Message
	}
	return fmt.Errorf("invalid request: %s", strings.Join(msgs, " "))
}

// cliError shows the caller-safe message of a domain error without its code
// prefix; an import file's problems are shown in full.
func cliError(err error) error {
	var ve *importfile.ValidationError
	var be *billing.Error
	if errors.As(err, &ve) {
		return ve
	}
	if errors.As(err, &be) && !billing.IsInternal(be.Code) {
		return errors.New(be.Message)
	}
	return err
}
