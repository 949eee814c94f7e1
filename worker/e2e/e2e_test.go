//go:build integration

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/appconfig"
	"github.com/evovoice/billing/ddbstore"
	"github.com/evovoice/billing/devstack/emulators"
	"github.com/evovoice/billing/devstack/eventsource"
	"github.com/evovoice/billing/httpapi"
	"github.com/evovoice/billing/lambdaedge"
	"github.com/evovoice/billing/rating/ratingtest"
	"github.com/evovoice/billing/resources"
	"github.com/evovoice/billing/s3files"
	"github.com/evovoice/billing/sesmail"
	"github.com/evovoice/billing/sqsqueue"
	"github.com/evovoice/billing/webhook"
	"github.com/evovoice/billing/worker"
)

// The tests of this file share one emulator stack, started by the first test
// that needs it and stopped after the last. They run one at a time (no
// t.Parallel): some stop an emulator to simulate an outage.
var (
	stackOnce sync.Once
	stack     *emulators.Stack
	stackErr  error
	fixtures  string // shared/fixtures/billing-small
)

func TestMain(m *testing.M) {
	code := m.Run()
	if stack != nil {
		_ = stack.Close()
	}
	os.Exit(code)
}

var (
	signingKey = []byte("e2e-signing-key-of-32-bytes-long")
	webhookKey = []byte("e2e-webhook-key-of-32-bytes-long")
)

// sharedStack starts the emulators and loads the fixture dataset once.
func sharedStack(t *testing.T) *emulators.Stack {
	t.Helper()
	stackOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if fixtures, stackErr = ratingtest.FixtureDir("billing-small"); stackErr != nil {
			return
		}
		if stack, stackErr = emulators.Start(ctx, emulators.Options{}); stackErr != nil {
			return
		}
		ds, err := ratingtest.LoadDataset(filepath.Join(fixtures, "dataset.jsonl"))
		if err != nil {
			stackErr = err
			return
		}
		store := ddbstore.NewBillingStore(ddb.NewFromConfig(stack.AWS), stack.Names.BillingTable)
		accounts := make([]billing.Account, 0, len(ds.Accounts))
		for _, a := range ds.Accounts {
			accounts = append(accounts, a)
		}
		stackErr = errors.Join(store.PutAccounts(ctx, accounts), store.PutCustomers(ctx, ds.Customers), store.PutUsage(ctx, ds.Usage))
	})
	if stackErr != nil {
		t.Fatalf("starting the emulators with the fixture data: %v", stackErr)
	}
	return stack
}

// killKey carries the cancel function of one simulated invocation, so that a
// test's file store can kill the invocation mid-upload.
type killKey struct{}

// hookedPartials is the real partials adapter with a test hook in front of
// PutPartial.
type hookedPartials struct {
	*s3files.Partials
	mu     sync.Mutex
	before func(ctx context.Context, key string) error
}

func (h *hookedPartials) PutPartial(ctx context.Context, key string, data []byte) error {
	h.mu.Lock()
	before := h.before
	h.mu.Unlock()
	if before != nil {
		if err := before(ctx, key); err != nil {
			return err
		}
	}
	return h.Partials.PutPartial(ctx, key, data)
}

// hookedFiles is the real S3 adapter with a test hook in front of PutReport.
type hookedFiles struct {
	*s3files.Files
	mu     sync.Mutex
	before func(ctx context.Context, key string, body io.Reader) (io.Reader, error)
}

func (h *hookedFiles) setBefore(fn func(ctx context.Context, key string, body io.Reader) (io.Reader, error)) {
	h.mu.Lock()
	h.before = fn
	h.mu.Unlock()
}

func (h *hookedFiles) PutReport(ctx context.Context, key string, body io.Reader, fileName string) (int64, error) {
	h.mu.Lock()
	before := h.before
	h.mu.Unlock()
	if before != nil {
		var err error
		if body, err = before(ctx, key, body); err != nil {
			return 0, err
		}
	}
	return h.Files.PutReport(ctx, key, body, fileName)
}

