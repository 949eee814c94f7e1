//go:build integration

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// Synthesizing runs the CDK in a node process (jsii) and takes seconds, so the
// test binary synthesizes the stack once and every test reads the result.
var synth struct {
	cfg         Config
	template    assertions.Template
	annotations assertions.Annotations
	json        []byte         // the template as CloudFormation JSON
	doc         map[string]any // the same, decoded
}

// testConfig is DefaultConfig with values that differ from the defaults, so
// that a test can tell the setting was used.
func testConfig(assetDir string) Config {
	c := DefaultConfig()
	c.Stage = "test"
	c.SenderAddress = "billing@mail.example.org"
	c.SenderDomain = "example.org"
	c.ReportRetentionDays = 45
	c.AlarmEmail = "ops@example.org"
	c.LogRetentionDays = 14
	c.AssetDir = assetDir
	return c
}

func TestMain(m *testing.M) {
	os.Exit(func() int {
		defer jsii.Close()
		dir, err := os.MkdirTemp("", "infra-assets-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		if err := fakeAssets(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		synth.cfg = testConfig(dir)
		if err := synth.cfg.Validate(); err != nil {
			fmt.Fprintln(os.Stderr, "test config:", err)
			return 1
		}
		outdir := filepath.Join(dir, "cdk.out")
		app := NewApp(outdir)
		stack := NewStack(app, synth.cfg, nil)
		ApplyNag(app)
		synth.template = assertions.Template_FromStack(stack.Stack, nil)
		synth.annotations = assertions.Annotations_FromStack(stack.Stack)
		synth.json, err = json.MarshalIndent(synth.template.ToJSON(), "", " ")
		if err == nil {
			err = json.Unmarshal(synth.json, &synth.doc)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "reading the template:", err)
			return 1
		}
		return m.Run()
	}())
}

// fakeAssets stands in for `make build`: the tests check the template, not the
// binaries, and building three arm64 functions would double the test time.
func fakeAssets(dir string) error {
	for _, fn := range functionNames {
		if err := os.MkdirAll(filepath.Join(dir, fn), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, fn, "bootstrap"), []byte("not a real binary: "+fn), 0o755); err != nil {
			return err
		}
	}
	return nil
}
