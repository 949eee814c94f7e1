package worker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
)

// synthData is a BillingData that makes up usage as it is read: n events spread
// evenly over the days asked for, in pages of pageSize, with a fixed delay per
// page. It holds no events, so the memory of a run is the worker's own.
type synthData struct {
	customers   int
	perDay      int
	pageSize    int
	pageLatency time.Duration
}

func (s *synthData) GetAccount(ctx context.Context, id string) (*billing.Account, error) {
	return &billing.Account{ID: id, Name: "Bench", TimeZoneID: "UTC", BillingSettings: billing.BillingSettings{
		billing.ItemBase:                {BaseCost: "25"},
		billing.ItemInboundVoiceCalls:   {RawUnitMultiplier: "0.0166666667", UnitCost: "0.012", Allowance: "1000"},
		billing.ItemOutboundVoiceCalls:  {RawUnitMultiplier: "0.0166666667", UnitCost: "0.02"},
		billing.ItemOutboundSmsMessages: {UnitCost: "0.0075"},
	}}, nil
}

func (s *synthData) ListCustomers(ctx context.Context, accountID string) ([]billing.Customer, error) {
	out := make([]billing.Customer, s.customers)
	for i := range out {
		out[i] = billing.Customer{ID: "c-" + strconv.Itoa(i), AccountID: accountID, Name: "Customer " + strconv.Itoa(i)}
		if i >= 10 {
			out[i].ParentCustomerID = "c-" + strconv.Itoa(i%10)
		}
	}
	return out, nil
}

var synthItems = []billing.Item{billing.ItemInboundVoiceCalls, billing.ItemOutboundVoiceCalls, billing.ItemOutboundSmsMessages}

func (s *synthData) QueryUsage(ctx context.Context, q billing.UsageQuery, fn func([]billing.UsageEvent) error) error {
	start := q.Day.In(time.UTC)
	step := 24 * time.Hour / time.Duration(max(s.perDay, 1))
	page := make([]billing.UsageEvent, 0, s.pageSize)
	for i := 0; i < s.perDay; {
		if s.pageLatency > 0 {
			time.Sleep(s.pageLatency)
		}
		page = page[:0]
		for ; i < s.perDay && len(page) < s.pageSize; i++ {
			page = append(page, billing.UsageEvent{
				ID: q.Day.String() + "-" + strconv.Itoa(i), AccountID: q.AccountID, CustomerID: "c-" + strconv.Itoa(i%s.customers),
				Time: start.Add(time.Duration(i) * step), Item: synthItems[i%len(synthItems)], RawQuantity: "61", Recorded: i%7 == 0,
			})
		}
		if err := fn(page); err != nil {
			return err
		}
	}
	return nil
}

// discardFiles stores nothing and counts bytes, to keep S3 out of the figure.
type discardFiles struct{}

func (discardFiles) PutReport(ctx context.Context, key string, body io.Reader, fileName string) (int64, error) {
	return io.Copy(io.Discard, body)
}

func (discardFiles) PresignGet(context.Context, string, string, time.Duration) (string, error) {
	return "", nil
}

// runSynthReport generates one October report of events over synthetic data
// through the whole worker path (lease, heartbeat, rating, CSV, finish).
func runSynthReport(events, customers int) (*billing.Report, error) {
	clock := &fakeClock{t: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)}
	reports := newHookedReports()
	w, err := New(Deps{
		Reports: reports, Data: &synthData{customers: customers, perDay: events / 31, pageSize: 1000},
		Files: discardFiles{}, Mailer: &memMailer{}, Queue: &memQueue{}, Partials: newMemPartials(), Clock: clock.Now,
		Log:    slog.New(slog.DiscardHandler),
		Config: Config{PublicAPIURL: "https://api.example.com", SigningKey: testKey},
	})
	if err != nil {
		return nil, err
	}
	start, end := billing.Date{Year: 2026, Month: 10, Day: 1}, billing.Date{Year: 2026, Month: 10, Day: 31}
	reports.put(&billing.Report{ID: "r-bench", AccountID: "acct-bench", Status: billing.ReportQueued,
		Request: billing.ReportRequest{AccountID: "acct-bench", StartDate: start, EndDate: end}})
	if w.handleMessage(context.Background(), sqsMessage("m-1", "r-bench", 1)) {
		return nil, fmt.Errorf("report asked for a retry: %+v", reports.get("r-bench"))
	}
	r := reports.get("r-bench")
	if r.Status != billing.ReportCompleted {
		return nil, fmt.Errorf("report ended %s: %s", r.Status, r.StatusMessage)
	}
	return &r, nil
}

