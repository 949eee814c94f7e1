//go:build integration

package ddbstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
)

// BenchmarkUsage writes and reads one account-day of 5,000 usage events
// against the dynalite emulator and reports events per second each way. The
// figures are the emulator's (a local LevelDB), a floor for DynamoDB, and
// show the batching and paging work: writes go 25 per request, 4 requests in
// flight; reads go 1,000 per page.
func BenchmarkUsage(b *testing.B) {
	const perDay = 5000
	s := billingStore()
	day := billing.Date{Year: 2026, Month: 11, Day: 1}
	var writeTime, readTime time.Duration
	for i := 0; b.Loop(); i++ {
		acct := uniq("bench")
		events := make([]billing.UsageEvent, perDay)
		for j := range events {
			events[j] = usageEvent(acct, fmt.Sprintf("u-%06d", j), day.In(time.UTC).Add(time.Duration(j)*time.Second), "60")
		}
		start := time.Now()
		if err := s.PutUsage(context.Background(), events); err != nil {
			b.Fatal(err)
		}
		writeTime += time.Since(start)
		start = time.Now()
		read := 0
		err := s.QueryUsage(context.Background(), billing.UsageQuery{AccountID: acct, Day: day}, func(page []billing.UsageEvent) error {
			read += len(page)
			return nil
		})
		readTime += time.Since(start)
		if err != nil || read != perDay {
			b.Fatalf("read %d events, %v", read, err)
		}
	}
	b.ReportMetric(float64(b.N*perDay)/writeTime.Seconds(), "written-events/s")
	b.ReportMetric(float64(b.N*perDay)/readTime.Seconds(), "read-events/s")
}
