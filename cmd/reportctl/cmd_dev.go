package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/evovoice/billing/devstack/emulators"
	"github.com/evovoice/billing/devstack/local"
)

func init() {
	register("dev", "run the whole stack locally (what `make run` does)", runDev)
}

func runDev(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	port := fs.Int("port", local.DefaultAPIPort, "port of the local API on 127.0.0.1 (0: any free port)")
	fresh := fs.Bool("fresh", false, "start with empty tables and bucket (deletes the local DynamoDB and S3 data; demo data is loaded again)")
	dataDir := fs.String("data-dir", "", "data folder (default: .local at the repository root)")
	ddbPort := fs.Int("dynamodb-port", local.DefaultDynamoDBPort, "DynamoDB emulator port (0: any free port)")
	sqsPort := fs.Int("sqs-port", local.DefaultSQSPort, "SQS emulator port (0: any free port)")
	s3Port := fs.Int("s3-port", local.DefaultS3Port, "S3 emulator port (0: any free port)")
	sesPort := fs.Int("ses-port", local.DefaultSESPort, "SES v2 emulator and sent-mail page port (0: any free port)")
	sweep := fs.Duration("sweep-interval", local.DefaultSweepInterval, "how often the worker's sweep runs")
	demoEvents := fs.Int64("demo-events", local.DemoSeed.Events, "usage events of the demo data loaded on first start")
	shardDays := fs.Int("shard-days", 0, "at most this many UTC days per shard of a report, so small data gives many shards (0: automatic)")
	verbose := fs.Bool("v", false, "debug logging (every request)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: reportctl dev [--port 8080] [--fresh]\n\nStarts the emulators, the functions, the local API gateway and the SQS event source on 127.0.0.1. Ctrl-C stops everything.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *shardDays < 0 {
		return fmt.Errorf("--shard-days %d: want 0 or more", *shardDays)
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	return local.Run(ctx, local.Options{
		DataDir:       *dataDir,
		APIPort:       *port,
		Ports:         emulators.Ports{DynamoDB: *ddbPort, SQS: *sqsPort, S3: *s3Port, SES: *sesPort},
		Fresh:         *fresh,
		SweepInterval: max(*sweep, time.Second),
		DemoEvents:    *demoEvents,
		ShardDays:     *shardDays,
		Out:           os.Stdout,
		Log:           log,
	})
}
