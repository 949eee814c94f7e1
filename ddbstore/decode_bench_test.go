package ddbstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/importfile"
	"github.com/evovoice/billing/rating/ratingtest"
	"github.com/evovoice/billing/seed"
	"github.com/evovoice/billing/shardplan"
)

// cannedQuery answers every DynamoDB Query with one page of items, as
// DynamoDB's wire JSON, from memory: an http.RoundTripper, so the real SDK
// client signs the request, deserializes the response and checks its CRC32
// exactly as against AWS, with no network. It honours the request's
// ProjectionExpression (resolving #names), so the page holds only what the
// store asked for, as DynamoDB would return it.
type cannedQuery struct {
	items []item // stored items, in sort-key order

	once sync.Once
	body []byte
	err  error
}

func (c *cannedQuery) RoundTrip(req *http.Request) (*http.Response, error) {
	in, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the request: %w", err)
	}
	c.once.Do(func() { c.body, c.err = c.page(in) })
	if c.err != nil {
		return nil, c.err
	}
	h := http.Header{}
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(c.body)), 10))
	h.Set("X-Amzn-Requestid", "bench")
	return &http.Response{
		StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(bytes.NewReader(c.body)), ContentLength: int64(len(c.body)), Request: req,
	}, nil
}

// page is the response body for the first request; later ones reuse it (the
// benchmark asks the same question every time).
func (c *cannedQuery) page(request []byte) ([]byte, error) {
	var in struct {
		ProjectionExpression     string
		ExpressionAttributeNames map[string]string
	}
	if err := json.Unmarshal(request, &in); err != nil {
		return nil, fmt.Errorf("decoding the request: %w", err)
	}
	var keep map[string]bool
	if in.ProjectionExpression != "" {
		keep = map[string]bool{}
		for _, p := range strings.Split(in.ProjectionExpression, ",") {
			p = strings.TrimSpace(p)
			if n, ok := in.ExpressionAttributeNames[p]; ok {
				p = n
			}
			keep[p] = true
		}
	}
	wire := make([]map[string]any, 0, len(c.items))
	for _, it := range c.items {
		w := map[string]any{}
		for name, v := range it {
			if keep == nil || keep[name] {
				w[name] = wireValue(v)
			}
		}
		wire = append(wire, w)
	}
	return json.Marshal(map[string]any{"Count": len(wire), "ScannedCount": len(wire), "Items": wire})
}

// wireValue is an attribute value in DynamoDB's JSON (the types usage uses).
func wireValue(v types.AttributeValue) map[string]any {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return map[string]any{"S": v.Value}
	case *types.AttributeValueMemberN:
		return map[string]any{"N": v.Value}
	case *types.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": v.Value}
	}
	panic(fmt.Sprintf("wireValue: unsupported %T", v))
}

// storedSize is an item's size by DynamoDB's sizing rules (what it bills and
// stores): per attribute, the name's UTF-8 bytes plus the value's; a string is
// its UTF-8 bytes, a number about 1 byte per two significant digits plus 1, a
// boolean 1.
func storedSize(it item) int {
	n := 0
	for name, v := range it {
		n += len(name)
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			n += len(v.Value)
		case *types.AttributeValueMemberN:
			n += numberSize(v.Value)
		case *types.AttributeValueMemberBOOL:
			n++
		default:
			panic(fmt.Sprintf("storedSize: unsupported %T", v))
		}
	}
	return n
}

func numberSize(s string) int {
	mant, _, _ := strings.Cut(strings.ToLower(s), "e")
	digits := strings.Trim(strings.Replace(mant, ".", "", 1), "0")
	return (len(digits)+1)/2 + 1
}

