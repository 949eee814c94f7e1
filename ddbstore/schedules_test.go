//go:build integration

package ddbstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/schedules/storetest"
)

// TestScheduleStoreContract runs the ScheduleStore contract against dynalite.
func TestScheduleStoreContract(t *testing.T) {
	storetest.Run(t, func() billing.ScheduleStore { return NewScheduleStore(client(), stack.Names.SchedulesTable) })
}

// TestScheduleSlotLeakIsRepaired: slots left without their schedule (a
// release that failed) for longer than slotGrace are dropped when they refuse
// a create, so the account is not locked out; a slot taken just now without
// its item yet (a create in flight) is kept; a real 20 stays 20.
func TestScheduleSlotLeakIsRepaired(t *testing.T) {
	ctx := context.Background()
	s := NewScheduleStore(client(), stack.Names.SchedulesTable)
	acct := uniq("acct")
	for range 3 {
		if err := s.CreateSchedule(ctx, storetest.NewSchedule(acct, t0), billing.MaxSchedulesPerAccount); err != nil {
			t.Fatal(err)
		}
	}
	// The leak: 16 slots of schedules that are gone, taken an hour ago, and
	// one taken now by a create still in flight.
	leak := func(id string, at time.Time) {
		t.Helper()
		if _, err := client().UpdateItem(ctx, &ddb.UpdateItemInput{TableName: aws.String(stack.Names.SchedulesTable),
			Key:                       scheduleCountKey(acct),
			UpdateExpression:          aws.String("SET #slots.#id = :at"),
			ExpressionAttributeNames:  map[string]string{"#slots": attrSlots, "#id": id},
			ExpressionAttributeValues: map[string]types.AttributeValue{":at": avInt(at.Unix())},
		}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 16 {
		leak(fmt.Sprintf("gone-%d", i), time.Now().Add(-time.Hour))
	}
	leak("in-flight", time.Now())
	// 3 real + 16 leaked + 1 in flight = 20: full until the leaks are dropped.
	for i := 4; i < billing.MaxSchedulesPerAccount; i++ {
		if err := s.CreateSchedule(ctx, storetest.NewSchedule(acct, t0), billing.MaxSchedulesPerAccount); err != nil {
			t.Fatalf("schedule %d after the leak: %v", i, err)
		}
	}
	// The 20th slot is the in-flight create's: kept.
	wantCode(t, s.CreateSchedule(ctx, storetest.NewSchedule(acct, t0), billing.MaxSchedulesPerAccount), billing.ETOOMANY)
}
