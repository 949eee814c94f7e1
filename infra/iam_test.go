//go:build integration

package main

import (
	"strings"
	"testing"

	"github.com/evovoice/billing/resources"
)

// access is one request a role may or may not make.
type access struct {
	action   string
	resource string // rendered, with <LogicalId.Arn> references
}

// arns are the rendered ARNs of the stack's resources that the policies name.
type arns struct {
	reports, reportsByAccount, reportsByStatus, billing   string
	jobs, dlq                                             string
	reportObject, otherObject                             string
	reportObjects                                         string // the grant's pattern
	partialObjects                                        string // the partials grant's pattern
	signing, webhook                                      string
	schedules, schedulesByAccount, schedulesDue           string
	sesIdentity, senderIdentity, otherIdentity, configSet string
}

func stackARNs(t *testing.T) arns {
	t.Helper()
	reports := "<" + tableRes(t, names.ReportsTable).ID + ".Arn>"
	bucket := "<" + reportsBucket(t).ID + ".Arn>"
	ses := "arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:"
	schedules := "<" + tableRes(t, names.SchedulesTable).ID + ".Arn>"
	return arns{
		schedules:          schedules,
		schedulesByAccount: schedules + "/index/" + resources.SchedulesByAccount,
		schedulesDue:       schedules + "/index/" + resources.SchedulesDue,
		reports:            reports,
		reportsByAccount:   reports + "/index/byAccount",
		reportsByStatus:    reports + "/index/byStatus",
		billing:            "<" + tableRes(t, names.BillingTable).ID + ".Arn>",
		jobs:               "<" + queueRes(t, names.JobsQueue).ID + ".Arn>",
		dlq:                "<" + queueRes(t, names.JobsDLQ).ID + ".Arn>",
		reportObject:       bucket + "/reports/acct-acme/r-1.csv",
		reportObjects:      bucket + "/reports/*",
		otherObject:        bucket + "/other/file",
		signing:            "<" + signingSecretID(t) + ">",
		webhook:            "<" + webhookSecretID(t) + ">",
		sesIdentity:        ses + "identity/" + synth.cfg.SenderDomain,
		senderIdentity:     ses + "identity/" + synth.cfg.SenderAddress,
		otherIdentity:      ses + "identity/attacker.example",
		configSet:          ses + "configuration-set/<" + only(t, "AWS::SES::ConfigurationSet", nil).ID + ">",
		partialObjects:     bucket + "/partials/*", // resources.PartialsPrefix
	}
}

func roleOf(t *testing.T, fn string) string {
	t.Helper()
	return refID(render(functionRes(t, fn).prop("Role")))
}

