package memstore_test

import (
	"testing"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/memstore"
	"github.com/evovoice/billing/schedules/storetest"
)

// TestSchedulesContract: the in-memory schedule store keeps the contract the
// DynamoDB adapter passes on dynalite.
func TestSchedulesContract(t *testing.T) {
	storetest.Run(t, func() billing.ScheduleStore { return memstore.NewSchedules() })
}
