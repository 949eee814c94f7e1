//go:build integration

package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/evovoice/billing/ddbstore"
	"github.com/evovoice/billing/devstack/emulators"
	"github.com/evovoice/billing/importfile"
	"github.com/evovoice/billing/seed"
)

// recordingClient is a BillingAPI fake that keeps the BatchWriteItem requests
// the store makes instead of sending them, so that the benchmark can send
// exactly the same items raw.
type recordingClient struct {
	mu      sync.Mutex
	batches [][]types.WriteRequest
}

func (r *recordingClient) GetItem(context.Context, *ddb.GetItemInput, ...func(*ddb.Options)) (*ddb.GetItemOutput, error) {
	return &ddb.GetItemOutput{}, nil
}

func (r *recordingClient) Query(context.Context, *ddb.QueryInput, ...func(*ddb.Options)) (*ddb.QueryOutput, error) {
	return &ddb.QueryOutput{}, nil
}

func (r *recordingClient) BatchWriteItem(_ context.Context, in *ddb.BatchWriteItemInput, _ ...func(*ddb.Options)) (*ddb.BatchWriteItemOutput, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, reqs := range in.RequestItems {
		r.batches = append(r.batches, reqs)
	}
	return &ddb.BatchWriteItemOutput{}, nil
}

// Requests in flight: the import's default Writers, as `reportctl import`
// runs by default (--concurrency 8); the raw writer gets the same number.
const (
	benchInFlight = 8
	benchEvents   = 20_000
)

// rawWrite sends batches with inFlight workers, retrying unprocessed items at
// once: the fastest the emulator takes these items.
func rawWrite(ctx context.Context, client *ddb.Client, table string, batches [][]types.WriteRequest) error {
	work := make(chan []types.WriteRequest)
	errs := make(chan error, benchInFlight)
	var wg sync.WaitGroup
	for range benchInFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range work {
				for len(batch) > 0 {
					out, err := client.BatchWriteItem(ctx, &ddb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: batch}})
					if err != nil {
						errs <- err
						return
					}
					batch = out.UnprocessedItems[table]
				}
			}
		}()
	}
	for _, b := range batches {
		work <- b
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// BenchmarkImport measures `reportctl import` into dynalite next to raw
// BatchWriteItem of the very same items into the same dynalite, each into a
// fresh table, and reports both rates and their ratio (target >= 0.8).
func BenchmarkImport(b *testing.B) {
	ctx := context.Background()
	st := emulators.StartForTest(b, emulators.DynamoDB)
	client := ddb.NewFromConfig(st.AWS)

	path := filepath.Join(b.TempDir(), "bench.jsonl")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := seed.Write(f, seed.Config{Accounts: 3, Customers: 40, Events: benchEvents, Seed: 7}); err != nil {
		b.Fatal(err)
	}
	f.Close()

	// The items the import writes, captured without a database.
	rec := &recordingClient{}
	if _, err := Import(ctx, importfile.File(path), ddbstore.NewBillingStore(rec, "captured"), ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	items := 0
	for _, batch := range rec.batches {
		items += len(batch)
	}

	var importTime, rawTime time.Duration
	table := 0
	freshTable := func() string {
		table++
		name := fmt.Sprintf("bench-%d", table)
		if err := emulators.CreateTable(ctx, client, emulators.BillingTableInput(name)); err != nil {
			b.Fatal(err)
		}
		return name
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		rawTable, importTable := freshTable(), freshTable()
		b.StartTimer()
		// Alternate the order so neither side always meets a warmer emulator.
		runRaw := func() {
			start := time.Now()
			if err := rawWrite(ctx, client, rawTable, rec.batches); err != nil {
				b.Fatal(err)
			}
			rawTime += time.Since(start)
			b.Logf("run %d raw:    %v", i, time.Since(start))
		}
		runImport := func() {
			store := ddbstore.NewBillingStore(client, importTable)
			start := time.Now()
			if _, err := Import(ctx, importfile.File(path), store, ImportOptions{Writers: benchInFlight}); err != nil {
				b.Fatal(err)
			}
			importTime += time.Since(start)
			b.Logf("run %d import: %v", i, time.Since(start))
		}
		if i%2 == 0 {
			runRaw()
			runImport()
		} else {
			runImport()
			runRaw()
		}
	}
	b.StopTimer()
	importRate := float64(items*b.N) / importTime.Seconds()
	rawRate := float64(items*b.N) / rawTime.Seconds()
	b.ReportMetric(importRate, "import-items/s")
	b.ReportMetric(rawRate, "raw-items/s")
	b.ReportMetric(importRate/rawRate, "import/raw")
	b.ReportMetric(0, "ns/op")
}
