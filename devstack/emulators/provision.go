package emulators

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/evovoice/billing/resources"
)

// Provision creates the stage's tables (with their GSIs), the jobs queue with
// its DLQ and redrive policy, and the reports bucket, as infra/ defines them on
// AWS. It is idempotent: what exists is left as it is (queue attributes are
// re-applied), so it can run on every start of a persistent local stack.
func Provision(ctx context.Context, cfg aws.Config, names resources.Names) (jobsQueueURL, dlqURL string, err error) {
	all := map[Service]bool{}
	for _, svc := range AllServices {
		all[svc] = true
	}
	return provision(ctx, cfg, names, all)
}

// provision is Provision in the given services only (SES needs nothing); the
// queue URLs are "" without SQS.
func provision(ctx context.Context, cfg aws.Config, names resources.Names, services map[Service]bool) (jobsQueueURL, dlqURL string, err error) {
	if services[DynamoDB] {
		if err := provisionTables(ctx, ddb.NewFromConfig(cfg), names); err != nil {
			return "", "", err
		}
	}
	if services[SQS] {
		jobsQueueURL, dlqURL, err = ProvisionQueue(ctx, sqs.NewFromConfig(cfg), names.JobsQueue, names.JobsDLQ, resources.VisibilityTimeout, resources.MaxReceiveCount)
		if err != nil {
			return "", "", err
		}
	}
	if services[S3] {
		if err := provisionBucket(ctx, s3.NewFromConfig(cfg), names.ReportsBucket); err != nil {
			return "", "", err
		}
	}
	return jobsQueueURL, dlqURL, nil
}

// indexedTable is the CreateTable input of a table with a string hash key pk
// and string-keyed GSIs (name, hash key, range key), all projecting ALL.
func indexedTable(name, pk string, gsis ...[3]string) *ddb.CreateTableInput {
	str := func(n string) ddbtypes.AttributeDefinition {
		return ddbtypes.AttributeDefinition{AttributeName: aws.String(n), AttributeType: ddbtypes.ScalarAttributeTypeS}
	}
	in := &ddb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{str(pk)},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String(pk), KeyType: ddbtypes.KeyTypeHash}},
	}
	for _, g := range gsis {
		in.AttributeDefinitions = append(in.AttributeDefinitions, str(g[1]), str(g[2]))
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, ddbtypes.GlobalSecondaryIndex{
			IndexName: aws.String(g[0]),
			KeySchema: []ddbtypes.KeySchemaElement{
				{AttributeName: aws.String(g[1]), KeyType: ddbtypes.KeyTypeHash},
				{AttributeName: aws.String(g[2]), KeyType: ddbtypes.KeyTypeRange},
			},
			Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeAll},
		})
	}
	return in
}

// SchedulesTableInput is the CreateTable input of the schedules table: pk,
// the byAccount GSI and the sparse due GSI (spec 2.7).
func SchedulesTableInput(name string) *ddb.CreateTableInput {
	return indexedTable(name, resources.SchedulesPK,
		[3]string{resources.SchedulesByAccount, resources.SchedulesByAccountPK, resources.SchedulesByAccountSK},
		[3]string{resources.SchedulesDue, resources.SchedulesDuePK, resources.SchedulesDueSK})
}

// ReportsTableInput is the CreateTable input of the reports table: pk, the
// byAccount GSI (newest first per account) and the sparse byStatus GSI.
func ReportsTableInput(name string) *ddb.CreateTableInput {
	return indexedTable(name, resources.ReportsPK,
		[3]string{resources.ReportsByAccount, resources.ReportsByAccountPK, resources.ReportsByAccountSK},
		[3]string{resources.ReportsByStatus, resources.ReportsByStatusPK, resources.ReportsByStatusSK})
}

// BillingTableInput is the CreateTable input of the billing-data table.
func BillingTableInput(name string) *ddb.CreateTableInput {
	return &ddb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: aws.String(resources.BillingPK), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: aws.String(resources.BillingSK), AttributeType: ddbtypes.ScalarAttributeTypeS},
		},
		KeySchema: []ddbtypes.KeySchemaElement{
			{AttributeName: aws.String(resources.BillingPK), KeyType: ddbtypes.KeyTypeHash},
			{AttributeName: aws.String(resources.BillingSK), KeyType: ddbtypes.KeyTypeRange},
		},
	}
}