// TestRolePolicies lists, per function, what its role must be able to do and
// a selection of what it must not: the least-privilege contract of issue 6.
func TestRolePolicies(t *testing.T) {
	a := stackARNs(t)
	logsOf := func(fn string) string {
		return render(functionRes(t, fn).prop("LoggingConfig", "LogGroup")) // "<RunLogs...>"
	}
	logArn := func(fn string) string { return strings.TrimSuffix(logsOf(fn), ">") + ".Arn>" }
	cases := map[string]struct{ may, mayNot []access }{
		fnSubmit: {
			may: []access{
				{"dynamodb:PutItem", a.reports}, {"dynamodb:UpdateItem", a.reports}, {"dynamodb:GetItem", a.reports},
				{"dynamodb:GetItem", a.billing},
				{"sqs:SendMessage", a.jobs},
				{"logs:PutLogEvents", logArn(fnSubmit)},
				{"dynamodb:PutItem", a.schedules}, {"dynamodb:UpdateItem", a.schedules}, {"dynamodb:DeleteItem", a.schedules}, {"dynamodb:GetItem", a.schedules},
			},
			mayNot: []access{
				{"s3:GetObject", a.reportObject}, {"s3:PutObject", a.reportObject},
				{"ses:SendEmail", a.sesIdentity}, {"ses:SendEmail", a.configSet},
				{"secretsmanager:GetSecretValue", a.signing}, {"secretsmanager:GetSecretValue", a.webhook},
				{"dynamodb:PutItem", a.billing}, {"dynamodb:Query", a.billing}, {"dynamodb:Scan", a.reports},
				{"dynamodb:DeleteItem", a.reports}, {"dynamodb:DeleteTable", a.reports},
				// Submit writes and reads items by key; it never lists.
				{"dynamodb:Query", a.reports}, {"dynamodb:Query", a.reportsByAccount}, {"dynamodb:Query", a.reportsByStatus},
				{"sqs:ReceiveMessage", a.jobs}, {"sqs:SendMessage", a.dlq},
				{"logs:PutLogEvents", logArn(fnRun)},
				// Submit writes schedules by key; it lists none, and the due index is not its.
				{"dynamodb:Query", a.schedulesDue}, {"dynamodb:Query", a.schedulesByAccount}, {"dynamodb:Query", a.schedules}, {"dynamodb:Scan", a.schedules},
			},
		},
		fnStatus: {
			may: []access{
				{"dynamodb:GetItem", a.reports}, {"dynamodb:Query", a.reportsByAccount},
				{"s3:GetObject", a.reportObject},
				{"secretsmanager:GetSecretValue", a.signing},
				{"logs:PutLogEvents", logArn(fnStatus)},
				{"dynamodb:GetItem", a.schedules}, {"dynamodb:Query", a.schedulesByAccount},
			},
			mayNot: []access{
				{"dynamodb:PutItem", a.reports}, {"dynamodb:UpdateItem", a.reports}, {"dynamodb:DeleteItem", a.reports},
				{"dynamodb:Query", a.reportsByStatus}, {"dynamodb:Query", a.reports},
				{"dynamodb:GetItem", a.billing},
				{"s3:PutObject", a.reportObject}, {"s3:DeleteObject", a.reportObject}, {"s3:GetObject", a.otherObject},
				{"s3:ListBucket", strings.TrimSuffix(a.reportObject, "/reports/acct-acme/r-1.csv")},
				{"ses:SendEmail", a.sesIdentity},
				{"secretsmanager:GetSecretValue", a.webhook},
				{"sqs:SendMessage", a.jobs},
				{"dynamodb:PutItem", a.schedules}, {"dynamodb:UpdateItem", a.schedules}, {"dynamodb:DeleteItem", a.schedules},
				{"dynamodb:Query", a.schedulesDue},
			},
		},
		fnRun: {
			may: []access{
				{"dynamodb:GetItem", a.reports}, {"dynamodb:UpdateItem", a.reports},
				{"dynamodb:Query", a.reportsByStatus}, {"dynamodb:Query", a.reportsByAccount},
				{"dynamodb:GetItem", a.billing}, {"dynamodb:Query", a.billing},
				{"s3:PutObject", a.reportObject}, {"s3:AbortMultipartUpload", a.reportObject},
				{"ses:SendEmail", a.sesIdentity}, {"ses:SendEmail", a.senderIdentity}, {"ses:SendEmail", a.configSet},
				{"secretsmanager:GetSecretValue", a.signing}, {"secretsmanager:GetSecretValue", a.webhook},
				{"sqs:SendMessage", a.jobs},
				{"sqs:ReceiveMessage", a.jobs}, {"sqs:DeleteMessage", a.jobs}, {"sqs:ChangeMessageVisibility", a.jobs},
				{"logs:PutLogEvents", logArn(fnRun)},
				// The tick, and its firings' submits (conditional puts of Queued reports).
				{"dynamodb:PutItem", a.reports},
				{"dynamodb:GetItem", a.schedules}, {"dynamodb:UpdateItem", a.schedules}, {"dynamodb:Query", a.schedulesDue},
			},
			mayNot: []access{
				{"dynamodb:PutItem", a.billing}, {"dynamodb:UpdateItem", a.billing}, {"dynamodb:DeleteItem", a.billing},
				{"dynamodb:Scan", a.billing}, {"dynamodb:Scan", a.reports},
				{"dynamodb:DeleteItem", a.reports}, {"dynamodb:Query", a.reports},
				// It fires schedules; it never creates, replaces, deletes or lists them.
				{"dynamodb:PutItem", a.schedules}, {"dynamodb:DeleteItem", a.schedules},
				{"dynamodb:Query", a.schedulesByAccount}, {"dynamodb:Scan", a.schedules},
				{"s3:PutObject", a.otherObject}, {"s3:DeleteObject", a.reportObject},
				{"ses:SendEmail", a.otherIdentity}, {"ses:SendEmail", a.sesIdentity + "x"}, {"ses:SendRawEmail", a.sesIdentity},
				{"sqs:SendMessage", a.dlq}, {"sqs:PurgeQueue", a.jobs},
				{"logs:PutLogEvents", logArn(fnSubmit)},
			},
		},
	}
	for fn, c := range cases {
		sts := roleStatements(t, roleOf(t, fn))
		for _, want := range c.may {
			if len(grants(sts, want.action, want.resource)) == 0 {
				t.Errorf("%s may not %s on %s, but needs to", fn, want.action, want.resource)
			}
		}
		for _, deny := range c.mayNot {
			if g := grants(sts, deny.action, deny.resource); len(g) > 0 {
				t.Errorf("%s may %s on %s through %+v", fn, deny.action, deny.resource, g[0])
			}
		}
	}
}

