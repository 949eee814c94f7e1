//go:build integration

package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/evovoice/billing/resources"
)

var names = resources.For("test")

func functionRes(t *testing.T, fn string) resource {
	t.Helper()
	return only(t, "AWS::Lambda::Function", propEquals([]string{"FunctionName"}, "billing-reports-test-"+fn))
}

func tableRes(t *testing.T, name string) resource {
	t.Helper()
	return only(t, "AWS::DynamoDB::Table", propEquals([]string{"TableName"}, name))
}

func queueRes(t *testing.T, name string) resource {
	t.Helper()
	return only(t, "AWS::SQS::Queue", propEquals([]string{"QueueName"}, name))
}

// reportsBucket is the bucket whose access is logged (the other one holds the logs).
func reportsBucket(t *testing.T) resource {
	t.Helper()
	return only(t, "AWS::S3::Bucket", func(r resource) bool { return r.prop("LoggingConfiguration") != nil })
}

// refID strips "<" ">" and an attribute from a rendered reference.
func refID(rendered string) string {
	id := strings.Trim(rendered, "<>")
	id, _, _ = strings.Cut(id, ".")
	return id
}

func TestReportsTable(t *testing.T) {
	has(t, "AWS::DynamoDB::Table", map[string]any{
		"TableName":                        names.ReportsTable,
		"KeySchema":                        []any{map[string]any{"AttributeName": resources.ReportsPK, "KeyType": "HASH"}},
		"BillingMode":                      "PAY_PER_REQUEST",
		"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
		"SSESpecification":                 map[string]any{"SSEEnabled": true},
		"TimeToLiveSpecification":          map[string]any{"AttributeName": resources.TTLAttribute, "Enabled": true},
		"DeletionProtectionEnabled":        true,
		"GlobalSecondaryIndexes": assertions.Match_ArrayWith(&[]any{
			map[string]any{
				"IndexName": resources.ReportsByAccount,
				"KeySchema": []any{
					map[string]any{"AttributeName": resources.ReportsByAccountPK, "KeyType": "HASH"},
					map[string]any{"AttributeName": resources.ReportsByAccountSK, "KeyType": "RANGE"},
				},
				"Projection": map[string]any{"ProjectionType": "ALL"},
			},
			map[string]any{
				"IndexName": resources.ReportsByStatus,
				"KeySchema": []any{
					map[string]any{"AttributeName": resources.ReportsByStatusPK, "KeyType": "HASH"},
					map[string]any{"AttributeName": resources.ReportsByStatusSK, "KeyType": "RANGE"},
				},
				"Projection": map[string]any{"ProjectionType": "ALL"},
			},
		}),
	})
	table := tableRes(t, names.ReportsTable)
	if got := len(list(table.prop("GlobalSecondaryIndexes"))); got != 2 {
		t.Errorf("reports table has %d GSIs, want 2", got)
	}
	if table.Body["DeletionPolicy"] != "Retain" {
		t.Errorf("reports table DeletionPolicy = %v, want Retain", table.Body["DeletionPolicy"])
	}
}

// TestSchedulesTable: the schedules table with its byAccount index and the
// sparse due index the tick queries (spec 2.7).
func TestSchedulesTable(t *testing.T) {
	gsi := func(name, pk, sk string) map[string]any {
		return map[string]any{
			"IndexName": name,
			"KeySchema": []any{
				map[string]any{"AttributeName": pk, "KeyType": "HASH"},
				map[string]any{"AttributeName": sk, "KeyType": "RANGE"},
			},
			"Projection": map[string]any{"ProjectionType": "ALL"},
		}
	}
	has(t, "AWS::DynamoDB::Table", map[string]any{
		"TableName":                        names.SchedulesTable,
		"KeySchema":                        []any{map[string]any{"AttributeName": resources.SchedulesPK, "KeyType": "HASH"}},
		"BillingMode":                      "PAY_PER_REQUEST",
		"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
		"SSESpecification":                 map[string]any{"SSEEnabled": true},
		"DeletionProtectionEnabled":        true,
		"GlobalSecondaryIndexes": []any{
			gsi(resources.SchedulesByAccount, resources.SchedulesByAccountPK, resources.SchedulesByAccountSK),
			gsi(resources.SchedulesDue, resources.SchedulesDuePK, resources.SchedulesDueSK),
		},
	})
	if p := tableRes(t, names.SchedulesTable).Body["DeletionPolicy"]; p != "Retain" {
		t.Errorf("schedules table DeletionPolicy = %v, want Retain", p)
	}
}

