package wire

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/evovoice/billing/appconfig"
	"github.com/evovoice/billing/resources"
)

func TestWorkerNamesMissingSettings(t *testing.T) {
	_, err := Worker(appconfig.Config{ReportsTable: "r", AWS: aws.Config{Region: "us-east-1"}})
	if err == nil {
		t.Fatal("a config without tables, queue, bucket, sender and keys was accepted")
	}
	for _, name := range []string{resources.EnvBillingTable, resources.EnvJobsQueueURL, resources.EnvReportsBucket,
		resources.EnvSenderAddress, resources.EnvPublicAPIURL, resources.EnvSigningSecretARN, resources.EnvWebhookSecretARN} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

func TestWorkerFromCompleteConfig(t *testing.T) {
	w, err := Worker(appconfig.Config{
		ReportsTable: "reports", BillingTable: "billing", JobsQueueURL: "https://sqs.us-east-1.amazonaws.com/1/jobs",
		ReportsBucket: "bucket", SenderAddress: "reports@example.com", PublicAPIURL: "https://api.example.com",
		SigningKey: []byte("0123456789abcdef0123456789abcdef"), WebhookKey: []byte("fedcba9876543210fedcba9876543210"),
		AWS: aws.Config{Region: "us-east-1"},
	})
	if err != nil || w == nil {
		t.Fatalf("Worker = %v, %v", w, err)
	}
}
