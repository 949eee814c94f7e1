package worker

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/resources"
)

// fakeVisibility records ChangeVisibility calls.
type fakeVisibility struct {
	mu    sync.Mutex
	calls map[string]time.Duration // receipt handle -> timeout
	err   error
}

func (f *fakeVisibility) ChangeVisibility(ctx context.Context, receiptHandle string, timeout time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]time.Duration{}
	}
	f.calls[receiptHandle] = timeout
	return f.err
}

func (f *fakeVisibility) get(rh string) (time.Duration, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.calls[rh]
	return d, ok
}

func withReceipt(m Delivery, rh string) Delivery {
	m.ReceiptHandle = rh
	return m
}

// TestRetryComesBackAfterAShortBackoff: a message that fails with a
// retryable error is hidden for RetryBackoff(receive count), growing with the
// count, instead of the queue's 30-minute visibility timeout; a message that
// succeeded was only hidden for its lease while it ran (it is then deleted).
func TestRetryComesBackAfterAShortBackoff(t *testing.T) {
	h := newHarness(t)
	vis := &fakeVisibility{}
	h.w.d.Retries = vis
	h.seedSmall()
	h.queue1("r-1", billing.ReportRequest{})
	h.data.queryErr = func(billing.UsageQuery) error {
		return billing.Errorf(billing.EUNAVAILABLE, "DynamoDB is unavailable.")
	}
	for n := 1; n < resources.MaxReceiveCount; n++ {
		rh := "rh-" + string(rune('0'+n))
		if !h.deliver(context.Background(), withReceipt(sqsMessage("m-1", "r-1", n), rh)) {
			t.Fatalf("receive %d: a failed attempt was acknowledged", n)
		}
		got, ok := vis.get(rh)
		if !ok || got != resources.RetryBackoff(n) {
			t.Errorf("receive %d: visibility changed to %v (%v), want %v", n, got, ok, resources.RetryBackoff(n))
		}
		if got >= resources.VisibilityTimeout {
			t.Errorf("receive %d: backoff %v is not shorter than the visibility timeout", n, got)
		}
	}
	if resources.RetryBackoff(1) >= resources.RetryBackoff(resources.MaxReceiveCount-1) {
		t.Error("the backoff does not grow with the receive count")
	}
	h.data.queryErr = nil
	h.clock.Advance(resources.LeaseDuration)
	if h.deliver(context.Background(), withReceipt(sqsMessage("m-1", "r-1", resources.MaxReceiveCount), "rh-ok")) {
		t.Fatal("the healthy attempt asked for a retry")
	}
	// While it ran it was hidden for its lease only (holdWhileRunning), so
	// that had its invocation been killed it would come back soon after the
	// lease, not after the queue's visibility timeout; once handled it is
	// deleted, and nothing shortens it further.
	if got, _ := vis.get("rh-ok"); got != resources.LeaseDuration || got >= resources.VisibilityTimeout {
		t.Errorf("a handled message was hidden for %v, want its lease %v", got, resources.LeaseDuration)
	}
	// A malformed message (poison) backs off too, so it reaches the DLQ in minutes.
	if !h.deliver(context.Background(), Delivery{MessageID: "m-bad", ReceiptHandle: "rh-bad", Body: "not json"}) {
		t.Fatal("a malformed message was acknowledged")
	}
	if got, _ := vis.get("rh-bad"); got != resources.RetryBackoff(1) {
		t.Errorf("poison message backoff = %v, want %v", got, resources.RetryBackoff(1))
	}
}

// blockingMailer hangs, like SES paused mid-call, for the addresses in hang:
// the call returns only when its context ends.
type blockingMailer struct {
	memMailer
	hang  map[string]bool
	mu    sync.Mutex
	tries map[string]int
}

func (b *blockingMailer) Send(ctx context.Context, e billing.Email) (string, error) {
	b.mu.Lock()
	if b.tries == nil {
		b.tries = map[string]int{}
	}
	b.tries[e.To]++
	b.mu.Unlock()
	if b.hang[e.To] {
		<-ctx.Done()
		return "", billing.WrapError(billing.EUNAVAILABLE, ctx.Err(), "The mail service is unavailable.")
	}
	return b.memMailer.Send(ctx, e)
}

