// Package progress draws a one-line progress bar on a terminal for long
// command-line jobs (reading a large import file for `reportctl report` or
// `reportctl import`). It draws nothing when the output is not a terminal, so
// logs and pipes stay clean, and redraws at most a few times a second so that
// drawing never costs measurable time.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// Bar is a progress bar. A nil *Bar is valid and draws nothing, so callers need
// no "is it enabled" checks.
type Bar struct {
	w       io.Writer
	label   string
	done    int64
	total   int64
	started time.Time
	drawn   time.Time
	width   int // of the last line drawn, to blank it out on Finish
	now     func() time.Time
}

// redrawEvery throttles drawing.
const redrawEvery = 200 * time.Millisecond

// New returns a bar that draws on w unconditionally.
func New(w io.Writer) *Bar {
	return &Bar{w: w, now: time.Now}
}

// ForTerminal returns a bar on f if f is a terminal and the job is at least
// minTotal units big, else nil (no bar).
func ForTerminal(f *os.File, total, minTotal int64) *Bar {
	if f == nil || total < minTotal || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return New(f)
}

// Update sets what is being done and how far it is (total < 0: unknown), and
// redraws if the last drawing is old enough or the label changed.
func (b *Bar) Update(label string, done, total int64) {
	if b == nil {
		return
	}
	now := b.now()
	if b.started.IsZero() || label != b.label {
		b.started, b.label, b.drawn = now, label, time.Time{}
	}
	b.done, b.total = done, total
	if now.Sub(b.drawn) < redrawEvery && done != total {
		return
	}
	b.drawn = now
	line := b.render(now)
	pad := ""
	if n := b.width - len(line); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	b.width = len(line)
	fmt.Fprintf(b.w, "\r%s%s", line, pad)
}

// Finish clears the bar so that later output starts on a clean line.
func (b *Bar) Finish() {
	if b == nil || b.width == 0 {
		return
	}
	fmt.Fprintf(b.w, "\r%s\r", strings.Repeat(" ", b.width))
	b.width = 0
}

const barCells = 30

func (b *Bar) render(now time.Time) string {
	rate := ""
	if secs := now.Sub(b.started).Seconds(); secs > 0 {
		rate = fmt.Sprintf("  %s/s", size(int64(float64(b.done)/secs)))
	}
	if b.total <= 0 {
		return fmt.Sprintf("%s  %s%s", b.label, size(b.done), rate)
	}
	frac := min(float64(b.done)/float64(b.total), 1)
	full := int(frac * barCells)
	return fmt.Sprintf("%s [%s%s] %3.0f%%  %s / %s%s", b.label, strings.Repeat("#", full),
		strings.Repeat("-", barCells-full), frac*100, size(b.done), size(b.total), rate)
}

// size formats a byte count for people (the bar's only use is bytes read).
func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
