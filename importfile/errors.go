package importfile

import (
	"fmt"
	"sort"
	"strings"

	billing "github.com/evovoice/billing"
)

// Problem is one bad line of an import file.
type Problem struct {
	Line   int    // 1-based line number
	Reason string // what is wrong, with user text quoted
}

func (p Problem) String() string { return fmt.Sprintf("line %d: %s", p.Line, p.Reason) }

// ValidationError lists the bad lines of an import file. Problems holds the
// first MaxProblems of them by line number; Total counts them all.
type ValidationError struct {
	Problems []Problem
	Total    int
}

// printedProblems is how many problems Error() spells out; the rest are counted.
const printedProblems = 20

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the import file has %d problem(s); nothing was used:", e.Total)
	n := min(len(e.Problems), printedProblems)
	for _, p := range e.Problems[:n] {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	if rest := e.Total - n; rest > 0 {
		fmt.Fprintf(&b, "\n  ... and %d more", rest)
	}
	return b.String()
}

// Unwrap exposes the failure as the domain's EINVALID error, so that
// billing.ErrorCode and the HTTP layer treat a bad file as bad input.
func (e *ValidationError) Unwrap() error {
	shown := e.Problems[:min(len(e.Problems), printedProblems)]
	fields := make([]billing.FieldError, 0, len(shown))
	for _, p := range shown {
		fields = append(fields, billing.FieldError{ErrorCode: "InvalidFormat", FieldName: fmt.Sprintf("line %d", p.Line), Message: p.Reason})
	}
	msg := fmt.Sprintf("The import file has %d problem(s).", e.Total)
	if len(e.Problems) > 0 {
		msg = fmt.Sprintf("The import file has %d problem(s); the first: %s.", e.Total, e.Problems[0])
	}
	return &billing.Error{Code: billing.EINVALID, Message: msg, FieldErrors: fields}
}

// problemList keeps the problems with the lowest line numbers, up to max, and
// counts all: a file with millions of bad lines must not need memory for each.
type problemList struct {
	max   int
	list  []Problem
	total int
}

func (pl *problemList) add(line int, format string, args ...any) {
	pl.total++
	pl.list = append(pl.list, Problem{Line: line, Reason: fmt.Sprintf(format, args...)})
	if len(pl.list) >= 2*pl.max {
		pl.trim()
	}
}

func (pl *problemList) trim() {
	sort.SliceStable(pl.list, func(i, j int) bool { return pl.list[i].Line < pl.list[j].Line })
	if len(pl.list) > pl.max {
		pl.list = pl.list[:pl.max]
	}
}

func (pl *problemList) err() error {
	if pl.total == 0 {
		return nil
	}
	pl.trim()
	return &ValidationError{Problems: append([]Problem(nil), pl.list...), Total: pl.total}
}
