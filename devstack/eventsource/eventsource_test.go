package eventsource

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/evovoice/billing/devstack/logbuf"
)

// fakeSQS is a hand-written fake: each test sets the calls it expects.
type fakeSQS struct {
	receive     func(ctx context.Context, in *sqs.ReceiveMessageInput) (*sqs.ReceiveMessageOutput, error)
	deleteBatch func(ctx context.Context, in *sqs.DeleteMessageBatchInput) (*sqs.DeleteMessageBatchOutput, error)
}

func (f *fakeSQS) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	return f.receive(ctx, in)
}

func (f *fakeSQS) DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	return f.deleteBatch(ctx, in)
}

func msg(id string) types.Message {
	return types.Message{
		MessageId: aws.String(id), ReceiptHandle: aws.String("rh-" + id), Body: aws.String(`{"reportId":"` + id + `"}`),
		MD5OfBody:  aws.String("md5-" + id),
		Attributes: map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": "1795676400000"},
		MessageAttributes: map[string]types.MessageAttributeValue{
			"trace": {DataType: aws.String("String"), StringValue: aws.String("t-" + id)},
		},
	}
}

// deletedHandles records what DeleteMessageBatch was asked to delete.
func recordDeletes(f *fakeSQS) *[]string {
	var mu sync.Mutex
	var deleted []string
	f.deleteBatch = func(_ context.Context, in *sqs.DeleteMessageBatchInput) (*sqs.DeleteMessageBatchOutput, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range in.Entries {
			deleted = append(deleted, aws.ToString(e.ReceiptHandle))
		}
		return &sqs.DeleteMessageBatchOutput{}, nil
	}
	return &deleted
}

func TestEventIsBuiltLikeLambdas(t *testing.T) {
	s, err := New(Config{Client: &fakeSQS{}, QueueURL: "http://127.0.0.1:9324/000000000000/billing-reports-local-jobs", Handler: func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
		return events.SQSEventResponse{}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	ev := s.Event([]types.Message{msg("m1")})
	r := ev.Records[0]
	if r.MessageId != "m1" || r.ReceiptHandle != "rh-m1" || r.Body != `{"reportId":"m1"}` || r.Md5OfBody != "md5-m1" {
		t.Errorf("record = %+v", r)
	}
	if r.EventSource != "aws:sqs" || r.EventSourceARN != "arn:aws:sqs:us-east-1:000000000000:billing-reports-local-jobs" || r.AWSRegion != "us-east-1" {
		t.Errorf("source = %q %q %q", r.EventSource, r.EventSourceARN, r.AWSRegion)
	}
	if r.Attributes["ApproximateReceiveCount"] != "1" || r.Attributes["SentTimestamp"] != "1795676400000" {
		t.Errorf("attributes = %v", r.Attributes)
	}
	if a := r.MessageAttributes["trace"]; a.DataType != "String" || aws.ToString(a.StringValue) != "t-m1" {
		t.Errorf("message attributes = %+v", r.MessageAttributes)
	}
}

func TestDispatchDeletesOnlySuccessfulMessages(t *testing.T) {
	cases := []struct {
		name        string
		resp        events.SQSEventResponse
		err         error
		panics      bool
		wantDeleted []string
	}{
		{"all succeed", events.SQSEventResponse{}, nil, false, []string{"rh-a", "rh-b", "rh-c"}},
		{"partial failure", events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: "b"}}}, nil, false, []string{"rh-a", "rh-c"}},
		{"handler error fails all", events.SQSEventResponse{}, errors.New("boom"), false, nil},
		{"unknown id fails all", events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: "zzz"}}}, nil, false, nil},
		{"empty id fails all", events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: ""}}}, nil, false, nil},
		{"panic fails all", events.SQSEventResponse{}, nil, true, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeSQS{}
			deleted := recordDeletes(f)
			var got events.SQSEvent
			var lc *lambdacontext.LambdaContext
			var hasDeadline bool
			s, _ := New(Config{Client: f, QueueURL: "http://x/123456789012/q", Handler: func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
				got = ev
				lc, _ = lambdacontext.FromContext(ctx)
				_, hasDeadline = ctx.Deadline()
				if c.panics {
					panic("worker bug")
				}
				return c.resp, c.err
			}})
			s.Dispatch(context.Background(), []types.Message{msg("a"), msg("b"), msg("c")})
			if len(got.Records) != 3 {
				t.Fatalf("handler got %d records", len(got.Records))
			}
			if lc == nil || len(lc.AwsRequestID) != 36 || lc.InvokedFunctionArn != "arn:aws:lambda:us-east-1:123456789012:function:run" || !hasDeadline {
				t.Errorf("invocation context: %+v, deadline %v", lc, hasDeadline)
			}
			sort.Strings(*deleted)
			if !slices.Equal(*deleted, c.wantDeleted) {
				t.Errorf("deleted %v, want %v", *deleted, c.wantDeleted)
			}
		})
	}
}

