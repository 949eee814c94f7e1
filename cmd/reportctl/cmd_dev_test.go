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
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

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
	stderr *syncBuffer
	ready  chan string // the stdout line that says the stack is up
	done   chan error
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
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
	p := &devProcess{cmd: cmd, stderr: &syncBuffer{}, ready: make(chan string, 1), done: make(chan error, 1)}
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

	t.Run("a restart keeps the data", func(t *testing.T) {
		p := startDev(t, bin, dataDir)
		p.interrupt(t)
		if !strings.Contains(p.stderr.String(), "demo data already loaded") {
			t.Errorf("restart did not find the demo data:\n%s", p.stderr)
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
