//go:build integration

package ddbstore

import (
	"testing"

	"github.com/evovoice/billing/storetest"
)

// TestReportsContract: the adapter on dynalite keeps the report ports'
// contract, the same suite the in-memory store (memstore) passes, so unit
// tests on memstore prove what this store does.
func TestReportsContract(t *testing.T) {
	storetest.Run(t, func(*testing.T) storetest.Store { return reportStore() })
}

// TestShardsContract: the shard transitions on dynalite, the suite memstore
// passes.
func TestShardsContract(t *testing.T) {
	storetest.RunShards(t, func(*testing.T) storetest.ShardStore { return reportStore() })
}
