package appconfig

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/evovoice/billing/resources"
)

type fakeSecrets struct {
	get func(ctx context.Context, in *secretsmanager.GetSecretValueInput) (*secretsmanager.GetSecretValueOutput, error)
}

func (f fakeSecrets) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return f.get(ctx, in)
}

const longSecret = "0123456789abcdef0123456789abcdef-local"

func load(t *testing.T, env map[string]string, secrets SecretGetter) (Config, string, error) {
	t.Helper()
	var logs bytes.Buffer
	c, err := Load(context.Background(), func(o *Options) {
		o.Getenv = func(k string) string { return env[k] }
		o.LogOutput = &logs
		o.Secrets = secrets
		o.AWSOptions = []func(*config.LoadOptions) error{
			config.WithRegion("us-east-1"),
			config.WithCredentialsProvider(aws.AnonymousCredentials{}),
		}
	})
	return c, logs.String(), err
}

func TestLoadLocal(t *testing.T) {
	c, _, err := load(t, map[string]string{
		"STAGE":                         "local",
		resources.EnvReportsTable:       "r",
		resources.EnvBillingTable:       "b",
		resources.EnvJobsQueueURL:       "http://q",
		resources.EnvReportsBucket:      "files",
		resources.EnvPublicAPIURL:       "http://127.0.0.1:8080/",
		resources.EnvSigningSecret:      longSecret,
		resources.EnvWebhookSecret:      longSecret + "-hook",
		resources.EnvLinkTTL:            "5m",
		resources.EnvAllowInsecureHooks: "true",
		resources.EnvShardDays:          "7",
		"AWS_ENDPOINT_URL_S3":           "http://127.0.0.1:9000",
	}, fakeSecrets{get: func(context.Context, *secretsmanager.GetSecretValueInput) (*secretsmanager.GetSecretValueOutput, error) {
		t.Fatal("Secrets Manager must not be called without an ARN")
		return nil, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if c.ShardDays != 7 {
		t.Errorf("ShardDays = %d, want 7", c.ShardDays)
	}
	if c.LinkTTL != 5*time.Minute || c.TokenTTL != resources.DefaultTokenTTL {
		t.Errorf("TTLs = %v, %v", c.LinkTTL, c.TokenTTL)
	}
	if string(c.SigningKey) != longSecret || string(c.WebhookKey) != longSecret+"-hook" {
		t.Errorf("keys not read from the local variables")
	}
	if !c.AllowInsecureWebhooks || !c.S3UsePathStyle || c.PublicAPIURL != "http://127.0.0.1:8080" || c.JobsQueueURL != "http://q" {
		t.Errorf("insecure hooks %v, path style %v, public URL %q, queue %q", c.AllowInsecureWebhooks, c.S3UsePathStyle, c.PublicAPIURL, c.JobsQueueURL)
	}
	if n := c.Names(); n.ReportsTable != "r" || n.JobsQueue != "billing-reports-local-jobs" {
		t.Errorf("Names() = %+v", n)
	}
	if err := c.Require(resources.EnvReportsTable, resources.EnvJobsQueueURL, resources.EnvSigningSecretARN); err != nil {
		t.Error(err)
	}
	if err := c.Require(resources.EnvSenderAddress); err == nil || !strings.Contains(err.Error(), resources.EnvSenderAddress) {
		t.Errorf("Require(missing) = %v", err)
	}
}

func TestLoadSecretsManagerOnceAndNeverLogged(t *testing.T) {
	calls := map[string]int{}
	_, logs, err := load(t, map[string]string{
		resources.EnvReportsTable:     "r",
		resources.EnvSigningSecretARN: "arn:signing",
		resources.EnvWebhookSecretARN: "arn:webhook",
		resources.EnvSigningSecret:    "ignored-when-an-arn-is-set-ignored-when",
	}, fakeSecrets{get: func(_ context.Context, in *secretsmanager.GetSecretValueInput) (*secretsmanager.GetSecretValueOutput, error) {
		calls[*in.SecretId]++
		return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(longSecret + *in.SecretId)}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if calls["arn:signing"] != 1 || calls["arn:webhook"] != 1 {
		t.Errorf("calls = %v", calls)
	}
	if strings.Contains(logs, longSecret) {
		t.Error("a secret was logged")
	}
}

func TestLoadErrors(t *testing.T) {
	boom := errors.New("boom")
	failing := fakeSecrets{get: func(context.Context, *secretsmanager.GetSecretValueInput) (*secretsmanager.GetSecretValueOutput, error) {
		return nil, boom
	}}
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"no table":        {map[string]string{}, resources.EnvReportsTable},
		"bad ttl":         {map[string]string{resources.EnvReportsTable: "r", resources.EnvLinkTTL: "fifteen"}, resources.EnvLinkTTL},
		"negative ttl":    {map[string]string{resources.EnvReportsTable: "r", resources.EnvTokenTTL: "-1h"}, resources.EnvTokenTTL},
		"bad bool":        {map[string]string{resources.EnvReportsTable: "r", resources.EnvAllowInsecureHooks: "yes please"}, resources.EnvAllowInsecureHooks},
		"bad shard days":  {map[string]string{resources.EnvReportsTable: "r", resources.EnvShardDays: "-1"}, resources.EnvShardDays},
		"short secret":    {map[string]string{resources.EnvReportsTable: "r", resources.EnvSigningSecret: "short"}, "at least 32"},
		"secrets manager": {map[string]string{resources.EnvReportsTable: "r", resources.EnvSigningSecretARN: "arn:x"}, "boom"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := load(t, tc.env, failing)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			if v := tc.env[resources.EnvSigningSecret]; v != "" && strings.Contains(err.Error(), v) {
				t.Error("the secret's value appears in the error")
			}
		})
	}
}

func TestLogFormat(t *testing.T) {
	_, _, err := load(t, map[string]string{resources.EnvReportsTable: "r", resources.EnvLogFormat: "json"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	newLogHandler(&buf, "", true).Handle(context.Background(), slogRecord("hello"))
	if !strings.HasPrefix(buf.String(), "{") {
		t.Errorf("on Lambda the default must be JSON, got %q", buf.String())
	}
	buf.Reset()
	newLogHandler(&buf, "", false).Handle(context.Background(), slogRecord("hello"))
	if strings.HasPrefix(buf.String(), "{") {
		t.Errorf("off Lambda the default must be text, got %q", buf.String())
	}
}

// TestLoadLeavesTheDefaultLogger: Load makes the function's logger
// (Config.Logger, to LogOutput) and installs no process default; on error
// the logger is still there to say why.
func TestLoadLeavesTheDefaultLogger(t *testing.T) {
	before := slog.Default()
	c, _, err := load(t, map[string]string{resources.EnvReportsTable: "r", resources.EnvLogFormat: "json"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if slog.Default() != before {
		t.Fatal("Load replaced the process's default logger")
	}
	if c.Logger == nil || c.Logger == before {
		t.Fatalf("Config.Logger = %v, want the function's own logger", c.Logger)
	}
	var out bytes.Buffer
	bad, err := Load(context.Background(), func(o *Options) { o.Getenv = func(string) string { return "" }; o.LogOutput = &out })
	if err == nil || bad.Logger == nil {
		t.Fatalf("Load without REPORTS_TABLE: %v, logger %v", err, bad.Logger)
	}
	bad.Logger.Info("why")
	if !strings.Contains(out.String(), "why") {
		t.Fatalf("the error's logger does not write to LogOutput: %q", out.String())
	}
}

// TestLoadWithAGivenAWSConfig: the local stack's AWS configuration is used
// as it is, with the deadlines, whatever the process environment says.
func TestLoadWithAGivenAWSConfig(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-west-3")
	given := aws.Config{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}}
	c, err := Load(context.Background(), func(o *Options) {
		o.Getenv = func(k string) string { return map[string]string{resources.EnvReportsTable: "r"}[k] }
		o.LogOutput = io.Discard
		o.AWS = &given
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.AWS.Region != "us-east-1" || c.AWS.Retryer == nil || given.Retryer != nil {
		t.Fatalf("region %q, retryer set %v (the given config's %v): want the given config with the deadlines, the given one untouched", c.AWS.Region, c.AWS.Retryer != nil, given.Retryer != nil)
	}
}
