package main

import (
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsses"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/httpapi"
	"github.com/evovoice/billing/resources"
)

// Cognito groups are the roles of spec 2.6 (billing.Roles); the functions read
// them from the cognito:groups claim.
var userGroups = func() (groups []string) {
	for _, r := range billing.Roles() {
		groups = append(groups, string(r))
	}
	return groups
}()

// Custom attributes carry the caller's scope into the ID token (custom:accountIds,
// custom:customerId). Only administrators may set them: see the app client's
// write attributes.
const (
	attrAccountIDs = "accountIds"
	attrCustomerID = "customerId"
)

// Maximum lengths of the custom attributes. Cognito cannot change them once the
// pool exists, so they are not derived from billing.MaxIDLength; they only have
// to hold any id (TestCustomAttributesHoldAnyID): customerId one id, accountIds
// a comma-separated list of them.
const (
	attrAccountIDsMaxLen = 2048
	attrCustomerIDMaxLen = 256
)

// SweepEvent is the payload the rule sends to the run function: it tells the
// sweep apart from an SQS batch, and carries the scheduled event's own time,
// which the schedules' tick takes as "now" (schedules.TickEvent), so that a
// late or retried delivery fires what was due at that instant.
const SweepEvent = `{"` + resources.SweepEventField + `":true,"time":<time>}`

// Sizing of the API functions: they do a few DynamoDB/SQS calls per request, and
// API Gateway HTTP APIs give up on an integration after 30 s anyway.
const (
	apiFunctionMemoryMB = 256
	apiFunctionTimeout  = resources.APIFunctionTimeout
)

// Stage throttling: a reseller's clients poll status; the limits keep a runaway
// client from exhausting the account's Lambda concurrency.
const (
	apiRateLimit  = 50
	apiBurstLimit = 100
)

// Alarm threshold of the jobs queue's oldest message: a healthy queue is drained
// within seconds; a message that outlived three visibility timeouts has been
// retried repeatedly or nothing is consuming.
var queueAgeAlarmAfter = 3 * resources.VisibilityTimeout

// workerMaxConcurrency caps concurrent worker invocations (shards of large
// reports run in parallel up to it) so report runs cannot starve the API
// functions of the account's concurrency; the queue absorbs the rest. Each
// UTC day of usage is its own partition, so shards spread over the table.
const workerMaxConcurrency = resources.WorkerMaxConcurrency

// Stack is the deployed service with handles the tests and outputs use.
type Stack struct {
	awscdk.Stack
	Config         Config
	ReportsTable   awsdynamodb.Table
	BillingTable   awsdynamodb.Table
	SchedulesTable awsdynamodb.Table
	Bucket         awss3.Bucket
	JobsQueue      awssqs.Queue
	JobsDLQ        awssqs.Queue
	Functions      map[string]awslambda.Function
	Roles          map[string]awsiam.Role
	API            awsapigatewayv2.HttpApi
	UserPool       awscognito.UserPool
	Client         awscognito.UserPoolClient
	SigningSecret  awssecretsmanager.Secret
	WebhookSecret  awssecretsmanager.Secret
	OpsTopic       awssns.Topic
}

// StackName is the CloudFormation stack of stage.
func StackName(stage string) string { return "BillingReports-" + stage }

// NewStack defines the whole service of one stage.
func NewStack(scope constructs.Construct, cfg Config, props *awscdk.StackProps) *Stack {
	if props == nil {
		props = &awscdk.StackProps{}
	}
	if props.Description == nil {
		props.Description = jsii.String("Billing reports service (" + cfg.Stage + "): HTTP API, report worker, tables, bucket, queue")
	}
	s := &Stack{
		Stack:     awscdk.NewStack(scope, jsii.String(StackName(cfg.Stage)), props),
		Config:    cfg,
		Functions: map[string]awslambda.Function{},
		Roles:     map[string]awsiam.Role{},
	}
	awscdk.Tags_Of(s.Stack).Add(jsii.String("service"), jsii.String("billing-reports"), nil)
	awscdk.Tags_Of(s.Stack).Add(jsii.String("stage"), jsii.String(cfg.Stage), nil)
	names := resources.For(cfg.Stage)

	s.defineTables(names)
	s.defineBucket()
	s.defineQueues(names)
	s.defineSecrets()
	configSet, identityArns := s.defineEmail()
	s.defineUserPool()
	s.defineOpsTopic()
	s.defineFunctions(names, configSet, identityArns)
	s.defineAPI()
	s.defineSweep()
	s.defineAlarms()
	s.defineOutputs()
	addNagSuppressions(s)
	return s
}