// TestScheduleTickAlarm: a tick's ERROR log lines are counted and alarm.
func TestScheduleTickAlarm(t *testing.T) {
	has(t, "AWS::Logs::MetricFilter", map[string]any{
		"FilterPattern": `{ $.op = "tick" && $.level = "ERROR" }`,
		"MetricTransformations": []any{assertions.Match_ObjectLike(&map[string]any{
			"MetricName": "ScheduleTickFailures", "MetricValue": "1",
		})},
	})
	has(t, "AWS::CloudWatch::Alarm", map[string]any{
		"MetricName":         "ScheduleTickFailures",
		"Threshold":          0,
		"ComparisonOperator": "GreaterThanThreshold",
		"AlarmActions":       assertions.Match_AnyValue(),
	})
}

func TestBillingTable(t *testing.T) {
	has(t, "AWS::DynamoDB::Table", map[string]any{
		"TableName": names.BillingTable,
		"KeySchema": []any{
			map[string]any{"AttributeName": resources.BillingPK, "KeyType": "HASH"},
			map[string]any{"AttributeName": resources.BillingSK, "KeyType": "RANGE"},
		},
		"BillingMode":                      "PAY_PER_REQUEST",
		"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
		"SSESpecification":                 map[string]any{"SSEEnabled": true},
		"DeletionProtectionEnabled":        true,
	})
	if p := tableRes(t, names.BillingTable).Body["DeletionPolicy"]; p != "Retain" {
		t.Errorf("billing table DeletionPolicy = %v, want Retain", p)
	}
}

