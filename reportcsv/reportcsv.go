// Package reportcsv writes a rated report as the CSV file users download (spec
// 3.3): RFC 4180, UTF-8, CRLF line ends, one row per customer and a Total row.
// It streams row by row into any io.Writer (the worker's S3 multipart upload),
// so a report's size never has to fit in memory twice, and it defuses CSV
// formula injection because customer names are typed by resellers' users and
// end up opened in spreadsheets.
package reportcsv

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/rating"
)

// Options are the report request's output choices.
type Options struct {
	IncludeCustomerIDs bool
}

// Header returns the header cells for opts: [CustomerId,]Customer,BaseCost, a
// <Item>Units,<Item>Cost pair per item after Base, then
// InternationalCosts,HasCallRecording,Total.
func Header(opts Options) []string {
	var h []string
	if opts.IncludeCustomerIDs {
		h = append(h, "CustomerId")
	}
	h = append(h, "Customer", "BaseCost")
	for _, it := range billing.Items[1:] {
		h = append(h, string(it)+"Units", string(it)+"Cost")
	}
	return append(h, "InternationalCosts", "HasCallRecording", "Total")
}

// Write streams the header, one row per res.Rows, and res.Total to w.
func Write(w io.Writer, res *rating.Result, opts Options) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	line := make([]byte, 0, 512)
	for i, h := range Header(opts) {
		if i > 0 {
			line = append(line, ',')
		}
		line = AppendTextCell(line, h)
	}
	line = append(line, '\r', '\n')
	if _, err := bw.Write(line); err != nil {
		return fmt.Errorf("writing report header: %w", err)
	}
	for i := range res.Rows {
		line = appendRow(line[:0], &res.Rows[i], opts)
		if _, err := bw.Write(line); err != nil {
			return fmt.Errorf("writing report row %d: %w", i+1, err)
		}
	}
	line = appendRow(line[:0], &res.Total, opts)
	if _, err := bw.Write(line); err != nil {
		return fmt.Errorf("writing report total: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	return nil
}

func appendRow(dst []byte, row *rating.Row, opts Options) []byte {
	if opts.IncludeCustomerIDs {
		dst = AppendTextCell(dst, row.CustomerID)
		dst = append(dst, ',')
	}
	dst = AppendTextCell(dst, row.Customer)
	dst = append(dst, ',')
	dst = rating.AppendCents(dst, row.Costs[0])
	for i := 1; i < billing.NumItems; i++ {
		dst = append(dst, ',')
		dst = rating.AppendUnits(dst, row.Units[i])
		dst = append(dst, ',')
		dst = rating.AppendCents(dst, row.Costs[i])
	}
	dst = append(dst, ',')
	dst = rating.AppendCents(dst, row.InternationalCosts)
	if row.HasCallRecording {
		dst = append(dst, ",true,"...)
	} else {
		dst = append(dst, ",false,"...)
	}
	dst = rating.AppendCents(dst, row.Total)
	return append(dst, '\r', '\n')
}

// AppendTextCell appends s as one CSV text cell. A cell that a spreadsheet
// would run as a formula (starting with =, +, -, @, tab or CR) gets a leading
// apostrophe; the cell is quoted, with quotes doubled, only when it holds a
// comma, a quote, CR or LF (RFC 4180).
func AppendTextCell(dst []byte, s string) []byte {
	defuse := len(s) > 0 && strings.IndexByte("=+-@\t\r", s[0]) >= 0
	if !strings.ContainsAny(s, ",\"\r\n") {
		if defuse {
			dst = append(dst, '\'')
		}
		return append(dst, s...)
	}
	dst = append(dst, '"')
	if defuse {
		dst = append(dst, '\'')
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, s[i])
	}
	return append(dst, '"')
}
