package dynamodb

import (
	"testing"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/schedules/storetest"
)

// TestScheduleStoreContract runs the ScheduleStore contract against dynalite.
func TestScheduleStoreContract(t *testing.T) {
	storetest.Run(t, func() billing.ScheduleStore { return NewScheduleStore(client(), stack.Names.SchedulesTable) })
}
