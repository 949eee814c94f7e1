package local

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evovoice/billing/resources"
)

func TestFindRoot(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "go.mod"), []byte("module "+ModulePath+"\n\ngo 1.26\n"), 0o644)
	// A nested module of another name does not count as the root.
	os.WriteFile(filepath.Join(root, "a", "go.mod"), []byte("module example.com/other\n"), 0o644)
	got, err := FindRoot(deep)
	if err != nil || got != root {
		t.Errorf("FindRoot = %q, %v; want %q", got, err, root)
	}
	if _, err := FindRoot(t.TempDir()); err == nil || !strings.Contains(err.Error(), "--data-dir") {
		t.Errorf("outside the repository: %v", err)
	}
}

func TestRunningFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadRunning(dir); !errors.Is(err, ErrNotRunning) {
		t.Errorf("no file: %v", err)
	}
	r := Running{PID: os.Getpid(), APIURL: "http://127.0.0.1:8080", Env: map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000"}}
	if err := writeRunning(dir, r); err != nil {
		t.Fatal(err)
	}
	info, _ := os.Stat(filepath.Join(dir, StackFile))
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", info.Mode().Perm())
	}
	got, err := ReadRunning(dir)
	if err != nil || got.APIURL != r.APIURL || got.Env["AWS_ENDPOINT_URL_DYNAMODB"] != "http://127.0.0.1:8000" {
		t.Errorf("ReadRunning = %+v, %v", got, err)
	}
	// A file left by a process that died is not a running stack.
	r.PID = 1 << 22 // above Linux's pid_max
	writeRunning(dir, r)
	if _, err := ReadRunning(dir); !errors.Is(err, ErrNotRunning) {
		t.Errorf("stale file: %v", err)
	}
}

func TestLocalSecretIsStableAndPrivate(t *testing.T) {
	dir := t.TempDir()
	a, err := localSecret(dir, "signing-secret")
	if err != nil {
		t.Fatal(err)
	}
	b, err := localSecret(dir, "signing-secret")
	if err != nil || a != b || len(a) != 64 {
		t.Errorf("secrets %q and %q (%v): want the same 64 hex digits", a, b, err)
	}
	info, _ := os.Stat(filepath.Join(dir, "signing-secret"))
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", info.Mode().Perm())
	}
	c, _ := localSecret(dir, "webhook-secret")
	if c == a {
		t.Error("two secrets are equal")
	}
}

func TestStackFileNeverHoldsSecrets(t *testing.T) {
	env := map[string]string{
		resources.EnvSigningSecret: "s1", resources.EnvWebhookSecret: "s2",
		resources.EnvReportsTable: "t", "AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:9324",
	}
	pub := publicEnv(env)
	if _, ok := pub[resources.EnvSigningSecret]; ok {
		t.Error("signing secret in the stack file")
	}
	if _, ok := pub[resources.EnvWebhookSecret]; ok {
		t.Error("webhook secret in the stack file")
	}
	if pub[resources.EnvReportsTable] != "t" || pub["AWS_ENDPOINT_URL_SQS"] == "" {
		t.Errorf("public env lost names: %v", pub)
	}
}