func (s *Stack) defineTables(names resources.Names) {
	str := awsdynamodb.AttributeType_STRING
	common := func(name string, pk, sk *string) *awsdynamodb.TableProps {
		p := &awsdynamodb.TableProps{
			TableName:    jsii.String(name),
			PartitionKey: &awsdynamodb.Attribute{Name: pk, Type: str},
			BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
			PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
				PointInTimeRecoveryEnabled: jsii.Bool(true),
			},
			Encryption:         awsdynamodb.TableEncryption_AWS_MANAGED,
			DeletionProtection: jsii.Bool(true),
			// Reports and usage are billing records: a stack deletion must not take them along.
			RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
		}
		if sk != nil {
			p.SortKey = &awsdynamodb.Attribute{Name: sk, Type: str}
		}
		return p
	}
	rp := common(names.ReportsTable, jsii.String(resources.ReportsPK), nil)
	rp.TimeToLiveAttribute = jsii.String(resources.TTLAttribute)
	s.ReportsTable = awsdynamodb.NewTable(s.Stack, jsii.String("ReportsTable"), rp)
	// addGSI adds a string-keyed index projecting ALL.
	addGSI := func(table awsdynamodb.Table, name, pk, sk string) {
		table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(name),
			PartitionKey:   &awsdynamodb.Attribute{Name: jsii.String(pk), Type: str},
			SortKey:        &awsdynamodb.Attribute{Name: jsii.String(sk), Type: str},
			ProjectionType: awsdynamodb.ProjectionType_ALL,
		})
	}
	addGSI(s.ReportsTable, resources.ReportsByAccount, resources.ReportsByAccountPK, resources.ReportsByAccountSK)
	addGSI(s.ReportsTable, resources.ReportsByStatus, resources.ReportsByStatusPK, resources.ReportsByStatusSK)
	s.BillingTable = awsdynamodb.NewTable(s.Stack, jsii.String("BillingDataTable"),
		common(names.BillingTable, jsii.String(resources.BillingPK), jsii.String(resources.BillingSK)))
	// Schedules (spec 2.7): byAccount lists an account's schedules; the
	// sparse due index holds only enabled schedules, keyed by their next run,
	// so a tick reads the due ones with one Query and never scans.
	s.SchedulesTable = awsdynamodb.NewTable(s.Stack, jsii.String("SchedulesTable"),
		common(names.SchedulesTable, jsii.String(resources.SchedulesPK), nil))
	addGSI(s.SchedulesTable, resources.SchedulesByAccount, resources.SchedulesByAccountPK, resources.SchedulesByAccountSK)
	addGSI(s.SchedulesTable, resources.SchedulesDue, resources.SchedulesDuePK, resources.SchedulesDueSK)
}

func (s *Stack) defineBucket() {
	// Server access logs need SSE-S3 on the target bucket; they are kept a year
	// for audits of who downloaded which report.
	logs := awss3.NewBucket(s.Stack, jsii.String("AccessLogsBucket"), &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:         jsii.String("expire-access-logs"),
			Expiration: awscdk.Duration_Days(jsii.Number(365)),
		}},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	s.Bucket = awss3.NewBucket(s.Stack, jsii.String("ReportsBucket"), &awss3.BucketProps{
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		Encryption:             awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:             jsii.Bool(true),
		ObjectOwnership:        awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		ServerAccessLogsBucket: logs,
		ServerAccessLogsPrefix: jsii.String("reports-bucket/"),
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:         jsii.String("expire-reports"),
			Prefix:     jsii.String("reports/"),
			Expiration: awscdk.Duration_Days(jsii.Number(float64(s.Config.ReportRetentionDays))),
			// A worker that died mid-upload leaves parts that cost money and are never completed.
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
		}, {
			// The finalize job deletes a sharded report's partials; this
			// removes what a lost finalize or a failed report left.
			Id:         jsii.String("expire-partials"),
			Prefix:     jsii.String(resources.PartialsPrefix),
			Expiration: awscdk.Duration_Days(jsii.Number(resources.PartialsExpireDays)),
		}},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
}

