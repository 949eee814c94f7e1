package schedules

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"

	billing "github.com/evovoice/billing"
)

func TestParseTickEvent(t *testing.T) {
	for _, c := range []struct {
		raw    string
		ok     bool
		hasErr bool
		at     string
	}{
		{`{"sweep":true,"time":"2026-11-01T11:00:00Z"}`, true, false, "2026-11-01T11:00:00Z"},
		{`{"time":"2026-11-01T06:00:00-05:00","sweep":true}`, true, false, "2026-11-01T11:00:00Z"},
		{`{"sweep":true}`, false, false, ""},
		{`{"Records":[]}`, false, false, ""},
		{`[1]`, false, false, ""},
		{`{"sweep":true,"time":"yesterday"}`, true, true, ""},
		{`{"sweep":false,"time":"2026-11-01T11:00:00Z"}`, true, true, ""},
		{`{"sweep":true,"time":"2026-11-01T11:00:00Z","x":1}`, false, false, ""},
	} {
		at, ok, err := ParseTickEvent(json.RawMessage(c.raw))
		if ok != c.ok || (err != nil) != c.hasErr || c.at != "" && at.UTC().Format("2006-01-02T15:04:05Z") != c.at {
			t.Errorf("ParseTickEvent(%s) = %v, %v, %v", c.raw, at, ok, err)
		}
	}
}

// TestWithTicks: the tick event fires the due schedules at the event's own
// time, then sweeps; other events pass through; a failed tick fails the
// invocation after the sweep ran.
func TestWithTicks(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, utc(t, "2026-10-15T12:00:00Z"))
	mustCreate(t, w, monthly)
	var got []string
	next := func(_ context.Context, raw json.RawMessage) (any, error) {
		got = append(got, string(raw))
		return "swept", nil
	}
	h := w.svc.WithTicks(next)
	out, err := h(ctx, json.RawMessage(`{"sweep":true,"time":"2026-11-01T11:00:00Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	res := out.(TickResponse)
	if res.Tick.Fired != 1 || res.Sweep != "swept" || len(got) != 1 || got[0] != `{"sweep":true}` || len(w.periods()) != 1 {
		t.Fatalf("tick response %+v, next saw %v, reports %v", res, got, w.periods())
	}
	if _, err := h(ctx, json.RawMessage(`{"Records":[]}`)); err != nil || len(got) != 2 || got[1] != `{"Records":[]}` {
		t.Fatalf("an SQS event did not pass through: %v %v", got, err)
	}
	if _, err := h(ctx, json.RawMessage(`{"sweep":true,"time":"soon"}`)); err == nil {
		t.Fatal("a bad tick time was accepted")
	}
	w.store.Err = errors.New("store down")
	if _, err := h(ctx, json.RawMessage(`{"sweep":true,"time":"2026-12-01T11:00:00Z"}`)); err == nil || len(got) != 3 {
		t.Fatalf("a failed tick: err %v, sweep calls %d (the sweep must still run)", err, len(got))
	}
}

// TestTickFailureLogLine: the ScheduleTickFailures metric filter of infra/
// matches { $.op = "tick" && $.level = "ERROR" }; a failed tick must log
// exactly such a JSON line, with the cause and no more than ids.
func TestTickFailureLogLine(t *testing.T) {
	for _, breakIt := range []string{"listing", "firing"} {
		w := newWorld(t, utc(t, "2026-10-15T12:00:00Z"))
		sc := mustCreate(t, w, monthly)
		var buf bytes.Buffer
		w.svc.d.Logger = slog.New(slog.NewJSONHandler(&buf, nil))
		if breakIt == "listing" {
			w.store.Err = errors.New("store down")
		} else {
			w.svc.d.Submit = failingSubmitter{}
		}
		if _, err := w.svc.Tick(context.Background(), utc(t, "2026-11-01T12:00:00Z")); err == nil {
			t.Fatalf("%s: the tick did not fail", breakIt)
		}
		found := false
		for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
			var rec map[string]any
			if err := json.Unmarshal(line, &rec); err != nil {
				t.Fatalf("not a JSON log line: %s", line)
			}
			if rec["op"] == "tick" && rec["level"] == "ERROR" {
				found = true
				if breakIt == "firing" && rec["scheduleId"] != sc.ID {
					t.Errorf("the error line does not name the schedule: %s", line)
				}
			}
		}
		if !found {
			t.Errorf("%s: no {op: tick, level: ERROR} line in:\n%s", breakIt, buf.String())
		}
	}
}

type failingSubmitter struct{}

func (failingSubmitter) SubmitWithID(context.Context, billing.Caller, billing.BillingReport, string, string) (*billing.Report, error) {
	return nil, billing.Errorf(billing.EUNAVAILABLE, "The job queue is unavailable.")
}
