package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"golang.org/x/term"

	"github.com/evovoice/billing/ddbstore"
	"github.com/evovoice/billing/devstack/emulators"
	"github.com/evovoice/billing/devstack/local"
	"github.com/evovoice/billing/importfile"
	"github.com/evovoice/billing/resources"
)

func init() {
	register("import", "validate a JSON Lines file and load it into the billing-data table", func(ctx context.Context, args []string) error {
		return runImport(ctx, args, os.Stdout, os.Stderr, term.IsTerminal(int(os.Stderr.Fd())))
	})
}

// runImport validates the whole file before writing anything (spec 3.1). The
// target is the running local stack with --local, otherwise whatever the
// standard AWS configuration says (profile, region, AWS_ENDPOINT_URL_DYNAMODB)
// and the table in --table or BILLING_TABLE.
func runImport(ctx context.Context, args []string, stdout, stderr io.Writer, showProgress bool) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	toLocal := fs.Bool("local", false, "write to the running local stack (the one make run started)")
	dataDir := fs.String("data-dir", "", "local stack data folder, with --local (default: .local at the repository root)")
	table := fs.String("table", "", "billing-data table (default: $"+resources.EnvBillingTable+")")
	concurrency := fs.Int("concurrency", 8, "BatchWriteItem requests in flight")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: reportctl import FILE.jsonl [--local] [--table NAME]\n\nValidates the whole file first: every bad line is reported and nothing is written if any is bad.\nRe-importing the same file changes nothing.")
		fs.PrintDefaults()
	}
	// The file may come before or after the flags.
	if err := fs.Parse(args); err != nil {
		return err
	}
	var file string
	if fs.NArg() > 0 {
		file = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return err
		}
	}
	if file == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("give exactly one import file")
	}
	if *concurrency < 1 {
		return errors.New("--concurrency must be at least 1")
	}
	if _, err := os.Stat(file); err != nil {
		return fmt.Errorf("opening the import file: %w", err)
	}

	awsCfg, tableName, where, err := importTarget(ctx, *toLocal, *dataDir, *table)
	if err != nil {
		return err
	}
	store := ddbstore.NewBillingStore(dynamodb.NewFromConfig(awsCfg), tableName)
	bar := newProgressBar(stderr, showProgress)
	sum, err := local.Import(ctx, importfile.File(file), store, local.ImportOptions{Writers: *concurrency, Progress: bar.update})
	bar.finish()
	if err != nil {
		var verr *importfile.ValidationError
		if errors.As(err, &verr) {
			return fmt.Errorf("%s: %w", file, err)
		}
		if sum.UsageWritten > 0 {
			return fmt.Errorf("%w\n(%d of %d usage events were written before the failure; importing the file again is safe and completes it)", err, sum.UsageWritten, sum.UsageEvents)
		}
		return err
	}
	rate := float64(sum.UsageWritten) / max(sum.Writing.Seconds(), 1e-9)
	fmt.Fprintf(stdout, "imported %s into %s: %d accounts, %d customers, %d usage events (%d repeated lines skipped); validated in %v, written in %v (%.0f events/s)\n",
		file, where, sum.Accounts, sum.Customers, sum.UsageWritten, int64(sum.RepeatedRecords)+sum.RepeatedUsage,
		sum.Validation.Round(time.Millisecond), sum.Writing.Round(time.Millisecond), rate)
	return nil
}

// importTarget resolves where an import goes.
func importTarget(ctx context.Context, toLocal bool, dataDir, table string) (aws.Config, string, string, error) {
	if toLocal {
		if dataDir == "" {
			var err error
			if dataDir, err = local.DefaultDataDir(); err != nil {
				return aws.Config{}, "", "", err
			}
		}
		running, err := local.ReadRunning(dataDir)
		if err != nil {
			return aws.Config{}, "", "", err
		}
		endpoint := running.Env["AWS_ENDPOINT_URL_DYNAMODB"]
		if table == "" {
			table = running.Env[resources.EnvBillingTable]
		}
		if endpoint == "" || table == "" {
			return aws.Config{}, "", "", fmt.Errorf("the local stack file in %s lacks the DynamoDB endpoint or table; restart the stack", dataDir)
		}
		return emulators.LocalConfig(map[string]string{"DYNAMODB": endpoint}), table, "the local stack (" + table + ")", nil
	}
	if table == "" {
		table = os.Getenv(resources.EnvBillingTable)
	}
	if table == "" {
		return aws.Config{}, "", "", fmt.Errorf("no table: pass --table or set %s (or use --local for the local stack)", resources.EnvBillingTable)
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, "", "", fmt.Errorf("loading the AWS configuration: %w", err)
	}
	return cfg, table, table + " in " + cfg.Region, nil
}

// progressBar draws one self-overwriting line on a terminal, and nothing
// otherwise (a log file should not fill with carriage returns).
type progressBar struct {
	mu      sync.Mutex
	w       io.Writer
	on      bool
	last    time.Time
	started time.Time
	drawn   bool
}

func newProgressBar(w io.Writer, on bool) *progressBar {
	return &progressBar{w: w, on: on, started: time.Now()}
}

func (b *progressBar) update(p local.ImportProgress) {
	if !b.on {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if now.Sub(b.last) < 100*time.Millisecond && p.Done < p.Total {
		return
	}
	b.last = now
	const width = 30
	frac := 0.0
	if p.Total > 0 {
		frac = min(1, float64(p.Done)/float64(p.Total))
	}
	filled := int(frac * width)
	unit := "events"
	done, total := p.Done, p.Total
	if p.Phase == "validating" {
		unit, done, total = "MiB", p.Done>>20, p.Total>>20
	}
	fmt.Fprintf(b.w, "\r%-10s [%s%s] %3.0f%% %d/%d %s  %v ", p.Phase, strings.Repeat("=", filled), strings.Repeat(" ", width-filled),
		frac*100, done, total, unit, now.Sub(b.started).Round(time.Second))
	b.drawn = true
}

func (b *progressBar) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.drawn {
		fmt.Fprintln(b.w)
	}
}