func (s *Stack) defineQueues(names resources.Names) {
	s.JobsDLQ = awssqs.NewQueue(s.Stack, jsii.String("JobsDLQ"), &awssqs.QueueProps{
		QueueName:       jsii.String(names.JobsDLQ),
		RetentionPeriod: duration(resources.DLQRetention),
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
	})
	s.JobsQueue = awssqs.NewQueue(s.Stack, jsii.String("JobsQueue"), &awssqs.QueueProps{
		QueueName:         jsii.String(names.JobsQueue),
		VisibilityTimeout: duration(resources.VisibilityTimeout),
		// A job is useless after the DLQ would have taken it; keep it long enough for
		// an outage of the worker to be fixed.
		RetentionPeriod: duration(resources.DLQRetention),
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		DeadLetterQueue: &awssqs.DeadLetterQueue{
			Queue:           s.JobsDLQ,
			MaxReceiveCount: jsii.Number(resources.MaxReceiveCount),
		},
	})
}

func (s *Stack) defineSecrets() {
	secret := func(id, purpose string) awssecretsmanager.Secret {
		return awssecretsmanager.NewSecret(s.Stack, jsii.String(id), &awssecretsmanager.SecretProps{
			Description: jsii.String(purpose + " (" + s.Config.Stage + "). Rotate by putting a new random value; see infra/README.md."),
			GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
				// 64 characters of letters and digits: ~380 bits, well over the
				// 32-byte minimum of appconfig and the HMAC-SHA256 block.
				PasswordLength:     jsii.Number(64),
				ExcludePunctuation: jsii.Bool(true),
			},
			RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
		})
	}
	s.SigningSecret = secret("SigningSecret", "HMAC key of emailed download-link tokens and list cursors")
	s.WebhookSecret = secret("WebhookSecret", "HMAC key of the X-Report-Signature header of webhooks")
}

// defineEmail creates the sender's domain identity and a configuration set, and
// returns the set and the identity ARNs the worker's ses:SendEmail is limited to.
func (s *Stack) defineEmail() (awsses.ConfigurationSet, []*string) {
	configSet := awsses.NewConfigurationSet(s.Stack, jsii.String("EmailConfigurationSet"), &awsses.ConfigurationSetProps{
		ConfigurationSetName: jsii.String(resources.For(s.Config.Stage).EmailConfigSet),
		ReputationMetrics:    jsii.Bool(true),
		SendingEnabled:       jsii.Bool(true),
		// Report emails carry download links; never send them in clear text between servers.
		TlsPolicy:          awsses.ConfigurationSetTlsPolicy_REQUIRE,
		SuppressionReasons: awsses.SuppressionReasons_BOUNCES_AND_COMPLAINTS,
	})
	awsses.NewEmailIdentity(s.Stack, jsii.String("SenderIdentity"), &awsses.EmailIdentityProps{
		Identity:         awsses.Identity_Domain(jsii.String(s.Config.SenderDomain)),
		ConfigurationSet: configSet,
	})
	// SES authorizes a send against the most specific verified identity of the
	// From address: the domain created here, or the address itself if someone
	// verified it separately. Both are the same sender.
	identityArns := []*string{}
	for _, identity := range []string{s.Config.SenderDomain, s.Config.SenderAddress} {
		identityArns = append(identityArns, s.Stack.FormatArn(&awscdk.ArnComponents{
			Service:      jsii.String("ses"),
			Resource:     jsii.String("identity"),
			ResourceName: jsii.String(identity),
		}))
	}
	return configSet, identityArns
}

