//go:build integration

package sqsqueue

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/devstack/emulators"
)

var stack *emulators.Stack

func TestMain(m *testing.M) { emulators.RunTests(m, &stack, emulators.SQS) }

// testQueue makes a queue of the test's own with a DLQ after 5 receives.
func testQueue(t *testing.T, visibility time.Duration) (queue, dlq *Queue) {
	t.Helper()
	client := awssqs.NewFromConfig(stack.AWS)
	name := strings.ReplaceAll(t.Name(), "/", "-")
	url, dlqURL, err := emulators.ProvisionQueue(context.Background(), client, name, name+"-dlq", visibility, 5)
	if err != nil {
		t.Fatalf("ProvisionQueue: %v", err)
	}
	return New(client, url), New(client, dlqURL)
}

func TestEnqueueSendsTheJobAsJSON(t *testing.T) {
	q, _ := testQueue(t, time.Minute)
	ctx := context.Background()
	before := time.Now().Add(-time.Second)
	id, err := q.Enqueue(ctx, billing.Job{ReportID: "r-1"})
	if err != nil || id == "" {
		t.Fatalf("Enqueue = %q, %v", id, err)
	}
	msgs, err := q.Receive(ctx, 10, time.Second)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if len(msgs) != 1 {
		t.Fatalf("received %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	var job billing.Job
	if err := json.Unmarshal([]byte(m.Body), &job); err != nil || job.ReportID != "r-1" {
		t.Fatalf("body %q decodes to %+v (%v)", m.Body, job, err)
	}
	if m.MessageID != id || m.ReceiptHandle == "" || m.ReceiveCount != 1 {
		t.Fatalf("message %+v: want id %s, a receipt handle, receive count 1", m, id)
	}
	if m.SentAt.Before(before) || m.FirstReceivedAt.Before(m.SentAt) || m.Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("timestamps sent %v first received %v, attributes %v", m.SentAt, m.FirstReceivedAt, m.Attributes)
	}
	if err := q.Delete(ctx, m.ReceiptHandle); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if msgs, _ := q.Receive(ctx, 10, 0); len(msgs) != 0 {
		t.Fatalf("a deleted message came back: %+v", msgs)
	}
	_, err = q.Enqueue(ctx, billing.Job{})
	if billing.ErrorCode(err) != billing.EINVALID {
		t.Fatalf("empty job: %v, want EINVALID", err)
	}
}

func TestVisibilityHidesAndReleasesMessages(t *testing.T) {
	q, _ := testQueue(t, time.Minute)
	ctx := context.Background()
	if _, err := q.Enqueue(ctx, billing.Job{ReportID: "r-2"}); err != nil {
		t.Fatal(err)
	}
	first, err := q.Receive(ctx, 1, time.Second)
	if err != nil || len(first) != 1 {
		t.Fatalf("Receive: %d messages, %v", len(first), err)
	}
	// Hidden for the queue's visibility timeout.
	if again, _ := q.Receive(ctx, 1, 0); len(again) != 0 {
		t.Fatal("a received message was visible again at once")
	}
	if err := q.ChangeVisibility(ctx, first[0].ReceiptHandle, 0); err != nil {
		t.Fatalf("ChangeVisibility: %v", err)
	}
	again, err := q.Receive(ctx, 1, time.Second)
	if err != nil || len(again) != 1 || again[0].ReceiveCount != 2 || again[0].MessageID != first[0].MessageID {
		t.Fatalf("after releasing: %+v %v, want the same message, received twice", again, err)
	}
}

func TestAMessageReceivedFiveTimesLandsInTheDLQ(t *testing.T) {
	// A 1 s visibility timeout lets the message come back by itself, as after
	// a crashed worker; the sixth receive finds it in the DLQ instead.
	q, dlq := testQueue(t, time.Second)
	ctx := context.Background()
	id, err := q.Enqueue(ctx, billing.Job{ReportID: "poison"})
	if err != nil {
		t.Fatal(err)
	}
	for want := 1; want <= 5; want++ {
		msgs, err := q.Receive(ctx, 1, 3*time.Second)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("receive %d: %d messages, %v", want, len(msgs), err)
		}
		if msgs[0].ReceiveCount != want {
			t.Fatalf("receive %d: ApproximateReceiveCount %d", want, msgs[0].ReceiveCount)
		}
	}
	time.Sleep(1100 * time.Millisecond)
	if msgs, err := q.Receive(ctx, 1, time.Second); err != nil || len(msgs) != 0 {
		t.Fatalf("after 5 receives the queue still gave %d messages (%v)", len(msgs), err)
	}
	dead, err := dlq.Receive(ctx, 1, 2*time.Second)
	if err != nil || len(dead) != 1 || dead[0].MessageID != id || !strings.Contains(dead[0].Body, "poison") {
		t.Fatalf("DLQ: %+v %v, want the poison message", dead, err)
	}

	attrs, err := q.Attributes(ctx)
	if err != nil {
		t.Fatalf("Attributes: %v", err)
	}
	dlqAttrs, err := dlq.Attributes(ctx)
	if err != nil {
		t.Fatalf("DLQ Attributes: %v", err)
	}
	if attrs.MaxReceiveCount != 5 || attrs.DeadLetterTargetARN != dlqAttrs.QueueARN || attrs.VisibilityTimeout != time.Second || attrs.QueueARN == "" {
		t.Fatalf("attributes %+v, DLQ ARN %q", attrs, dlqAttrs.QueueARN)
	}
}

func TestQueueDownIsUnavailable(t *testing.T) {
	down := New(awssqs.NewFromConfig(stack.AWS, func(o *awssqs.Options) {
		o.BaseEndpoint = aws.String("http://127.0.0.1:1")
		o.RetryMaxAttempts = 1
	}), stack.JobsQueueURL)
	_, err := down.Enqueue(context.Background(), billing.Job{ReportID: "r"})
	if billing.ErrorCode(err) != billing.EUNAVAILABLE {
		t.Fatalf("Enqueue with SQS down = %v, want EUNAVAILABLE", err)
	}
	missing := New(awssqs.NewFromConfig(stack.AWS), stack.SQSURL+"/000000000000/no-such-queue")
	_, err = missing.Enqueue(context.Background(), billing.Job{ReportID: "r"})
	if billing.ErrorCode(err) != billing.EUNAVAILABLE {
		t.Fatalf("Enqueue to a missing queue = %v, want EUNAVAILABLE", err)
	}
}
