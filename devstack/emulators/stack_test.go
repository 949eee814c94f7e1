//go:build integration

package emulators

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// shared is one stack for the tests that only read it.
var shared *Stack

func TestMain(m *testing.M) { RunTests(m, &shared) }

func TestStackProvisionsEverythingOnLoopback(t *testing.T) {
	s := shared
	ctx := context.Background()

	for name, u := range map[string]string{"dynamodb": s.DynamoDBURL, "sqs": s.SQSURL, "s3": s.S3URL, "ses": s.SESURL} {
		if !strings.HasPrefix(u, "http://127.0.0.1:") || strings.HasSuffix(u, ":0") {
			t.Errorf("%s URL %q is not a loopback URL with a real port", name, u)
		}
	}

	tables, err := ddb.NewFromConfig(s.AWS).ListTables(ctx, &ddb.ListTablesInput{})
	if err != nil {
		t.Fatalf("ListTables: %v", err)
	}
	if got := strings.Join(tables.TableNames, ","); !strings.Contains(got, s.Names.ReportsTable) || !strings.Contains(got, s.Names.BillingTable) {
		t.Errorf("tables = %s, want both of the stage's tables", got)
	}
	desc, err := ddb.NewFromConfig(s.AWS).DescribeTable(ctx, &ddb.DescribeTableInput{TableName: aws.String(s.Names.ReportsTable)})
	if err != nil {
		t.Fatalf("DescribeTable: %v", err)
	}
	if n := len(desc.Table.GlobalSecondaryIndexes); n != 2 {
		t.Errorf("reports table has %d GSIs, want 2", n)
	}

	attrs, err := sqs.NewFromConfig(s.AWS).GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(s.JobsQueueURL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
	})
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	if rp := attrs.Attributes["RedrivePolicy"]; !strings.Contains(rp, s.Names.JobsDLQ) || !strings.Contains(rp, `"maxReceiveCount":"5"`) && !strings.Contains(rp, `"maxReceiveCount":5`) {
		t.Errorf("RedrivePolicy = %q, want the DLQ after 5 receives", rp)
	}

	if _, err := s3.NewFromConfig(s.AWS).HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.Names.ReportsBucket)}); err != nil {
		t.Errorf("HeadBucket: %v", err)
	}

	// Provisioning again is harmless: a persistent stack re-provisions on every start.
	if _, _, err := Provision(ctx, s.AWS, s.Names); err != nil {
		t.Errorf("second Provision: %v", err)
	}

	env := s.Env()
	for _, k := range []string{"AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SESV2", "AWS_REGION", "REPORTS_TABLE", "BILLING_TABLE", "JOBS_QUEUE_URL", "REPORTS_BUCKET"} {
		if env[k] == "" {
			t.Errorf("Env()[%s] is empty", k)
		}
	}
}

func TestSentEmailsReadsTheSESStore(t *testing.T) {
	s := shared
	ctx := context.Background()
	_, err := sesv2.NewFromConfig(s.AWS).SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String("reports@example.com"),
		Destination:      &sestypes.Destination{ToAddresses: []string{"ops@example.com"}},
		Content: &sestypes.EmailContent{Simple: &sestypes.Message{
			Subject: &sestypes.Content{Data: aws.String("hello")},
			Body:    &sestypes.Body{Text: &sestypes.Content{Data: aws.String("plain body")}},
		}},
	})
	if err != nil {
		t.Fatalf("SendEmail: %v", err)
	}
	mails, err := s.SentEmails(ctx)
	if err != nil {
		t.Fatalf("SentEmails: %v", err)
	}
	if len(mails) != 1 || mails[0].Subject != "hello" || mails[0].Body.Text != "plain body" || mails[0].Destination.To[0] != "ops@example.com" {
		t.Fatalf("SentEmails = %+v, want the one message sent", mails)
	}
}

func TestStopAndStartServiceSimulatesAnOutage(t *testing.T) {
	s := StartForTest(t)
	ctx := context.Background()
	client := sqs.NewFromConfig(s.AWS, func(o *sqs.Options) { o.RetryMaxAttempts = 1 })
	if err := s.StopService(SQS); err != nil {
		t.Fatalf("StopService: %v", err)
	}
	if _, err := client.ListQueues(ctx, &sqs.ListQueuesInput{}); err == nil {
		t.Fatal("ListQueues succeeded while SQS was stopped")
	}
	if err := s.StartService(ctx, SQS); err != nil {
		t.Fatalf("StartService: %v", err)
	}
	if _, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(s.Names.JobsQueue)}); err != nil {
		t.Fatalf("the jobs queue is not back after StartService: %v", err)
	}

	s3client := s3.NewFromConfig(s.AWS, func(o *s3.Options) { o.RetryMaxAttempts = 1 })
	if err := s.StopService(S3); err != nil {
		t.Fatalf("StopService(S3): %v", err)
	}
	if _, err := s3client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.Names.ReportsBucket)}); err == nil {
		t.Fatal("HeadBucket succeeded while S3 was stopped")
	}
	if err := s.StartService(ctx, S3); err != nil {
		t.Fatalf("StartService(S3): %v", err)
	}
	if _, err := s3client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.Names.ReportsBucket)}); err != nil {
		t.Fatalf("the bucket is not back after StartService: %v", err)
	}
}

