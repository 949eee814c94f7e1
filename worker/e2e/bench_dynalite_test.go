//go:build integration

package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/ddbstore"
	"github.com/evovoice/billing/devstack/emulators"
	"github.com/evovoice/billing/lambdaedge"
	"github.com/evovoice/billing/resources"
	"github.com/evovoice/billing/worker"
)

// benchEvents is the dataset size of BenchmarkDynaliteGeneration; the
// WORKER_BENCH_EVENTS variable shrinks it for a quick look.
func benchEvents() int {
	if n, err := strconv.Atoi(os.Getenv("WORKER_BENCH_EVENTS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

const (
	benchAccount   = "acct-bench"
	benchCustomers = 500
)

var benchMonth = [2]billing.Date{{Year: 2026, Month: 10, Day: 1}, {Year: 2026, Month: 10, Day: 31}}

// repoRoot is the folder of go.mod above the working directory.
func repoRoot(tb testing.TB) string {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// benchEvent is event i of day d: deterministic, so a cached dataset is the
// same dataset.
func benchEvent(day billing.Date, i, perDay int) billing.UsageEvent {
	items := [...]billing.Item{billing.ItemInboundVoiceCalls, billing.ItemOutboundVoiceCalls, billing.ItemOutboundSmsMessages, billing.ItemInboundSmsMessages}
	step := 24 * time.Hour / time.Duration(perDay)
	return billing.UsageEvent{
		ID: day.String() + "-" + strconv.Itoa(i), AccountID: benchAccount, CustomerID: "c-" + strconv.Itoa(i%benchCustomers),
		Time: day.In(time.UTC).Add(time.Duration(i) * step), Item: items[i%len(items)], RawQuantity: strconv.Itoa(30 + i%600),
		Recorded: i%11 == 0,
	}
}

// loadBenchData writes the dataset unless the cached data folder already has
// it, and returns how long loading took (0 when cached).
func loadBenchData(b *testing.B, store *ddbstore.BillingStore, marker string, n int) time.Duration {
	if _, err := os.Stat(marker); err == nil {
		return 0
	}
	ctx := context.Background()
	start := time.Now()
	acct := billing.Account{ID: benchAccount, Name: "Bench", TimeZoneID: "UTC", BillingSettings: billing.BillingSettings{
		billing.ItemBase:                {BaseCost: "25"},
		billing.ItemInboundVoiceCalls:   {RawUnitMultiplier: "0.0166666667", UnitCost: "0.012", Allowance: "1000"},
		billing.ItemOutboundVoiceCalls:  {RawUnitMultiplier: "0.0166666667", UnitCost: "0.02"},
		billing.ItemOutboundSmsMessages: {UnitCost: "0.0075"},
	}}
	if err := store.PutAccounts(ctx, []billing.Account{acct}); err != nil {
		b.Fatal(err)
	}
	customers := make([]billing.Customer, benchCustomers)
	for i := range customers {
		customers[i] = billing.Customer{ID: "c-" + strconv.Itoa(i), AccountID: benchAccount, Name: "Customer " + strconv.Itoa(i)}
	}
	if err := store.PutCustomers(ctx, customers); err != nil {
		b.Fatal(err)
	}
	perDay := n / 31
	batch := make([]billing.UsageEvent, 0, 5000)
	for d := benchMonth[0]; !benchMonth[1].Before(d); d = d.AddDays(1) {
		for i := range perDay {
			batch = append(batch, benchEvent(d, i, perDay))
			if len(batch) == cap(batch) {
				if err := store.PutUsage(ctx, batch); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
		}
	}
	if err := store.PutUsage(ctx, batch); err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	if err := os.WriteFile(marker, []byte(took.String()+"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	return took
}

// plainQuery reads every usage item of the month with raw paginated Query
// calls, concurrency days at a time, and counts them: the floor the report is
// compared with. With between it uses the key condition the adapter uses
// (partition AND sort key BETWEEN the period's bounds), which dynalite serves
// more slowly than a partition-only condition.
func plainQuery(b *testing.B, client *ddb.Client, table string, concurrency int, between bool) int64 {
	var days []billing.Date
	for d := benchMonth[0]; !benchMonth[1].Before(d); d = d.AddDays(1) {
		days = append(days, d)
	}
	var total atomic.Int64
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for _, d := range days {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			in := &ddb.QueryInput{
				TableName:                 aws.String(table),
				KeyConditionExpression:    aws.String("#pk = :pk"),
				ExpressionAttributeNames:  map[string]string{"#pk": resources.BillingPK},
				ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: ddbstore.UsagePartition(benchAccount, d)}},
				ConsistentRead:            aws.Bool(true),
				Limit:                     aws.Int32(1000),
			}
			if between {
				from, to := benchMonth[0].In(time.UTC), benchMonth[1].AddDays(1).In(time.UTC)
				in.KeyConditionExpression = aws.String("#pk = :pk AND #sk BETWEEN :from AND :to")
				in.ExpressionAttributeNames["#sk"] = resources.BillingSK
				in.ExpressionAttributeValues[":from"] = &types.AttributeValueMemberS{Value: from.Format(resources.UsageTimeLayout)}
				in.ExpressionAttributeValues[":to"] = &types.AttributeValueMemberS{Value: to.Format(resources.UsageTimeLayout)}
			}
			for {
				out, err := client.Query(context.Background(), in)
				if err != nil {
					b.Error(err)
					return
				}
				total.Add(int64(len(out.Items)))
				if in.ExclusiveStartKey = out.LastEvaluatedKey; len(in.ExclusiveStartKey) == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	return total.Load()
}

// discardFiles keeps S3 out of this figure: the CSV is bounded by customers.
type discardFiles struct{}

func (discardFiles) PutReport(_ context.Context, _ string, body io.Reader, _ string) (int64, error) {
	return io.Copy(io.Discard, body)
}
func (discardFiles) PresignGet(context.Context, string, string, time.Duration) (string, error) {
	return "", nil
}

type nopMailer struct{}

func (nopMailer) Send(context.Context, billing.Email) (string, error) { return "", nil }

type nopQueue struct{}

func (nopQueue) Enqueue(context.Context, billing.Job) (string, error) { return "", nil }

// noPartials refuses every call: the benchmark's reports are one shard, and
// a partial written would mean they were not.
type noPartials struct{}

func (noPartials) PutPartial(context.Context, string, []byte) error {
	return errors.New("the benchmark's report was sharded")
}
func (noPartials) GetPartial(context.Context, string) ([]byte, error) {
	return nil, errors.New("the benchmark's report was sharded")
}
func (noPartials) DeletePartial(context.Context, string) error {
	return errors.New("the benchmark's report was sharded")
}

// BenchmarkDynaliteGeneration: a report over 1M usage events of one account in
// October, against dynalite, next to a plain paginated Query of the same items
// from the same dynalite in the same run. The dataset is cached in
// build/bench-worker/ so repeated runs skip the load.
func BenchmarkDynaliteGeneration(b *testing.B) {
	n := benchEvents()
	// Named after the stored usage format: data cached by an older format
	// would not be readable.
	dir := filepath.Join(repoRoot(b), "build", "bench-worker", fmt.Sprintf("dynalite-%s-%d", ddbstore.UsageFormat, n))
	ctx := context.Background()
	stack, err := emulators.Start(ctx, emulators.Options{DataDir: filepath.Join(dir, "data")})
	if err != nil {
		b.Fatalf("starting the emulators: %v", err)
	}
	defer stack.Close()
	client := ddb.NewFromConfig(stack.AWS)
	data := ddbstore.NewBillingStore(client, stack.Names.BillingTable, func(o *ddbstore.Options) { o.WriteConcurrency = 8 })
	reports := ddbstore.NewReportStore(client, stack.Names.ReportsTable)
	loadTook := loadBenchData(b, data, filepath.Join(dir, "loaded"), n)
	w, err := worker.New(worker.Deps{
		Reports: reports, Data: data, Files: discardFiles{}, Mailer: nopMailer{}, Queue: nopQueue{},
		Partials: noPartials{},
		Log:      slog.New(slog.DiscardHandler),
		Config:   worker.Config{PublicAPIURL: "http://127.0.0.1", SigningKey: []byte("bench-signing-key-of-32-bytes!!!")},
	})
	if err != nil {
		b.Fatal(err)
	}
	want := int64(n / 31 * 31)
	timeQuery := func(concurrency int, between bool) time.Duration {
		start := time.Now()
		if got := plainQuery(b, client, stack.Names.BillingTable, concurrency, between); got != want {
			b.Fatalf("plain query read %d items, want %d", got, want)
		}
		return time.Since(start)
	}
	report := func(i int) time.Duration {
		id := fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i)
		now := time.Now().UTC()
		r := &billing.Report{ID: id, AccountID: benchAccount, Status: billing.ReportQueued, DateCreated: now, Name: billing.ReportName(benchMonth[0], benchMonth[1]),
			Request: billing.ReportRequest{AccountID: benchAccount, StartDate: benchMonth[0], EndDate: benchMonth[1]}}
		if err := reports.CreateReport(ctx, r, billing.SlotLimits{Account: 1000}); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		resp, _ := lambdaedge.HandleSQS(w)(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: id, Body: `{"reportId":"` + id + `"}`}}})
		took := time.Since(start)
		done, err := reports.GetReport(ctx, id)
		if err != nil || len(resp.BatchItemFailures) != 0 || done.Status != billing.ReportCompleted || done.StatusMessage != fmt.Sprintf("Completed: %d usage records in 1 shard.", want) {
			b.Fatalf("report: %+v %v", done, err)
		}
		return took
	}
	b.ResetTimer()
	var gen, seq, conc, concBetween time.Duration
	var ratios []float64
	for i := range b.N {
		// The machine is shared: alternate the order so that a burst of other
		// work does not always land on the same side, and compare each report
		// with the queries of its own iteration.
		var g time.Duration
		if i%2 == 1 {
			g = report(i)
		}
		s, c, cb := timeQuery(1, false), timeQuery(resources.DayReadConcurrency, false), timeQuery(resources.DayReadConcurrency, true)
		if i%2 == 0 {
			g = report(i)
		}
		gen, seq, conc, concBetween = gen+g, seq+s, conc+c, concBetween+cb
		ratios = append(ratios, g.Seconds()/min(s, c).Seconds())
	}
	slices.Sort(ratios)
	perOp := func(d time.Duration) float64 { return d.Seconds() / float64(b.N) }
	b.ReportMetric(perOp(gen), "s-report")
	b.ReportMetric(perOp(seq), "s-query-seq")
	b.ReportMetric(perOp(conc), "s-query-8days")
	b.ReportMetric(perOp(concBetween), "s-query-8days-between")
	b.ReportMetric(ratios[len(ratios)/2], "x-report/query-median")
	b.ReportMetric(gen.Seconds()/concBetween.Seconds(), "x-report/query-between")
	b.ReportMetric(float64(want)*float64(b.N)/gen.Seconds(), "events/s-report")
	if loadTook > 0 {
		b.ReportMetric(loadTook.Seconds(), "s-load")
		b.ReportMetric(float64(n)/loadTook.Seconds(), "events/s-load")
	}
}
