//go:build integration

package e2e

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/devstack/emulators"
	"github.com/evovoice/billing/devstack/eventsource"
	"github.com/evovoice/billing/lambdaedge"
)

// TestE2ERetryComesBackAfterItsBackoff: a retryable failure is retried after
// the worker's backoff (ChangeMessageVisibility on the emulator), not after
// the visibility timeout the message was received with.
func TestE2ERetryComesBackAfterItsBackoff(t *testing.T) {
	const visibility, backoff = time.Minute, 2 * time.Second
	e := newEnvWith(t, envOptions{visibility: visibility, retryBackoff: func(int) time.Duration { return backoff }})
	start, end := october()
	var mu sync.Mutex
	var failedAt time.Time
	e.files.setBefore(func(ctx context.Context, key string, body io.Reader) (io.Reader, error) {
		mu.Lock()
		defer mu.Unlock()
		if failedAt.IsZero() {
			failedAt = time.Now()
			return nil, billing.Errorf(billing.EUNAVAILABLE, "The report file store is unavailable.")
		}
		return body, nil
	})
	id := e.submit(billing.ReportRequest{AccountID: "acct-acme", StartDate: start, EndDate: end}, "", true)
	r := e.waitStatus(id, billing.ReportCompleted, visibility/2)
	mu.Lock()
	took := time.Since(failedAt)
	mu.Unlock()
	if r.Attempt != 2 {
		t.Errorf("attempt = %d, want 2", r.Attempt)
	}
	t.Logf("retried and completed %v after the failure (backoff %v, visibility %v)", took.Round(100*time.Millisecond), backoff, visibility)
	if took < backoff {
		t.Errorf("retried after %v, before the backoff %v", took, backoff)
	}
}

// TestE2ESESPausedDoesNotStallOtherReports: with the SES emulator paused
// (SIGSTOP), the email of one report costs its tries' timeouts and its
// outcome is recorded as failed after three tries; a report of the same
// batch without email completes meanwhile.
func TestE2ESESPausedDoesNotStallOtherReports(t *testing.T) {
	const emailTry = 3 * time.Second
	e := newEnvWith(t, envOptions{emailTry: emailTry})
	start, end := october()
	if err := e.stack.Pause(emulators.SES); err != nil {
		t.Fatal(err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			if err := e.stack.Resume(emulators.SES); err != nil {
				t.Error(err)
			}
		}
	}
	defer resume()
	began := time.Now()
	mailed := e.submit(billing.ReportRequest{AccountID: "acct-acme", StartDate: start, EndDate: end, EmailAddressToNotify: uniqueAddress(t)}, "", true)
	quiet := e.submit(billing.ReportRequest{AccountID: "acct-acme", StartDate: start, EndDate: end}, "", true)
	e.waitStatus(quiet, billing.ReportCompleted, 20*time.Second)
	t.Logf("the report without email completed %v after submit, SES paused", time.Since(began).Round(100*time.Millisecond))
	var r *billing.Report
	waitFor(t, 3*emailTry+15*time.Second, "the failed email's outcome", func() (bool, string) {
		r, _ = e.reports.GetReport(context.Background(), mailed)
		return r != nil && r.NotifyResult != "", r.NotifyResult
	})
	t.Logf("the emailed report's outcome was recorded %v after submit: %q", time.Since(began).Round(100*time.Millisecond), r.NotifyResult)
	if r.Status != billing.ReportCompleted || !strings.HasPrefix(r.NotifyResult, "failed after 3 tries") {
		t.Errorf("report = %s %q, want Completed and failed after 3 tries", r.Status, r.NotifyResult)
	}
	resume()
	e.waitQueueDrained()
}

// TestE2EDeadWorkerIsTakenOverSoonAfterItsLease: a worker died holding the
// lease and its message is gone (a local stack restart loses fauxqs's
// messages; on AWS it waits out the visibility timeout). The sweep re-sends
// the report soon after the lease expires and it completes within about the
// lease plus two sweep intervals plus one run, not the visibility timeout plus
// the lease.
func TestE2EDeadWorkerIsTakenOverSoonAfterItsLease(t *testing.T) {
	const lease, interval = 3 * time.Second, 500 * time.Millisecond // newEnv's lease; a short sweep
	e := newEnvWith(t, envOptions{sweepRunning: time.Second})
	start, end := october()
	id := e.submit(billing.ReportRequest{AccountID: "acct-acme", StartDate: start, EndDate: end}, "", false)
	died := time.Now().UTC()
	if _, err := e.reports.AcquireLease(context.Background(), id, billing.Lease{Now: died, Expires: died.Add(lease), Server: "run (killed)"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		eventsource.Every(ctx, interval, nil, "sweep", func(ctx context.Context) error {
			_, err := e.worker.Sweep(ctx)
			return err
		})
	}()
	defer func() { cancel(); <-done }()
	r := e.waitStatus(id, billing.ReportCompleted, lease+2*interval+30*time.Second)
	took := time.Since(died)
	t.Logf("completed %v after the worker died (lease %v, sweep every %v)", took.Round(100*time.Millisecond), lease, interval)
	if took < lease {
		t.Errorf("taken over after %v, before the dead attempt's lease (%v) expired", took, lease)
	}
	if r.Attempt != 2 {
		t.Errorf("attempt = %d, want 2 (the dead one and the takeover)", r.Attempt)
	}
}

// TestE2EDynamoDBPausedBoundsTheSweepAndTheWorker: with dynalite paused, the
// sweep and a job's handling end on the SDK's deadlines alone (no context
// deadline given here), with errors, instead of hanging until it continues.
func TestE2EDynamoDBPausedBoundsTheSweepAndTheWorker(t *testing.T) {
	e := newEnv(t)
	if err := e.stack.Pause(emulators.DynamoDB); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := e.stack.Resume(emulators.DynamoDB); err != nil {
			t.Error(err)
		}
	}()
	// One call: 3 attempts of 3 s and the retryer's pauses; the sweep makes
	// two queries one after the other.
	const oneCall = 3*3*time.Second + 3*time.Second

	start := time.Now()
	_, err := e.worker.Sweep(context.Background())
	took := time.Since(start)
	t.Logf("sweep with DynamoDB paused: %v after %v", err != nil, took.Round(100*time.Millisecond))
	if err == nil {
		t.Error("the sweep succeeded with DynamoDB paused")
	}
	if took > 2*oneCall {
		t.Errorf("the sweep took %v, want at most %v", took, 2*oneCall)
	}

	start = time.Now()
	resp, err := lambdaedge.HandleSQS(e.worker)(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{
		MessageId: "m-paused", Body: `{"reportId":"r-paused"}`, Attributes: map[string]string{"ApproximateReceiveCount": "1"},
	}}})
	took = time.Since(start)
	t.Logf("job with DynamoDB paused: %+v after %v", resp.BatchItemFailures, took.Round(100*time.Millisecond))
	if err != nil || len(resp.BatchItemFailures) != 1 {
		t.Errorf("HandleSQS = %+v, %v; want the message retried", resp, err)
	}
	if took > oneCall {
		t.Errorf("the job took %v, want at most %v", took, oneCall)
	}
}
