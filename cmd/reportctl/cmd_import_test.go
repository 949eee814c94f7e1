//go:build integration

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/evovoice/billing/devstack/emulators"
	"github.com/evovoice/billing/devstack/local"
	"github.com/evovoice/billing/resources"
)

func importUsage(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"type":"usage","id":"u-%d","accountId":"acct-imp","customerId":"c-%d","time":"2026-10-%02dT%02d:00:00Z","item":"OutboundSmsMessages","rawQuantity":"1"}`+"\n",
			i, 1+i%2, 1+i%28, i%24)
	}
	return b.String()
}

func countItems(t *testing.T, client *dynamodb.Client, table string) int {
	t.Helper()
	n := 0
	p := dynamodb.NewScanPaginator(client, &dynamodb.ScanInput{TableName: aws.String(table), Select: "COUNT"})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		n += int(out.Count)
	}
	return n
}

// fakeRunningStack writes the stack file `reportctl dev` writes, pointing at st,
// so that --local finds it.
func fakeRunningStack(t *testing.T, st *emulators.Stack) string {
	t.Helper()
	dir := t.TempDir()
	data, _ := json.Marshal(local.Running{PID: os.Getpid(), APIURL: "http://127.0.0.1:1", Env: st.Env()})
	if err := os.WriteFile(filepath.Join(dir, local.StackFile), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestImportAgainstDynalite(t *testing.T) {
	st := emulators.StartForTest(t, emulators.DynamoDB)
	client := dynamodb.NewFromConfig(st.AWS)
	table := st.Names.BillingTable
	dataDir := fakeRunningStack(t, st)

	t.Run("a bad file writes nothing and names every bad line", func(t *testing.T) {
		bad := importHeader + importUsage(100) +
			`{"type":"usage","id":"u-bad","accountId":"acct-imp","customerId":"c-404","time":"2026-10-01T00:00:00Z","item":"OutboundSmsMessages","rawQuantity":"1"}` + "\n" +
			`{"type":"customer","id":"c-3","accountId":"acct-imp","parentCustomerId":"c-3","name":"Loop","overrideBillingSettings":false}` + "\n" +
			`{"type":"usage","id":"u-neg","accountId":"acct-imp","customerId":"c-1","time":"2026-10-01T00:00:00Z","item":"OutboundSmsMessages","rawQuantity":"-2"}` + "\n"
		var out, errOut bytes.Buffer
		err := runImport(context.Background(), []string{writeTemp(t, "bad.jsonl", bad), "--local", "--data-dir", dataDir}, &out, &errOut, false)
		if err == nil {
			t.Fatal("a bad file was accepted")
		}
		for _, line := range []string{"line 104", "line 105", "line 106"} {
			if !strings.Contains(err.Error(), line) {
				t.Errorf("error does not name %s: %v", line, err)
			}
		}
		if n := countItems(t, client, table); n != 0 {
			t.Errorf("%d items written from a bad file", n)
		}
	})

	t.Run("import writes everything and a re-import changes nothing", func(t *testing.T) {
		path := writeTemp(t, "good.jsonl", importHeader+importUsage(1000))
		for i := range 2 {
			var out, errOut bytes.Buffer
			if err := runImport(context.Background(), []string{"--local", "--data-dir", dataDir, path}, &out, &errOut, false); err != nil {
				t.Fatalf("import %d: %v", i+1, err)
			}
			if !strings.Contains(out.String(), "1 accounts, 2 customers, 1000 usage events") {
				t.Errorf("import %d summary: %q", i+1, out.String())
			}
			if n := countItems(t, client, table); n != 1+2+1000 {
				t.Errorf("after import %d: %d items, want 1003", i+1, n)
			}
		}
	})

	t.Run("without --local the standard AWS configuration decides", func(t *testing.T) {
		for k, v := range st.Env() {
			t.Setenv(k, v)
		}
		t.Setenv(resources.EnvBillingTable, table)
		path := writeTemp(t, "more.jsonl", importHeader+importUsage(1010))
		var out, errOut bytes.Buffer
		if err := runImport(context.Background(), []string{path}, &out, &errOut, false); err != nil {
			t.Fatal(err)
		}
		if n := countItems(t, client, table); n != 1+2+1010 {
			t.Errorf("%d items, want 1013", n)
		}
	})
}
