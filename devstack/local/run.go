package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/devstack/devauth"
	"github.com/evovoice/billing/devstack/emulators"
	"github.com/evovoice/billing/devstack/eventsource"
	"github.com/evovoice/billing/devstack/gateway"
	"github.com/evovoice/billing/resources"
)

// Default ports of the local stack on 127.0.0.1. The emulators' ports are
// fixed (not random) so that the AWS CLI and other tools can be pointed at
// them with a documented --endpoint-url.
const (
	DefaultAPIPort      = 8080
	DefaultDynamoDBPort = 8000
	DefaultSQSPort      = 9324
	DefaultS3Port       = 9000
	DefaultSESPort      = 8005
)

// DefaultSweepInterval is how often the local stack runs the worker's sweep:
// much shorter than on AWS (resources.SweepInterval) so that recovery can be
// watched while developing.
const DefaultSweepInterval = resources.LocalSweepInterval

// Demo data loaded on first start (reportctl seed's defaults).
const (
	DemoAccountID = "acct-001"
	demoFile      = "demo-data.jsonl"
	demoMarker    = "demo-data.loaded"
)

// Options configure Run.
type Options struct {
	DataDir       string // default <repo>/.local
	ToolsDir      string // default <repo>/_tools
	APIPort       int    // 0 picks a free port
	Ports         emulators.Ports
	Fresh         bool // wipe the DynamoDB and S3 data before starting
	SweepInterval time.Duration
	DemoEvents    int64        // usage events of the demo data; default DemoSeed.Events
	ShardDays     int          // at most this many UTC days per shard of a report (SHARD_DAYS); 0: no cap
	Out           io.Writer    // where the ready banner goes (stdout)
	Log           *slog.Logger // the stack's own log (stderr)
}

// Run starts the local stack and serves until ctx ends, then stops everything
// it started: the gateway, the event source, the sweep and the emulators.
func Run(ctx context.Context, o Options) (err error) {
	defer func() {
		// Ctrl-C while starting (say, during the first demo-data load) is a
		// request to stop, not a failure; the next start resumes.
		if stoppedWhileStarting(ctx, err) {
			o.Log.Info("stopped while starting", "detail", err)
			err = nil
		}
	}()
	if err := o.fillDefaults(); err != nil {
		return err
	}
	dynamoDir, s3File, err := prepareData(o)
	if err != nil {
		return err
	}

	// Take the API port first: failing on a busy port should not cost an
	// emulator start.
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(o.APIPort)))
	if err != nil {
		return fmt.Errorf("listening on 127.0.0.1:%d (choose another with --port; through make: make run RUN_ARGS='--port 8081'): %w", o.APIPort, err)
	}
	defer ln.Close()
	apiURL := "http://" + ln.Addr().String()

	emuLog, err := os.OpenFile(filepath.Join(o.DataDir, "emulators.log"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("opening the emulators' log: %w", err)
	}
	defer emuLog.Close()
	o.Log.Info("starting the emulators (first start installs the npm packages)", "log", emuLog.Name())
	st, err := emulators.Start(ctx, emulators.Options{DataDir: dynamoDir, S3File: s3File, Ports: o.Ports, Stage: "local", Log: emuLog, ToolsDir: o.ToolsDir,
		Logger: o.Log.With("component", "emulators")})
	if err != nil {
		return fmt.Errorf("starting the emulators (their output is in %s): %w", emuLog.Name(), err)
	}
	defer func() {
		if cerr := st.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("stopping the emulators: %w", cerr)
		}
	}()

	env, fns, err := startFunctions(ctx, st, o, apiURL)
	if err != nil {
		return err
	}
	demoSchedule, err := seedDemo(ctx, fns, o)
	if err != nil {
		return err
	}

	key, err := devauth.LoadOrCreateKey(o.DataDir)
	if err != nil {
		return err
	}
	gw := gateway.New(gateway.Config{
		Functions:  map[gateway.Target]gateway.Function{gateway.Submit: fns.submit, gateway.Status: fns.status},
		Authorizer: devauth.NewValidator(key.Public(), devauth.Issuer, devauth.Audience),
		Log:        o.Log.With("component", "gateway"),
		Region:     emulators.Region,
		// The same function names as a deployed "local" stage would have.
		FunctionPrefix: st.Names.FunctionPrefix,
	})
	srv := &http.Server{Handler: gw, ReadHeaderTimeout: 10 * time.Second}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	serveErr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			serveErr <- err
		}
	}()
	if err := startWorker(runCtx, &wg, o, st, fns); err != nil {
		return err
	}

	running := Running{PID: os.Getpid(), APIURL: apiURL, MailURL: st.SESURL, Env: publicEnv(env)}
	defer os.Remove(filepath.Join(o.DataDir, StackFile))
	if err := announce(o, running, st, key, demoSchedule); err != nil {
		return err
	}

	err = waitForStop(ctx, serveErr, st, emuLog.Name())
	o.Log.Info("stopping the local stack")
	stop()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	srv.Shutdown(shutdownCtx)
	wg.Wait()
	return err
}

