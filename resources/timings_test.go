package resources

import (
	"testing"
	"time"
)

// timing is one row of the timings table checked by TestTimings.
type timing struct {
	workerTimeout, lease, visibility, sweepInterval, sweepRunningAfter time.Duration
	recoveryBound                                                      time.Duration // a dead worker's report must be complete by then
}

// TestTimings checks the relations between the service's timings, on AWS and
// in the local stack, so that changing one value cannot silently break the
// recovery promises of spec 4.
func TestTimings(t *testing.T) {
	maxBackoff := RetryBackoff(MaxReceiveCount)
	for name, c := range map[string]timing{
		// On AWS: about the lease plus two sweep intervals.
		"aws": {WorkerTimeout, LeaseDuration, VisibilityTimeout, SweepInterval, SweepRunningAfter, LeaseDuration + 2*SweepInterval + WorkerTimeout},
		// Locally: well under 8 minutes.
		"local": {LocalWorkerTimeout, LocalLeaseDuration, VisibilityTimeout, LocalSweepInterval, LocalSweepRunAfter, LocalRecoveryTarget},
	} {
		t.Run(name, func(t *testing.T) {
			if c.lease <= c.workerTimeout {
				t.Errorf("lease %v must outlast the function timeout %v, or a live attempt loses its report", c.lease, c.workerTimeout)
			}
			if c.visibility < c.workerTimeout {
				t.Errorf("visibility timeout %v below the function timeout %v: Lambda refuses the mapping", c.visibility, c.workerTimeout)
			}
			if c.sweepRunningAfter <= maxBackoff {
				t.Errorf("sweepRunningAfter %v must exceed the longest retry backoff %v, or every retry is sent twice", c.sweepRunningAfter, maxBackoff)
			}
			if c.sweepRunningAfter > c.lease {
				t.Errorf("sweepRunningAfter %v beyond the lease %v delays a takeover past the lease", c.sweepRunningAfter, c.lease)
			}
			// A worker dies right after a heartbeat: its lease runs out after
			// lease, the next sweep re-sends within one interval (plus one
			// more if the index lags), and the new attempt runs in at most
			// the function timeout, minus the deadline margin.
			worst := c.lease + 2*c.sweepInterval + c.workerTimeout - DeadlineMargin
			if worst > c.recoveryBound {
				t.Errorf("worst-case recovery %v exceeds the bound %v", worst, c.recoveryBound)
			}
			// A message whose invocation is killed every time (the worker
			// hides a running message for its lease, not the visibility
			// timeout) reaches the DLQ after MaxReceiveCount leases.
			if crashDLQ := time.Duration(MaxReceiveCount) * c.lease; crashDLQ > 45*time.Minute || c.lease >= c.visibility {
				t.Errorf("a message that kills its worker reaches the DLQ after %v (lease %v, visibility %v), want well under an hour", crashDLQ, c.lease, c.visibility)
			}
		})
	}
}

// TestRetryBackoff: retries come back after seconds, growing with the
// receive count, and a poison message reaches the DLQ within minutes.
func TestRetryBackoff(t *testing.T) {
	var total time.Duration
	prev := time.Duration(0)
	for n := 1; n < MaxReceiveCount; n++ {
		b := RetryBackoff(n)
		if b < prev {
			t.Errorf("RetryBackoff(%d) = %v shrinks after %v", n, b, prev)
		}
		if b < time.Second || b > 5*time.Minute {
			t.Errorf("RetryBackoff(%d) = %v, want seconds to a few minutes", n, b)
		}
		prev = b
		total += b
	}
	if total > 10*time.Minute {
		t.Errorf("a poison message waits %v before the DLQ, want minutes", total)
	}
	if got := RetryBackoff(0); got != RetryBackoff(1) {
		t.Errorf("RetryBackoff(0) = %v, want the first backoff %v", got, RetryBackoff(1))
	}
	if got := RetryBackoff(100); got != RetryBackoff(MaxReceiveCount) {
		t.Errorf("RetryBackoff(100) = %v, want the last backoff", got)
	}
	if RetryBackoff(MaxReceiveCount) >= VisibilityTimeout {
		t.Error("the longest backoff is not shorter than the visibility timeout it replaces")
	}
}

// TestDeadlines: the SDK's per-attempt deadline and retries fit the API's
// answer bound, and the API's budget leaves time to write the 503.
func TestDeadlines(t *testing.T) {
	if APIRequestBudget >= APIAnswerBound {
		t.Errorf("APIRequestBudget %v leaves no time to answer within %v", APIRequestBudget, APIAnswerBound)
	}
	if APIRequestBudget >= APIFunctionTimeout {
		t.Errorf("APIRequestBudget %v does not end before the functions' timeout %v", APIRequestBudget, APIFunctionTimeout)
	}
	if SDKAttemptTimeout >= APIRequestBudget {
		t.Errorf("one SDK attempt (%v) may use the whole request budget %v", SDKAttemptTimeout, APIRequestBudget)
	}
	if SDKConnectTimeout > SDKAttemptTimeout {
		t.Errorf("connect timeout %v beyond the attempt timeout %v", SDKConnectTimeout, SDKAttemptTimeout)
	}
	if SDKMaxAttempts < 2 || SDKMaxAttempts > 5 {
		t.Errorf("SDKMaxAttempts = %d, want a bounded few", SDKMaxAttempts)
	}
	// Notifications fit in the deadline margin: the last email try and the
	// outcome's record still end before the invocation does.
	if EmailTryTimeout+NotifyRecordTimeout >= DeadlineMargin {
		t.Errorf("an email try (%v) plus the record (%v) do not fit the deadline margin %v", EmailTryTimeout, NotifyRecordTimeout, DeadlineMargin)
	}
}
