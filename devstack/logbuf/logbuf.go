// Package logbuf is a log destination that goroutines under test and the test
// itself share safely. It lives apart from devstack/emulators so that a unit
// test can read logs without importing (and so being taken for a user of) the
// emulators.
package logbuf

import (
	"bytes"
	"sync"
)

// Buffer collects everything written to it; Write and String may be called
// from different goroutines.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String is everything written so far.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