func TestDataDirPersistsTablesAcrossRestarts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dynalite")
	ctx := context.Background()
	start := func() *Stack {
		s, err := Start(ctx, Options{DataDir: dir})
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		return s
	}
	s := start()
	client := ddb.NewFromConfig(s.AWS)
	_, err := client.PutItem(ctx, &ddb.PutItemInput{
		TableName: aws.String(s.Names.BillingTable),
		Item: map[string]ddbtypes.AttributeValue{
			"pk": &ddbtypes.AttributeValueMemberS{Value: "ACCOUNT#a"},
			"sk": &ddbtypes.AttributeValueMemberS{Value: "ACCOUNT"},
		},
	})
	if err != nil {
		t.Fatalf("PutItem: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s = start()
	defer s.Close()
	got, err := ddb.NewFromConfig(s.AWS).GetItem(ctx, &ddb.GetItemInput{
		TableName: aws.String(s.Names.BillingTable),
		Key: map[string]ddbtypes.AttributeValue{
			"pk": &ddbtypes.AttributeValueMemberS{Value: "ACCOUNT#a"},
			"sk": &ddbtypes.AttributeValueMemberS{Value: "ACCOUNT"},
		},
	})
	if err != nil || got.Item == nil {
		t.Fatalf("item not persisted across restart: %v %v", got, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) == 0 {
		t.Errorf("data folder %s is empty", dir)
	}
}

func TestCloseLeavesNoProcess(t *testing.T) {
	s, err := Start(context.Background(), Options{})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	var pids []int
	for _, c := range s.children {
		pids = append(pids, c.cmd.Process.Pid)
	}
	if len(pids) != 3 {
		t.Fatalf("%d child processes, want 3", len(pids))
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range pids {
		for {
			// Signal 0 only checks that the process group still exists.
			if err := syscall.Kill(-pid, 0); errors.Is(err, syscall.ESRCH) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("process group %d still alive after Close", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// An adapter package starts only the emulator it talks to: one child process
// (or none for S3, which is in-process), only that service provisioned, and
// the other services pointed at a closed local port, never at AWS.
func TestStackOfSomeServicesStartsOnlyThose(t *testing.T) {
	ctx := context.Background()
	ddbOnly := StartForTest(t, DynamoDB)
	if n := len(ddbOnly.children); n != 1 || ddbOnly.children[DynamoDB] == nil {
		t.Fatalf("DynamoDB-only stack has children %v, want dynalite alone", ddbOnly.children)
	}
	if ddbOnly.DynamoDBURL == "" || ddbOnly.SQSURL != "" || ddbOnly.S3URL != "" || ddbOnly.SESURL != "" || ddbOnly.JobsQueueURL != "" {
		t.Errorf("URLs %q %q %q %q, queue %q: want DynamoDB's alone", ddbOnly.DynamoDBURL, ddbOnly.SQSURL, ddbOnly.S3URL, ddbOnly.SESURL, ddbOnly.JobsQueueURL)
	}
	if _, err := ddb.NewFromConfig(ddbOnly.AWS).DescribeTable(ctx, &ddb.DescribeTableInput{TableName: aws.String(ddbOnly.Names.ReportsTable)}); err != nil {
		t.Errorf("the reports table is not provisioned: %v", err)
	}
	if env := ddbOnly.Env(); env["AWS_ENDPOINT_URL_SQS"] != notStartedURL || env["AWS_ENDPOINT_URL_DYNAMODB"] != ddbOnly.DynamoDBURL {
		t.Errorf("Env endpoints SQS %q, DynamoDB %q", env["AWS_ENDPOINT_URL_SQS"], env["AWS_ENDPOINT_URL_DYNAMODB"])
	}
	// A client of a service left out fails here and now, not against AWS.
	_, err := sqs.NewFromConfig(ddbOnly.AWS, func(o *sqs.Options) { o.RetryMaxAttempts = 1 }).ListQueues(ctx, &sqs.ListQueuesInput{})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("SQS call on a DynamoDB-only stack = %v, want a refused connection to 127.0.0.1:1", err)
	}
	if err := ddbOnly.StopService(SQS); err == nil {
		t.Error("StopService(SQS) on a DynamoDB-only stack succeeded")
	}
	if err := ddbOnly.StartService(ctx, SES); err == nil {
		t.Error("StartService(SES) on a DynamoDB-only stack succeeded")
	}

	s3Only := StartForTest(t, S3)
	if len(s3Only.children) != 0 {
		t.Errorf("S3-only stack has children %v, want none (gofakes3 is in-process)", s3Only.children)
	}
	if _, err := s3.NewFromConfig(s3Only.AWS).HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s3Only.Names.ReportsBucket)}); err != nil {
		t.Errorf("the bucket is not provisioned: %v", err)
	}

	if _, err := Start(ctx, Options{Services: []Service{"lambda"}}); err == nil {
		t.Error("Start accepted an unknown service")
	}
}
