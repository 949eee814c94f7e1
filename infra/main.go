// Command infra is the AWS CDK app that deploys the billing-reports service: the
// submit, status and run functions, the HTTP API with its Cognito JWT
// authorizer, the tables, bucket, queues, sweep schedule, SES identity, signing
// secrets and alarms of one stage. It applies cdk-nag's AwsSolutions checks, so
// `cdk synth` fails on an unexplained finding. Settings come from the CDK
// context (cdk.json, or -c key=value); see infra/README.md.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	defer jsii.Close()
	app := NewApp("")
	cfg, err := ConfigFromContext(func(key string) any { return app.Node().TryGetContext(jsii.String(key)) })
	if err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		os.Exit(2)
	}
	NewStack(app, cfg, &awscdk.StackProps{Env: envFromCLI()})
	ApplyNag(app)
	app.Synth(nil)
}

// envFromCLI pins the stack to the account and region the CDK CLI resolved from
// the caller's credentials, when there are any; without them the template stays
// environment-agnostic (tests, synth on a machine without AWS access).
func envFromCLI() *awscdk.Environment {
	account, region := os.Getenv("CDK_DEFAULT_ACCOUNT"), os.Getenv("CDK_DEFAULT_REGION")
	if account == "" || region == "" {
		return nil
	}
	return &awscdk.Environment{Account: jsii.String(account), Region: jsii.String(region)}
}

// featureFlags are CDK feature flags the stack relies on. They are set in code,
// not only in cdk.json, so that the tests synthesize what `cdk deploy` deploys.
var featureFlags = map[string]any{
	// Grant S3 log delivery through a bucket policy instead of the legacy ACL,
	// which is incompatible with BucketOwnerEnforced object ownership.
	"@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": true,
}

// NewApp is the CDK app with the stack's feature flags; outdir "" is the CLI's.
func NewApp(outdir string) awscdk.App {
	ctx := map[string]any{}
	for k, v := range featureFlags {
		ctx[k] = v
	}
	props := &awscdk.AppProps{Context: &ctx}
	if outdir != "" {
		props.Outdir = jsii.String(outdir)
	}
	return awscdk.NewApp(props)
}
