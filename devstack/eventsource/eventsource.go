// Package eventsource is the local stand-in for Lambda's SQS event source
// mapping: it long-polls a queue, gathers messages into batches by size and
// window, invokes the worker's handler with an events.SQSEvent built the way
// Lambda builds it, deletes the messages that succeeded and leaves the failed
// ones (ReportBatchItemFailures) to come back after their visibility timeout,
// which the worker shortens to its retry backoff with ChangeMessageVisibility
// on the same queue: the event source never resets it, as on AWS.
// Redrive to the dead-letter queue is the queue's own business, as on AWS.
//
// It also runs the periodic sweep that EventBridge Scheduler triggers on AWS.
package eventsource

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/evovoice/billing/resources"
)

// SQSAPI is the part of the SQS client the event source uses.
type SQSAPI interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
}

// Handler is an SQS-triggered Lambda handler reporting partial batch failures.
type Handler func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// Config is what a Source needs.
type Config struct {
	Client   SQSAPI
	QueueURL string
	QueueARN string // eventSourceARN of the messages; derived from QueueURL when empty
	Region   string
	Handler  Handler
	Log      *slog.Logger

	BatchSize   int           // default resources.WorkerBatchSize; at most 10 per receive
	BatchWindow time.Duration // default resources.WorkerBatchWindow
	// WaitTime is the long-poll wait of an empty queue (at most 20 s).
	WaitTime time.Duration
	// VisibilityTimeout overrides the queue's for received messages; 0 keeps
	// the queue's, as the event source mapping does. Tests shorten it.
	VisibilityTimeout time.Duration
	// ErrorBackoff is the first pause after SQS itself failed, so that a
	// stopped emulator is not hammered; it doubles with every failure in a
	// row up to MaxErrorBackoff (default 30 s) and starts over once SQS
	// answers again.
	ErrorBackoff    time.Duration
	MaxErrorBackoff time.Duration
	// FunctionName and Timeout describe the function invoked: each invocation
	// gets a Lambda context (request id, function ARN) and a deadline, as on
	// Lambda. Defaults "run" and resources.WorkerTimeout.
	FunctionName string
	Timeout      time.Duration
	// ShutdownGrace is how long a batch being handled when Run's context ends
	// may go on before its context is cancelled too (default 10 s). Its
	// unfinished messages are then not deleted and come back after their
	// visibility timeout, which the worker's leases are built for.
	ShutdownGrace time.Duration
}

// receiveMargin bounds an SQS call beyond its own long-poll wait.
const receiveMargin = 10 * time.Second

// Source polls one queue for one handler.
type Source struct {
	cfg Config
}

// New returns a Source for cfg, with defaults filled in.
func New(cfg Config) (*Source, error) {
	if cfg.Client == nil || cfg.QueueURL == "" || cfg.Handler == nil {
		return nil, errors.New("event source needs a client, a queue URL and a handler")
	}
	cfg.pollingDefaults()
	cfg.identityDefaults()
	return &Source{cfg: cfg}, nil
}

// pollingDefaults fills in Lambda's event source mapping settings.
func (cfg *Config) pollingDefaults() {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = resources.WorkerBatchSize
	}
	if cfg.BatchWindow <= 0 {
		cfg.BatchWindow = resources.WorkerBatchWindow
	}
	if cfg.WaitTime <= 0 || cfg.WaitTime > 20*time.Second {
		cfg.WaitTime = 20 * time.Second
	}
	if cfg.ErrorBackoff <= 0 {
		cfg.ErrorBackoff = time.Second
	}
	if cfg.MaxErrorBackoff < cfg.ErrorBackoff {
		cfg.MaxErrorBackoff = max(30*time.Second, cfg.ErrorBackoff)
	}
}

