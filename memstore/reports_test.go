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

// TestShardsContract: the shard methods keep ddbstore/shards.go's
// conditions, the suite ddbstore passes on dynalite.
func TestShardsContract(t *testing.T) {
	storetest.RunShards(t, func(*testing.T) storetest.ShardStore { return memstore.NewReports() })
}