// TestMain lets BenchmarkWorkerPeakRSS run one generation in a child process
// (WORKER_RSS_EVENTS set), whose peak RSS the parent reads from rusage.
func TestMain(m *testing.M) {
	if n := os.Getenv("WORKER_RSS_EVENTS"); n != "" {
		events, _ := strconv.Atoi(n)
		r, err := runSynthReport(events, 2000)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(r.StatusMessage)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func childPeakRSS(b *testing.B, events int) (rssMB float64, elapsed time.Duration) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "WORKER_RSS_EVENTS="+strconv.Itoa(events))
	start := time.Now()
	out, err := cmd.CombinedOutput()
	elapsed = time.Since(start)
	if err != nil {
		b.Fatalf("child with %d events: %v\n%s", events, err, out)
	}
	want := fmt.Sprintf("Completed: %d usage records in 1 shard.", events/31*31)
	if string(out) != want+"\n" {
		b.Fatalf("child said %q, want %q", out, want)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return float64(ru.Maxrss) / 1024, elapsed // Linux reports KiB
}

// BenchmarkWorkerPeakRSS: peak RSS of a whole report run over 1M and 4M events
// (2,000 customers) from a store that streams them; the target is under 128 MB
// and flat in the number of events.
func BenchmarkWorkerPeakRSS(b *testing.B) {
	for range b.N {
		rss1, t1 := childPeakRSS(b, 1_000_000)
		rss4, t4 := childPeakRSS(b, 4_000_000)
		b.ReportMetric(rss1, "MB-peak-rss-1M")
		b.ReportMetric(rss4, "MB-peak-rss-4M")
		b.ReportMetric(rss4/rss1, "rss-ratio-4M/1M")
		b.ReportMetric(1e6/t1.Seconds(), "events/s-1M")
		b.ReportMetric(4e6/t4.Seconds(), "events/s-4M")
	}
}

// BenchmarkDayReads: 31 days of 4 pages each from a store that adds 10 ms to
// every page, read one day at a time and 8 days at a time; the target is a
// speed-up of at least 4x.
func BenchmarkDayReads(b *testing.B) {
	// The events exist up front so that the store's cost is its latency only.
	data := newMemData()
	data.pageSize, data.pageDelay = 1000, 10*time.Millisecond
	var days []billing.Date
	for d := 1; d <= 31; d++ {
		day := billing.Date{Year: 2026, Month: 10, Day: d}
		days = append(days, day)
		for i := range 4000 {
			data.addUsage(billing.UsageEvent{ID: strconv.Itoa(d*10000 + i), AccountID: "a", CustomerID: "c", Time: day.In(time.UTC).Add(time.Duration(i) * time.Second)})
		}
	}
	from, to := days[0].In(time.UTC), days[30].AddDays(1).In(time.UTC)
	read := func(concurrency int) time.Duration {
		var n int
		start := time.Now()
		err := readDays(context.Background(), data, "a", days, from, to, concurrency, func(_ int, p []billing.UsageEvent) error {
			n += len(p)
			return nil
		}, nil)
		if err != nil || n != 31*4000 {
			b.Fatalf("read %d events: %v", n, err)
		}
		return time.Since(start)
	}
	var seq, conc time.Duration
	for range b.N {
		seq += read(1)
		conc += read(8)
	}
	b.ReportMetric(float64(seq.Milliseconds())/float64(b.N), "ms-sequential")
	b.ReportMetric(float64(conc.Milliseconds())/float64(b.N), "ms-8-concurrent")
	b.ReportMetric(seq.Seconds()/conc.Seconds(), "speedup-x")
}

// BenchmarkGenerate1M is the in-process cost of a 1M-event report without any
// store latency: what the worker itself adds on top of reading.
func BenchmarkGenerate1M(b *testing.B) {
	for range b.N {
		start := time.Now()
		if _, err := runSynthReport(1_000_000, 2000); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(1e6/time.Since(start).Seconds(), "events/s")
	}
}