// identityDefaults fills in the queue's and the function's names, the log
// and the function's timeouts.
func (cfg *Config) identityDefaults() {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.QueueARN == "" {
		cfg.QueueARN = QueueARN(cfg.QueueURL, cfg.Region)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.FunctionName == "" {
		cfg.FunctionName = "run"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = resources.WorkerTimeout
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = 10 * time.Second
	}
}

// QueueARN derives a queue's ARN from its URL (https://host/<account>/<name>).
func QueueARN(queueURL, region string) string {
	parts := strings.Split(strings.TrimRight(queueURL, "/"), "/")
	account, name := "000000000000", parts[len(parts)-1]
	if len(parts) >= 2 && parts[len(parts)-2] != "" && !strings.Contains(parts[len(parts)-2], ":") {
		account = parts[len(parts)-2]
	}
	return fmt.Sprintf("arn:aws:sqs:%s:%s:%s", region, account, name)
}

// Run polls until ctx ends. A batch being handled when ctx ends gets
// ShutdownGrace to finish and settle its messages before it is cancelled.
//
// While SQS is unreachable Run backs off exponentially (ErrorBackoff doubling
// up to MaxErrorBackoff) and logs once when the queue becomes unreachable and
// once when it is back, not once per try.
func (s *Source) Run(ctx context.Context) error {
	backoff := s.cfg.ErrorBackoff
	var downSince time.Time
	failures := 0
	for ctx.Err() == nil {
		msgs, err := s.collect(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if failures == 0 {
				downSince = time.Now()
				s.cfg.Log.Warn("the jobs queue is unreachable; retrying with exponential backoff", "err", err, "maxBackoff", s.cfg.MaxErrorBackoff)
			}
			failures++
			sleep(ctx, backoff)
			backoff = min(2*backoff, s.cfg.MaxErrorBackoff)
			continue
		}
		if failures > 0 {
			s.cfg.Log.Info("the jobs queue is reachable again", "failedReceives", failures, "down", time.Since(downSince).Round(time.Millisecond))
			failures, backoff = 0, s.cfg.ErrorBackoff
		}
		if len(msgs) == 0 {
			continue
		}
		s.dispatchWithGrace(ctx, msgs)
	}
	return nil
}

func (s *Source) dispatchWithGrace(ctx context.Context, msgs []types.Message) {
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stopWatching := context.AfterFunc(ctx, func() {
		t := time.NewTimer(s.cfg.ShutdownGrace)
		defer t.Stop()
		select {
		case <-t.C:
			s.cfg.Log.Warn("stopping: cancelling the batch still being handled; its messages come back after their visibility timeout")
			cancel()
		case <-dctx.Done():
		}
	})
	defer stopWatching()
	s.Dispatch(dctx, msgs)
}

// collect gathers one batch: it waits (long poll) for the first message, then
// keeps receiving until the batch is full or the window since the first
// message has passed.
func (s *Source) collect(ctx context.Context) ([]types.Message, error) {
	var batch []types.Message
	var deadline time.Time
	for len(batch) < s.cfg.BatchSize {
		wait := s.cfg.WaitTime
		if len(batch) > 0 {
			left := time.Until(deadline)
			if left <= 0 {
				break
			}
			wait = left
		}
		// ReceiveMessage's wait is in whole seconds; a sub-second remainder of
		// the window becomes a short poll.
		waitSeconds := int32(wait / time.Second)
		in := &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(s.cfg.QueueURL),
			MaxNumberOfMessages:         int32(min(10, s.cfg.BatchSize-len(batch))),
			WaitTimeSeconds:             waitSeconds,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		}
		if s.cfg.VisibilityTimeout > 0 {
			in.VisibilityTimeout = int32(s.cfg.VisibilityTimeout / time.Second)
		}
		// A paused SQS accepts the connection and never answers: bound the
		// long poll by its own wait plus a margin.
		rctx, cancel := context.WithTimeout(ctx, time.Duration(waitSeconds)*time.Second+receiveMargin)
		out, err := s.cfg.Client.ReceiveMessage(rctx, in)
		cancel()
		if err != nil {
			if len(batch) > 0 {
				// Already-received messages are invisible now; hand them over
				// rather than let them wait out their visibility timeout.
				s.cfg.Log.Warn("receiving more messages failed; running the partial batch", "err", err)
				return batch, nil
			}
			return nil, fmt.Errorf("receiving messages: %w", err)
		}
		if len(batch) == 0 && len(out.Messages) == 0 {
			// An empty long poll: SQS answered, which Run needs to know to
			// end an outage; Run polls again.
			return nil, nil
		}
		if len(batch) == 0 {
			deadline = time.Now().Add(s.cfg.BatchWindow)
		}
		batch = append(batch, out.Messages...)
		if len(batch) > 0 && waitSeconds == 0 && len(out.Messages) == 0 {
			// A short poll found nothing; pause briefly instead of spinning
			// until the window closes.
			sleep(ctx, min(100*time.Millisecond, time.Until(deadline)))
		}
		if ctx.Err() != nil {
			break
		}
	}
	return batch, nil
}

