//go:build integration

package ddbstore

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/devstack/emulators"
)

// stack is the package's one emulator stack; tests use their own account ids
// so they can share its tables.
var stack *emulators.Stack

func TestMain(m *testing.M) { emulators.RunTests(m, &stack, emulators.DynamoDB) }

var unique atomic.Int64

// uniq returns a name no other test uses.
func uniq(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), unique.Add(1))
}

func client() *ddb.Client { return ddb.NewFromConfig(stack.AWS) }

func reportStore() *ReportStore {
	return NewReportStore(client(), stack.Names.ReportsTable)
}

func billingStore(optFns ...func(*Options)) *BillingStore {
	return NewBillingStore(client(), stack.Names.BillingTable, optFns...)
}

func newReport(accountID string, created time.Time) *billing.Report {
	start := billing.Date{Year: 2026, Month: 10, Day: 1}
	end := billing.Date{Year: 2026, Month: 10, Day: 31}
	return &billing.Report{
		ID:        uniq("r"),
		AccountID: accountID,
		Request: billing.ReportRequest{
			AccountID: accountID, StartDate: start, EndDate: end, TimeZoneID: "America/New_York",
			IncludeCustomerIDs: true, EmailAddressToNotify: "ops@example.com", WebhookURL: "https://hooks.example.com/x",
		},
		CreatedBy:   "user-1",
		Name:        billing.ReportName(start, end),
		Status:      billing.ReportQueued,
		DateCreated: created,
		DateUpdated: created,
	}
}

// mustCreate creates r under an account limit of maxActive.
func mustCreate(t *testing.T, s *ReportStore, r *billing.Report, maxActive int) {
	t.Helper()
	mustCreateWith(t, s, r, billing.SlotLimits{Account: maxActive})
}
