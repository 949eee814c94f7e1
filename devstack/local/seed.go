package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/importfile"
	"github.com/evovoice/billing/seed"
)

// DemoSeed is the demo dataset: `reportctl seed`'s defaults.
var DemoSeed = seed.Config{Accounts: seed.DefaultAccounts, Customers: seed.DefaultCustomers, Events: seed.DefaultEvents, Seed: 1}

// seedOnce loads the demo data unless it is complete: the demo account is in
// the table (so the DynamoDB data was not deleted) and the marker file written
// after the last successful load exists (so a load interrupted by Ctrl-C is
// done again; writes are puts by id, so the repeat changes nothing).
func seedOnce(ctx context.Context, store billingStore, demo seed.Config, dataDir string, log *slog.Logger) error {
	marker := filepath.Join(dataDir, demoMarker)
	_, err := store.GetAccount(ctx, DemoAccountID)
	switch {
	case err == nil:
		if _, statErr := os.Stat(marker); statErr == nil {
			log.Info("demo data already loaded", "account", DemoAccountID)
			return nil
		}
	case billing.ErrorCode(err) != billing.ENOTFOUND:
		return fmt.Errorf("checking for the demo data: %w", err)
	}
	os.Remove(marker)
	path := filepath.Join(dataDir, demoFile)
	if err := writeDemoFile(path, demo); err != nil {
		return err
	}
	log.Info("loading demo data (first start)", "file", path, "events", demo.Events)
	sum, err := Import(ctx, importfile.File(path), store, ImportOptions{})
	if err != nil {
		return fmt.Errorf("loading the demo data: %w", err)
	}
	if err := os.WriteFile(marker, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o600); err != nil {
		return fmt.Errorf("marking the demo data as loaded: %w", err)
	}
	log.Info("demo data loaded", "accounts", sum.Accounts, "customers", sum.Customers, "events", sum.UsageWritten, "took", (sum.Validation + sum.Writing).Round(time.Millisecond))
	return nil
}

func writeDemoFile(path string, demo seed.Config) (err error) {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("writing the demo data: %w", err)
	}
	bw := bufio.NewWriter(f)
	err = seed.Write(bw, demo)
	err = errors.Join(err, bw.Flush(), f.Close())
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing the demo data: %w", err)
	}
	return os.Rename(tmp, path)
}