// Dispatch invokes the handler with msgs and settles them: successful
// messages are deleted, failed ones are left for redelivery.
func (s *Source) Dispatch(ctx context.Context, msgs []types.Message) {
	ev := s.Event(msgs)
	resp, err := s.invoke(ctx, ev)
	failed := map[string]bool{}
	switch {
	case err != nil:
		s.cfg.Log.Error("worker failed the whole batch; messages return after their visibility timeout", "messages", len(msgs), "err", err)
		for _, m := range ev.Records {
			failed[m.MessageId] = true
		}
	default:
		known := map[string]bool{}
		for _, m := range ev.Records {
			known[m.MessageId] = true
		}
		for _, f := range resp.BatchItemFailures {
			if !known[f.ItemIdentifier] {
				// Lambda treats an unknown or empty identifier as a failure of
				// the whole batch.
				s.cfg.Log.Error("worker reported an unknown message id; failing the whole batch", "itemIdentifier", f.ItemIdentifier)
				for id := range known {
					failed[id] = true
				}
				break
			}
			failed[f.ItemIdentifier] = true
		}
	}
	var done []types.DeleteMessageBatchRequestEntry
	for i, m := range msgs {
		if failed[aws.ToString(m.MessageId)] {
			continue
		}
		done = append(done, types.DeleteMessageBatchRequestEntry{
			Id:            aws.String(fmt.Sprint(i)),
			ReceiptHandle: m.ReceiptHandle,
		})
	}
	if len(failed) > 0 && err == nil {
		s.cfg.Log.Info("worker reported failed messages; they return after their visibility timeout", "failed", len(failed), "batch", len(msgs))
	}
	if len(done) == 0 {
		return
	}
	dctx, cancel := context.WithTimeout(ctx, receiveMargin)
	defer cancel()
	out, derr := s.cfg.Client.DeleteMessageBatch(dctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(s.cfg.QueueURL), Entries: done})
	if derr != nil {
		s.cfg.Log.Error("deleting handled messages failed; they will be delivered again", "err", derr)
		return
	}
	for _, f := range out.Failed {
		s.cfg.Log.Error("deleting a handled message failed; it will be delivered again", "id", aws.ToString(f.Id), "code", aws.ToString(f.Code), "message", aws.ToString(f.Message))
	}
}

// invoke calls the handler with a Lambda context and the function's deadline,
// turning a panic into a failed batch as the Lambda runtime does.
func (s *Source) invoke(ctx context.Context, ev events.SQSEvent) (resp events.SQSEventResponse, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	account := "000000000000"
	if parts := strings.Split(s.cfg.QueueARN, ":"); len(parts) == 6 {
		account = parts[4]
	}
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID:       newRequestID(),
		InvokedFunctionArn: fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", s.cfg.Region, account, s.cfg.FunctionName),
	})
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	return s.cfg.Handler(ctx, ev)
}

// newRequestID makes a Lambda-style request id (a random UUID).
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Event builds the events.SQSEvent Lambda would deliver for msgs.
func (s *Source) Event(msgs []types.Message) events.SQSEvent {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(msgs))}
	for _, m := range msgs {
		attrs := make(map[string]string, len(m.Attributes))
		for k, v := range m.Attributes {
			attrs[k] = v
		}
		var msgAttrs map[string]events.SQSMessageAttribute
		if len(m.MessageAttributes) > 0 {
			msgAttrs = make(map[string]events.SQSMessageAttribute, len(m.MessageAttributes))
			for k, v := range m.MessageAttributes {
				msgAttrs[k] = events.SQSMessageAttribute{
					StringValue:      v.StringValue,
					BinaryValue:      v.BinaryValue,
					StringListValues: v.StringListValues,
					BinaryListValues: v.BinaryListValues,
					DataType:         aws.ToString(v.DataType),
				}
			}
		}
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId:              aws.ToString(m.MessageId),
			ReceiptHandle:          aws.ToString(m.ReceiptHandle),
			Body:                   aws.ToString(m.Body),
			Md5OfBody:              aws.ToString(m.MD5OfBody),
			Md5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
			Attributes:             attrs,
			MessageAttributes:      msgAttrs,
			EventSourceARN:         s.cfg.QueueARN,
			EventSource:            "aws:sqs",
			AWSRegion:              s.cfg.Region,
		})
	}
	return ev
}

// Every calls fn every interval until ctx ends, as a scheduler would; a
// failure is logged and the next tick tries again.
func Every(ctx context.Context, interval time.Duration, log *slog.Logger, name string, fn func(context.Context) error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				log.Error(name+" failed; trying again at the next tick", "err", err)
			}
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
