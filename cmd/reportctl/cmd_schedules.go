package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/evovoice/billing/appconfig"
	"github.com/evovoice/billing/devstack/emulators"
	"github.com/evovoice/billing/devstack/local"
	"github.com/evovoice/billing/resources"
	"github.com/evovoice/billing/schedules"
	"github.com/evovoice/billing/worker/wire"
)

func init() {
	register("schedules", "report schedules: tick --local --at <RFC 3339> fires the schedules due at that instant", func(ctx context.Context, args []string) error {
		return runSchedules(ctx, args, os.Stdout, os.Stderr)
	})
}

func runSchedules(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "tick" {
		fmt.Fprintln(stderr, "usage: reportctl schedules tick --local --at <RFC 3339> [--data-dir DIR]")
		return errors.New("the only schedules command is tick")
	}
	fs := flag.NewFlagSet("schedules tick", flag.ContinueOnError)
	fs.SetOutput(stderr)
	toLocal := fs.Bool("local", false, "tick the running local stack (the one make run started); required")
	dataDir := fs.String("data-dir", "", "local stack data folder (default: .local at the repository root)")
	at := fs.String("at", "", "the tick's instant, RFC 3339 (e.g. 2026-11-01T12:00:00Z); default now")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: reportctl schedules tick --local --at <RFC 3339> [--data-dir DIR]\n\n"+
			"Sends the run function's tick event {\"sweep\":true,\"time\":<at>} for that instant to the\n"+
			"running local stack's tick handler: every schedule due at that instant fires its missed\n"+
			"periods, oldest first, each exactly once (a repeated tick makes nothing new); the stack's\n"+
			"worker then runs the reports and emails them.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if !*toLocal {
		fs.Usage()
		return errors.New("--local is required: on AWS the EventBridge rule ticks the run function (aws lambda invoke with the same event replays one)")
	}
	when := time.Now().UTC()
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return fmt.Errorf("--at must be RFC 3339, e.g. 2026-11-01T12:00:00Z: %w", err)
		}
		when = t
	}
	cfg, err := localRunConfig(*dataDir)
	if err != nil {
		return err
	}
	ticker, err := wire.Ticker(cfg)
	if err != nil {
		return err
	}
	// The event the EventBridge rule sends, through the handler's own
	// decoding; the local stack's worker sweeps on its own interval.
	event, err := json.Marshal(schedules.TickEvent{Sweep: true, Time: when.Format(time.RFC3339)})
	if err != nil {
		return fmt.Errorf("encoding the tick event: %w", err)
	}
	out, err := ticker.WithTicks(func(context.Context, json.RawMessage) (any, error) {
		return "the local stack sweeps on its own interval", nil
	})(ctx, event)
	if resp, ok := out.(schedules.TickResponse); ok {
		fmt.Fprintf(stdout, "tick at %s: %d due, %d periods fired, %d waiting for room under the active-report limit, %d disabled\n",
			when.Format(time.RFC3339), resp.Tick.Due, resp.Tick.Fired, resp.Tick.Waiting, resp.Tick.Disabled)
	}
	return err
}

// localRunConfig is the run function's configuration for the running local
// stack, read from its stack file as `import --local` does.
func localRunConfig(dataDir string) (appconfig.Config, error) {
	if dataDir == "" {
		var err error
		if dataDir, err = local.DefaultDataDir(); err != nil {
			return appconfig.Config{}, err
		}
	}
	running, err := local.ReadRunning(dataDir)
	if err != nil {
		return appconfig.Config{}, err
	}
	env := running.Env
	cfg := appconfig.Config{
		Stage:                 "local",
		ReportsTable:          env[resources.EnvReportsTable],
		BillingTable:          env[resources.EnvBillingTable],
		SchedulesTable:        env[resources.EnvSchedulesTable],
		JobsQueueURL:          env[resources.EnvJobsQueueURL],
		AllowInsecureWebhooks: env[resources.EnvAllowInsecureHooks] == "true",
		AWS: emulators.LocalConfig(map[string]string{
			"DYNAMODB": env["AWS_ENDPOINT_URL_DYNAMODB"],
			"SQS":      env["AWS_ENDPOINT_URL_SQS"],
		}),
	}
	if cfg.SchedulesTable == "" || env["AWS_ENDPOINT_URL_DYNAMODB"] == "" || env["AWS_ENDPOINT_URL_SQS"] == "" {
		return appconfig.Config{}, fmt.Errorf("the local stack file in %s lacks the schedules table or an endpoint; restart the stack", dataDir)
	}
	return cfg, nil
}
