package lambdaedge

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/worker"
)

func readEvent(t *testing.T, name string) json.RawMessage {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDeliveriesFromARealSQSEvent(t *testing.T) {
	var ev events.SQSEvent
	if err := json.Unmarshal(readEvent(t, "sqs-batch.json"), &ev); err != nil {
		t.Fatal(err)
	}
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	got := Deliveries(ctx, ev)
	want := []worker.Delivery{
		{MessageID: "059f36b4-87a3-44ab-83d2-661975830a7d", Body: `{"reportId":"r-unknown"}`, ReceiveCount: 3, ReceiptHandle: "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...", Invocation: "req-1"},
		// No ApproximateReceiveCount: the first receive.
		{MessageID: "2e1424d4-f796-459a-8184-9c92662be6da", Body: "not json", ReceiveCount: 1, ReceiptHandle: "AQEBzWwaftRI0KuVm4tP+/7q1rGgNqicHq...", Invocation: "req-1"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d deliveries, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("delivery %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if d := Deliveries(context.Background(), ev); d[0].Invocation != "" {
		t.Errorf("outside Lambda the invocation is %q, want empty", d[0].Invocation)
	}
}

func TestResponseAlwaysHasAFailureList(t *testing.T) {
	data, err := json.Marshal(Response(nil))
	if err != nil || string(data) != `{"batchItemFailures":[]}` {
		t.Fatalf("empty response = %s, %v", data, err)
	}
	data, _ = json.Marshal(Response([]string{"m-1"}))
	if string(data) != `{"batchItemFailures":[{"itemIdentifier":"m-1"}]}` {
		t.Fatalf("response = %s", data)
	}
}

// reports knows no report and has nothing stale: enough for the dispatch.
// The embedded interface is nil, so a call the dispatch should not make
// panics and fails the test.
type reports struct{ worker.Reports }

func (reports) GetReport(context.Context, string) (*billing.Report, error) {
	return nil, billing.Errorf(billing.ENOTFOUND, "no report")
}

func (reports) StaleReports(context.Context, billing.ReportStatus, time.Time, int) ([]*billing.Report, error) {
	return nil, nil
}

type nothing struct {
	worker.Partials
	billing.BillingData
	billing.ReportFiles
	billing.Mailer
	billing.JobQueue
}

func TestHandlerDispatch(t *testing.T) {
	var n nothing
	w, err := worker.New(worker.Deps{Reports: reports{}, Data: n, Files: n, Mailer: n, Queue: n, Partials: n,
		Config: worker.Config{PublicAPIURL: "https://api.example.com", SigningKey: []byte("k")}})
	if err != nil {
		t.Fatal(err)
	}
	h := Handler(w)
	out, err := h(context.Background(), readEvent(t, "sqs-batch.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The unknown report's job is dropped; the malformed one is kept for the DLQ.
	resp, ok := out.(events.SQSEventResponse)
	if !ok || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "2e1424d4-f796-459a-8184-9c92662be6da" {
		t.Fatalf("SQS response = %#v", out)
	}
	out, err = h(context.Background(), readEvent(t, "sweep.json"))
	if _, ok := out.(worker.SweepResult); err != nil || !ok {
		t.Fatalf("sweep: %#v %v", out, err)
	}
	for _, bad := range []string{`{"sweep":false}`, `{"sweep":true,"x":1}`, `{}`, `[]`, `{"detail-type":"Scheduled Event"}`} {
		if _, err := h(context.Background(), json.RawMessage(bad)); err == nil {
			t.Errorf("Handler(%s) accepted", bad)
		}
	}
}
