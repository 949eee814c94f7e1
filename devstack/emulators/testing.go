package emulators

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/evovoice/billing/devstack/logbuf"
)

// StartForTest starts an in-memory stack of the given services (all four when
// none are given) on random ports for a test and closes it in t.Cleanup. It
// fails the test, never skips it, when an emulator cannot start: a missing
// emulator is a broken environment, not a reason to pass.
func StartForTest(t testing.TB, services ...Service) *Stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, Options{Services: services})
	if err != nil {
		t.Fatalf("starting the AWS emulators: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("stopping the AWS emulators: %v", err)
		}
	})
	return s
}

// LogBuffer is logbuf.Buffer, kept under this name for the emulator tests.
type LogBuffer = logbuf.Buffer

// RunTests is the body of a test package's TestMain when the whole package
// shares one stack: it starts the stack of the given services (all four when
// none are given; an adapter package names only the one it talks to), stores
// it in *shared, runs the tests, stops the stack and exits. It exits 1 (never
// skips) when the emulators cannot start, since contract tests without them
// prove nothing.
func RunTests(m *testing.M, shared **Stack, services ...Service) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	s, err := Start(ctx, Options{Services: services})
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting the AWS emulators: %v\n", err)
		os.Exit(1)
	}
	*shared = s
	code := m.Run()
	if err := s.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "stopping the AWS emulators: %v\n", err)
	}
	os.Exit(code)
}
