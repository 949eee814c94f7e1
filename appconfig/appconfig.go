// Package appconfig loads what every Lambda of the service needs at cold start:
// resource names from the environment (the names of package resources), the AWS
// SDK configuration, the signing secrets, link lifetimes, and the process logger.
//
// It exists so that submit, status and run read their settings the same way on
// AWS and in the local stack: on AWS the secrets come from Secrets Manager (read
// once per cold start, never logged), locally from SIGNING_SECRET and
// WEBHOOK_SECRET; endpoints of the emulators are picked up by the SDK itself
// from AWS_ENDPOINT_URL_<SERVICE>.
package appconfig

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/evovoice/billing/resources"
)

// minSecretBytes is the shortest signing secret accepted: HMAC-SHA256 keys
// shorter than the hash output weaken the download tokens and cursors.
const minSecretBytes = 32

// Config is the loaded configuration of one function.
type Config struct {
	Stage               string
	ReportsTable        string
	BillingTable        string
	SchedulesTable      string
	JobsQueueURL        string
	ReportsBucket       string
	SenderAddress       string
	SESConfigurationSet string
	PublicAPIURL        string // base of emailed download links, without trailing slash

	SigningKey []byte // download tokens and list cursors
	WebhookKey []byte // X-Report-Signature of webhooks

	LinkTTL               time.Duration // presigned S3 URL lifetime
	TokenTTL              time.Duration // emailed link token lifetime
	AllowInsecureWebhooks bool          // local stack only: http:// webhook targets
	// S3UsePathStyle addresses the bucket as host/bucket: set when
	// AWS_ENDPOINT_URL_S3 points at an emulator, whose host names have no
	// per-bucket subdomains.
	S3UsePathStyle bool
	// ShardDays caps the UTC days of one shard of a report (run function,
	// SHARD_DAYS); 0: no cap.
	ShardDays int

	// Logger is the function's logger (LOG_FORMAT; JSON on Lambda), passed
	// explicitly to whatever the function builds. Load installs no process
	// default: the edge that wants one (a main) does.
	Logger *slog.Logger

	AWS aws.Config
}

// Names returns the resource names of the config's stage with the physical names
// read from the environment, for code that wants a resources.Names.
func (c Config) Names() resources.Names {
	n := resources.For(c.Stage)
	n.ReportsTable, n.BillingTable, n.ReportsBucket = c.ReportsTable, c.BillingTable, c.ReportsBucket
	n.SchedulesTable = c.SchedulesTable
	return n
}

// SecretGetter is the one Secrets Manager call Load uses.
type SecretGetter interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Options change how Load works; tests use them to avoid the process environment
// and real AWS.
type Options struct {
	// Getenv reads a variable; default os.Getenv.
	Getenv func(string) string
	// Secrets reads secrets by ARN; default a Secrets Manager client of the
	// loaded AWS config. Only used when a *_SECRET_ARN variable is set.
	Secrets SecretGetter
	// LogOutput receives the function's logs; default os.Stderr. Ignored
	// when Logger is set.
	LogOutput io.Writer
	// Logger, when set, is Config.Logger as it is (the local stack passes its
	// own).
	Logger *slog.Logger
	// AWSOptions are passed to config.LoadDefaultConfig.
	AWSOptions []func(*config.LoadOptions) error
	// AWS, when set, is the AWS configuration as it is (the local stack's,
	// for its emulators): config.LoadDefaultConfig, and so the process
	// environment, is not read for it. The deadlines are added either way.
	AWS *aws.Config
}