func TestCollectFillsBatchWithinWindow(t *testing.T) {
	var mu sync.Mutex
	queue := []types.Message{msg("1"), msg("2"), msg("3"), msg("4"), msg("5"), msg("6")}
	var maxAsked []int32
	f := &fakeSQS{receive: func(_ context.Context, in *sqs.ReceiveMessageInput) (*sqs.ReceiveMessageOutput, error) {
		mu.Lock()
		defer mu.Unlock()
		maxAsked = append(maxAsked, in.MaxNumberOfMessages)
		if !slices.Contains(in.MessageSystemAttributeNames, types.MessageSystemAttributeNameAll) {
			return nil, errors.New("system attributes not requested")
		}
		if len(queue) == 0 {
			return &sqs.ReceiveMessageOutput{}, nil
		}
		n := 1 // SQS may return fewer than asked; deliver one at a time
		out := queue[:n]
		queue = queue[n:]
		return &sqs.ReceiveMessageOutput{Messages: out}, nil
	}}
	s, _ := New(Config{Client: f, QueueURL: "http://x/1/q", BatchSize: 4, BatchWindow: time.Second,
		Handler: func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{}, nil
		}})
	batch, err := s.collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(batch) != 4 {
		t.Fatalf("batch of %d, want the batch size 4", len(batch))
	}
	if !slices.Equal(maxAsked, []int32{4, 3, 2, 1}) {
		t.Errorf("asked for %v messages, want never more than the room left", maxAsked)
	}
	batch, _ = s.collect(context.Background())
	if len(batch) != 2 {
		t.Errorf("second batch of %d, want the 2 left once the window closed", len(batch))
	}
}

func TestRunStopsOnCancelAndBacksOffOnErrors(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	f := &fakeSQS{receive: func(ctx context.Context, in *sqs.ReceiveMessageInput) (*sqs.ReceiveMessageOutput, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		return nil, fmt.Errorf("connection refused")
	}}
	s, _ := New(Config{Client: f, QueueURL: "http://x/1/q", ErrorBackoff: 50 * time.Millisecond,
		Handler: func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{}, nil
		}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	time.Sleep(300 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	mu.Lock()
	defer mu.Unlock()
	if calls < 2 || calls > 10 {
		t.Errorf("%d receive calls in 300 ms with a 50 ms backoff", calls)
	}
}

func TestEveryRunsUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	n := 0
	done := make(chan struct{})
	go func() {
		Every(ctx, 20*time.Millisecond, nil, "sweep", func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			n++
			if n == 3 {
				cancel()
			}
			return errors.New("a failing tick does not stop the schedule")
		})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Every did not stop")
	}
	if n != 3 {
		t.Errorf("ran %d times", n)
	}
}

func TestQueueARN(t *testing.T) {
	for url, want := range map[string]string{
		"https://sqs.eu-west-1.amazonaws.com/123456789012/jobs": "arn:aws:sqs:eu-west-1:123456789012:jobs",
		"http://127.0.0.1:4566/000000000000/jobs":               "arn:aws:sqs:eu-west-1:000000000000:jobs",
		"http://127.0.0.1:4566/jobs":                            "arn:aws:sqs:eu-west-1:000000000000:jobs",
	} {
		if got := QueueARN(url, "eu-west-1"); got != want {
			t.Errorf("QueueARN(%q) = %q, want %q", url, got, want)
		}
	}
}