func (s *Stack) defineUserPool() {
	s.UserPool = awscognito.NewUserPool(s.Stack, jsii.String("UserPool"), &awscognito.UserPoolProps{
		UserPoolName: jsii.String("billing-reports-" + s.Config.Stage),
		// Users are resellers' staff and customers; an administrator creates them and
		// assigns accounts, so nobody can sign up into a scope.
		SelfSignUpEnabled: jsii.Bool(false),
		SignInAliases:     &awscognito.SignInAliases{Email: jsii.Bool(true)},
		AutoVerify:        &awscognito.AutoVerifiedAttrs{Email: jsii.Bool(true)},
		AccountRecovery:   awscognito.AccountRecovery_EMAIL_ONLY,
		PasswordPolicy: &awscognito.PasswordPolicy{
			MinLength:            jsii.Number(12),
			RequireLowercase:     jsii.Bool(true),
			RequireUppercase:     jsii.Bool(true),
			RequireDigits:        jsii.Bool(true),
			RequireSymbols:       jsii.Bool(true),
			TempPasswordValidity: awscdk.Duration_Days(jsii.Number(3)),
		},
		// Billing data of many customers: a stolen password alone must not be enough.
		Mfa:             awscognito.Mfa_REQUIRED,
		MfaSecondFactor: &awscognito.MfaSecondFactor{Otp: jsii.Bool(true), Sms: jsii.Bool(false)},
		// Threat protection blocks sign-ins with leaked credentials and risky
		// sign-ins; the Plus plan costs per active user, and the users are few.
		FeaturePlan:                  awscognito.FeaturePlan_PLUS,
		StandardThreatProtectionMode: awscognito.StandardThreatProtectionMode_FULL_FUNCTION,
		CustomAttributes: &map[string]awscognito.ICustomAttribute{
			attrAccountIDs: awscognito.NewStringAttribute(&awscognito.StringAttributeProps{Mutable: jsii.Bool(true), MaxLen: jsii.Number(attrAccountIDsMaxLen)}),
			attrCustomerID: awscognito.NewStringAttribute(&awscognito.StringAttributeProps{Mutable: jsii.Bool(true), MaxLen: jsii.Number(attrCustomerIDMaxLen)}),
		},
		DeletionProtection: jsii.Bool(true),
		RemovalPolicy:      awscdk.RemovalPolicy_RETAIN,
	})
	for _, g := range userGroups {
		awscognito.NewCfnUserPoolGroup(s.Stack, jsii.String("Group"+g), &awscognito.CfnUserPoolGroupProps{
			UserPoolId:  s.UserPool.UserPoolId(),
			GroupName:   jsii.String(g),
			Description: jsii.String("Role " + g + " of the billing reports API"),
		})
	}
	// The client may read the scope attributes but never write them: otherwise a
	// user could widen their own accounts with UpdateUserAttributes.
	readable := awscognito.NewClientAttributes().
		WithStandardAttributes(&awscognito.StandardAttributesMask{Email: jsii.Bool(true), EmailVerified: jsii.Bool(true)}).
		WithCustomAttributes(jsii.String(attrAccountIDs), jsii.String(attrCustomerID))
	// An explicit list: an empty one means "all attributes" to some Cognito APIs.
	writable := awscognito.NewClientAttributes().
		WithStandardAttributes(&awscognito.StandardAttributesMask{Fullname: jsii.Bool(true)})
	s.Client = s.UserPool.AddClient(jsii.String("ApiClient"), &awscognito.UserPoolClientOptions{
		UserPoolClientName:         jsii.String("billing-reports-api"),
		GenerateSecret:             jsii.Bool(false),
		AuthFlows:                  &awscognito.AuthFlow{UserSrp: jsii.Bool(true)},
		DisableOAuth:               jsii.Bool(true),
		PreventUserExistenceErrors: jsii.Bool(true),
		EnableTokenRevocation:      jsii.Bool(true),
		IdTokenValidity:            awscdk.Duration_Hours(jsii.Number(1)),
		AccessTokenValidity:        awscdk.Duration_Hours(jsii.Number(1)),
		RefreshTokenValidity:       awscdk.Duration_Days(jsii.Number(30)),
		ReadAttributes:             readable,
		WriteAttributes:            writable,
	})
}

