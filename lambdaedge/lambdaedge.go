// The run function's edge: the events it receives (SQS batches and the
// sweep schedule's input) become calls of package worker, whose core takes
// plain deliveries and so imports nothing of aws-lambda-go. What Lambda adds
// here is exactly what the worker needs of it: the message body, id, receive
// count and receipt handle, the invocation's request id, and the batch item
// failures back.

package lambdaedge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/evovoice/billing/resources"
	"github.com/evovoice/billing/worker"
)

// Deliveries converts an SQS batch into the worker's deliveries. The
// invocation's request id (from ctx's Lambda context, if any) names the
// attempt in Report.Server.
func Deliveries(ctx context.Context, ev events.SQSEvent) []worker.Delivery {
	invocation := ""
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		invocation = lc.AwsRequestID
	}
	out := make([]worker.Delivery, 0, len(ev.Records))
	for _, m := range ev.Records {
		// A message without the attribute counts as its first receive.
		n, err := strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
		if err != nil || n < 1 {
			n = 1
		}
		out = append(out, worker.Delivery{
			MessageID:     m.MessageId,
			Body:          m.Body,
			ReceiveCount:  n,
			ReceiptHandle: m.ReceiptHandle,
			Invocation:    invocation,
		})
	}
	return out
}

// Response is the partial-batch answer: the messages to deliver again.
func Response(retryIDs []string) events.SQSEventResponse {
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for _, id := range retryIDs {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: id})
	}
	return resp
}

// HandleSQS runs one SQS batch on w. It never returns an error: a top-level
// error would make SQS retry the whole batch, re-running reports that
// succeeded.
func HandleSQS(w *worker.Worker) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		return Response(w.HandleDeliveries(ctx, Deliveries(ctx, ev))), nil
	}
}

// Handler is the run function's entry point: an SQS event, or the sweep
// schedule's constant input, exactly {"sweep":true}. Anything else is refused,
// so that a misconfigured trigger shows up as errors instead of silently doing
// nothing. Another scheduled input gets its own branch next to the sweep's.
func Handler(w *worker.Worker) func(context.Context, json.RawMessage) (any, error) {
	sqs := HandleSQS(w)
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil {
			return nil, fmt.Errorf("decoding event: %w", err)
		}
		if v, ok := fields[resources.SweepEventField]; ok && len(fields) == 1 {
			if !bytes.Equal(bytes.TrimSpace(v), []byte("true")) {
				return nil, errors.New("the sweep event must be exactly " + resources.SweepEvent)
			}
			res, err := w.Sweep(ctx)
			if err != nil {
				return nil, fmt.Errorf("sweeping: %w", err)
			}
			return res, nil
		}
		if _, ok := fields["Records"]; ok {
			var ev events.SQSEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				return nil, fmt.Errorf("decoding SQS event: %w", err)
			}
			return sqs(ctx, ev)
		}
		return nil, errors.New("unrecognised event: want an SQS event or " + resources.SweepEvent)
	}
}
