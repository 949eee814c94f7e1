package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/evovoice/billing/seed"
)

func init() {
	register("seed", "write a deterministic demo dataset in the import format", runSeed)
}

func runSeed(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	accounts := fs.Int("accounts", seed.DefaultAccounts, "number of reseller accounts")
	customers := fs.Int("customers", seed.DefaultCustomers, "number of customers in total, spread over the accounts")
	events := fs.Int64("events", seed.DefaultEvents, "number of usage events")
	seedValue := fs.Uint64("seed", 1, "random seed: the same flags always give the same bytes")
	out := fs.String("o", "", "output file (default: standard output)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: reportctl seed [--accounts N] [--customers N] [--events N] [--seed S] [-o FILE]")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg := seed.Config{Accounts: *accounts, Customers: *customers, Events: *events, Seed: *seedValue}
	return writeOutput(*out, os.Stdout, func(w io.Writer) error {
		return seed.Write(&ctxWriter{ctx: ctx, w: w}, cfg)
	})
}

// ctxWriter stops a long write when the command is interrupted.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c *ctxWriter) Write(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(b)
}

// writeOutput runs write into path, or into stdout when path is "". A file is
// written under a temporary name in the same directory and renamed into place
// only when complete, so a failure never leaves a half-written file behind.
func writeOutput(path string, stdout io.Writer, write func(io.Writer) error) (err error) {
	if path == "" {
		return write(stdout)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("creating output folder: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("creating output file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("writing output file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing output file: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("writing output file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("moving output file into place: %w", err)
	}
	return nil
}
