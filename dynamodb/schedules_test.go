//go:build integration

package dynamodb

import (
	"context"
	"testing"

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

// TestScheduleCountLeakIsRepaired: a counter left too high (a release that
// failed) is recounted when it refuses a create, so the account is not
// locked out; a real 20 stays 20.
func TestScheduleCountLeakIsRepaired(t *testing.T) {
	ctx := context.Background()
	s := NewScheduleStore(client(), stack.Names.SchedulesTable)
	acct := uniq("acct")
	for range 3 {
		if err := s.CreateSchedule(ctx, storetest.NewSchedule(acct, t0), billing.MaxSchedulesPerAccount); err != nil {
			t.Fatal(err)
		}
	}
	// The leak: the counter says 20 while the account has 3.
	if _, err := client().PutItem(ctx, &ddb.PutItemInput{TableName: aws.String(stack.Names.SchedulesTable),
		Item: map[string]types.AttributeValue{"pk": avS(scheduleCountPrefix + acct), attrCount: avInt(20)}}); err != nil {
		t.Fatal(err)
	}
	for i := 4; i <= billing.MaxSchedulesPerAccount; i++ {
		if err := s.CreateSchedule(ctx, storetest.NewSchedule(acct, t0), billing.MaxSchedulesPerAccount); err != nil {
			t.Fatalf("schedule %d after the leak: %v", i, err)
		}
	}
	wantCode(t, s.CreateSchedule(ctx, storetest.NewSchedule(acct, t0), billing.MaxSchedulesPerAccount), billing.ETOOMANY)
}