func (s *Stack) defineOpsTopic() {
	// CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed
	// SNS key, so the topic has its own key that lets CloudWatch use it.
	key := awskms.NewKey(s.Stack, jsii.String("OpsTopicKey"), &awskms.KeyProps{
		Description:       jsii.String("Encrypts the ops alarm topic of billing reports (" + s.Config.Stage + ")"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_DESTROY,
	})
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowCloudWatchAlarms"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"), // in a key policy "*" means this key
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": s.Stack.Account()}},
	}), jsii.Bool(false))
	s.OpsTopic = awssns.NewTopic(s.Stack, jsii.String("OpsTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("Billing reports ops (" + s.Config.Stage + ")"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	if s.Config.AlarmEmail != "" {
		s.OpsTopic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(s.Config.AlarmEmail), nil))
	}
}

// functionSpec is what differs between the three functions.
type functionSpec struct {
	memoryMB int
	timeout  time.Duration
	env      map[string]*string
	purpose  string
}

func (s *Stack) defineFunctions(names resources.Names, configSet awsses.ConfigurationSet, sesIdentityArns []*string) {
	cfg := s.Config
	linkTTL, tokenTTL := jsii.String(cfg.LinkTTL.String()), jsii.String(cfg.TokenTTL.String())
	// Each function gets only the variables it reads. appconfig fetches every
	// secret whose ARN is set, so a secret ARN here is also a promise that the
	// role may read it.
	specs := map[string]functionSpec{
		fnSubmit: {apiFunctionMemoryMB, apiFunctionTimeout, map[string]*string{
			resources.EnvReportsTable:   s.ReportsTable.TableName(),
			resources.EnvBillingTable:   s.BillingTable.TableName(),
			resources.EnvJobsQueueURL:   s.JobsQueue.QueueUrl(),
			resources.EnvSchedulesTable: s.SchedulesTable.TableName(),
		}, "Validates and queues billing report requests; writes report schedules"},
		fnStatus: {apiFunctionMemoryMB, apiFunctionTimeout, map[string]*string{
			resources.EnvReportsTable:     s.ReportsTable.TableName(),
			resources.EnvSchedulesTable:   s.SchedulesTable.TableName(),
			resources.EnvReportsBucket:    s.Bucket.BucketName(),
			resources.EnvSigningSecretARN: s.SigningSecret.SecretArn(),
			resources.EnvLinkTTL:          linkTTL,
			resources.EnvTokenTTL:         tokenTTL,
		}, "Report and schedule status, lists and download redirect"},
		fnRun: {resources.WorkerMemoryMB, resources.WorkerTimeout, map[string]*string{
			resources.EnvReportsTable:        s.ReportsTable.TableName(),
			resources.EnvBillingTable:        s.BillingTable.TableName(),
			resources.EnvJobsQueueURL:        s.JobsQueue.QueueUrl(),
			resources.EnvReportsBucket:       s.Bucket.BucketName(),
			resources.EnvSenderAddress:       jsii.String(cfg.SenderAddress),
			resources.EnvSESConfigurationSet: configSet.ConfigurationSetName(),
			resources.EnvSigningSecretARN:    s.SigningSecret.SecretArn(),
			resources.EnvWebhookSecretARN:    s.WebhookSecret.SecretArn(),
			resources.EnvLinkTTL:             linkTTL,
			resources.EnvTokenTTL:            tokenTTL,
			resources.EnvSchedulesTable:      s.SchedulesTable.TableName(),
			resources.EnvShardDays:           jsii.String(strconv.Itoa(cfg.ShardDays)),
			"GOGC":                           jsii.String(resources.WorkerGOGC),
			// EnvPublicAPIURL is added after the API exists (defineAPI).
		}, "Generates billing reports from the jobs queue, fires report schedules, and sweeps stuck reports"},
	}
	for _, fn := range functionNames {
		spec := specs[fn]
		name := names.FunctionPrefix + fn
		logGroup := awslogs.NewLogGroup(s.Stack, jsii.String(id(fn)+"Logs"), &awslogs.LogGroupProps{
			LogGroupName:  jsii.String("/aws/lambda/" + name),
			Retention:     logRetention[cfg.LogRetentionDays],
			RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		})
		role := awsiam.NewRole(s.Stack, jsii.String(id(fn)+"Role"), &awsiam.RoleProps{
			AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
			Description: jsii.String("Runs the " + fn + " function of billing reports (" + cfg.Stage + "); least privilege"),
		})
		// Instead of AWSLambdaBasicExecutionRole (any log group): only its own.
		role.AddToPolicy(allow("WriteOwnLogs", []string{"logs:CreateLogStream", "logs:PutLogEvents"}, logGroup.LogGroupArn()))
		env := map[string]*string{"STAGE": jsii.String(cfg.Stage), resources.EnvLogFormat: jsii.String("json")}
		for k, v := range spec.env {
			env[k] = v
		}
		f := awslambda.NewFunction(s.Stack, jsii.String(id(fn)+"Function"), &awslambda.FunctionProps{
			FunctionName: jsii.String(name),
			Description:  jsii.String(spec.purpose),
			Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
			Architecture: awslambda.Architecture_ARM_64(),
			Handler:      jsii.String("bootstrap"),
			Code:         awslambda.Code_FromAsset(jsii.String(filepath.Join(cfg.AssetDir, fn)), nil),
			MemorySize:   jsii.Number(float64(spec.memoryMB)),
			Timeout:      duration(spec.timeout),
			Role:         role,
			LogGroup:     logGroup,
			Tracing:      awslambda.Tracing_ACTIVE,
			Environment:  &env,
		})
		s.Functions[fn] = f
		s.Roles[fn] = role
	}
	s.grantSubmit(s.Roles[fnSubmit])
	s.grantStatus(s.Roles[fnStatus])
	s.grantRun(s.Roles[fnRun], configSet, sesIdentityArns)

	// Batch size and window: the messages of a batch run concurrently in one
	// invocation, each with memory bounded by its customer count, so 4 fit the
	// worker's memory; a 1 s window groups bursts of submissions into fewer
	// invocations at the cost of at most 1 s of latency.
	s.Functions[fnRun].AddEventSource(awslambdaeventsources.NewSqsEventSource(s.JobsQueue, &awslambdaeventsources.SqsEventSourceProps{
		BatchSize:               jsii.Number(resources.WorkerBatchSize),
		MaxBatchingWindow:       duration(resources.WorkerBatchWindow),
		ReportBatchItemFailures: jsii.Bool(true),
		MaxConcurrency:          jsii.Number(workerMaxConcurrency),
	}))
}