func provisionTables(ctx context.Context, client *ddb.Client, names resources.Names) error {
	for _, in := range []*ddb.CreateTableInput{ReportsTableInput(names.ReportsTable), BillingTableInput(names.BillingTable), SchedulesTableInput(names.SchedulesTable)} {
		if err := CreateTable(ctx, client, in); err != nil {
			return err
		}
	}
	return nil
}

// CreateTable creates a table unless it exists and waits until it is ACTIVE.
func CreateTable(ctx context.Context, client *ddb.Client, in *ddb.CreateTableInput) error {
	name := aws.ToString(in.TableName)
	if _, err := client.CreateTable(ctx, in); err != nil {
		var inUse *ddbtypes.ResourceInUseException
		if !errors.As(err, &inUse) {
			return fmt.Errorf("creating table %s: %w", name, err)
		}
	}
	waiter := ddb.NewTableExistsWaiter(client, func(o *ddb.TableExistsWaiterOptions) {
		o.MinDelay = 50 * time.Millisecond
		o.MaxDelay = 500 * time.Millisecond
	})
	if err := waiter.Wait(ctx, &ddb.DescribeTableInput{TableName: in.TableName}, time.Minute); err != nil {
		return fmt.Errorf("waiting for table %s: %w", name, err)
	}
	return nil
}

// ProvisionQueue creates (or updates) a queue and its dead-letter queue: after
// maxReceives receives without a delete, a message moves to the DLQ.
func ProvisionQueue(ctx context.Context, client *sqs.Client, name, dlqName string, visibility time.Duration, maxReceives int) (queueURL, dlqURL string, err error) {
	dlqURL, err = ensureQueue(ctx, client, dlqName, map[string]string{
		string(sqstypes.QueueAttributeNameMessageRetentionPeriod): strconv.Itoa(int(resources.DLQRetention.Seconds())),
	})
	if err != nil {
		return "", "", err
	}
	attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(dlqURL),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", "", fmt.Errorf("reading the ARN of queue %s: %w", dlqName, err)
	}
	redrive, err := json.Marshal(map[string]string{
		"deadLetterTargetArn": attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)],
		"maxReceiveCount":     strconv.Itoa(maxReceives),
	})
	if err != nil {
		return "", "", fmt.Errorf("encoding the redrive policy: %w", err)
	}
	queueURL, err = ensureQueue(ctx, client, name, map[string]string{
		string(sqstypes.QueueAttributeNameVisibilityTimeout): strconv.Itoa(int(visibility.Seconds())),
		string(sqstypes.QueueAttributeNameRedrivePolicy):     string(redrive),
	})
	if err != nil {
		return "", "", err
	}
	return queueURL, dlqURL, nil
}

// ensureQueue creates a queue with attrs, or sets attrs on the existing queue
// (CreateQueue fails when an existing queue has other attributes).
func ensureQueue(ctx context.Context, client *sqs.Client, name string, attrs map[string]string) (string, error) {
	out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err == nil {
		return aws.ToString(out.QueueUrl), nil
	}
	var exists *sqstypes.QueueNameExists
	if !errors.As(err, &exists) {
		return "", fmt.Errorf("creating queue %s: %w", name, err)
	}
	got, err := client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("looking up queue %s: %w", name, err)
	}
	if _, err := client.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: got.QueueUrl, Attributes: attrs}); err != nil {
		return "", fmt.Errorf("updating queue %s: %w", name, err)
	}
	return aws.ToString(got.QueueUrl), nil
}

func provisionBucket(ctx context.Context, client *s3.Client, bucket string) error {
	_, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	if err == nil {
		return nil
	}
	var owned *s3types.BucketAlreadyOwnedByYou
	var exists *s3types.BucketAlreadyExists
	var apiErr smithy.APIError
	if errors.As(err, &owned) || errors.As(err, &exists) ||
		errors.As(err, &apiErr) && (apiErr.ErrorCode() == "BucketAlreadyOwnedByYou" || apiErr.ErrorCode() == "BucketAlreadyExists") {
		return nil
	}
	return fmt.Errorf("creating bucket %s: %w", bucket, err)
}
