package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/importfile"
	"github.com/evovoice/billing/seed"
)

// BenchmarkReport measures `reportctl report` end to end (the built binary,
// exec'd) on seeded data against the floor of decoding the same file with the
// same decoder and nothing else, and the report process's peak RSS:
//
//	report-events/s  usage lines of the file per second of the whole report
//	parse-events/s   the same for importfile.DecodeUsage (in-process)
//	ratio            report time / parse time (target <= 1.5)
//	peak-RSS-MB      getrusage ru_maxrss of the report process (target < 100, flat in N)
//
// Datasets are generated once into build/bench-data (or $BENCH_DATA_DIR).
func BenchmarkReport(b *testing.B) {
	for _, n := range []int64{1_000_000, 4_000_000} {
		b.Run(fmt.Sprintf("events=%dM", n/1_000_000), func(b *testing.B) {
			data := benchDataset(b, n)
			bin := reportctlBinary(b)
			var parse, report time.Duration
			var peakKB int64
			for b.Loop() {
				start := time.Now()
				got, err := importfile.DecodeUsage(context.Background(), importfile.File(data), func(*billing.UsageEvent) error { return nil })
				if err != nil || got != n {
					b.Fatalf("decoded %d events (%v), want %d", got, err, n)
				}
				parse += time.Since(start)

				cmd := exec.Command(bin, "report", "--data", data, "--account", "acct-001", "--start", "2026-08-01", "--end", "2026-10-31")
				var stderr bytes.Buffer
				cmd.Stderr = &stderr // stdout (the CSV) goes to /dev/null
				start = time.Now()
				if err := cmd.Run(); err != nil {
					b.Fatalf("reportctl report: %v\n%s", err, stderr.String())
				}
				report += time.Since(start)
				if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
					peakKB = max(peakKB, ru.Maxrss) // KiB on Linux
				}
			}
			runs := float64(b.N)
			b.ReportMetric(float64(n)*runs/report.Seconds(), "report-events/s")
			b.ReportMetric(float64(n)*runs/parse.Seconds(), "parse-events/s")
			b.ReportMetric(report.Seconds()/parse.Seconds(), "ratio")
			b.ReportMetric(float64(peakKB)/1024, "peak-RSS-MB")
		})
	}
}

// benchDataset returns the path of a seeded dataset of n usage events,
// generating it on first use (atomically, so an interrupted run leaves no
// truncated file behind).
func benchDataset(b *testing.B, n int64) string {
	b.Helper()
	dir := os.Getenv("BENCH_DATA_DIR")
	if dir == "" {
		dir = filepath.Join(repoRoot(b), "build", "bench-data")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("seed-a3-c40-e%d-s1.jsonl", n))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	err := writeOutput(path, nil, func(w io.Writer) error {
		return seed.Write(w, seed.Config{Accounts: 3, Customers: 40, Events: n, Seed: 1})
	})
	if err != nil {
		b.Fatal(err)
	}
	return path
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// reportctlBinary builds reportctl once per benchmark run, as `make` would.
func reportctlBinary(b *testing.B) string {
	b.Helper()
	buildOnce.Do(func() {
		dir := filepath.Join(repoRoot(b), "build", "bench-data")
		if buildErr = os.MkdirAll(dir, 0o755); buildErr != nil {
			return
		}
		builtBin = filepath.Join(dir, "reportctl")
		out, err := exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		b.Fatal(buildErr)
	}
	return builtBin
}

func repoRoot(b *testing.B) string {
	b.Helper()
	dir, err := os.Getwd()
	if err != nil {
		b.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			b.Fatalf("no go.mod above %s", dir)
		}
	}
}
