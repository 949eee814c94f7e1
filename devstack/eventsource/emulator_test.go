//go:build integration

package eventsource

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/evovoice/billing/devstack/emulators"
	"github.com/evovoice/billing/resources"
)

// deliveries records, per message body, the ApproximateReceiveCount of every
// delivery the handler saw.
type deliveries struct {
	mu   sync.Mutex
	seen map[string][]int
}

func (d *deliveries) add(r events.SQSMessage) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n, _ := strconv.Atoi(r.Attributes["ApproximateReceiveCount"])
	d.seen[r.Body] = append(d.seen[r.Body], n)
	return n
}

func (d *deliveries) get(body string) []int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.seen[body])
}

// startQueue makes a queue with a 1 s visibility timeout and the production
// redrive policy on the emulator, and runs a Source with handler on it.
func startQueue(t *testing.T, st *emulators.Stack, name string, handler Handler) (client *sqs.Client, queueURL, dlqURL string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	client = sqs.NewFromConfig(st.AWS)
	queueURL, dlqURL, err := emulators.ProvisionQueue(ctx, client, name, name+"-dlq", time.Second, resources.MaxReceiveCount)
	if err != nil {
		t.Fatal(err)
	}
	src, err := New(Config{Client: client, QueueURL: queueURL, Handler: handler, BatchSize: 4, BatchWindow: 300 * time.Millisecond, WaitTime: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { src.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return client, queueURL, dlqURL
}

func send(t *testing.T, client *sqs.Client, queueURL string, bodies ...string) {
	t.Helper()
	for _, b := range bodies {
		if _, err := client.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func queueDepth(t *testing.T, client *sqs.Client, queueURL string) (visible, inFlight int) {
	t.Helper()
	out, err := client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(queueURL),
		AttributeNames: []types.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"},
	})
	if err != nil {
		t.Fatal(err)
	}
	visible, _ = strconv.Atoi(out.Attributes["ApproximateNumberOfMessages"])
	inFlight, _ = strconv.Atoi(out.Attributes["ApproximateNumberOfMessagesNotVisible"])
	return visible, inFlight
}

func TestAgainstEmulator(t *testing.T) {
	st := emulators.StartForTest(t, emulators.SQS)

	t.Run("partial batch failures are redelivered, successes deleted", func(t *testing.T) {
		d := &deliveries{seen: map[string][]int{}}
		handler := func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			var resp events.SQSEventResponse
			for _, r := range ev.Records {
				if r.EventSource != "aws:sqs" || r.ReceiptHandle == "" || r.Attributes["SentTimestamp"] == "" {
					t.Errorf("record not shaped like Lambda's: %+v", r)
				}
				// "flaky" fails its first two deliveries, then succeeds.
				if n := d.add(r); r.Body == "flaky" && n < 3 {
					resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
				}
			}
			return resp, nil
		}
		client, queueURL, dlqURL := startQueue(t, st, "es-partial", handler)
		send(t, client, queueURL, "ok-1", "flaky", "ok-2")
		waitFor(t, "the flaky message's third delivery", 30*time.Second, func() bool { return len(d.get("flaky")) >= 3 })
		waitFor(t, "an empty queue", 10*time.Second, func() bool {
			v, f := queueDepth(t, client, queueURL)
			return v == 0 && f == 0
		})
		time.Sleep(1500 * time.Millisecond) // one more visibility timeout: nothing may come back
		if got := d.get("ok-1"); !slices.Equal(got, []int{1}) {
			t.Errorf("ok-1 deliveries %v, want exactly one", got)
		}
		if got := d.get("ok-2"); !slices.Equal(got, []int{1}) {
			t.Errorf("ok-2 deliveries %v, want exactly one", got)
		}
		if got := d.get("flaky"); !slices.Equal(got, []int{1, 2, 3}) {
			t.Errorf("flaky deliveries %v, want receive counts 1, 2, 3", got)
		}
		if v, f := queueDepth(t, client, dlqURL); v+f != 0 {
			t.Errorf("%d messages in the DLQ, want none", v+f)
		}
	})

	t.Run("a message failing 5 times lands in the DLQ", func(t *testing.T) {
		d := &deliveries{seen: map[string][]int{}}
		handler := func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			var resp events.SQSEventResponse
			for _, r := range ev.Records {
				d.add(r)
				if r.Body == "poison" {
					resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
				}
			}
			return resp, nil
		}
		client, queueURL, dlqURL := startQueue(t, st, "es-poison", handler)
		send(t, client, queueURL, "poison", "fine")
		waitFor(t, "the poison message in the DLQ", 40*time.Second, func() bool {
			v, _ := queueDepth(t, client, dlqURL)
			return v == 1
		})
		if got := d.get("poison"); !slices.Equal(got, []int{1, 2, 3, 4, 5}) {
			t.Errorf("poison deliveries %v, want receive counts 1..5", got)
		}
		if got := d.get("fine"); !slices.Equal(got, []int{1}) {
			t.Errorf("fine deliveries %v, want exactly one", got)
		}
		out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(dlqURL), WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != "poison" {
			t.Errorf("DLQ holds %v, want the poison message", out.Messages)
		}
		if v, f := queueDepth(t, client, queueURL); v+f != 0 {
			t.Errorf("%d messages left on the main queue", v+f)
		}
	})
}
