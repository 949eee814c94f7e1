package memstore

import (
	"testing"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/schedules/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func() billing.ScheduleStore { return New() })
}