// Load reads the configuration and makes the function's logger (Config.Logger).
// On error the Config holds the logger only, so that the caller can log why.
// Required: REPORTS_TABLE (every function reads reports). Other names are
// checked by the function that needs them with Require.
func Load(ctx context.Context, optFns ...func(*Options)) (Config, error) {
	o := Options{Getenv: os.Getenv, LogOutput: os.Stderr}
	for _, fn := range optFns {
		fn(&o)
	}
	env := func(k string) string { return strings.TrimSpace(o.Getenv(k)) }

	logger := o.Logger
	if logger == nil {
		logger = slog.New(newLogHandler(o.LogOutput, env(resources.EnvLogFormat), env("AWS_LAMBDA_FUNCTION_NAME") != ""))
	}

	c := Config{
		Stage:               env("STAGE"),
		ReportsTable:        env(resources.EnvReportsTable),
		BillingTable:        env(resources.EnvBillingTable),
		SchedulesTable:      env(resources.EnvSchedulesTable),
		JobsQueueURL:        env(resources.EnvJobsQueueURL),
		ReportsBucket:       env(resources.EnvReportsBucket),
		SenderAddress:       env(resources.EnvSenderAddress),
		SESConfigurationSet: env(resources.EnvSESConfigurationSet),
		PublicAPIURL:        strings.TrimRight(env(resources.EnvPublicAPIURL), "/"),
		S3UsePathStyle:      env("AWS_ENDPOINT_URL_S3") != "",
		Logger:              logger,
	}
	if err := c.parseSettings(env); err != nil {
		return Config{Logger: logger}, err
	}
	var err error

	if o.AWS != nil {
		c.AWS = o.AWS.Copy()
	} else if c.AWS, err = config.LoadDefaultConfig(ctx, o.AWSOptions...); err != nil {
		return Config{Logger: logger}, fmt.Errorf("loading AWS configuration: %w", err)
	}
	c.AWS = WithDeadlines(c.AWS)
	secrets := o.Secrets
	if secrets == nil {
		secrets = secretsmanager.NewFromConfig(c.AWS)
	}
	// Secrets Manager is read once per cold start; bound it as an API request
	// so that a hung endpoint fails the init instead of eating the init phase.
	ctx, cancel := context.WithTimeout(ctx, resources.APIRequestBudget)
	defer cancel()
	if c.SigningKey, err = secret(ctx, secrets, env(resources.EnvSigningSecretARN), o.Getenv(resources.EnvSigningSecret)); err != nil {
		return Config{Logger: logger}, fmt.Errorf("loading the signing secret: %w", err)
	}
	if c.WebhookKey, err = secret(ctx, secrets, env(resources.EnvWebhookSecretARN), o.Getenv(resources.EnvWebhookSecret)); err != nil {
		return Config{Logger: logger}, fmt.Errorf("loading the webhook secret: %w", err)
	}
	return c, nil
}

// parseSettings reads the settings that are not resource names: lifetimes,
// the local stack's webhook switch, the shard cap, and checks the one
// variable every function needs. Every bad value is reported, not the first.
func (c *Config) parseSettings(env func(string) string) error {
	var errs []error
	var err error
	if c.LinkTTL, err = duration(env(resources.EnvLinkTTL), resources.DefaultLinkTTL); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", resources.EnvLinkTTL, err))
	}
	if c.TokenTTL, err = duration(env(resources.EnvTokenTTL), resources.DefaultTokenTTL); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", resources.EnvTokenTTL, err))
	}
	if v := env(resources.EnvAllowInsecureHooks); v != "" {
		if c.AllowInsecureWebhooks, err = strconv.ParseBool(v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a boolean", resources.EnvAllowInsecureHooks, v))
		}
	}
	if v := env(resources.EnvShardDays); v != "" {
		if c.ShardDays, err = strconv.Atoi(v); err != nil || c.ShardDays < 0 {
			errs = append(errs, fmt.Errorf("%s: %q is not a number of days (0 or more)", resources.EnvShardDays, v))
		}
	}
	if c.ReportsTable == "" {
		errs = append(errs, fmt.Errorf("%s is not set", resources.EnvReportsTable))
	}
	if len(errs) > 0 {
		return fmt.Errorf("loading configuration: %w", errors.Join(errs...))
	}
	return nil
}

// WithDeadlines returns c with the SDK settings that bound every call to AWS
// (DynamoDB, SQS, SES, S3, Secrets Manager): each HTTP attempt ends after
// resources.SDKAttemptTimeout (connecting after SDKConnectTimeout), and the
// standard retryer tries SDKMaxAttempts times with at most SDKMaxBackoff
// between tries. Without them a paused dependency holds a request until the
// caller's context ends, which for a Lambda is its whole timeout. This is the
// one place these settings are made (Load applies it; tests apply it to an
// emulator stack's config); S3 object transfers get the longer attempt
// timeout of ForS3.
func WithDeadlines(c aws.Config) aws.Config {
	c = c.Copy()
	c.HTTPClient = httpClient(resources.SDKAttemptTimeout)
	c.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = resources.SDKMaxAttempts
			o.MaxBackoff = resources.SDKMaxBackoff
		})
	}
	return c
}

