//go:build integration

package main

import (
	"bytes"
	"errors"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evovoice/billing/devstack/local"
)

// emulatorPID finds the launcher process of one emulator kind ("dynamodb",
// "sqs", "ses") among the dev process's descendants, by its arguments.
func emulatorPID(t *testing.T, devPID int, kind string) int {
	t.Helper()
	for _, pid := range descendants(t, devPID) {
		raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(bytes.TrimRight(raw, "\x00")), "\x00")
		// node --input-type=module -e <launcher> <kind> <port> <toolsDir> [dataDir]
		for i, a := range args {
			if a == "-e" && i+2 < len(args) && args[i+2] == kind {
				return pid
			}
		}
	}
	t.Fatalf("no %s emulator among the children of %d", kind, devPID)
	return 0
}

// TestDevRestartsAKilledEmulatorAndStopsWhenItCannot: `reportctl dev` logs an
// emulator that died and starts it again; when the emulator cannot come back
// (here its port is taken by someone else), the stack says so and exits
// non-zero instead of answering 503 forever.
func TestDevRestartsAKilledEmulatorAndStopsWhenItCannot(t *testing.T) {
	bin := buildReportctl(t)
	dataDir := t.TempDir()
	p := startDev(t, bin, dataDir)
	devPID := p.cmd.Process.Pid

	// A crash of dynalite: restarted, and the API still answers with data.
	old := emulatorPID(t, devPID, "dynamodb")
	if err := syscall.Kill(-old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitLog := func(what string) {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for !strings.Contains(p.stderr.String(), what) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the log within 90 s:\n%s", what, p.stderr)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitLog(`msg="emulator exited; restarting it" component=emulators service=dynamodb`)
	waitLog(`msg="emulator restarted" component=emulators service=dynamodb`)
	if now := emulatorPID(t, devPID, "dynamodb"); now == old {
		t.Errorf("dynalite still has pid %d", now)
	}

	// SES dies and its port is taken before it can come back.
	running, err := local.ReadRunning(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(running.MailURL)
	if err != nil {
		t.Fatal(err)
	}
	ses := emulatorPID(t, devPID, "ses")
	if err := syscall.Kill(-ses, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var squatter net.Listener
	deadline := time.Now().Add(5 * time.Second)
	for squatter == nil {
		if squatter, err = net.Listen("tcp", u.Host); err != nil {
			if time.Now().After(deadline) {
				t.Fatalf("could not take the SES port %s after killing the emulator: %v", u.Host, err)
			}
			squatter = nil
			time.Sleep(5 * time.Millisecond)
		}
	}
	defer squatter.Close()
	select {
	case err := <-p.done:
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() == 0 {
			t.Errorf("reportctl dev ended with %v, want a non-zero exit", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("reportctl dev still runs 2 minutes after its SES emulator could not restart:\n%s", p.stderr)
	}
	log := p.stderr.String()
	for _, want := range []string{`msg="emulator exited; restarting it" component=emulators service=ses`, "giving up on the emulator", "the ses emulator exited and could not be restarted after 3 tries"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}