func (s *Stack) defineAPI() {
	cfg := s.Config
	s.API = awsapigatewayv2.NewHttpApi(s.Stack, jsii.String("HttpApi"), &awsapigatewayv2.HttpApiProps{
		ApiName:            jsii.String("billing-reports-" + cfg.Stage),
		Description:        jsii.String("Billing reports API (" + cfg.Stage + ")"),
		CreateDefaultStage: jsii.Bool(false),
	})
	accessLogs := awslogs.NewLogGroup(s.Stack, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
		Retention:     logRetention[cfg.LogRetentionDays],
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	stage := s.API.AddStage(jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageOptions{
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit:  jsii.Number(apiRateLimit),
			BurstLimit: jsii.Number(apiBurstLimit),
		},
	})
	// Set on the L1 stage: the L2 access-log settings are an interface that Go
	// code cannot implement through jsii without a proxy.
	stage.Node().DefaultChild().(awsapigatewayv2.CfnStage).SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: accessLogs.LogGroupArn(),
		Format:         jsii.String(accessLogFormat),
	})

	jwt := awsapigatewayv2authorizers.NewHttpUserPoolAuthorizer(jsii.String("CognitoAuthorizer"), s.UserPool,
		&awsapigatewayv2authorizers.HttpUserPoolAuthorizerProps{
			AuthorizerName:  jsii.String("cognito"),
			UserPoolClients: &[]awscognito.IUserPoolClient{s.Client},
		})
	none := awsapigatewayv2.NewHttpNoneAuthorizer()
	integration := func(fn string) awsapigatewayv2.HttpRouteIntegration {
		return awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String(id(fn)+"Integration"), s.Functions[fn],
			&awsapigatewayv2integrations.HttpLambdaIntegrationProps{
				PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
				// One permission per function instead of one per route.
				ScopePermissionToRoute: jsii.Bool(false),
			})
	}
	submit, status := integration(fnSubmit), integration(fnStatus)
	for _, r := range apiRoutes {
		target := status
		if r.function == fnSubmit {
			target = submit
		}
		var authorizer awsapigatewayv2.IHttpRouteAuthorizer = jwt
		if !r.authorized {
			authorizer = none
		}
		s.API.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(r.path),
			Methods:     &[]awsapigatewayv2.HttpMethod{r.method},
			Integration: target,
			Authorizer:  authorizer,
		})
	}
	s.Functions[fnRun].AddEnvironment(jsii.String(resources.EnvPublicAPIURL), s.API.ApiEndpoint(), nil)
}

