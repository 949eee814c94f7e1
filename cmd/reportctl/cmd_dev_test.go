//go:build integration

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evovoice/billing/devstack/emulators"
	"github.com/evovoice/billing/devstack/local"
)

// buildReportctl compiles this command once for the tests that run it as a
// subprocess, the way `make run` does.
func buildReportctl(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "reportctl")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building reportctl: %v\n%s", err, out)
	}
	return bin
}

// devProcess is a running `reportctl dev`.
type devProcess struct {
	cmd    *exec.Cmd
	stdout *emulators.LogBuffer
	stderr *emulators.LogBuffer
	ready  chan string // the stdout line that says the stack is up
	done   chan error
}

func startDev(t *testing.T, bin, dataDir string, extra ...string) *devProcess {
	t.Helper()
	args := append([]string{"dev", "--port", "0", "--dynamodb-port", "0", "--sqs-port", "0", "--s3-port", "0", "--ses-port", "0",
		"--data-dir", dataDir, "--demo-events", "2000"}, extra...)
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &devProcess{cmd: cmd, stdout: &emulators.LogBuffer{}, stderr: &emulators.LogBuffer{}, ready: make(chan string, 1), done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A failed test must not leave the stack behind either.
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.stdout.Write([]byte(sc.Text() + "\n"))
			if strings.Contains(sc.Text(), "Press Ctrl-C to stop.") {
				p.ready <- sc.Text()
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { p.done <- cmd.Wait() }()
	select {
	case <-p.ready:
	case err := <-p.done:
		t.Fatalf("reportctl dev exited before it was ready: %v\n%s", err, p.stderr)
	case <-time.After(4 * time.Minute):
		t.Fatalf("reportctl dev was not ready within 4 minutes\n%s", p.stderr)
	}
	return p
}

// interrupt sends SIGINT to the dev process alone (not to a process group),
// so the test proves that the process itself stops its children.
func (p *devProcess) interrupt(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("reportctl dev exited with %v after Ctrl-C\n%s", err, p.stderr)
		}
	case <-time.After(time.Minute):
		t.Fatalf("reportctl dev did not stop within a minute of Ctrl-C\n%s", p.stderr)
	}
}

// descendants lists the pids whose parent chain leads to pid, from /proc.
func descendants(t *testing.T, pid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	parent := map[int]int{}
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		// Fields after the parenthesised command name: state ppid ...
		rest := string(stat[bytes.LastIndexByte(stat, ')')+2:])
		fields := strings.Fields(rest)
		if len(fields) > 1 {
			ppid, _ := strconv.Atoi(fields[1])
			parent[child] = ppid
		}
	}
	var out []int
	for child := range parent {
		for p := parent[child]; p != 0; p = parent[p] {
			if p == pid {
				out = append(out, child)
				break
			}
			if parent[p] == p {
				break
			}
		}
	}
	return out
}

func alive(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// A zombie has exited; it only waits to be reaped.
	rest := stat[bytes.LastIndexByte(stat, ')')+2:]
	return len(rest) > 0 && rest[0] != 'Z' && syscall.Kill(pid, 0) == nil
}

