package main

// The import command's checks that need no emulator (`make test-unit`); the
// import into dynalite is in cmd_import_test.go (tag integration).

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evovoice/billing/devstack/local"
	"github.com/evovoice/billing/resources"
)

const importHeader = `{"type":"account","id":"acct-imp","name":"Importers","timeZoneId":"UTC","billingSettings":{"Base":{"baseCost":"10"}}}
{"type":"customer","id":"c-1","accountId":"acct-imp","parentCustomerId":"","name":"Root","overrideBillingSettings":false}
{"type":"customer","id":"c-2","accountId":"acct-imp","parentCustomerId":"c-1","name":"Child","overrideBillingSettings":false}
`

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestImportRefusesWithoutATarget(t *testing.T) {
	t.Setenv(resources.EnvBillingTable, "")
	path := writeTemp(t, "x.jsonl", importHeader)
	var out, errOut bytes.Buffer
	if err := runImport(context.Background(), []string{path}, &out, &errOut, false); err == nil || !strings.Contains(err.Error(), "--table") {
		t.Errorf("err = %v, want a hint at --table", err)
	}
	if err := runImport(context.Background(), []string{path, "--local", "--data-dir", t.TempDir()}, &out, &errOut, false); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("err = %v, want 'not running'", err)
	}
	if err := runImport(context.Background(), nil, &out, &errOut, false); err == nil {
		t.Error("no file accepted")
	}
}

func TestProgressBarDrawsOnlyOnATerminal(t *testing.T) {
	var off, on bytes.Buffer
	for _, c := range []struct {
		buf *bytes.Buffer
		tty bool
	}{{&off, false}, {&on, true}} {
		b := newProgressBar(c.buf, c.tty)
		b.update(local.ImportProgress{Phase: "writing", Done: 50, Total: 100})
		b.update(local.ImportProgress{Phase: "writing", Done: 100, Total: 100})
		b.finish()
	}
	if off.Len() != 0 {
		t.Errorf("drew %q without a terminal", off.String())
	}
	if !strings.Contains(on.String(), "100%") || !strings.HasPrefix(on.String(), "\r") {
		t.Errorf("terminal output %q", on.String())
	}
}
