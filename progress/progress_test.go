package progress

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

func TestBarDrawsThrottledAndClears(t *testing.T) {
	var out bytes.Buffer
	b := New(&out)
	clock := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	b.now = func() time.Time { return clock }

	b.Update("reading", 0, 100<<20)
	first := out.String()
	if !strings.Contains(first, "reading [") || !strings.Contains(first, "  0%") {
		t.Fatalf("first draw = %q", first)
	}
	clock = clock.Add(50 * time.Millisecond)
	b.Update("reading", 10<<20, 100<<20)
	if out.String() != first {
		t.Fatalf("redrew within %v: %q", redrawEvery, out.String())
	}
	clock = clock.Add(time.Second)
	b.Update("reading", 50<<20, 100<<20)
	if got := out.String()[len(first):]; !strings.Contains(got, " 50%") || !strings.Contains(got, "50.0 MiB / 100.0 MiB") || !strings.Contains(got, "MiB/s") {
		t.Fatalf("second draw = %q", got)
	}
	// Completion is always drawn, however soon after the last drawing.
	n := out.Len()
	b.Update("reading", 100<<20, 100<<20)
	if !strings.Contains(out.String()[n:], "100%") {
		t.Fatalf("final draw missing: %q", out.String()[n:])
	}
	b.Finish()
	if !strings.HasSuffix(out.String(), "\r") {
		t.Fatalf("Finish did not return to the line start: %q", out.String())
	}
}

func TestBarUnknownTotal(t *testing.T) {
	var out bytes.Buffer
	b := New(&out)
	b.Update("reading", 3<<10, -1)
	if got := out.String(); !strings.Contains(got, "reading  3.0 KiB") || strings.Contains(got, "%") {
		t.Fatalf("draw = %q", got)
	}
}

func TestNilBarIsQuiet(t *testing.T) {
	var b *Bar
	b.Update("x", 1, 2) // must not panic
	b.Finish()
}

func TestForTerminalSkipsFilesAndSmallJobs(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if b := ForTerminal(f, 1<<30, 1); b != nil {
		t.Fatal("a regular file got a progress bar")
	}
	if b := ForTerminal(nil, 1<<30, 1); b != nil {
		t.Fatal("nil file got a progress bar")
	}
}