// env is one test's worker, running behind the local SQS event source, with
// the real status handler serving the emailed links.
type env struct {
	t        *testing.T
	stack    *emulators.Stack
	reports  *ddbstore.ReportStore
	files    *hookedFiles
	partials *hookedPartials
	queue    *sqsqueue.Queue
	worker   *worker.Worker
	api      *httptest.Server
	s3       *awss3.Client
}

// envOptions change newEnv's defaults for one test.
type envOptions struct {
	visibility   time.Duration                    // the event source's visibility timeout (default 2 s)
	retryBackoff func(receives int) time.Duration // the worker's (default receives x 1 s)
	emailTry     time.Duration                    // the worker's EmailTryTimeout (default resources')
	sweepRunning time.Duration                    // the worker's SweepRunningAfter (default resources')
	shardDays    int                              // the worker's ShardDays (default no cap)
}

func newEnv(t *testing.T) *env { return newEnvWith(t, envOptions{}) }

// newEnvWith is newEnv with o. The worker's clients carry the production SDK
// deadlines (appconfig.WithDeadlines), so a paused emulator behaves as a hung
// AWS service does on Lambda.
func newEnvWith(t *testing.T, o envOptions) *env {
	t.Helper()
	if o.visibility == 0 {
		o.visibility = 2 * time.Second
	}
	if o.retryBackoff == nil {
		// Whole seconds (SQS's unit), short enough for the poison test.
		o.retryBackoff = func(n int) time.Duration { return time.Duration(n) * time.Second }
	}
	st := sharedStack(t)
	awsCfg := appconfig.WithDeadlines(st.AWS)
	db := ddb.NewFromConfig(awsCfg)
	e := &env{t: t, stack: st, reports: ddbstore.NewReportStore(db, st.Names.ReportsTable)}
	e.s3 = awss3.NewFromConfig(st.AWS, func(o *awss3.Options) { o.UsePathStyle = true })
	e.partials = &hookedPartials{Partials: s3files.NewPartials(e.s3, st.Names.ReportsBucket)}
	e.files = &hookedFiles{Files: s3files.NewFromConfig(appconfig.ForS3(awsCfg), st.Names.ReportsBucket, func(o *s3files.Options) { o.UsePathStyle = true })}
	// The event source long-polls: its client keeps the stack's config (its
	// calls are bounded by their own wait); the worker's queue has deadlines.
	sqsClient := awssqs.NewFromConfig(st.AWS)
	e.queue = sqsqueue.New(awssqs.NewFromConfig(awsCfg), st.JobsQueueURL)
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	e.api = httptest.NewServer(httpapi.NewStatusHandler(httpapi.StatusDeps{Reports: e.reports, Files: e.files, SigningKey: signingKey, Logger: log}))
	t.Cleanup(e.api.Close)
	w, err := worker.New(worker.Deps{
		Reports:  e.reports,
		Data:     ddbstore.NewBillingStore(db, st.Names.BillingTable),
		Files:    e.files,
		Mailer:   sesmail.New(sesv2.NewFromConfig(awsCfg), "Billing Reports <reports@example.com>"),
		Queue:    e.queue,
		Retries:  e.queue,
		Partials: e.partials,
		// The local stack's setting: http and loopback receivers allowed.
		Webhooks: webhook.New(webhookKey, func(o *webhook.Options) {
			o.AllowHTTP = true
			o.AllowLoopback = true
			o.Backoff = 100 * time.Millisecond
		}),
		Log: log,
		Config: worker.Config{
			PublicAPIURL:      e.api.URL,
			SigningKey:        signingKey,
			FunctionName:      "billing-run-e2e",
			LeaseDuration:     3 * time.Second,
			ProgressInterval:  500 * time.Millisecond,
			EmailBackoff:      100 * time.Millisecond,
			SweepQueuedAfter:  time.Second,
			RetryBackoff:      o.retryBackoff,
			EmailTryTimeout:   o.emailTry,
			SweepRunningAfter: o.sweepRunning,
			ShardDays:         o.shardDays,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.worker = w
	// The handler stands for one Lambda invocation: a test can kill it through
	// the context, and a killed invocation fails its whole batch, as a crashed
	// runtime does.
	handler := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		ctx, kill := context.WithCancel(ctx)
		defer kill()
		resp, err := lambdaedge.HandleSQS(w)(context.WithValue(ctx, killKey{}, kill), ev)
		if ctx.Err() != nil {
			return events.SQSEventResponse{}, errors.New("invocation killed")
		}
		return resp, err
	}
	src, err := eventsource.New(eventsource.Config{
		Client: sqsClient, QueueURL: st.JobsQueueURL, Handler: handler, Log: log,
		WaitTime: time.Second, BatchWindow: 200 * time.Millisecond, VisibilityTimeout: o.visibility, ErrorBackoff: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = src.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if o.visibility > 2*time.Second {
			// The emulator may still answer the long poll cancelled above with
			// the next test's message, hiding it for this long visibility:
			// let that poll (WaitTime) end first.
			time.Sleep(1500 * time.Millisecond)
		}
	})
	return e
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// submit does what the submit function does: a Queued report, then its job.
func (e *env) submit(req billing.ReportRequest, scope string, enqueue bool) string {
	e.t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	r := &billing.Report{ID: httpapi.NewReportID(), AccountID: req.AccountID, Request: req, CustomerScope: scope,
		Name: billing.ReportName(req.StartDate, req.EndDate), Status: billing.ReportQueued, DateCreated: now, DateUpdated: now}
	if err := e.reports.CreateReport(ctx, r, billing.SlotLimits{Account: billing.MaxActiveReports}); err != nil {
		e.t.Fatal(err)
	}
	if enqueue {
		id, err := e.queue.Enqueue(ctx, billing.Job{ReportID: r.ID})
		if err != nil {
			e.t.Fatal(err)
		}
		if err := e.reports.SetJobID(ctx, r.ID, id, time.Now()); err != nil && billing.ErrorCode(err) != billing.ECONFLICT {
			e.t.Fatal(err)
		}
	}
	return r.ID
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		var ok bool
		if ok, last = cond(); ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s; last: %s", timeout, what, last)
}

func (e *env) waitStatus(id string, want billing.ReportStatus, timeout time.Duration) *billing.Report {
	e.t.Helper()
	var r *billing.Report
	waitFor(e.t, timeout, "report "+id+" to be "+string(want), func() (bool, string) {
		var err error
		r, err = e.reports.GetReport(context.Background(), id)
		if err != nil {
			return false, err.Error()
		}
		return r.Status == want, fmt.Sprintf("%s %q attempt %d", r.Status, r.StatusMessage, r.Attempt)
	})
	return r
}

// emailsTo returns the SES emulator's messages to addr.
func (e *env) emailsTo(addr string) []emulators.SentEmail {
	e.t.Helper()
	all, err := e.stack.SentEmails(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	var out []emulators.SentEmail
	for _, m := range all {
		if slices.Contains(m.Destination.To, addr) {
			out = append(out, m)
		}
	}
	return out
}

func (e *env) objectsUnder(prefix string) []string {
	e.t.Helper()
	out, err := e.s3.ListObjectsV2(context.Background(), &awss3.ListObjectsV2Input{Bucket: aws.String(e.stack.Names.ReportsBucket), Prefix: aws.String(prefix)})
	if err != nil {
		e.t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func uniqueAddress(t *testing.T) string {
	return strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())) + fmt.Sprintf("-%d@example.com", time.Now().UnixNano()%1e6)
}

func october() (billing.Date, billing.Date) {
	return billing.Date{Year: 2026, Month: 10, Day: 1}, billing.Date{Year: 2026, Month: 10, Day: 31}
}

// The fixtures through the queue, each report in one invocation and in
// shards of one UTC day (shard and finalize jobs on the same queue, partials
// in S3): the same bytes either way.
func TestE2EFixtureReportsThroughTheQueue(t *testing.T) {
	for _, days := range []int{0, 1} {
		t.Run(fmt.Sprintf("shardDays=%d", days), func(t *testing.T) { fixturesThroughTheQueue(t, days) })
	}
}

func fixturesThroughTheQueue(t *testing.T, shardDays int) {
	e := newEnvWith(t, envOptions{shardDays: shardDays})
	files, _ := filepath.Glob(filepath.Join(fixtures, "expected-*.csv"))
	if len(files) < 5 {
		t.Fatalf("found %d fixture reports, want at least 5", len(files))
	}
	var jobs []fixtureJob
	// All five go through the queue at once, as a busy account's would.
	for _, f := range files {
		c, err := ratingtest.ParseCaseName(filepath.Base(f))
		if err != nil {
			t.Fatal(err)
		}
		req := billing.ReportRequest{AccountID: c.AccountID, StartDate: c.Start, EndDate: c.End, IncludeCustomerIDs: c.IncludeCustomerIDs, EmailAddressToNotify: uniqueAddress(t)}
		if c.UTC {
			req.TimeZoneID = "UTC"
		}
		jobs = append(jobs, fixtureJob{file: f, id: e.submit(req, c.CustomerScope, true), email: req.EmailAddressToNotify, c: c})
	}
	for _, j := range jobs {
		t.Run(filepath.Base(j.file), func(t *testing.T) { e.checkFixture(t, j, shardDays) })
	}
}

// checkShards checks a report run in shards of one UTC day: one shard per
// UTC day of its local period (one more when the zone is not UTC), the
// count in its completed message, and its partials deleted by finalize
// (after it notified).
func (e *env) checkShards(t *testing.T, j fixtureJob, r *billing.Report) {
	t.Helper()
	days := j.c.Start.DaysUntil(j.c.End) + 1
	if r.ShardCount != days && r.ShardCount != days+1 || !strings.HasSuffix(r.StatusMessage, fmt.Sprintf(" in %d shards.", r.ShardCount)) {
		t.Errorf("shard count %d, %q, for %s..%s", r.ShardCount, r.StatusMessage, j.c.Start, j.c.End)
	}
	waitFor(t, 10*time.Second, "the partials deleted", func() (bool, string) {
		left := e.objectsUnder(resources.PartialsPrefix + j.id + "/")
		return len(left) == 0, fmt.Sprint(left)
	})
}

// fixtureJob is one fixture report submitted through the queue.
type fixtureJob struct {
	file, id, email string
	c               ratingtest.Case
}

// checkFixture waits for j's report and checks its download (presigned and
// emailed), its record and, when sharded, its shard count and partials.
func (e *env) checkFixture(t *testing.T, j fixtureJob, shardDays int) {
	r := e.waitStatus(j.id, billing.ReportCompleted, time.Minute)
	want, _ := os.ReadFile(j.file)
	link, err := e.files.PresignGet(context.Background(), r.ObjectKey, resources.ReportFileName(j.c.Start.String(), j.c.End.String()), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	resp, got := get(t, link)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, want) {
		t.Fatalf("presigned download: %s\n got:\n%s\nwant:\n%s", resp.Status, got, want)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, resources.ReportFileName(j.c.Start.String(), j.c.End.String())) {
		t.Errorf("Content-Disposition = %q", cd)
	}
	if r.ByteSize != int64(len(want)) || r.Attempt != 1 || r.ObjectKey != resources.ReportObjectKey(j.c.AccountID, j.id) {
		t.Errorf("report = %+v", r)
	}
	if shardDays == 1 {
		e.checkShards(t, j, r)
	}
	// The emailed link: the status function's download route redirects
	// to a fresh presigned URL.
	var mails []emulators.SentEmail
	waitFor(t, 10*time.Second, "the email", func() (bool, string) {
		mails = e.emailsTo(j.email)
		return len(mails) > 0, fmt.Sprint(len(mails))
	})
	if len(mails) != 1 || !strings.HasSuffix(mails[0].Subject, ": "+r.Name+" is ready") {
		t.Fatalf("emails = %+v", mails)
	}
	link = emailedLink(t, mails[0].Body.Text)
	if resp, got = get(t, link); resp.StatusCode != http.StatusOK || !bytes.Equal(got, want) {
		t.Fatalf("emailed link: %s %s", resp.Status, got)
	}
}

// emailedLink finds the download link in an email's text part.
func emailedLink(t *testing.T, text string) string {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, "/download?token=") {
			return strings.TrimSpace(line)
		}
	}
	t.Fatalf("no download link in:\n%s", text)
	return ""
}

func TestE2EDuplicateDeliveryRunsOnce(t *testing.T) {
	e := newEnv(t)
	start, end := october()
	addr := uniqueAddress(t)
	id := e.submit(billing.ReportRequest{AccountID: "acct-acme", StartDate: start, EndDate: end, EmailAddressToNotify: addr}, "", true)
	// The same job twice, as after a retried send or a sweep racing the submit.
	if _, err := e.queue.Enqueue(context.Background(), billing.Job{ReportID: id}); err != nil {
		t.Fatal(err)
	}
	r := e.waitStatus(id, billing.ReportCompleted, 30*time.Second)
	e.waitQueueDrained()
	if r, _ = e.reports.GetReport(context.Background(), id); r.Attempt != 1 {
		t.Errorf("attempts = %d, want 1", r.Attempt)
	}
	if n := len(e.emailsTo(addr)); n != 1 {
		t.Errorf("emails = %d, want 1", n)
	}
}

// waitQueueDrained waits until no job is waiting or in flight.
func (e *env) waitQueueDrained() {
	e.t.Helper()
	waitFor(e.t, 30*time.Second, "the jobs queue to drain", func() (bool, string) {
		a, err := e.queue.Attributes(context.Background())
		if err != nil {
			return false, err.Error()
		}
		return a.ApproximateMessages == 0 && a.ApproximateInFlight == 0, fmt.Sprintf("%+v", a)
	})
}

func TestE2EWorkerKilledMidUploadIsRetried(t *testing.T) {
	e := newEnv(t)
	start, end := october()
	addr := uniqueAddress(t)
	var once sync.Once
	e.files.setBefore(func(ctx context.Context, key string, body io.Reader) (io.Reader, error) {
		killed := false
		once.Do(func() {
			killed = true
		})
		if !killed {
			return body, nil
		}
		// Let the upload start, then kill the invocation half-way through it.
		return &killingReader{r: body, after: 512, kill: ctx.Value(killKey{}).(context.CancelFunc)}, nil
	})
	id := e.submit(billing.ReportRequest{AccountID: "acct-acme", StartDate: start, EndDate: end, EmailAddressToNotify: addr}, "", true)
	r := e.waitStatus(id, billing.ReportCompleted, time.Minute)
	e.waitQueueDrained()
	if r.Attempt != 2 {
		t.Errorf("attempts = %d, want 2 (the killed one and the takeover)", r.Attempt)
	}
	if keys := e.objectsUnder("reports/acct-acme/" + id); len(keys) != 1 {
		t.Errorf("objects = %v, want exactly one", keys)
	}
	if n := len(e.emailsTo(addr)); n != 1 {
		t.Errorf("emails = %d, want 1", n)
	}
}

// killingReader kills the invocation after some bytes and then fails like the
// dying process's last read.
// TestE2EKilledShardIsTakenOver: the invocation running one shard of a
// report in shards of 7 days is killed as it stores its partial; the
// message comes back, finds the dead delivery's shard lease live and is
// retried until the lease expires, then runs the shard again (its second
// lease), and the report completes with the fixture's bytes, each shard
// counted once, one email.
func TestE2EKilledShardIsTakenOver(t *testing.T) {
	e := newEnvWith(t, envOptions{shardDays: 7})
	start, end := october()
	addr := uniqueAddress(t)
	var once sync.Once
	var killedKey string
	e.partials.mu.Lock()
	e.partials.before = func(ctx context.Context, key string) error {
		kill := false
		once.Do(func() { kill, killedKey = true, key })
		if !kill {
			return nil
		}
		ctx.Value(killKey{}).(context.CancelFunc)()
		return ctx.Err()
	}
	e.partials.mu.Unlock()
	id := e.submit(billing.ReportRequest{AccountID: "acct-acme", StartDate: start, EndDate: end, EmailAddressToNotify: addr}, "", true)
	r := e.waitStatus(id, billing.ReportCompleted, time.Minute)
	e.waitQueueDrained()
	if killedKey == "" {
		t.Fatal("no shard was killed")
	}
	shard := strings.TrimSuffix(path.Base(killedKey), ".partial")
	want, _ := os.ReadFile(filepath.Join(fixtures, "expected-acme-2026-10.csv"))
	if got := e.download(t, r); !bytes.Equal(got, want) {
		t.Fatalf("CSV after the killed shard:\n%s\nwant:\n%s", got, want)
	}
	if l := r.ShardLeases[shard]; l.Attempts != 2 || len(r.ShardsDone) != len(r.Shards) || r.ShardCount != len(r.Shards) || r.ShardCount < 5 {
		t.Errorf("killed shard %s: lease %+v; %d of %d shards done, count %d", shard, l, len(r.ShardsDone), len(r.Shards), r.ShardCount)
	}
	if n := len(e.emailsTo(addr)); n != 1 {
		t.Errorf("emails = %d, want 1", n)
	}
}

// download fetches a completed report's CSV through a presigned link.
func (e *env) download(t *testing.T, r *billing.Report) []byte {
	t.Helper()
	link, err := e.files.PresignGet(context.Background(), r.ObjectKey, "report.csv", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := get(t, link)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("download: %s", resp.Status)
	}
	return body
}

type killingReader struct {
	r     io.Reader
	after int
	n     int
	kill  context.CancelFunc
}

func (k *killingReader) Read(p []byte) (int, error) {
	if k.n >= k.after {
		k.kill()
		return 0, context.Canceled
	}
	p = p[:min(len(p), k.after-k.n)]
	n, err := k.r.Read(p)
	k.n += n
	return n, err
}

func TestE2ES3DownIsRetriedThenCompletes(t *testing.T) {
	e := newEnv(t)
	start, end := october()
	if err := e.stack.StopService(emulators.S3); err != nil {
		t.Fatal(err)
	}
	restarted := false
	defer func() {
		if !restarted {
			_ = e.stack.StartService(context.Background(), emulators.S3)
		}
	}()
	id := e.submit(billing.ReportRequest{AccountID: "acct-acme", StartDate: start, EndDate: end}, "", true)
	waitFor(t, 30*time.Second, "a failed attempt", func() (bool, string) {
		r, err := e.reports.GetReport(context.Background(), id)
		if err != nil {
			return false, err.Error()
		}
		return strings.Contains(r.StatusMessage, "retrying"), r.StatusMessage
	})
	if err := e.stack.StartService(context.Background(), emulators.S3); err != nil {
		t.Fatal(err)
	}
	restarted = true
	r := e.waitStatus(id, billing.ReportCompleted, 30*time.Second)
	if r.Attempt < 2 {
		t.Errorf("attempt = %d, want a retry", r.Attempt)
	}
	if keys := e.objectsUnder("reports/acct-acme/" + id); len(keys) != 1 {
		t.Errorf("objects = %v", keys)
	}
}

func TestE2ESESDownStillCompletesAndRecordsTheOutcome(t *testing.T) {
	e := newEnv(t)
	start, end := october()
	if err := e.stack.StopService(emulators.SES); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := e.stack.StartService(context.Background(), emulators.SES); err != nil {
			t.Error(err)
		}
	}()
	id := e.submit(billing.ReportRequest{AccountID: "acct-acme", StartDate: start, EndDate: end, EmailAddressToNotify: uniqueAddress(t)}, "", true)
	e.waitStatus(id, billing.ReportCompleted, 30*time.Second)
	waitFor(t, 30*time.Second, "the email outcome", func() (bool, string) {
		r, _ := e.reports.GetReport(context.Background(), id)
		return strings.HasPrefix(r.NotifyResult, "failed after 3 tries"), r.NotifyResult
	})
	e.waitQueueDrained()
	if r, _ := e.reports.GetReport(context.Background(), id); r.Attempt != 1 || r.Status != billing.ReportCompleted {
		t.Errorf("report = %+v", r)
	}
}

func TestE2EPoisonMessageEndsInDLQWithErrorAndEmail(t *testing.T) {
	e := newEnv(t)
	start, end := october()
	addr := uniqueAddress(t)
	var poisoned string
	e.files.setBefore(func(ctx context.Context, key string, body io.Reader) (io.Reader, error) {
		if strings.Contains(key, poisoned) {
			return nil, billing.Errorf(billing.EUNAVAILABLE, "The report file store is unavailable.")
		}
		return body, nil
	})
	poisoned = e.submit(billing.ReportRequest{AccountID: "acct-acme", StartDate: start, EndDate: end, EmailAddressToNotify: addr}, "", true)
	r := e.waitStatus(poisoned, billing.ReportError, 90*time.Second)
	// Attempt is usually 5; it is one less when the previous test's poller,
	// cancelled mid long-poll, took a receive the emulator still counted.
	if r.Attempt < resources.MaxReceiveCount-1 || r.Attempt > resources.MaxReceiveCount || r.StatusMessage != "The report failed after repeated attempts: The report file store is unavailable." {
		t.Errorf("report = %+v", r)
	}
	var mails []emulators.SentEmail
	waitFor(t, 10*time.Second, "the failure email", func() (bool, string) {
		mails = e.emailsTo(addr)
		return len(mails) == 1, fmt.Sprint(len(mails))
	})
	if !strings.HasSuffix(mails[0].Subject, ": "+r.Name+" failed") || !strings.Contains(mails[0].Body.HTML, "The report file store is unavailable.") {
		t.Errorf("email = %+v", mails[0])
	}
	dlq := sqsqueue.New(awssqs.NewFromConfig(e.stack.AWS), e.stack.DLQURL)
	waitFor(t, 30*time.Second, "the job in the DLQ", func() (bool, string) {
		msgs, err := dlq.Receive(context.Background(), 10, time.Second)
		if err != nil {
			return false, err.Error()
		}
		for _, m := range msgs {
			_ = dlq.Delete(context.Background(), m.ReceiptHandle)
			if strings.Contains(m.Body, poisoned) {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d other messages", len(msgs))
	})
}

func TestE2ESweepRecoversALostEnqueue(t *testing.T) {
	e := newEnv(t)
	start, end := october()
	id := e.submit(billing.ReportRequest{AccountID: "acct-acme", StartDate: start, EndDate: end}, "", false)
	time.Sleep(1500 * time.Millisecond) // past SweepQueuedAfter
	res, err := e.worker.Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Requeued < 1 {
		t.Fatalf("sweep = %+v", res)
	}
	r := e.waitStatus(id, billing.ReportCompleted, 30*time.Second)
	if r.JobID == "" {
		t.Error("the re-enqueued job id was not recorded")
	}
}

func TestE2EWebhookIsSignedAndCarriesTheRows(t *testing.T) {
	e := newEnv(t)
	type delivery struct {
		body []byte
		err  error
	}
	got := make(chan delivery, 4)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		err := webhook.Verify(webhookKey, r.Header.Get(webhook.SignatureHeader), body, time.Now(), 5*time.Minute)
		got <- delivery{body, err}
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
		}
	}))
	defer receiver.Close()
	start, end := october()
	id := e.submit(billing.ReportRequest{AccountID: "acct-acme", StartDate: start, EndDate: end, WebhookURL: receiver.URL + "/billing"}, "", true)
	e.waitStatus(id, billing.ReportCompleted, 30*time.Second)
	var d delivery
	select {
	case d = <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("no webhook arrived")
	}
	if d.err != nil {
		t.Fatalf("signature: %v", d.err)
	}
	var body struct {
		Report billing.ReportInfo `json:"report"`
		Rows   []struct {
			Customer string `json:"customer"`
			Total    string `json:"total"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(d.body, &body); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join(fixtures, "expected-acme-2026-10.csv"))
	lines := strings.Split(strings.TrimSpace(string(want)), "\r\n")
	last := lines[len(lines)-1]
	if body.Report.ID != id || body.Report.Status != billing.ReportCompleted || len(body.Rows) != len(lines)-1 ||
		body.Rows[len(body.Rows)-1].Customer != "Total" || !strings.HasSuffix(last, ","+body.Rows[len(body.Rows)-1].Total) {
		t.Fatalf("webhook body = %s", d.body)
	}
	resp, csv := get(t, body.Report.DownloadLink)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(csv, want) {
		t.Errorf("the webhook's download link: %s", resp.Status)
	}
	waitFor(t, 10*time.Second, "the webhook outcome", func() (bool, string) {
		r, _ := e.reports.GetReport(context.Background(), id)
		return r.WebhookResult == "delivered", r.WebhookResult
	})
}