// TestNoWildcardGrants: the only grant on "*" is X-Ray's, which has no
// resource-level permissions; no role has a service-wide action.
func TestNoWildcardGrants(t *testing.T) {
	for _, fn := range functionNames {
		for _, st := range roleStatements(t, roleOf(t, fn)) {
			for _, act := range st.Actions {
				if strings.HasSuffix(act, ":*") || act == "*" {
					t.Errorf("%s has wildcard action %s", fn, act)
				}
			}
			for _, r := range st.Resources {
				if r == "*" && !allXRay(st.Actions) {
					t.Errorf("%s: %v on every resource", fn, st.Actions)
				}
			}
		}
	}
}

func allXRay(actions []string) bool {
	for _, a := range actions {
		if a != "xray:PutTraceSegments" && a != "xray:PutTelemetryRecords" {
			return false
		}
	}
	return len(actions) > 0
}

// TestOnlyWorkerWritesReportsAndSendsMail looks at every role of the template,
// also ones the CDK adds, so a new resource cannot quietly gain these rights.
func TestOnlyWorkerWritesReportsAndSendsMail(t *testing.T) {
	a := stackARNs(t)
	worker := roleOf(t, fnRun)
	for _, role := range resourcesOf("AWS::IAM::Role") {
		sts := roleStatements(t, role.ID)
		for _, req := range []access{
			{"s3:PutObject", a.reportObject}, {"ses:SendEmail", a.sesIdentity}, {"ses:SendEmail", a.senderIdentity}, {"ses:SendEmail", a.configSet},
		} {
			g := grants(sts, req.action, req.resource)
			if role.ID != worker && len(g) > 0 {
				t.Errorf("role %s may %s on %s", role.ID, req.action, req.resource)
			}
			if strings.HasPrefix(req.action, "ses:") {
				for _, st := range g {
					if render(st.Conditions) != `{"StringEquals":{"ses:FromAddress":"`+synth.cfg.SenderAddress+`"}}` {
						t.Errorf("role %s sends mail without the sender condition: %v", role.ID, st.Conditions)
					}
				}
			}
		}
	}
}

// TestSecretEnvMatchesGrant: appconfig reads every secret whose ARN variable is
// set, so a function with the variable and no grant would fail at cold start,
// and a grant without the variable would be unused privilege.
func TestSecretEnvMatchesGrant(t *testing.T) {
	for _, fn := range functionNames {
		vars := functionRes(t, fn).prop("Environment", "Variables").(map[string]any)
		sts := roleStatements(t, roleOf(t, fn))
		for _, secret := range []string{"<" + signingSecretID(t) + ">", "<" + webhookSecretID(t) + ">"} {
			inEnv := false
			for _, v := range vars {
				if render(v) == secret {
					inEnv = true
				}
			}
			granted := len(grants(sts, "secretsmanager:GetSecretValue", secret)) > 0
			if inEnv != granted {
				t.Errorf("%s: secret %s in environment = %v but readable = %v", fn, secret, inEnv, granted)
			}
		}
	}
}
