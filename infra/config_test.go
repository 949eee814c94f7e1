//go:build integration

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
)

// contextOf is a context lookup over a map, as cdk.json or -c would supply it
// (values from -c arrive as strings, from cdk.json as JSON types).
func contextOf(m map[string]any) func(string) any {
	return func(k string) any { return m[k] }
}

func assetDirWithBinaries(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := fakeAssets(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestConfigDefaults(t *testing.T) {
	dir := assetDirWithBinaries(t)
	c, err := ConfigFromContext(contextOf(map[string]any{ctxAssetDir: dir}))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.AssetDir = dir
	want.SenderDomain = "example.com" // derived from the sender address
	if c != want {
		t.Errorf("got %+v\nwant %+v", c, want)
	}
}

func TestConfigFromContext(t *testing.T) {
	c, err := ConfigFromContext(contextOf(map[string]any{
		ctxStage:               "prod",
		ctxSenderAddress:       "Reports@Mail.Acme.example",
		ctxReportRetentionDays: float64(30), // cdk.json numbers decode as float64
		ctxLinkTTL:             "30m",
		ctxTokenTTL:            "72h",
		ctxAlarmEmail:          "oncall@acme.example",
		ctxLogRetentionDays:    "90", // -c values are strings
		ctxAssetDir:            assetDirWithBinaries(t),
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Stage != "prod" || c.SenderDomain != "mail.acme.example" || c.ReportRetentionDays != 30 ||
		c.LinkTTL != 30*time.Minute || c.TokenTTL != 72*time.Hour || c.AlarmEmail != "oncall@acme.example" || c.LogRetentionDays != 90 {
		t.Errorf("settings not applied: %+v", c)
	}
}

func TestConfigRejects(t *testing.T) {
	dir := assetDirWithBinaries(t)
	cases := []struct {
		name string
		ctx  map[string]any
		want string
	}{
		{"stage with capitals", map[string]any{ctxStage: "Prod"}, "context stage"},
		{"long stage", map[string]any{ctxStage: strings.Repeat("a", 21)}, "context stage"},
		{"sender not an address", map[string]any{ctxSenderAddress: "reports"}, "context senderAddress"},
		{"sender with display name", map[string]any{ctxSenderAddress: "Reports <r@example.com>"}, "context senderAddress"},
		{"domain not the sender's", map[string]any{ctxSenderAddress: "r@example.com", ctxSenderDomain: "other.example"}, "context senderDomain"},
		{"domain only a suffix", map[string]any{ctxSenderAddress: "r@badexample.com", ctxSenderDomain: "example.com"}, "context senderDomain"},
		{"retention not a number", map[string]any{ctxReportRetentionDays: "ninety"}, "context reportRetentionDays"},
		{"retention zero", map[string]any{ctxReportRetentionDays: 0}, "context reportRetentionDays"},
		{"link ttl beyond presign limit", map[string]any{ctxLinkTTL: "169h"}, "context downloadLinkTTL"},
		{"link ttl not a duration", map[string]any{ctxLinkTTL: "15"}, "context downloadLinkTTL"},
		{"token outlives reports", map[string]any{ctxReportRetentionDays: 3, ctxTokenTTL: "96h"}, "context downloadTokenTTL"},
		{"alarm email bad", map[string]any{ctxAlarmEmail: "ops"}, "context alarmEmail"},
		{"log retention not allowed", map[string]any{ctxLogRetentionDays: 10}, "context logRetentionDays"},
		{"binaries not built", map[string]any{ctxAssetDir: t.TempDir()}, "make build"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := map[string]any{ctxAssetDir: dir}
			for k, v := range tc.ctx {
				ctx[k] = v
			}
			_, err := ConfigFromContext(contextOf(ctx))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// TestCdkJSONContext keeps cdk.json's documented defaults deployable: the
// context it ships must pass validation once the binaries exist.
func TestCdkJSONContext(t *testing.T) {
	ctx, err := readCdkJSONContext(filepath.Join(".", "cdk.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := assetDirWithBinaries(t)
	c, err := ConfigFromContext(func(k string) any {
		if k == ctxAssetDir {
			return dir
		}
		return ctx[k]
	})
	if err != nil {
		t.Fatalf("cdk.json context does not validate: %v", err)
	}
	if c.Stage != DefaultConfig().Stage || c.ReportRetentionDays != DefaultConfig().ReportRetentionDays {
		t.Errorf("cdk.json defaults %+v differ from DefaultConfig", c)
	}
	for flag, v := range featureFlags {
		if ctx[flag] != v {
			t.Errorf("cdk.json lacks feature flag %s=%v that the app sets", flag, v)
		}
	}
	if ctx["cli-telemetry"] != false {
		t.Errorf("cdk.json must turn CLI telemetry off")
	}
	if _, err := os.Stat(filepath.Join(dir, "run", "bootstrap")); err != nil {
		t.Fatal(err)
	}
}

func readCdkJSONContext(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return doc.Context, nil
}

// The Cognito attributes' lengths are fixed for good once a pool exists;
// custom:customerId must hold any id the domain allows, and custom:accountIds
// at least one.
func TestCustomAttributesHoldAnyID(t *testing.T) {
	if attrCustomerIDMaxLen < billing.MaxIDLength || attrAccountIDsMaxLen < billing.MaxIDLength {
		t.Errorf("custom:customerId holds %d characters, custom:accountIds %d; an id has up to %d",
			attrCustomerIDMaxLen, attrAccountIDsMaxLen, billing.MaxIDLength)
	}
}
