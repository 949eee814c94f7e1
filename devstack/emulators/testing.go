package emulators

import (
	"context"
	"testing"
	"time"
)

// StartForTest starts an in-memory stack on random ports for a test (or a
// TestMain-style shared fixture) and closes it in t.Cleanup. It fails the test,
// never skips it, when an emulator cannot start: a missing emulator is a broken
// environment, not a reason to pass.
func StartForTest(t testing.TB) *Stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Start(ctx, Options{})
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
