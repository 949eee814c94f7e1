package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func seedBytes(t *testing.T, args ...string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "seed.jsonl")
	if err := runSeed(context.Background(), append(args, "-o", out)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSeedIsDeterministic(t *testing.T) {
	args := []string{"--accounts", "2", "--customers", "9", "--events", "2000", "--seed", "7"}
	a, b := seedBytes(t, args...), seedBytes(t, args...)
	if !bytes.Equal(a, b) {
		t.Fatal("the same flags gave different bytes")
	}
	c := seedBytes(t, "--accounts", "2", "--customers", "9", "--events", "2000", "--seed", "8")
	if sha256.Sum256(a) == sha256.Sum256(c) {
		t.Fatal("a different seed gave the same bytes")
	}
	if n := strings.Count(string(a), "\n"); n != 2+9+2000 {
		t.Fatalf("%d lines, want %d", n, 2+9+2000)
	}
}

// The seeded data must be a valid import file that reports can be made from.
func TestSeedFeedsReport(t *testing.T) {
	data := filepath.Join(t.TempDir(), "demo.jsonl")
	if err := runSeed(context.Background(), []string{"--events", "5000", "-o", data}); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	err := runReport(context.Background(), []string{"--data", data, "--account", "acct-002", "--start", "2026-08-01", "--end", "2026-10-31", "--ids"}, &out, &errOut)
	if err != nil {
		t.Fatalf("report on seeded data: %v", err)
	}
	rows := strings.Split(strings.TrimSuffix(out.String(), "\r\n"), "\r\n")
	if len(rows) < 3 || !strings.HasPrefix(rows[len(rows)-1], ",Total,") {
		t.Fatalf("report:\n%s", out.String())
	}
}

func TestSeedRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--accounts", "0"},
		{"--accounts", "5", "--customers", "2"},
		{"--events", "-1"},
		{"extra"},
	} {
		if err := runSeed(context.Background(), append(args, "-o", filepath.Join(t.TempDir(), "x"))); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