// stoppedWhileStarting tells a Ctrl-C during the start from a failure.
func stoppedWhileStarting(ctx context.Context, err error) bool {
	return err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled)
}

// announce records the running stack (for `reportctl import --local` and
// the others) and prints the ready banner with a dev token.
func announce(o Options, running Running, st *emulators.Stack, key *devauth.Key, demoSchedule *billing.Schedule) error {
	if err := writeRunning(o.DataDir, running); err != nil {
		return err
	}
	token, err := key.Mint(devauth.Claims{Subject: "dev-manager", Roles: []string{string(billing.RoleManager)}, AccountIDs: []string{DemoAccountID}, TTL: 12 * time.Hour}, time.Now())
	if err != nil {
		return err
	}
	printBanner(o.Out, running, st, token, scheduleBanner(running.APIURL, demoSchedule))
	return nil
}

// startFunctions gives the functions their environment and builds them.
// They read their configuration from env, the variables a Lambda would
// have, and talk to the emulators through the stack's own AWS
// configuration: the process environment is neither read nor changed.
func startFunctions(ctx context.Context, st *emulators.Stack, o Options, apiURL string) (map[string]string, functions, error) {
	env, err := functionEnv(st, o.DataDir, apiURL)
	if err != nil {
		return nil, functions{}, err
	}
	if o.ShardDays > 0 {
		env[resources.EnvShardDays] = strconv.Itoa(o.ShardDays)
	}
	fns, err := buildFunctions(ctx, o.Log, env, st.AWS)
	return env, fns, err
}

// startWorker runs the local SQS event source (the run function's trigger)
// and the sweep's schedule until ctx ends; wg tracks both.
func startWorker(ctx context.Context, wg *sync.WaitGroup, o Options, st *emulators.Stack, fns functions) error {
	src, err := eventsource.New(eventsource.Config{
		Client: sqs.NewFromConfig(st.AWS), QueueURL: st.JobsQueueURL, Region: emulators.Region,
		Handler: fns.handleSQS, Log: o.Log.With("component", "sqs-event-source"),
		FunctionName: st.Names.FunctionPrefix + resources.FunctionRun,
		Timeout:      resources.LocalWorkerTimeout,
	})
	if err != nil {
		return err
	}
	wg.Add(2)
	go func() { defer wg.Done(); src.Run(ctx) }()
	go func() {
		defer wg.Done()
		eventsource.Every(ctx, o.SweepInterval, o.Log.With("component", "sweep"), "sweep", fns.sweep)
	}()
	return nil
}

// waitForStop waits for ctx to end (nil), or the API server or an emulator
// to fail for good (why the stack stops).
func waitForStop(ctx context.Context, serveErr <-chan error, st *emulators.Stack, emuLog string) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-serveErr:
		return fmt.Errorf("serving the local API: %w", err)
	case err := <-st.Failed():
		// An emulator died and its supervisor could not bring it back: every
		// request would answer 503 from now on, so the stack stops and says why.
		return fmt.Errorf("the local stack cannot go on (emulator output in %s): %w", emuLog, err)
	}
}

// fillDefaults fills in the options left zero; the data and tools folders
// default to the repository's.
func (o *Options) fillDefaults() error {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = DefaultSweepInterval
	}
	if o.DataDir != "" && o.ToolsDir != "" {
		return nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("finding the repository: %w", err)
	}
	root, err := FindRoot(wd)
	if err != nil {
		return err
	}
	if o.DataDir == "" {
		o.DataDir = filepath.Join(root, DataDirName)
	}
	if o.ToolsDir == "" {
		o.ToolsDir = filepath.Join(root, "_tools")
	}
	return nil
}

