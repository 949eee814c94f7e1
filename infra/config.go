package main

import (
	"errors"
	"fmt"
	"maps"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/evovoice/billing/resources"
)

// Context keys of the app (cdk.json "context", or `cdk synth -c key=value`).
const (
	ctxStage               = "stage"
	ctxSenderAddress       = "senderAddress"
	ctxSenderDomain        = "senderDomain"
	ctxReportRetentionDays = "reportRetentionDays"
	ctxLinkTTL             = "downloadLinkTTL"
	ctxTokenTTL            = "downloadTokenTTL"
	ctxAlarmEmail          = "alarmEmail"
	ctxLogRetentionDays    = "logRetentionDays"
	ctxAssetDir            = "assetDir"
	ctxShardDays           = "shardDays"
)

// Config is everything an operator may choose per deployment. Names, keys and
// limits are not here: they come from package resources so that the local stack
// and the deployed one agree.
type Config struct {
	Stage               string        // suffix of every physical name: billing-reports-<stage>-...
	SenderAddress       string        // From: of report emails; the worker may send as nobody else
	SenderDomain        string        // SES domain identity created for SenderAddress
	ReportRetentionDays int           // S3 lifecycle expiry of report files
	LinkTTL             time.Duration // presigned S3 URL lifetime
	TokenTTL            time.Duration // emailed download-link token lifetime
	AlarmEmail          string        // subscribed to the ops topic when set
	LogRetentionDays    int           // CloudWatch Logs retention of functions and API access logs
	AssetDir            string        // holds <fn>/bootstrap for submit, run and status
	ShardDays           int           // the run function's SHARD_DAYS: at most this many UTC days per shard; 0: automatic
}

// DefaultConfig is what an empty context deploys: a "dev" stage that is safe to
// synthesize anywhere, not one that can send mail (example.com is not yours).
func DefaultConfig() Config {
	return Config{
		Stage:               "dev",
		SenderAddress:       "reports@example.com",
		ReportRetentionDays: resources.ReportRetentionDays,
		LinkTTL:             resources.DefaultLinkTTL,
		TokenTTL:            resources.DefaultTokenTTL,
		LogRetentionDays:    30,
		AssetDir:            filepath.Join("..", "build"),
	}
}

// functionNames are the three Lambdas; each has build/<name>/bootstrap.
var functionNames = []string{fnSubmit, fnRun, fnStatus}

const (
	fnSubmit = resources.FunctionSubmit
	fnRun    = resources.FunctionRun
	fnStatus = resources.FunctionStatus
)

var stagePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,19}$`)

// logRetention maps the retention periods CloudWatch Logs accepts to CDK's names.
var logRetention = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

// maxPresignTTL is the longest lifetime SigV4 allows a presigned URL.
const maxPresignTTL = 7 * 24 * time.Hour

// ConfigFromContext reads the settings through get (a context lookup returning
// nil when a key is unset) over DefaultConfig, and validates them, so that a typo
// fails `cdk synth` with a message instead of deploying something else.
func ConfigFromContext(get func(key string) any) (Config, error) {
	c := DefaultConfig()
	var errs []error
	str := func(key string, dst *string) {
		if v := get(key); v != nil {
			*dst = strings.TrimSpace(fmt.Sprint(v))
		}
	}
	num := func(key string, dst *int) {
		v := get(key)
		if v == nil {
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(fmt.Sprint(v)))
		if err != nil {
			errs = append(errs, fmt.Errorf("context %s: %q is not a whole number", key, fmt.Sprint(v)))
			return
		}
		*dst = n
	}
	dur := func(key string, dst *time.Duration) {
		v := get(key)
		if v == nil {
			return
		}
		d, err := time.ParseDuration(strings.TrimSpace(fmt.Sprint(v)))
		if err != nil {
			errs = append(errs, fmt.Errorf("context %s: %q is not a duration such as 15m or 168h", key, fmt.Sprint(v)))
			return
		}
		*dst = d
	}
	str(ctxStage, &c.Stage)
	str(ctxSenderAddress, &c.SenderAddress)
	str(ctxSenderDomain, &c.SenderDomain)
	num(ctxReportRetentionDays, &c.ReportRetentionDays)
	dur(ctxLinkTTL, &c.LinkTTL)
	dur(ctxTokenTTL, &c.TokenTTL)
	str(ctxAlarmEmail, &c.AlarmEmail)
	num(ctxLogRetentionDays, &c.LogRetentionDays)
	str(ctxAssetDir, &c.AssetDir)
	num(ctxShardDays, &c.ShardDays)
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	if c.SenderDomain == "" {
		if _, domain, ok := strings.Cut(c.SenderAddress, "@"); ok {
			c.SenderDomain = strings.ToLower(domain)
		}
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// validateSender checks the sender address and that SES may send as it from
// the sender domain's identity.
func (c Config) validateSender(bad func(key, format string, args ...any)) {
	a, err := mail.ParseAddress(c.SenderAddress)
	if err != nil || a.Address != c.SenderAddress {
		bad(ctxSenderAddress, "%q is not a plain email address such as reports@example.com", c.SenderAddress)
		return
	}
	_, domain, _ := strings.Cut(strings.ToLower(c.SenderAddress), "@")
	if c.SenderDomain == "" || domain != c.SenderDomain && !strings.HasSuffix(domain, "."+c.SenderDomain) {
		bad(ctxSenderDomain, "%q must be the domain of %s or a parent of it, so SES lets the identity send as it", c.SenderDomain, c.SenderAddress)
	}
}

// validateLifetimes checks the report files' retention and the lifetimes of
// the presigned links and the emailed tokens against it.
func (c Config) validateLifetimes(bad func(key, format string, args ...any)) {
	if c.ReportRetentionDays < 1 {
		bad(ctxReportRetentionDays, "%d must be at least 1", c.ReportRetentionDays)
	}
	if c.LinkTTL < time.Minute || c.LinkTTL > maxPresignTTL {
		bad(ctxLinkTTL, "%s must be between 1m and 168h (the SigV4 presign limit)", c.LinkTTL)
	}
	if c.TokenTTL < time.Minute {
		bad(ctxTokenTTL, "%s must be at least 1m", c.TokenTTL)
	}
	if c.TokenTTL > time.Duration(c.ReportRetentionDays)*24*time.Hour {
		bad(ctxTokenTTL, "%s outlives the report files (%d days), so links would lead to deleted reports", c.TokenTTL, c.ReportRetentionDays)
	}
}

// Validate reports every setting that cannot be deployed.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("context %s: "+format, append([]any{key}, args...)...))
	}
	if !stagePattern.MatchString(c.Stage) {
		bad(ctxStage, "%q must be 1-20 lowercase letters, digits or '-', starting with a letter", c.Stage)
	}
	c.validateSender(bad)
	c.validateLifetimes(bad)
	if c.AlarmEmail != "" {
		if a, err := mail.ParseAddress(c.AlarmEmail); err != nil || a.Address != c.AlarmEmail {
			bad(ctxAlarmEmail, "%q is not a plain email address", c.AlarmEmail)
		}
	}
	if c.ShardDays < 0 {
		bad(ctxShardDays, "%d must be 0 (automatic) or more", c.ShardDays)
	}
	if _, ok := logRetention[c.LogRetentionDays]; !ok {
		bad(ctxLogRetentionDays, "%d is not a CloudWatch Logs retention period (%v)", c.LogRetentionDays, slices.Sorted(maps.Keys(logRetention)))
	}
	for _, fn := range functionNames {
		p := filepath.Join(c.AssetDir, fn, "bootstrap")
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			bad(ctxAssetDir, "%s is missing; run `make build` first (or point %s at the built binaries)", p, ctxAssetDir)
		}
	}
	return errors.Join(errs...)
}