func TestShutdownLetsABatchFinishWithinTheGrace(t *testing.T) {
	for _, c := range []struct {
		name        string
		work        time.Duration
		wantDeleted bool
	}{
		{"finishes within the grace", 100 * time.Millisecond, true},
		{"cancelled after the grace", 5 * time.Second, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeSQS{}
			deleted := recordDeletes(f)
			started := make(chan struct{})
			delivered := false
			f.receive = func(ctx context.Context, in *sqs.ReceiveMessageInput) (*sqs.ReceiveMessageOutput, error) {
				if !delivered {
					delivered = true
					return &sqs.ReceiveMessageOutput{Messages: []types.Message{msg("a")}}, nil
				}
				<-ctx.Done()
				return nil, ctx.Err()
			}
			s, _ := New(Config{Client: f, QueueURL: "http://x/1/q", BatchSize: 1, ShutdownGrace: 300 * time.Millisecond,
				Handler: func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
					close(started)
					select {
					case <-time.After(c.work):
						return events.SQSEventResponse{}, nil
					case <-ctx.Done():
						return events.SQSEventResponse{}, ctx.Err()
					}
				}})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { s.Run(ctx); close(done) }()
			<-started
			cancel()
			select {
			case <-done:
			case <-time.After(3 * time.Second):
				t.Fatal("Run did not return within the grace")
			}
			if got := len(*deleted) == 1; got != c.wantDeleted {
				t.Errorf("deleted %v, want deleted=%v", *deleted, c.wantDeleted)
			}
		})
	}
}

// TestRunBacksOffExponentiallyAndLogsStateChanges: while SQS is unreachable
// the pauses between receives double up to MaxErrorBackoff, and the log has
// one line when the queue goes away and one when it is back, per outage.
func TestRunBacksOffExponentiallyAndLogsStateChanges(t *testing.T) {
	var mu sync.Mutex
	var times []time.Time
	// Two outages: receives 1-6 fail, 7-9 answer, 10-11 fail, then answer.
	failing := func(n int) bool { return n <= 6 || n == 10 || n == 11 }
	f := &fakeSQS{receive: func(ctx context.Context, in *sqs.ReceiveMessageInput) (*sqs.ReceiveMessageOutput, error) {
		mu.Lock()
		times = append(times, time.Now())
		n := len(times)
		mu.Unlock()
		if failing(n) {
			return nil, fmt.Errorf("dial tcp: connection refused")
		}
		sleep(ctx, 5*time.Millisecond) // an empty long poll
		return &sqs.ReceiveMessageOutput{}, nil
	}}
	var logs logbuf.Buffer
	s, _ := New(Config{Client: f, QueueURL: "http://x/1/q", ErrorBackoff: 50 * time.Millisecond, MaxErrorBackoff: 200 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(&logs, nil)),
		Handler: func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{}, nil
		}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(times)
		mu.Unlock()
		if n >= 14 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d receives in 10 s", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	gap := func(i int) time.Duration { return times[i].Sub(times[i-1]) } // pause after receive i (1-based)
	// After failures 1..6 the pauses are 50, 100, 200, 200, 200 ms: never
	// shorter (the sleep), and not already long at the start (the doubling).
	for i, want := range []time.Duration{50, 100, 200, 200, 200} {
		if g := gap(i + 1); g < want*time.Millisecond {
			t.Errorf("pause after failure %d = %v, want at least %vms", i+1, g, want)
		}
		if g := gap(i + 1); g > want*time.Millisecond+150*time.Millisecond {
			t.Errorf("pause after failure %d = %v, want about %vms (capped at 200ms)", i+1, g, want)
		}
	}
	// The second outage starts over at ErrorBackoff.
	if g := gap(10); g < 50*time.Millisecond || g >= 200*time.Millisecond {
		t.Errorf("pause after the first failure of the second outage = %v, want about 50ms", g)
	}
	log := logs.String()
	if n := strings.Count(log, "the jobs queue is unreachable"); n != 2 {
		t.Errorf("%d 'unreachable' lines for 2 outages of 8 failed receives, want 2:\n%s", n, log)
	}
	if n := strings.Count(log, "the jobs queue is reachable again"); n != 2 {
		t.Errorf("%d 'reachable again' lines, want 2:\n%s", n, log)
	}
	if !strings.Contains(log, "failedReceives=6") {
		t.Errorf("the recovery line does not count the failed receives:\n%s", log)
	}
}