// typicalUsage is n events as reportctl seed makes them: its item mix, id and
// customer shapes, recorded calls and the occasional international call with
// a description.
func typicalUsage(tb testing.TB, n int) []billing.UsageEvent {
	tb.Helper()
	var buf bytes.Buffer
	if err := seed.Write(&buf, seed.Config{Accounts: 1, Customers: 40, Events: int64(n), Seed: 7, Months: 1}); err != nil {
		tb.Fatal(err)
	}
	events := make([]billing.UsageEvent, 0, n)
	if _, err := importfile.DecodeUsage(context.Background(), importfile.Bytes(buf.Bytes()), func(e *billing.UsageEvent) error {
		events = append(events, *e)
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
	if len(events) != n {
		tb.Fatalf("seed gave %d events, want %d", len(events), n)
	}
	return events
}

// cannedStore is a BillingStore whose real SDK client is served by a canned
// 1,000-item page of typical events, and the mean stored size of those items.
func cannedStore(tb testing.TB) (s *BillingStore, day billing.Date, perPage int, bytesPerEvent float64) {
	tb.Helper()
	events := typicalUsage(tb, 1000)
	items, bytesPerEvent := encodeAll(tb, events)
	canned := &cannedQuery{items: items}
	client := ddb.New(ddb.Options{
		Region:       "us-east-1",
		Credentials:  aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider("AKIDBENCH", "bench-secret", "")),
		BaseEndpoint: aws.String("http://dynamodb.bench.invalid"),
		HTTPClient:   &http.Client{Transport: canned},
	})
	day = billing.DateOf(events[0].Time)
	return NewBillingStore(client, "bench-billing"), day, len(events), bytesPerEvent
}

// encodeAll is the stored items of events, which must be valid, and their
// mean stored size.
func encodeAll(tb testing.TB, events []billing.UsageEvent) (items []item, meanSize float64) {
	tb.Helper()
	total := 0
	for _, ev := range events {
		if msg := checkUsage(ev); msg != "" {
			tb.Fatalf("event %s: %s", ev.ID, msg)
		}
		it := encodeUsage(ev)
		total += storedSize(it)
		items = append(items, it)
	}
	return items, float64(total) / float64(len(events))
}

// BenchmarkUsageDecode reads one canned 1,000-event Query page through the
// real dynamodb.Client and QueryUsage, with no network, and reports the CPU
// per event (process CPU time, so a busy machine does not inflate it) and the
// stored bytes per typical event. It measures the client-side cost that bounds
// how many events one worker invocation can read.
func BenchmarkUsageDecode(b *testing.B) {
	s, day, perPage, bytesPerEvent := cannedStore(b)
	ctx := context.Background()
	q := billing.UsageQuery{AccountID: "acct-001", Day: day}
	read := 0
	b.ReportAllocs()
	cpu0, wall0 := ratingtest.ProcessCPU(), time.Now()
	for b.Loop() {
		if err := s.QueryUsage(ctx, q, func(page []billing.UsageEvent) error {
			read += len(page)
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	cpu, wall := ratingtest.ProcessCPU()-cpu0, time.Since(wall0)
	if read != b.N*perPage {
		b.Fatalf("read %d events, want %d", read, b.N*perPage)
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(read), "cpu-ns/event")
	b.ReportMetric(float64(wall.Nanoseconds())/float64(read), "ns/event")
	b.ReportMetric(bytesPerEvent, "stored-B/event")
	logModel(b, time.Duration(float64(cpu)/float64(read)), bytesPerEvent)
}

// ratingCPUPerEvent is Rater.Add's CPU per event, measured by
// rating.BenchmarkAdd (make bench-rating): the rest of a shard's work per event.
const ratingCPUPerEvent = 40 * time.Nanosecond

// logModel prints the sharded-report model (issue 11, item 8c) from the CPU
// and bytes per event just measured: MODELLED figures, not measured ones.
func logModel(b *testing.B, cpuPerEvent time.Duration, bytesPerEvent float64) {
	costs := shardplan.Costs{CPUPerEvent: cpuPerEvent + ratingCPUPerEvent, BytesPerEvent: bytesPerEvent}
	b.Logf("MODELLED from the measured %v/event (+ %v rating), %.0f B/event; 366 days, 100 shards at once, 30 s shards, 5 min limit:", cpuPerEvent, ratingCPUPerEvent, bytesPerEvent)
	for _, mb := range []int{512, 1769} {
		d := shardplan.Deployment{MemoryMB: mb, TimeLimit: 5 * time.Minute, Margin: 0.5, ShardTime: 30 * time.Second, Concurrency: 100}
		for _, events := range []int64{10_000_000, 100_000_000, 1_000_000_000} {
			e, err := shardplan.Model(events, 366, costs, d)
			if err != nil {
				b.Fatal(err)
			}
			b.Logf("  %5d MB, %5dM events: %3d shards, wall %6.1f s, %8.0f GB-s, %9.0f read units", mb, events/1_000_000, e.Shards, e.Wall.Seconds(), e.GBSeconds, e.ReadUnits)
		}
	}
}
