package local

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/importfile"
)

// fakeWriter is a hand-written fake of billing.BillingDataWriter that keeps
// what it is given by id, the way the table's keys do.
type fakeWriter struct {
	mu        sync.Mutex
	accounts  map[string]billing.Account
	customers map[string]billing.Customer
	usage     map[string]billing.UsageEvent
	calls     int
	putUsage  func([]billing.UsageEvent) error // optional failure injection
}

func newFakeWriter() *fakeWriter {
	return &fakeWriter{accounts: map[string]billing.Account{}, customers: map[string]billing.Customer{}, usage: map[string]billing.UsageEvent{}}
}

func (f *fakeWriter) PutAccounts(_ context.Context, as []billing.Account) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	for _, a := range as {
		f.accounts[a.ID] = a
	}
	return nil
}

func (f *fakeWriter) PutCustomers(_ context.Context, cs []billing.Customer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	for _, c := range cs {
		f.customers[c.AccountID+"/"+c.ID] = c
	}
	return nil
}

func (f *fakeWriter) PutUsage(_ context.Context, es []billing.UsageEvent) error {
	if f.putUsage != nil {
		if err := f.putUsage(es); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	for _, e := range es {
		f.usage[e.AccountID+"/"+e.ID] = e
	}
	return nil
}

const goodFile = `{"type":"account","id":"acct-acme","name":"Acme","timeZoneId":"America/New_York","billingSettings":{"Base":{"baseCost":"10"}}}
{"type":"customer","id":"c-1","accountId":"acct-acme","parentCustomerId":"","name":"Dental","overrideBillingSettings":false}
{"type":"customer","id":"c-2","accountId":"acct-acme","parentCustomerId":"c-1","name":"=Branch","overrideBillingSettings":false}
`

func usageLines(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"type":"usage","id":"u-%d","accountId":"acct-acme","customerId":"c-%d","time":"2026-10-01T%02d:%02d:00Z","item":"InboundVoiceCalls","rawQuantity":"%d","internationalCost":"0","recorded":%v}`+"\n",
			i, 1+i%2, (i/60)%24, i%60, 60+i, i%3 == 0)
	}
	return b.String()
}

func TestImportWritesEverythingInChunks(t *testing.T) {
	w := newFakeWriter()
	var last ImportProgress
	var mu sync.Mutex
	sum, err := Import(context.Background(), importfile.Bytes([]byte(goodFile+usageLines(1234))), w, ImportOptions{ChunkSize: 100, Writers: 3, Progress: func(p ImportProgress) {
		mu.Lock()
		defer mu.Unlock()
		if p.Phase == "writing" && p.Done >= last.Done {
			last = p
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(w.accounts) != 1 || len(w.customers) != 2 || len(w.usage) != 1234 {
		t.Errorf("wrote %d accounts, %d customers, %d events", len(w.accounts), len(w.customers), len(w.usage))
	}
	if sum.UsageWritten != 1234 || sum.UsageEvents != 1234 || sum.Customers != 2 {
		t.Errorf("summary %+v", sum)
	}
	if last.Done != 1234 || last.Total != 1234 {
		t.Errorf("last progress %+v", last)
	}
	if e := w.usage["acct-acme/u-7"]; e.RawQuantity != "67" || e.CustomerID != "c-2" {
		t.Errorf("u-7 = %+v", e)
	}
}

func TestBadFileWritesNothing(t *testing.T) {
	bad := goodFile + usageLines(50) +
		`{"type":"usage","id":"u-x","accountId":"acct-acme","customerId":"c-9","time":"2026-10-01T00:00:00Z","item":"InboundVoiceCalls","rawQuantity":"1"}` + "\n" +
		`{"type":"usage","id":"u-y","accountId":"acct-acme","customerId":"c-1","time":"2026-10-01T00:00:00Z","item":"Teleport","rawQuantity":"-1"}` + "\n"
	w := newFakeWriter()
	_, err := Import(context.Background(), importfile.Bytes([]byte(bad)), w, ImportOptions{})
	var verr *importfile.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("err = %v, want a ValidationError", err)
	}
	lines := map[int]bool{}
	for _, p := range verr.Problems {
		lines[p.Line] = true
	}
	if !lines[54] || !lines[55] {
		t.Errorf("problems %v, want lines 54 and 55 reported", verr.Problems)
	}
	if w.calls != 0 {
		t.Errorf("%d writes for an invalid file", w.calls)
	}
}

func TestReimportIsIdempotent(t *testing.T) {
	w := newFakeWriter()
	file := []byte(goodFile + usageLines(300))
	for range 2 {
		if _, err := Import(context.Background(), importfile.Bytes(file), w, ImportOptions{ChunkSize: 64}); err != nil {
			t.Fatal(err)
		}
	}
	if len(w.accounts) != 1 || len(w.customers) != 2 || len(w.usage) != 300 {
		t.Errorf("after two imports: %d accounts, %d customers, %d events", len(w.accounts), len(w.customers), len(w.usage))
	}
}

func TestWriteFailureStopsTheImport(t *testing.T) {
	w := newFakeWriter()
	down := billing.Errorf(billing.EUNAVAILABLE, "DynamoDB is down")
	w.putUsage = func([]billing.UsageEvent) error { return down }
	_, err := Import(context.Background(), importfile.Bytes([]byte(goodFile+usageLines(5000))), w, ImportOptions{ChunkSize: 100})
	if !errors.Is(err, down) || billing.ErrorCode(err) != billing.EUNAVAILABLE {
		t.Errorf("err = %v, want the writer's EUNAVAILABLE", err)
	}
}
