package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/devstack/local"
)

// followSchedule does what the README's schedule section says, against a
// running `reportctl dev`: create a monthly schedule with the banner's token,
// send the tick for its next run five times (three at once), and check that
// exactly one report of the previous month completes, with the bytes the
// offline report of the same demo data has, and that one email is sent.
func followSchedule(t *testing.T, bin, dataDir, banner string, running *local.Running) {
	t.Helper()
	var token string
	for _, line := range strings.Split(banner, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "export TOKEN="); ok {
			token = v
		}
	}
	if token == "" || !strings.Contains(banner, "/reports/schedules") || !strings.Contains(banner, "schedules tick --local --at ") {
		t.Fatalf("banner lacks the token or the schedule commands:\n%s", banner)
	}
	call := func(method, path, body string, out any) int {
		req, _ := http.NewRequest(method, running.APIURL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if out != nil {
			if err := json.Unmarshal(data, out); err != nil {
				t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
			}
		}
		return resp.StatusCode
	}
	email := fmt.Sprintf("sched-%d@example.com", time.Now().UnixNano())
	var sc billing.BillingReportSchedule
	if code := call("POST", "/reports/schedules", `{"accountId":"`+local.DemoAccountID+`","frequency":"Monthly","dayOfMonth":1,"timeOfDay":"06:00","emailAddressToNotify":"`+email+`"}`, &sc); code != 201 || sc.NextRunAt == "" {
		t.Fatalf("create: %d %+v", code, sc)
	}
	next, _ := time.Parse(time.RFC3339, sc.NextRunAt)
	loc, _ := billing.LoadZone(sc.TimeZoneID)
	first := time.Date(next.In(loc).Year(), next.In(loc).Month()-1, 1, 0, 0, 0, 0, loc)
	start, end := billing.DateOf(first), billing.DateOf(first.AddDate(0, 1, -1))

	tick := func() {
		cmd := exec.Command(bin, "schedules", "tick", "--local", "--at", sc.NextRunAt, "--data-dir", dataDir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("reportctl schedules tick: %v\n%s", err, out)
		}
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); tick() }()
	}
	wg.Wait()
	tick()

	deadline := time.Now().Add(2 * time.Minute)
	var info billing.ReportInfo
	for info.Status != billing.ReportCompleted {
		if time.Now().After(deadline) || info.Status == billing.ReportError {
			t.Fatalf("the scheduled report did not complete: %+v", info)
		}
		time.Sleep(500 * time.Millisecond)
		var got billing.BillingReportSchedule
		if code := call("GET", "/reports/schedules/"+sc.ID, "", &got); code != 200 {
			t.Fatalf("get schedule: %d", code)
		}
		if got.LastReportID != "" {
			call("GET", "/reports/"+got.LastReportID, "", &info)
		}
	}
	tick() // a late tick after completion makes nothing new either
	if want := billing.ReportName(start, end); info.Name != want {
		t.Errorf("report %q, want %q", info.Name, want)
	}
	var list struct{ Results []billing.ReportInfo }
	call("GET", "/reports?accountId="+local.DemoAccountID+"&limit=200", "", &list)
	n := 0
	for _, r := range list.Results {
		if r.Name == info.Name && r.EmailAddressToNotify == email {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d reports of the schedule's period, want exactly 1", n)
	}

	resp, err := http.Get(info.DownloadLink)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var want, stderr bytes.Buffer
	offline := exec.Command(bin, "report", "--data", filepath.Join(dataDir, "demo-data.jsonl"), "--account", local.DemoAccountID,
		"--start", start.String(), "--end", end.String(), "--tz", sc.TimeZoneID)
	offline.Stdout, offline.Stderr = &want, &stderr
	if err := offline.Run(); err != nil {
		t.Fatalf("offline report: %v\n%s", err, stderr.String())
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("the scheduled report's CSV differs from the offline report of the same data:\n%.500s\nwant\n%.500s", got, want.Bytes())
	}

	// One email, whatever the number of ticks: wait for it, then a little
	// longer for a second one that must not come.
	count := func() int {
		resp, err := http.Get(running.MailURL + "/store")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var store struct {
			Emails []struct {
				Destination struct{ To []string } `json:"destination"`
			} `json:"emails"`
		}
		json.NewDecoder(resp.Body).Decode(&store)
		k := 0
		for _, e := range store.Emails {
			if len(e.Destination.To) == 1 && e.Destination.To[0] == email {
				k++
			}
		}
		return k
	}
	deadline = time.Now().Add(time.Minute)
	for count() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no email of the scheduled report")
		}
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	if k := count(); k != 1 {
		t.Errorf("%d emails of the scheduled report, want 1", k)
	}
}

func TestSchedulesTickRefusals(t *testing.T) {
	var out, errOut bytes.Buffer
	ctx := context.Background()
	for _, args := range [][]string{
		nil,
		{"list"},
		{"tick"},                            // --local is required
		{"tick", "--local", "--at", "soon"}, // not RFC 3339
		{"tick", "--local", "--data-dir", t.TempDir()}, // no stack running there
	} {
		if err := runSchedules(ctx, args, &out, &errOut); err == nil {
			t.Errorf("reportctl schedules %v succeeded", args)
		}
	}
}