// accessLogFormat is one JSON line per request. It names the route, never the
// raw path with its query string, because the download token is a credential.
const accessLogFormat = `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",` +
	`"time":"$context.requestTime","method":"$context.httpMethod","routeKey":"$context.routeKey",` +
	`"status":"$context.status","responseLength":"$context.responseLength","latencyMs":"$context.responseLatency",` +
	`"integrationError":"$context.integrationErrorMessage","authorizerError":"$context.authorizer.error",` +
	`"sub":"$context.authorizer.claims.sub"}`

// apiRoute is one route of spec 2.
type apiRoute struct {
	method     awsapigatewayv2.HttpMethod
	path       string
	function   string
	authorized bool
}

// apiRoutes are the routes the functions serve (httpapi.SubmitRoutes and
// StatusRoutes, which the local gateway also uses), so the deployed API and the
// local one cannot drift. ServiceStack clients call the predefined /api and
// /json/reply routes with any verb, so submit takes ANY. Public routes (the
// download link, whose token is its whole authorization, and the OpenAPI
// description) get no authorizer.
var apiRoutes = func() []apiRoute {
	var routes []apiRoute
	add := func(fn string, list []httpapi.Route) {
		for _, r := range list {
			routes = append(routes, apiRoute{awsapigatewayv2.HttpMethod(r.Method), r.Path, fn, !r.Public})
		}
	}
	add(fnSubmit, httpapi.SubmitRoutes())
	add(fnStatus, httpapi.StatusRoutes())
	return routes
}()

func (s *Stack) defineSweep() {
	// The sweep and the schedules' tick run in the run function so that they
	// share the worker's code and role; retries are cheap because the next run
	// is SweepInterval away anyway, and a retried tick carries the same time.
	awsevents.NewRule(s.Stack, jsii.String("SweepSchedule"), &awsevents.RuleProps{
		Description: jsii.String("Fires due report schedules, re-enqueues reports stuck in Queued and fails expired leases"),
		Schedule:    awsevents.Schedule_Rate(duration(resources.SweepInterval)),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(s.Functions[fnRun], &awseventstargets.LambdaFunctionProps{
			Event:         awsevents.RuleTargetInput_FromObject(map[string]any{resources.SweepEventField: true, "time": awsevents.EventField_Time()}),
			RetryAttempts: jsii.Number(2),
			MaxEventAge:   duration(resources.SweepInterval),
		})},
	})
}

