//go:build integration

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
)

// TestNoUnsuppressedNagFindings fails on every cdk-nag AwsSolutions error or
// warning that is neither fixed nor suppressed with a reason (nag.go).
func TestNoUnsuppressedNagFindings(t *testing.T) {
	rule := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
	for level, found := range map[string]*[]*cxapi.SynthesisMessage{
		"error":   synth.annotations.FindError(jsii.String("*"), rule),
		"warning": synth.annotations.FindWarning(jsii.String("*"), rule),
	} {
		for _, m := range *found {
			t.Errorf("cdk-nag %s at %s: %v", level, *m.Id, m.Entry.Data)
		}
	}
}

// cfnLintIgnores are the cfn-lint rules not applied, each with its reason.
var cfnLintIgnores = map[string]string{
	// The CDK adds an explicit DependsOn from each function to its role and
	// default policy so the policy exists before the function is invoked; the
	// role part is redundant with the GetAtt, which is harmless.
	"W3005": "redundant DependsOn emitted by the CDK for function roles",
}

// TestCfnLint runs cfn-lint over the synthesized template. cfn-lint is a
// prerequisite of the test suite (see infra/README.md); a missing one fails.
func TestCfnLint(t *testing.T) {
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		// Where _tools/setup.sh (make test) installs it when PATH has none.
		bin, err = exec.LookPath(filepath.Join("..", ".local-tools", "venv", "bin", "cfn-lint"))
	}
	if err != nil {
		t.Fatalf("cfn-lint is not on PATH nor in .local-tools/venv (run _tools/setup.sh, or pip install 'cfn-lint==1.51.*'): %v", err)
	}
	path := filepath.Join(t.TempDir(), "template.json")
	if err := os.WriteFile(path, synth.json, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--format", "parseable"}
	for rule := range cfnLintIgnores {
		args = append(args, "--ignore-checks", rule)
	}
	out, err := exec.Command(bin, append(args, "--", path)...).CombinedOutput()
	if err != nil {
		t.Errorf("cfn-lint found problems (%v):\n%s", err, out)
	}
}