func TestDevStartsServesAndStopsWithoutOrphans(t *testing.T) {
	bin := buildReportctl(t)
	dataDir := t.TempDir()

	p := startDev(t, bin, dataDir)
	children := descendants(t, p.cmd.Process.Pid)
	if len(children) < 3 {
		t.Errorf("found %d child processes, want at least the 3 npm emulators", len(children))
	}
	running, err := local.ReadRunning(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(running.APIURL, "http://127.0.0.1:") {
		t.Errorf("API URL %q is not on loopback", running.APIURL)
	}
	resp, err := http.Get(running.APIURL + "/no/such/route")
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		ResponseStatus struct{ ErrorCode string } `json:"responseStatus"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 404 || body.ResponseStatus.ErrorCode != "NotFound" {
		t.Errorf("unknown route: %d %+v", resp.StatusCode, body)
	}
	if !strings.Contains(p.stderr.String(), "demo data loaded") {
		t.Errorf("first start did not load the demo data:\n%s", p.stderr)
	}
	var old followed
	t.Run("the printed token and curl request produce a report and an email", func(t *testing.T) {
		old = followBanner(t, p.stdout.String(), running)
	})
	t.Run("a schedule created with curl and ticked makes one report and one email", func(t *testing.T) {
		followSchedule(t, bin, dataDir, p.stdout.String(), running)
	})

	p.interrupt(t)
	for _, pid := range children {
		if alive(pid) {
			t.Errorf("child process %d survived Ctrl-C", pid)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if _, err := local.ReadRunning(dataDir); !errors.Is(err, local.ErrNotRunning) {
		t.Errorf("stack file left behind: %v", err)
	}

	t.Run("a restart keeps the data and the report files", func(t *testing.T) {
		p := startDev(t, bin, dataDir)
		// Deferred calls run last first: stop the stack, then read its whole log.
		defer func() {
			if !strings.Contains(p.stderr.String(), "demo data already loaded") {
				t.Errorf("restart did not find the demo data:\n%s", p.stderr)
			}
		}()
		defer p.interrupt(t)
		if old.id == "" {
			t.Fatal("no report from before the restart")
		}
		running, err := local.ReadRunning(dataDir)
		if err != nil {
			t.Fatal(err)
		}
		// The ports are random in tests, so the old links are replayed against
		// the restarted stack's API: the report, the token and the file must
		// all have survived.
		req, _ := http.NewRequest("GET", running.APIURL+"/reports/"+old.id, nil)
		req.Header.Set("Authorization", "Bearer "+old.token)
		info := getJSON(t, req)
		if info["status"] != "Completed" {
			t.Fatalf("old report after restart: %v", info)
		}
		presigned, _ := info["downloadLink"].(string)
		if got := download(t, presigned); got != old.csv {
			t.Errorf("presigned link after restart: %.80q, want the old CSV %.80q", got, old.csv)
		}
		if got := download(t, running.APIURL+old.emailedPath); got != old.csv {
			t.Errorf("emailed link after restart: %.80q, want the old CSV %.80q", got, old.csv)
		}
	})
	t.Run("--fresh starts empty and loads the demo data again", func(t *testing.T) {
		p := startDev(t, bin, dataDir, "--fresh")
		p.interrupt(t)
		if !strings.Contains(p.stderr.String(), "loading demo data") {
			t.Errorf("--fresh did not reload the demo data:\n%s", p.stderr)
		}
	})
}

// followed is what followBanner leaves behind: a completed report, the token
// that reads it, its CSV and the path and query of its emailed link.
type followed struct {
	id, token, csv, emailedPath string
}

func getJSON(t *testing.T, req *http.Request) map[string]any {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%s %s: %d %v", req.Method, req.URL, resp.StatusCode, err)
	}
	return out
}

// download GETs url (following the emailed link's redirect) and returns a
// 200's body; any other status fails the test.
func download(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %.200s", url, resp.StatusCode, body)
	}
	return string(body)
}

// followBanner does what the ready banner tells a developer to do: submit the
// printed request with the printed token, then read the report until the
// worker has completed it, and find the notification on the sent-mail page.
func followBanner(t *testing.T, banner string, running *local.Running) followed {
	t.Helper()
	var token, body string
	for _, line := range strings.Split(banner, "\n") {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "export TOKEN="); ok {
			token = v
		}
		if v, ok := strings.CutPrefix(line, "-d '"); ok {
			body = strings.TrimSuffix(v, "'")
		}
	}
	if token == "" || body == "" || !strings.Contains(banner, "curl -sS -X POST "+running.APIURL+"/reports/billing") ||
		!strings.Contains(banner, "\n  export API="+running.APIURL+"\n") {
		t.Fatalf("banner lacks the token or the curl line:\n%s", banner)
	}
	call := func(method, url, auth, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if code, _ := call("POST", running.APIURL+"/reports/billing", "", body); code != 401 {
		t.Errorf("submit without a token: %d, want 401", code)
	}
	code, info := call("POST", running.APIURL+"/reports/billing", token, body)
	if code != 200 || info["status"] != "Queued" {
		t.Fatalf("submit: %d %v", code, info)
	}
	id, _ := info["id"].(string)
	deadline := time.Now().Add(2 * time.Minute)
	for info["status"] != "Completed" {
		if time.Now().After(deadline) || info["status"] == "Error" {
			t.Fatalf("report did not complete: %v", info)
		}
		time.Sleep(500 * time.Millisecond)
		if code, info = call("GET", running.APIURL+"/reports/"+id, token, ""); code != 200 {
			t.Fatalf("status: %d %v", code, info)
		}
	}
	csv := download(t, info["downloadLink"].(string))
	if !strings.HasPrefix(csv, "Customer,BaseCost,") {
		t.Errorf("download: %.80q", csv)
	}
	deadline = time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(running.MailURL + "/store")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(page), "/reports/"+id+"/download?token=") {
			// The token is "<expiry>.<base64url MAC>" (linktoken).
			link := regexp.MustCompile(`/reports/` + regexp.QuoteMeta(id) + `/download\?token=[A-Za-z0-9_.-]+`).FindString(string(page))
			if got := download(t, running.APIURL+link); got != csv {
				t.Errorf("emailed link %s: %.80q, want the presigned CSV", link, got)
			}
			return followed{id: id, token: token, csv: csv, emailedPath: link}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no email with the report's download link on the sent-mail page:\n%.2000s", page)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestDevKilledLeavesNoEmulators: a dev process that cannot clean up (SIGKILL,
// an OOM kill, a crashed terminal) must still take its emulators along, or
// they keep the ports and the DynamoDB data folder's lock.
func TestDevKilledLeavesNoEmulators(t *testing.T) {
	bin := buildReportctl(t)
	p := startDev(t, bin, t.TempDir())
	children := descendants(t, p.cmd.Process.Pid)
	if len(children) < 3 {
		t.Fatalf("found %d child processes, want at least the 3 npm emulators", len(children))
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.done
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range children {
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Errorf("child process %d outlived its killed parent", pid)
				syscall.Kill(pid, syscall.SIGKILL)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