// prepareData makes the data folder, refuses one another stack runs on, and
// with Fresh deletes the DynamoDB and S3 data. Report CSVs live next to the
// DynamoDB data, so that a restart keeps both the Completed reports and the
// files their links point to.
func prepareData(o Options) (dynamoDir, s3File string, err error) {
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return "", "", fmt.Errorf("creating the data folder: %w", err)
	}
	if r, err := ReadRunning(o.DataDir); err == nil {
		return "", "", fmt.Errorf("a local stack (pid %d) already runs on this data folder at %s; stop it first", r.PID, r.APIURL)
	}
	dynamoDir, s3File = filepath.Join(o.DataDir, "dynamodb"), filepath.Join(o.DataDir, S3FileName)
	if !o.Fresh {
		return dynamoDir, s3File, nil
	}
	o.Log.Info("--fresh: deleting the local DynamoDB and S3 data", "dir", dynamoDir, "s3", s3File)
	if err := os.RemoveAll(dynamoDir); err != nil {
		return "", "", fmt.Errorf("deleting the local DynamoDB data: %w", err)
	}
	if err := os.Remove(s3File); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", "", fmt.Errorf("deleting the local S3 data: %w", err)
	}
	return dynamoDir, s3File, nil
}

// seedDemo loads the demo data on the first start and makes the demo
// schedule.
func seedDemo(ctx context.Context, fns functions, o Options) (*billing.Schedule, error) {
	demo := DemoSeed
	if o.DemoEvents > 0 {
		demo.Events = o.DemoEvents
	}
	if err := seedOnce(ctx, fns.billing, demo, o.DataDir, o.Log); err != nil {
		return nil, err
	}
	return seedDemoSchedule(ctx, fns.schedules, fns.billing, time.Now(), o.Log)
}

// functionEnv is the functions' environment: the emulators' endpoints and
// dummy credentials, resource names, and local-only settings and secrets.
func functionEnv(st *emulators.Stack, dataDir, apiURL string) (map[string]string, error) {
	env := st.Env()
	signing, err := localSecret(dataDir, "signing-secret")
	if err != nil {
		return nil, err
	}
	webhook, err := localSecret(dataDir, "webhook-secret")
	if err != nil {
		return nil, err
	}
	env["STAGE"] = "local"
	env[resources.EnvPublicAPIURL] = apiURL
	env[resources.EnvAllowInsecureHooks] = "true"
	env[resources.EnvSigningSecret] = signing
	env[resources.EnvWebhookSecret] = webhook
	env[resources.EnvSenderAddress] = "reports@billing.local.invalid"
	env[resources.EnvLogFormat] = "text"
	env["AWS_LAMBDA_FUNCTION_NAME"] = "" // not on Lambda: text logs, no Lambda-only behaviour
	return env, nil
}

// publicEnv drops the secrets from env before it is written to the stack file.
func publicEnv(env map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		if k != resources.EnvSigningSecret && k != resources.EnvWebhookSecret && k != "AWS_LAMBDA_FUNCTION_NAME" {
			out[k] = v
		}
	}
	return out
}

// localSecret returns the secret stored in dataDir/name, creating 32 random
// bytes (hex) with mode 0600 on first use, so that download links and cursors
// survive a restart of the stack.
func localSecret(dataDir, name string) (string, error) {
	path := filepath.Join(dataDir, name)
	if data, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(data))) >= 64 {
		return strings.TrimSpace(string(data)), nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("reading the local %s: %w", name, err)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generating the local %s: %w", name, err)
	}
	secret := hex.EncodeToString(b[:])
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing the local %s: %w", name, err)
	}
	return secret, nil
}

func printBanner(w io.Writer, r Running, st *emulators.Stack, token, schedules string) {
	fmt.Fprintf(w, `
The local billing-reports stack is up.

  API:         %s   (try %s/openapi.json)
  Sent mail:   %s
  DynamoDB:    %s   SQS: %s   S3: %s   SES v2: %s

The API's address and a Manager token for the demo account %s (12 h),
for the examples of README.md:

  export API=%s
  export TOKEN=%s

Submit a report:

  curl -sS -X POST %s/reports/billing \
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"accountId":"%s","startDate":"2026-10-01","endDate":"2026-10-31","emailAddressToNotify":"you@example.com"}'

Then GET %s/reports/<id> with the same header. More tokens: go run ./cmd/reportctl token --help
`, r.APIURL, r.APIURL, r.MailURL, st.DynamoDBURL, st.SQSURL, st.S3URL, st.SESURL, DemoAccountID, r.APIURL, token, r.APIURL, DemoAccountID, r.APIURL)
	fmt.Fprint(w, schedules)
	fmt.Fprintln(w, "\nPress Ctrl-C to stop.")
}