func (s *Stack) defineAlarms() {
	action := awscloudwatchactions.NewSnsAction(s.OpsTopic)
	alarm := func(id, description string, metric awscloudwatch.IMetric, threshold float64) {
		a := awscloudwatch.NewAlarm(s.Stack, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(description + " See the runbook in infra/README.md."),
			Metric:             metric,
			Threshold:          jsii.Number(threshold),
			EvaluationPeriods:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action)
	}
	minute := awscdk.Duration_Minutes(jsii.Number(1))
	five := awscdk.Duration_Minutes(jsii.Number(5))
	alarm("DLQNotEmptyAlarm", "A report job exhausted its retries and is in the DLQ; its report is marked Error.",
		s.JobsDLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("Maximum")}), 0)
	alarm("JobsQueueAgeAlarm", "The oldest report job has waited longer than "+queueAgeAlarmAfter.String()+"; the worker is failing or not consuming.",
		s.JobsQueue.MetricApproximateAgeOfOldestMessage(&awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("Maximum")}),
		queueAgeAlarmAfter.Seconds())
	// A tick that could not fire a schedule logs "op":"tick" at ERROR (and
	// the invocation fails, which the run Errors alarm also counts); this
	// one names the cause. The next tick retries, so one datapoint is worth
	// a look, not a page at night.
	tickFailures := awslogs.NewMetricFilter(s.Stack, jsii.String("ScheduleTickFailures"), &awslogs.MetricFilterProps{
		LogGroup:        s.Functions[fnRun].LogGroup(),
		FilterPattern:   awslogs.FilterPattern_Literal(jsii.String(`{ $.op = "tick" && $.level = "ERROR" }`)),
		MetricNamespace: jsii.String("BillingReports/" + s.Config.Stage),
		MetricName:      jsii.String("ScheduleTickFailures"),
		MetricValue:     jsii.String("1"),
		DefaultValue:    jsii.Number(0),
	})
	alarm("ScheduleTickFailuresAlarm", "A schedules tick could not fire a due schedule (store or queue down); the next tick retries it.",
		tickFailures.Metric(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}), 0)
	for _, fn := range functionNames {
		f := s.Functions[fn]
		alarm(id(fn)+"ErrorsAlarm", "The "+fn+" function failed (uncaught errors or timeouts).",
			f.MetricErrors(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}), 0)
		alarm(id(fn)+"ThrottlesAlarm", "The "+fn+" function was throttled.",
			f.MetricThrottles(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}), 0)
	}
}

func (s *Stack) defineOutputs() {
	out := func(id, description string, value *string) {
		awscdk.NewCfnOutput(s.Stack, jsii.String(id), &awscdk.CfnOutputProps{Value: value, Description: jsii.String(description)})
	}
	out("ApiUrl", "Base URL of the HTTP API", s.API.ApiEndpoint())
	out("UserPoolId", "Cognito user pool of API users", s.UserPool.UserPoolId())
	out("UserPoolClientId", "App client to sign in with (USER_SRP_AUTH); send its ID token as Bearer", s.Client.UserPoolClientId())
	out("ReportsBucketName", "Bucket of report CSVs", s.Bucket.BucketName())
	out("ReportsTableName", "DynamoDB table of reports", s.ReportsTable.TableName())
	out("BillingTableName", "DynamoDB table of accounts, customers and usage", s.BillingTable.TableName())
	out("SchedulesTableName", "DynamoDB table of report schedules", s.SchedulesTable.TableName())
	out("JobsQueueUrl", "SQS queue of report jobs", s.JobsQueue.QueueUrl())
	out("JobsDLQUrl", "Dead-letter queue of report jobs (see the DLQ runbook)", s.JobsDLQ.QueueUrl())
	out("OpsTopicArn", "SNS topic of the alarms", s.OpsTopic.TopicArn())
	out("SigningSecretArn", "Secret of download-link tokens and cursors", s.SigningSecret.SecretArn())
	out("WebhookSecretArn", "Secret of webhook signatures", s.WebhookSecret.SecretArn())
}

// id turns a function name into a construct id prefix ("submit" -> "Submit").
func id(fn string) string {
	return string(fn[0]-'a'+'A') + fn[1:]
}

func duration(d time.Duration) awscdk.Duration {
	return awscdk.Duration_Seconds(jsii.Number(d.Seconds()))
}

// allow is a policy statement with an explicit Sid, so that the tests and a
// reviewer can find each grant by its purpose.
func allow(sid string, actions []string, resources ...*string) awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String(sid),
		Effect:    awsiam.Effect_ALLOW,
		Actions:   jsii.Strings(actions...),
		Resources: &resources,
	})
}
