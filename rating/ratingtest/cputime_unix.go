//go:build unix

package ratingtest

import (
	"syscall"
	"time"
)

// ProcessCPU is the CPU time (user + system) the test process has used. On a
// shared machine it measures work done rather than the wait for a free core,
// so benchmarks report it next to wall-clock time.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
