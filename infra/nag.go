package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// ApplyNag checks app against cdk-nag's AwsSolutions rules; a finding that is
// neither fixed nor suppressed becomes an error annotation, which fails
// `cdk synth` and the tests.
func ApplyNag(app awscdk.App) {
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
}

func suppress(c constructs.IConstruct, id, reason string, appliesTo ...any) {
	sup := &cdknag.NagPackSuppression{Id: jsii.String(id), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		sup.AppliesTo = &appliesTo
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{sup}, jsii.Bool(false))
}

// regex matches an appliesTo finding by pattern, for findings that embed a
// generated logical id.
func regex(pattern string) any {
	return &cdknag.RegexAppliesTo{Regex: jsii.String(pattern)}
}

// addNagSuppressions records every accepted finding at the narrowest scope:
// one resource (the role's default policy, a route, a secret), and for IAM5
// only the exact wildcard it is about.
func addNagSuppressions(s *Stack) {
	for fn, role := range s.Roles {
		policy := role.Node().TryFindChild(jsii.String("DefaultPolicy")).Node().DefaultChild().(constructs.IConstruct)
		suppress(policy, "AwsSolutions-IAM5",
			"X-Ray's PutTraceSegments and PutTelemetryRecords do not support resource-level permissions (added by Tracing.ACTIVE).",
			"Resource::*")
		if fn == fnStatus || fn == fnRun {
			suppress(policy, "AwsSolutions-IAM5",
				"Report files are one object per report under reports/<account>/<id>.csv, named at run time; the grant is limited to that prefix of this stack's bucket.",
				regex(`/^Resource::<ReportsBucket[0-9A-F]+\.Arn>\/reports\/\*$/`))
		}
		if fn == fnRun {
			suppress(policy, "AwsSolutions-IAM5",
				"The partials of sharded reports are one object per report and shard under partials/<report>/<shard>.partial, named at run time; the grant is limited to that prefix of this stack's bucket.",
				regex(`/^Resource::<ReportsBucket[0-9A-F]+\.Arn>\/partials\/\*$/`))
		}
	}
	for _, secret := range []constructs.IConstruct{s.SigningSecret, s.WebhookSecret} {
		suppress(secret.Node().DefaultChild().(constructs.IConstruct), "AwsSolutions-SMG4",
			"HMAC keys are rotated by ops with the documented procedure (infra/README.md): automatic rotation would void every emailed link and webhook receiver's key at once, and the functions read the key once per cold start.")
	}
	for _, child := range *s.API.Node().FindAll(constructs.ConstructOrder_PREORDER) {
		cfn, ok := child.(awsapigatewayv2.CfnRoute)
		if !ok {
			continue
		}
		for _, r := range apiRoutes {
			if !r.authorized && *cfn.RouteKey() == string(r.method)+" "+r.path {
				suppress(cfn, "AwsSolutions-APIG4",
					"Public by design: "+r.path+" is authorized by its HMAC token (download link) or is the public API description (spec 2.3).")
			}
		}
	}
}
