//go:build integration

package main

import (
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/evovoice/billing/devstack/local"
)

// TestDevShardedReportMatchesTheOfflineReport: with --shard-days 7 a report
// over the three months of demo data runs as many shards through the local
// queue and downloads the same bytes as `reportctl report` computes offline
// from the same file.
func TestDevShardedReportMatchesTheOfflineReport(t *testing.T) {
	bin := buildReportctl(t)
	dataDir := t.TempDir()
	p := startDev(t, bin, dataDir, "--shard-days", "7")
	defer p.interrupt(t)
	running, err := local.ReadRunning(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	token := regexp.MustCompile(`export TOKEN=(\S+)`).FindStringSubmatch(p.stdout.String())
	if token == nil {
		t.Fatalf("no token in the banner:\n%s", p.stdout)
	}
	call := func(method, url, body string) map[string]any {
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token[1])
		req.Header.Set("Content-Type", "application/json")
		return getJSON(t, req)
	}
	info := call("POST", running.APIURL+"/reports/billing", `{"accountId":"`+local.DemoAccountID+`","startDate":"2026-08-01","endDate":"2026-10-31"}`)
	id, _ := info["id"].(string)
	if id == "" {
		t.Fatalf("submit: %v", info)
	}
	sawProgress := false
	deadline := time.Now().Add(3 * time.Minute)
	for info["status"] != "Completed" {
		if time.Now().After(deadline) || info["status"] == "Error" {
			t.Fatalf("report did not complete: %v", info)
		}
		msg, _ := info["statusMessage"].(string)
		sawProgress = sawProgress || regexp.MustCompile(`^Processed \d+ usage records \(\d+ of \d+ shards\)$`).MatchString(msg)
		time.Sleep(200 * time.Millisecond)
		info = call("GET", running.APIURL+"/reports/"+id, "")
	}
	msg, _ := info["statusMessage"].(string)
	m := regexp.MustCompile(`^Completed: \d+ usage records in (\d+) shards\.$`).FindStringSubmatch(msg)
	if m == nil || m[1] == "1" {
		t.Fatalf("statusMessage %q, want a shard count above one", msg)
	}
	if !sawProgress {
		t.Logf("no running progress seen (the shards were quick); final %q", msg)
	}
	got := download(t, info["downloadLink"].(string))
	offline, err := exec.Command(bin, "report", "--data", filepath.Join(dataDir, "demo-data.jsonl"),
		"--account", local.DemoAccountID, "--start", "2026-08-01", "--end", "2026-10-31").Output()
	if err != nil {
		t.Fatalf("offline report: %v", err)
	}
	if got != string(offline) {
		t.Fatalf("sharded download differs from the offline report:\n got %.400q\nwant %.400q", got, offline)
	}
}
