package worker

import (
	"errors"

	billing "github.com/evovoice/billing"
)

// attempt is how one attempt at a report, a shard or a finalize ended.
type attempt struct {
	err      error // nil: it produced its result
	timedOut bool  // its work stopped at DeadlineMargin before the invocation's deadline
	last     bool  // this was the message's last receive (the queue's redrive limit)
}

// action is what the worker does after an attempt.
type action int

const (
	actFinish    action = iota // write the result (finish the report, count the shard)
	actDrop                    // another delivery owns the work: write nothing, acknowledge
	actRetry                   // give the lease back; SQS delivers the message again
	actFail                    // fail the report for good; acknowledge
	actFailToDLQ               // fail the report for good; the message goes on to the DLQ for ops
)

// decide is the worker's decision after an attempt, and the error to
// record: a timed-out attempt reads as "did not finish within the worker's
// time limit", which is retryable. Retryable errors are retried until the
// last receive, which fails the report and keeps the message for ops;
// permanent ones fail the report at once.
func decide(a attempt) (action, error) {
	err := a.err
	switch {
	case errors.Is(err, errLeaseLost):
		return actDrop, err
	case err == nil:
		return actFinish, nil
	case a.timedOut:
		err = billing.WrapError(billing.EUNAVAILABLE, err, "The report did not finish within the worker's time limit.")
	}
	switch {
	case !billing.IsRetryable(err):
		return actFail, err
	case a.last:
		return actFailToDLQ, err
	default:
		return actRetry, err
	}
}