// httpClient is the SDK's HTTP client with a per-attempt timeout: the whole
// exchange (connect, request, response headers and body) of one attempt.
func httpClient(attempt time.Duration) *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().
		WithTimeout(attempt).
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = resources.SDKConnectTimeout }).
		WithTransportOptions(func(t *http.Transport) {
			t.TLSHandshakeTimeout = resources.SDKConnectTimeout
			t.ResponseHeaderTimeout = attempt
		})
}

// ForS3 is the AWS configuration for the S3 adapter: the same retries, with a
// per-attempt timeout long enough for a 5 MiB part (resources.S3TransferTimeout).
func (c Config) ForS3() aws.Config { return ForS3(c.AWS) }

// ForS3 is cfg with the S3 transfer timeout instead of the API one.
func ForS3(cfg aws.Config) aws.Config {
	s3 := cfg.Copy()
	s3.HTTPClient = httpClient(resources.S3TransferTimeout)
	return s3
}

// Require returns an error naming every one of the given settings that is empty,
// so a function fails at cold start, not on its first request.
func (c Config) Require(names ...string) error {
	values := map[string]string{
		resources.EnvReportsTable:        c.ReportsTable,
		resources.EnvBillingTable:        c.BillingTable,
		resources.EnvSchedulesTable:      c.SchedulesTable,
		resources.EnvJobsQueueURL:        c.JobsQueueURL,
		resources.EnvReportsBucket:       c.ReportsBucket,
		resources.EnvSenderAddress:       c.SenderAddress,
		resources.EnvSESConfigurationSet: c.SESConfigurationSet,
		resources.EnvPublicAPIURL:        c.PublicAPIURL,
	}
	var missing []string
	for _, n := range names {
		switch n {
		case resources.EnvSigningSecret, resources.EnvSigningSecretARN:
			if len(c.SigningKey) == 0 {
				missing = append(missing, resources.EnvSigningSecretARN+" (or "+resources.EnvSigningSecret+")")
			}
		case resources.EnvWebhookSecret, resources.EnvWebhookSecretARN:
			if len(c.WebhookKey) == 0 {
				missing = append(missing, resources.EnvWebhookSecretARN+" (or "+resources.EnvWebhookSecret+")")
			}
		default:
			if v, known := values[n]; !known || v == "" {
				missing = append(missing, n)
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("configuration incomplete: %s not set", strings.Join(missing, ", "))
	}
	return nil
}

func duration(s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as 15m or 168h", s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q must be positive", s)
	}
	return d, nil
}

// secret reads the secret at arn, or uses local when no ARN is set. A missing
// secret is not an error here (Require decides who needs it); a short one is.
func secret(ctx context.Context, sm SecretGetter, arn, local string) ([]byte, error) {
	var v string
	switch {
	case arn != "":
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
		if err != nil {
			// The ARN is not secret; the value never appears in errors or logs.
			return nil, fmt.Errorf("getting secret %s: %w", arn, err)
		}
		switch {
		case out.SecretString != nil:
			v = *out.SecretString
		case len(out.SecretBinary) > 0:
			v = string(out.SecretBinary)
		}
		if v == "" {
			return nil, fmt.Errorf("secret %s is empty", arn)
		}
	case local != "":
		v = local
	default:
		return nil, nil
	}
	if len(v) < minSecretBytes {
		return nil, fmt.Errorf("the secret is %d bytes; at least %d are needed", len(v), minSecretBytes)
	}
	return []byte(v), nil
}

// newLogHandler logs JSON on Lambda (CloudWatch Logs Insights parses it) and
// text elsewhere unless LOG_FORMAT says otherwise.
func newLogHandler(w io.Writer, format string, onLambda bool) slog.Handler {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if format == "json" || format == "" && onLambda {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

// MustBuild is a Lambda's cold start in one call: it loads the configuration
// and builds the function's handler with build. A function that cannot read its
// configuration or reach its settings cannot serve anything, so it logs why
// (never a secret: errors name settings, not values) and exits non-zero, which
// Lambda reports as a failed init.
func MustBuild[H any](function string, build func(Config) (H, error)) H {
	cfg, err := Load(context.Background())
	if err != nil {
		cfg.Logger.Error("loading configuration", "function", function, "err", err)
		os.Exit(1)
	}
	h, err := build(cfg)
	if err != nil {
		cfg.Logger.Error("starting the function", "function", function, "err", err)
		os.Exit(1)
	}
	return h
}