func TestReportsBucket(t *testing.T) {
	bucket := reportsBucket(t)
	has(t, "AWS::S3::Bucket", map[string]any{
		"LoggingConfiguration": assertions.Match_ObjectLike(&map[string]any{"DestinationBucketName": assertions.Match_AnyValue()}),
		"PublicAccessBlockConfiguration": map[string]any{
			"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true,
		},
		"BucketEncryption": map[string]any{"ServerSideEncryptionConfiguration": []any{
			map[string]any{"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}},
		}},
		"OwnershipControls": map[string]any{"Rules": []any{map[string]any{"ObjectOwnership": "BucketOwnerEnforced"}}},
		"LifecycleConfiguration": map[string]any{"Rules": assertions.Match_ArrayWith(&[]any{
			assertions.Match_ObjectLike(&map[string]any{
				"Prefix":                         "reports/",
				"ExpirationInDays":               synth.cfg.ReportRetentionDays,
				"AbortIncompleteMultipartUpload": map[string]any{"DaysAfterInitiation": 1},
				"Status":                         "Enabled",
			}),
			// The backstop of the finalize job's deletes.
			assertions.Match_ObjectLike(&map[string]any{
				"Prefix":           resources.PartialsPrefix,
				"ExpirationInDays": resources.PartialsExpireDays,
				"Status":           "Enabled",
			}),
		})},
	})
	logsID := refID(render(bucket.prop("LoggingConfiguration", "DestinationBucketName")))
	if logsID == bucket.ID {
		t.Errorf("the reports bucket logs to itself")
	}
	// TLS only, for both buckets: a Deny of every s3 action without SecureTransport.
	for _, id := range []string{bucket.ID, logsID} {
		policy := only(t, "AWS::S3::BucketPolicy", func(r resource) bool { return refID(render(r.prop("Bucket"))) == id })
		found := false
		for _, st := range list(policy.prop("PolicyDocument", "Statement")) {
			m := st.(map[string]any)
			cond := render(m["Condition"])
			if m["Effect"] == "Deny" && render(m["Action"]) == "s3:*" && strings.Contains(cond, `"aws:SecureTransport":"false"`) {
				found = true
			}
		}
		if !found {
			t.Errorf("bucket %s: no Deny of non-TLS requests in its policy", id)
		}
	}
	if bucket.Body["DeletionPolicy"] != "Retain" {
		t.Errorf("reports bucket DeletionPolicy = %v, want Retain", bucket.Body["DeletionPolicy"])
	}
}

func TestQueues(t *testing.T) {
	dlq := queueRes(t, names.JobsDLQ)
	jobs := queueRes(t, names.JobsQueue)
	has(t, "AWS::SQS::Queue", map[string]any{
		"QueueName":            names.JobsQueue,
		"VisibilityTimeout":    resources.VisibilityTimeout.Seconds(),
		"SqsManagedSseEnabled": true,
		"RedrivePolicy":        map[string]any{"deadLetterTargetArn": map[string]any{"Fn::GetAtt": []any{dlq.ID, "Arn"}}, "maxReceiveCount": resources.MaxReceiveCount},
	})
	has(t, "AWS::SQS::Queue", map[string]any{
		"QueueName":              names.JobsDLQ,
		"MessageRetentionPeriod": resources.DLQRetention.Seconds(),
		"SqsManagedSseEnabled":   true,
	})
	for _, q := range []resource{jobs, dlq} {
		policy := only(t, "AWS::SQS::QueuePolicy", func(r resource) bool {
			return slices.ContainsFunc(list(r.prop("Queues")), func(v any) bool { return refID(render(v)) == q.ID })
		})
		if !strings.Contains(render(policy.prop("PolicyDocument")), `"aws:SecureTransport":"false"`) {
			t.Errorf("queue %s does not deny non-TLS access", q.ID)
		}
	}
}

// TestVisibilityTimeoutRule: AWS requires the queue's visibility timeout to be
// at least the function's timeout and recommends 6x, so that a batch being
// retried is not delivered again while the first attempt still runs.
func TestVisibilityTimeoutRule(t *testing.T) {
	run := functionRes(t, fnRun)
	timeout, _ := run.prop("Timeout").(float64)
	vis, _ := queueRes(t, names.JobsQueue).prop("VisibilityTimeout").(float64)
	if timeout != resources.WorkerTimeout.Seconds() {
		t.Errorf("run timeout = %vs, want resources.WorkerTimeout %v", timeout, resources.WorkerTimeout)
	}
	if timeout <= 0 || vis < 6*timeout {
		t.Errorf("jobs queue visibility timeout %vs < 6 x run timeout %vs", vis, timeout)
	}
}

func TestWorkerEventSource(t *testing.T) {
	run := functionRes(t, fnRun)
	jobs := queueRes(t, names.JobsQueue)
	has(t, "AWS::Lambda::EventSourceMapping", map[string]any{
		"FunctionName":                   map[string]any{"Ref": run.ID},
		"EventSourceArn":                 map[string]any{"Fn::GetAtt": []any{jobs.ID, "Arn"}},
		"BatchSize":                      resources.WorkerBatchSize,
		"MaximumBatchingWindowInSeconds": resources.WorkerBatchWindow.Seconds(),
		"FunctionResponseTypes":          []any{"ReportBatchItemFailures"},
		// Shards of large reports run in parallel up to this.
		"ScalingConfig": map[string]any{"MaximumConcurrency": resources.WorkerMaxConcurrency},
	})
	synth.template.ResourceCountIs(jsii.String("AWS::Lambda::EventSourceMapping"), jsii.Number(1))
}

func TestFunctions(t *testing.T) {
	want := map[string]struct {
		memory  int
		timeout time.Duration
	}{
		fnSubmit: {apiFunctionMemoryMB, apiFunctionTimeout},
		fnStatus: {apiFunctionMemoryMB, apiFunctionTimeout},
		fnRun:    {resources.WorkerMemoryMB, resources.WorkerTimeout},
	}
	if got := len(resourcesOf("AWS::Lambda::Function")); got != len(want) {
		t.Errorf("%d functions in the template, want %d (no CDK helper functions)", got, len(want))
	}
	for fn, w := range want {
		f := functionRes(t, fn)
		has(t, "AWS::Lambda::Function", map[string]any{
			"FunctionName":  "billing-reports-test-" + fn,
			"Runtime":       "provided.al2023",
			"Architectures": []any{"arm64"},
			"Handler":       "bootstrap",
			"MemorySize":    w.memory,
			"Timeout":       w.timeout.Seconds(),
			"TracingConfig": map[string]any{"Mode": "Active"},
		})
		logGroup := refID(render(f.prop("LoggingConfig", "LogGroup")))
		lg := only(t, "AWS::Logs::LogGroup", func(r resource) bool { return r.ID == logGroup })
		if lg.prop("LogGroupName") != "/aws/lambda/billing-reports-test-"+fn {
			t.Errorf("%s logs to %v", fn, lg.prop("LogGroupName"))
		}
	}
}

func TestLogRetention(t *testing.T) {
	groups := resourcesOf("AWS::Logs::LogGroup")
	if len(groups) != 4 { // three functions and the API's access log
		t.Errorf("%d log groups, want 4", len(groups))
	}
	for _, g := range groups {
		if got, _ := g.prop("RetentionInDays").(float64); int(got) != synth.cfg.LogRetentionDays {
			t.Errorf("log group %s keeps logs %v days, want %d", g.ID, g.prop("RetentionInDays"), synth.cfg.LogRetentionDays)
		}
	}
}

// TestFunctionEnvironment checks that each function gets exactly the variables
// it reads, with values pointing at this stack's resources.
func TestFunctionEnvironment(t *testing.T) {
	reports, billing := tableRes(t, names.ReportsTable).ID, tableRes(t, names.BillingTable).ID
	schedules := tableRes(t, names.SchedulesTable).ID
	jobs, bucket := queueRes(t, names.JobsQueue).ID, reportsBucket(t).ID
	api := only(t, "AWS::ApiGatewayV2::Api", nil).ID
	configSet := only(t, "AWS::SES::ConfigurationSet", nil).ID
	common := map[string]string{"STAGE": "test", resources.EnvLogFormat: "json"}
	want := map[string]map[string]string{
		fnSubmit: {
			resources.EnvReportsTable:   "<" + reports + ">",
			resources.EnvBillingTable:   "<" + billing + ">",
			resources.EnvJobsQueueURL:   "<" + jobs + ">",
			resources.EnvSchedulesTable: "<" + schedules + ">",
		},
		fnStatus: {
			resources.EnvReportsTable:     "<" + reports + ">",
			resources.EnvSchedulesTable:   "<" + schedules + ">",
			resources.EnvReportsBucket:    "<" + bucket + ">",
			resources.EnvSigningSecretARN: "<" + signingSecretID(t) + ">",
			resources.EnvLinkTTL:          "15m0s",
			resources.EnvTokenTTL:         "168h0m0s",
		},
		fnRun: {
			resources.EnvReportsTable:        "<" + reports + ">",
			resources.EnvBillingTable:        "<" + billing + ">",
			resources.EnvJobsQueueURL:        "<" + jobs + ">",
			resources.EnvReportsBucket:       "<" + bucket + ">",
			resources.EnvSenderAddress:       synth.cfg.SenderAddress,
			resources.EnvSESConfigurationSet: "<" + configSet + ">",
			resources.EnvPublicAPIURL:        "<" + api + ".ApiEndpoint>",
			resources.EnvSigningSecretARN:    "<" + signingSecretID(t) + ">",
			resources.EnvWebhookSecretARN:    "<" + webhookSecretID(t) + ">",
			resources.EnvLinkTTL:             "15m0s",
			resources.EnvTokenTTL:            "168h0m0s",
			resources.EnvSchedulesTable:      "<" + schedules + ">",
			resources.EnvShardDays:           "0", // automatic
			"GOGC":                           resources.WorkerGOGC,
		},
	}
	for fn, vars := range want {
		got := map[string]string{}
		for k, v := range functionRes(t, fn).prop("Environment", "Variables").(map[string]any) {
			got[k] = render(v)
		}
		for k, v := range common {
			vars[k] = v
		}
		wantJSON, _ := json.MarshalIndent(vars, "", " ")
		gotJSON, _ := json.MarshalIndent(got, "", " ")
		if string(wantJSON) != string(gotJSON) {
			t.Errorf("%s environment:\n got %s\nwant %s", fn, gotJSON, wantJSON)
		}
		for _, local := range []string{resources.EnvSigningSecret, resources.EnvWebhookSecret, resources.EnvAllowInsecureHooks} {
			if _, ok := got[local]; ok {
				t.Errorf("%s: %s is for the local stack only", fn, local)
			}
		}
	}
}

func signingSecretID(t *testing.T) string {
	return refID(render(functionRes(t, fnRun).prop("Environment", "Variables", resources.EnvSigningSecretARN)))
}

func webhookSecretID(t *testing.T) string {
	return refID(render(functionRes(t, fnRun).prop("Environment", "Variables", resources.EnvWebhookSecretARN)))
}

func TestSecrets(t *testing.T) {
	secrets := resourcesOf("AWS::SecretsManager::Secret")
	if len(secrets) != 2 {
		t.Fatalf("%d secrets, want 2 (download-token and webhook signing keys)", len(secrets))
	}
	ids := []string{signingSecretID(t), webhookSecretID(t)}
	for _, s := range secrets {
		if !slices.Contains(ids, s.ID) {
			t.Errorf("secret %s is not the signing or webhook secret", s.ID)
		}
		if n, _ := s.prop("GenerateSecretString", "PasswordLength").(float64); n < 32 {
			t.Errorf("secret %s is generated with %v characters; appconfig needs at least 32", s.ID, n)
		}
		if s.Body["DeletionPolicy"] != "Retain" {
			t.Errorf("secret %s would be deleted with the stack; outstanding links would die", s.ID)
		}
	}
	if ids[0] == ids[1] {
		t.Errorf("the signing and webhook keys are the same secret")
	}
}

func TestEmail(t *testing.T) {
	configSet := only(t, "AWS::SES::ConfigurationSet", nil)
	has(t, "AWS::SES::EmailIdentity", map[string]any{
		"EmailIdentity":              synth.cfg.SenderDomain,
		"ConfigurationSetAttributes": map[string]any{"ConfigurationSetName": map[string]any{"Ref": configSet.ID}},
	})
	has(t, "AWS::SES::ConfigurationSet", map[string]any{
		"Name":            "billing-reports-test",
		"DeliveryOptions": map[string]any{"TlsPolicy": "REQUIRE"},
	})
}

func TestUserPool(t *testing.T) {
	has(t, "AWS::Cognito::UserPool", map[string]any{
		"AdminCreateUserConfig": map[string]any{"AllowAdminCreateUserOnly": true},
		"MfaConfiguration":      "ON",
		"Schema": assertions.Match_ArrayWith(&[]any{
			assertions.Match_ObjectLike(&map[string]any{"Name": attrAccountIDs, "AttributeDataType": "String", "Mutable": true}),
			assertions.Match_ObjectLike(&map[string]any{"Name": attrCustomerID, "AttributeDataType": "String", "Mutable": true}),
		}),
	})
	pool := only(t, "AWS::Cognito::UserPool", nil)
	var groups []string
	for _, g := range resourcesOf("AWS::Cognito::UserPoolGroup") {
		groups = append(groups, g.prop("GroupName").(string))
		if render(g.prop("UserPoolId")) != "<"+pool.ID+">" {
			t.Errorf("group %v is in another pool", g.prop("GroupName"))
		}
	}
	slices.Sort(groups)
	if want := []string{"Customer", "Manager", "SystemAdministrator"}; !slices.Equal(groups, want) {
		t.Errorf("groups = %v, want %v", groups, want)
	}
	client := only(t, "AWS::Cognito::UserPoolClient", nil)
	if client.prop("GenerateSecret") != false {
		t.Errorf("the API client must be public (no secret): %v", client.prop("GenerateSecret"))
	}
	read := list(client.prop("ReadAttributes"))
	for _, a := range []string{"custom:" + attrAccountIDs, "custom:" + attrCustomerID} {
		if !slices.Contains(read, any(a)) {
			t.Errorf("the client cannot read %s, so it would not be in the ID token", a)
		}
	}
	// A user who could write custom:accountIds could report on any account.
	write := list(client.prop("WriteAttributes"))
	if len(write) == 0 {
		t.Errorf("WriteAttributes is empty, which Cognito may read as all attributes")
	}
	for _, a := range write {
		if strings.HasPrefix(a.(string), "custom:") {
			t.Errorf("users may write their own %s", a)
		}
	}
}

// TestRoutes checks every route of spec 2, its function, and that all but the
// emailed download link and the public API description require a Cognito JWT.
func TestRoutes(t *testing.T) {
	authorizer := only(t, "AWS::ApiGatewayV2::Authorizer", nil)
	pool := only(t, "AWS::Cognito::UserPool", nil)
	client := only(t, "AWS::Cognito::UserPoolClient", nil)
	has(t, "AWS::ApiGatewayV2::Authorizer", map[string]any{
		"AuthorizerType": "JWT",
		"IdentitySource": []any{"$request.header.Authorization"},
		"JwtConfiguration": map[string]any{
			"Audience": []any{map[string]any{"Ref": client.ID}},
			"Issuer":   assertions.Match_AnyValue(),
		},
	})
	if iss := render(authorizer.prop("JwtConfiguration", "Issuer")); !strings.Contains(iss, "cognito-idp.") || !strings.HasSuffix(iss, "/<"+pool.ID+">") {
		t.Errorf("JWT issuer %s is not the user pool", iss)
	}
	integrationOf := map[string]string{} // integration id -> function
	for _, in := range resourcesOf("AWS::ApiGatewayV2::Integration") {
		uri := render(in.prop("IntegrationUri"))
		if in.prop("PayloadFormatVersion") != "2.0" {
			t.Errorf("integration %s uses payload %v, want 2.0 (aws-lambda-go-api-proxy's v2 adapter)", in.ID, in.prop("PayloadFormatVersion"))
		}
		for _, fn := range functionNames {
			if uri == "<"+functionRes(t, fn).ID+".Arn>" {
				integrationOf[in.ID] = fn
			}
		}
	}
	want := map[string]struct {
		fn   string
		auth bool
	}{
		"ANY /reports/billing":          {fnSubmit, true},
		"ANY /reports/billing.json":     {fnSubmit, true},
		"ANY /reports/billing.csv":      {fnSubmit, true},
		"ANY /api/BillingReport":        {fnSubmit, true},
		"ANY /api/BillingReport.json":   {fnSubmit, true},
		"ANY /api/BillingReport.csv":    {fnSubmit, true},
		"ANY /json/reply/BillingReport": {fnSubmit, true},
		"ANY /csv/reply/BillingReport":  {fnSubmit, true},
		"GET /reports":                  {fnStatus, true},
		"GET /reports.json":             {fnStatus, true},
		"GET /reports.csv":              {fnStatus, true},
		"GET /reports/{id}":             {fnStatus, true},
		"GET /reports/{id}/download":    {fnStatus, false},
		"GET /openapi.json":             {fnStatus, false},
		// Schedules (spec 2.7): writes on submit, reads on status.
		"POST /reports/schedules":          {fnSubmit, true},
		"POST /reports/schedules.json":     {fnSubmit, true},
		"POST /reports/schedules.csv":      {fnSubmit, true},
		"PUT /reports/schedules/{id}":      {fnSubmit, true},
		"DELETE /reports/schedules/{id}":   {fnSubmit, true},
		"POST /reports/schedules/{id}/run": {fnSubmit, true},
		"GET /reports/schedules":           {fnStatus, true},
		"GET /reports/schedules.json":      {fnStatus, true},
		"GET /reports/schedules.csv":       {fnStatus, true},
		"GET /reports/schedules/{id}":      {fnStatus, true},
	}
	routes := resourcesOf("AWS::ApiGatewayV2::Route")
	if len(routes) != len(want) {
		t.Errorf("%d routes, want %d", len(routes), len(want))
	}
	for _, r := range routes {
		key := r.prop("RouteKey").(string)
		w, ok := want[key]
		if !ok {
			t.Errorf("unexpected route %s", key)
			continue
		}
		delete(want, key)
		target := strings.TrimPrefix(render(r.prop("Target")), "integrations/")
		if fn := integrationOf[refID(target)]; fn != w.fn {
			t.Errorf("%s goes to %q, want %q", key, fn, w.fn)
		}
		auth := r.prop("AuthorizationType")
		switch {
		case w.auth && (auth != "JWT" || render(r.prop("AuthorizerId")) != "<"+authorizer.ID+">"):
			t.Errorf("%s: authorization %v %v, want the Cognito JWT authorizer", key, auth, r.prop("AuthorizerId"))
		case !w.auth && auth != "NONE":
			t.Errorf("%s: authorization %v, want NONE (its token is the authorization)", key, auth)
		}
	}
	for key := range want {
		t.Errorf("route %s is missing", key)
	}
}

func TestAPIStage(t *testing.T) {
	stage := only(t, "AWS::ApiGatewayV2::Stage", nil)
	if stage.prop("StageName") != "$default" || stage.prop("AutoDeploy") != true {
		t.Errorf("stage %v autoDeploy %v, want $default auto-deployed", stage.prop("StageName"), stage.prop("AutoDeploy"))
	}
	dest := refID(render(stage.prop("AccessLogSettings", "DestinationArn")))
	only(t, "AWS::Logs::LogGroup", func(r resource) bool { return r.ID == dest })
	format, _ := stage.prop("AccessLogSettings", "Format").(string)
	var fields map[string]string
	if err := json.Unmarshal([]byte(format), &fields); err != nil {
		t.Fatalf("access log format is not JSON: %v", err)
	}
	for _, leak := range []string{"$context.path", "querystring", "$request"} {
		if strings.Contains(format, leak) {
			t.Errorf("access log format contains %s, which would log download tokens", leak)
		}
	}
	if fields["routeKey"] == "" || fields["status"] == "" || fields["requestId"] == "" {
		t.Errorf("access log lacks routeKey/status/requestId: %s", format)
	}
	if stage.prop("DefaultRouteSettings", "ThrottlingRateLimit") == nil {
		t.Errorf("stage is not throttled")
	}
}

func TestSweepSchedule(t *testing.T) {
	run := functionRes(t, fnRun)
	has(t, "AWS::Events::Rule", map[string]any{
		"ScheduleExpression": "rate(5 minutes)",
		"State":              "ENABLED",
		// The scheduled event's own time goes into the tick event
		// (schedules.TickEvent): "now" of the schedules' tick.
		"Targets": []any{assertions.Match_ObjectLike(&map[string]any{
			"Arn": map[string]any{"Fn::GetAtt": []any{run.ID, "Arn"}},
			"InputTransformer": map[string]any{
				"InputPathsMap": map[string]any{"time": "$.time"},
				"InputTemplate": SweepEvent,
			},
		})},
	})
	if resources.SweepInterval != 5*time.Minute {
		t.Errorf("resources.SweepInterval changed to %v; update the expected rate", resources.SweepInterval)
	}
	has(t, "AWS::Lambda::Permission", map[string]any{
		"FunctionName": map[string]any{"Fn::GetAtt": []any{run.ID, "Arn"}},
		"Principal":    "events.amazonaws.com",
	})
}

func TestAlarms(t *testing.T) {
	topic := only(t, "AWS::SNS::Topic", nil)
	if topic.prop("KmsMasterKeyId") == nil {
		t.Errorf("ops topic is not encrypted")
	}
	has(t, "AWS::SNS::Subscription", map[string]any{
		"Protocol": "email", "Endpoint": synth.cfg.AlarmEmail, "TopicArn": map[string]any{"Ref": topic.ID},
	})
	type alarmKey struct{ metric, dim string }
	found := map[alarmKey]bool{}
	for _, a := range resourcesOf("AWS::CloudWatch::Alarm") {
		actions := list(a.prop("AlarmActions"))
		if len(actions) != 1 || render(actions[0]) != "<"+topic.ID+">" {
			t.Errorf("alarm %s notifies %v, want the ops topic", a.ID, actions)
		}
		dim := refID(render(a.prop("Dimensions", "0", "Value")))
		found[alarmKey{a.prop("MetricName").(string), dim}] = true
		threshold, _ := a.prop("Threshold").(float64)
		if a.prop("MetricName") != "ApproximateAgeOfOldestMessage" && (threshold != 0 || a.prop("ComparisonOperator") != "GreaterThanThreshold") {
			t.Errorf("alarm %s fires at > %v, want > 0", a.ID, threshold)
		}
	}
	dlq, jobs := queueRes(t, names.JobsDLQ).ID, queueRes(t, names.JobsQueue).ID
	want := []alarmKey{{"ApproximateNumberOfMessagesVisible", dlq}, {"ApproximateAgeOfOldestMessage", jobs}}
	for _, fn := range functionNames {
		id := functionRes(t, fn).ID
		want = append(want, alarmKey{"Errors", id}, alarmKey{"Throttles", id})
	}
	for _, k := range want {
		if !found[k] {
			t.Errorf("no alarm on %s of %s", k.metric, k.dim)
		}
	}
	has(t, "AWS::CloudWatch::Alarm", map[string]any{
		"MetricName": "ApproximateAgeOfOldestMessage",
		"Threshold":  queueAgeAlarmAfter.Seconds(),
	})
}

func TestOutputs(t *testing.T) {
	outputs := synth.doc["Outputs"].(map[string]any)
	for _, name := range []string{"ApiUrl", "UserPoolId", "UserPoolClientId", "ReportsBucketName", "ReportsTableName", "BillingTableName", "SchedulesTableName"} {
		if _, ok := outputs[name]; !ok {
			t.Errorf("output %s is missing", name)
		}
	}
}
