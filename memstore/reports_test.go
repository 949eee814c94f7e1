package memstore_test

import (
	"testing"

	"github.com/evovoice/billing/memstore"
	"github.com/evovoice/billing/storetest"
)

// TestReportsContract: the in-memory store keeps the report ports' contract,
// the same suite the DynamoDB adapter passes on dynalite.
func TestReportsContract(t *testing.T) {
	storetest.Run(t, func(*testing.T) storetest.Store { return memstore.NewReports() })
}
