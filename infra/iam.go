package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsses"
	"github.com/aws/jsii-runtime-go"

	"github.com/evovoice/billing/resources"
)

// The grants below are written out action by action instead of with the CDK's
// grant helpers, which add actions the functions never call (BatchWriteItem,
// DescribeTable, s3:DeleteObject*, ...). Each statement has a Sid naming why it
// exists; iam_test.go checks what each role may and may not do, and
// access_test.go that each role allows exactly the calls the code makes.

// reportsIndex is the ARN of one GSI of the reports table, named so that no
// policy needs an index/* wildcard. Item actions (GetItem, PutItem, ...) are
// granted on the table alone and Query on the indexes alone: no function
// queries the table itself (its key is the report id).
func (s *Stack) reportsIndex(name string) *string {
	return jsii.String(*s.ReportsTable.TableArn() + "/index/" + name)
}

// schedulesIndex is the ARN of one GSI of the schedules table.
func (s *Stack) schedulesIndex(name string) *string {
	return jsii.String(*s.SchedulesTable.TableArn() + "/index/" + name)
}

// reportObjects is where report CSVs live (resources.ReportObjectKey).
func (s *Stack) reportObjects() *string {
	return s.Bucket.ArnForObjects(jsii.String("reports/*"))
}

// partialObjects is where the partials of sharded reports live
// (resources.PartialObjectKey).
func (s *Stack) partialObjects() *string {
	return s.Bucket.ArnForObjects(jsii.String(resources.PartialsPrefix + "*"))
}

// grantSubmit: validate, check the account exists, write the Queued report (and
// idempotency and active-set records, all conditional writes), enqueue.
func (s *Stack) grantSubmit(role awsiam.Role) {
	role.AddToPolicy(allow("ReportsReadWrite",
		[]string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}, s.ReportsTable.TableArn()))
	role.AddToPolicy(allow("BillingAccountLookup", []string{"dynamodb:GetItem"}, s.BillingTable.TableArn()))
	role.AddToPolicy(allow("EnqueueJobs", []string{"sqs:SendMessage"}, s.JobsQueue.QueueArn()))
	// Create (with the account's slot map), replace and delete schedules,
	// all by key.
	role.AddToPolicy(allow("SchedulesReadWrite",
		[]string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}, s.SchedulesTable.TableArn()))
}

// grantStatus: read reports, presign GETs of their files (a presigned URL works
// only if the signer may GetObject), verify download tokens and sign cursors.
func (s *Stack) grantStatus(role awsiam.Role) {
	role.AddToPolicy(allow("ReportsRead", []string{"dynamodb:GetItem"}, s.ReportsTable.TableArn()))
	role.AddToPolicy(allow("ListAccountReports", []string{"dynamodb:Query"}, s.reportsIndex(resources.ReportsByAccount)))
	role.AddToPolicy(allow("PresignReportFiles", []string{"s3:GetObject"}, s.reportObjects()))
	role.AddToPolicy(allow("ReadSigningSecret", []string{"secretsmanager:GetSecretValue"}, s.SigningSecret.SecretArn()))
	role.AddToPolicy(allow("SchedulesRead", []string{"dynamodb:GetItem"}, s.SchedulesTable.TableArn()))
	role.AddToPolicy(allow("ListAccountSchedules", []string{"dynamodb:Query"}, s.schedulesIndex(resources.SchedulesByAccount)))
}

// grantRun: the worker and the sweep. It is the only writer of report files and
// the only sender of mail, and it may send only as the configured address.
func (s *Stack) grantRun(role awsiam.Role, configSet awsses.ConfigurationSet, sesIdentityArns []*string) {
	// The worker updates reports; PutItem is a schedule firing's submit (the
	// Queued report and its idempotency record, both conditional puts). No
	// function deletes reports.
	role.AddToPolicy(allow("ReportsReadWrite",
		[]string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}, s.ReportsTable.TableArn()))
	// The tick: due schedules from the sparse index, each re-read and
	// advanced (or disabled) by a conditional update.
	role.AddToPolicy(allow("FireSchedules", []string{"dynamodb:GetItem", "dynamodb:UpdateItem"}, s.SchedulesTable.TableArn()))
	role.AddToPolicy(allow("QueryDueSchedules", []string{"dynamodb:Query"}, s.schedulesIndex(resources.SchedulesDue)))
	// byStatus: the sweep's stale reports; byAccount: ReconcileActive's open reports.
	role.AddToPolicy(allow("QueryReportIndexes", []string{"dynamodb:Query"},
		s.reportsIndex(resources.ReportsByStatus), s.reportsIndex(resources.ReportsByAccount)))
	role.AddToPolicy(allow("BillingDataRead", []string{"dynamodb:GetItem", "dynamodb:Query"}, s.BillingTable.TableArn()))
	// PutObject covers CreateMultipartUpload, UploadPart and CompleteMultipartUpload;
	// GetObject is for presigning the report's downloadLink.
	role.AddToPolicy(allow("WriteReportFiles",
		[]string{"s3:PutObject", "s3:AbortMultipartUpload", "s3:GetObject"}, s.reportObjects()))
	// Shards write their exact partials, finalize reads and deletes them.
	role.AddToPolicy(allow("ShardPartials",
		[]string{"s3:PutObject", "s3:GetObject", "s3:DeleteObject"}, s.partialObjects()))
	configSetArn := s.Stack.FormatArn(&awscdk.ArnComponents{
		Service:      jsii.String("ses"),
		Resource:     jsii.String("configuration-set"),
		ResourceName: configSet.ConfigurationSetName(),
	})
	sesResources := append(append([]*string{}, sesIdentityArns...), configSetArn)
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("SendReportEmailAsSender"),
		Effect:     awsiam.Effect_ALLOW,
		Actions:    jsii.Strings("ses:SendEmail"),
		Resources:  &sesResources,
		Conditions: &map[string]any{"StringEquals": map[string]any{"ses:FromAddress": s.Config.SenderAddress}},
	}))
	role.AddToPolicy(allow("ReadSigningSecrets", []string{"secretsmanager:GetSecretValue"},
		s.SigningSecret.SecretArn(), s.WebhookSecret.SecretArn()))
	// Shard and finalize jobs; the sweep re-enqueues reports that were written
	// but never enqueued, stuck shards and lost finalize jobs.
	role.AddToPolicy(allow("ReEnqueueJobs", []string{"sqs:SendMessage"}, s.JobsQueue.QueueArn()))
	// Receiving from the jobs queue is granted by the event source mapping.
}