// TestHungEmailDoesNotStallTheBatch: with SES hanging for one report's
// address, each email try ends after EmailTryTimeout, all three tries are
// made, the outcome is recorded, and the batch's other report completes and
// is notified without waiting for the invocation's deadline.
func TestHungEmailDoesNotStallTheBatch(t *testing.T) {
	h := newHarness(t)
	mailer := &blockingMailer{hang: map[string]bool{"hung@example.com": true}}
	h.w.d.Mailer = mailer
	h.w.cfg.EmailTryTimeout = 100 * time.Millisecond
	h.w.cfg.EmailBackoff = 10 * time.Millisecond
	h.seedSmall()
	h.queue1("r-hung", billing.ReportRequest{EmailAddressToNotify: "hung@example.com"})
	h.queue1("r-fine", billing.ReportRequest{EmailAddressToNotify: "fine@example.com"})

	ctx, cancel := context.WithTimeout(context.Background(), resources.WorkerTimeout)
	defer cancel()
	start := time.Now()
	resp, err := h.handle(ctx, []Delivery{
		sqsMessage("m-hung", "r-hung", 1), sqsMessage("m-fine", "r-fine", 1),
	})
	took := time.Since(start)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("HandleDeliveries = %+v, %v; a failed email must not fail the report", resp, err)
	}
	if took > 5*time.Second {
		t.Errorf("the batch took %v with one hung SES call; want the tries' timeouts (3 x 100 ms)", took)
	}
	if n := mailer.tries["hung@example.com"]; n != 3 {
		t.Errorf("%d tries of the hung email, want 3", n)
	}
	hung := h.reports.get("r-hung")
	if hung.Status != billing.ReportCompleted || !strings.HasPrefix(hung.NotifyResult, "failed after 3 tries") {
		t.Errorf("hung report: status %s, notifyResult %q", hung.Status, hung.NotifyResult)
	}
	if fine := h.reports.get("r-fine"); fine.Status != billing.ReportCompleted || !strings.HasPrefix(fine.NotifyResult, "sent ") {
		t.Errorf("other report: status %s, notifyResult %q", fine.Status, fine.NotifyResult)
	}
}

// TestNotificationOutcomeOutlivesTheAttempt: SES hangs until the report's
// own context ends (close to the invocation's deadline); the outcome is
// still recorded, on a context of its own, inside the invocation's margin,
// instead of leaving "notified, outcome unknown".
func TestNotificationOutcomeOutlivesTheAttempt(t *testing.T) {
	h := newHarness(t)
	h.w.d.Mailer = &blockingMailer{hang: map[string]bool{"hung@example.com": true}}
	h.w.cfg.DeadlineMargin = 50 * time.Millisecond
	h.w.cfg.NotifyRecordTimeout = 100 * time.Millisecond
	h.w.cfg.EmailTryTimeout = time.Minute // longer than the invocation: the report's deadline ends the try
	h.seedSmall()
	h.queue1("r-1", billing.ReportRequest{EmailAddressToNotify: "hung@example.com"})

	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	if h.deliver(ctx, sqsMessage("m-1", "r-1", 1)) {
		t.Fatal("the completed report's message was retried")
	}
	if ctx.Err() != nil {
		t.Error("the attempt ran into the invocation's deadline; want the record's margin kept")
	}
	r := h.reports.get("r-1")
	if r.NotifiedAt.IsZero() || r.NotifyResult == "" {
		t.Fatalf("notifiedAt %v, notifyResult %q: the outcome was lost", r.NotifiedAt, r.NotifyResult)
	}
	if !strings.Contains(r.NotifyResult, "failed after 1 tries") {
		t.Errorf("notifyResult = %q", r.NotifyResult)
	}
}

// TestSweepTakesOverSoonAfterTheLease: a Running report whose lease expired
// and that was untouched for SweepRunningAfter is re-sent at once, not after
// the visibility timeout plus the lease (36 minutes); one released for a
// retry moments ago, or with a live lease, is left to its own message.
func TestSweepTakesOverSoonAfterTheLease(t *testing.T) {
	h := newHarness(t)
	now := h.clock.Now()
	lastBeat := now.Add(-resources.LeaseDuration - time.Second) // worker died right after this heartbeat
	h.reports.put(&billing.Report{ID: "run-crashed", AccountID: "a1", Status: billing.ReportRunning, Attempt: 1,
		LeaseExpires: lastBeat.Add(resources.LeaseDuration), DateUpdated: lastBeat})
	h.reports.put(&billing.Report{ID: "run-retrying", AccountID: "a1", Status: billing.ReportRunning, Attempt: 1,
		LeaseExpires: now.Add(-time.Minute), DateUpdated: now.Add(-time.Minute)})
	h.reports.put(&billing.Report{ID: "run-live", AccountID: "a1", Status: billing.ReportRunning, Attempt: 1,
		LeaseExpires: now.Add(time.Minute), DateUpdated: now.Add(-2 * resources.SweepRunningAfter)})
	res, err := h.w.Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Requeued != 1 || len(h.queue.jobs) != 1 || h.queue.jobs[0].ReportID != "run-crashed" {
		t.Fatalf("sweep = %+v, jobs %+v; want only run-crashed re-sent", res, h.queue.jobs)
	}
}
