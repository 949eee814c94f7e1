//go:build integration

package emulators

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// TestSupervisorRestartsAKilledEmulatorKeepingItsData: dynalite killed with
// SIGKILL (a crash) is logged with its output tail, restarted on its port,
// and still has the item written before the crash; the SQS queues lost with
// a killed fauxqs are provisioned again.
func TestSupervisorRestartsAKilledEmulatorKeepingItsData(t *testing.T) {
	ctx := context.Background()
	var logs LogBuffer
	s, err := Start(ctx, Options{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db := ddb.NewFromConfig(s.AWS)
	key := map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "REPORT#before-crash"}}
	if _, err := db.PutItem(ctx, &ddb.PutItemInput{TableName: aws.String(s.Names.ReportsTable), Item: key}); err != nil {
		t.Fatal(err)
	}

	for _, svc := range []Service{DynamoDB, SQS} {
		oldPID := s.PID(svc)
		if err := s.Kill(svc); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(90 * time.Second)
		for s.PID(svc) == 0 || s.PID(svc) == oldPID {
			if time.Now().After(deadline) {
				t.Fatalf("%s was not restarted within 90 s; log:\n%s", svc, logs.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
		// The restart is logged after provisioning: wait for it.
		for !strings.Contains(logs.String(), `msg="emulator restarted" service=`+string(svc)) {
			if time.Now().After(deadline) {
				t.Fatalf("%s restart not logged; log:\n%s", svc, logs.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	out, err := db.GetItem(ctx, &ddb.GetItemInput{TableName: aws.String(s.Names.ReportsTable), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil || out.Item == nil {
		t.Fatalf("the item written before the crash is gone after the restart: %v %v", out, err)
	}
	if _, err := sqs.NewFromConfig(s.AWS).SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(s.JobsQueueURL), MessageBody: aws.String("{}")}); err != nil {
		t.Errorf("the jobs queue was not provisioned again after the SQS restart: %v", err)
	}
	log := logs.String()
	for _, want := range []string{`msg="emulator exited; restarting it" service=dynamodb`, "outputTail=", `msg="emulator exited; restarting it" service=sqs`} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	select {
	case err := <-s.Failed():
		t.Errorf("Failed reported %v although the restarts worked", err)
	default:
	}
}

// TestSupervisorGivesUp: when the emulator cannot be started again, the
// supervisor says so on Failed after RestartAttempts tries.
func TestSupervisorGivesUp(t *testing.T) {
	var logs LogBuffer
	s, err := Start(context.Background(), Options{Logger: slog.New(slog.NewTextHandler(&logs, nil)), RestartAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.mu.Lock()
	s.toolsDir = t.TempDir() // no emulator packages there: every start fails
	s.mu.Unlock()
	if err := s.Kill(SES); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.Failed():
		if !strings.Contains(err.Error(), "ses emulator exited and could not be restarted after 2 tries") {
			t.Errorf("Failed = %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("no failure reported within 60 s; log:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "giving up on the emulator") {
		t.Errorf("log lacks the give-up line:\n%s", logs.String())
	}
}

// TestStopServiceIsNotACrash: an outage asked for with StopService is not
// undone by the supervisor.
func TestStopServiceIsNotACrash(t *testing.T) {
	s := StartForTest(t)
	if err := s.StopService(SES); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if pid := s.PID(SES); pid != 0 {
		t.Errorf("the supervisor restarted a stopped emulator (pid %d)", pid)
	}
}
