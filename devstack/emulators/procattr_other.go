//go:build !linux

package emulators

import "syscall"

// childProcAttr puts a child in its own process group so Close can kill the
// group. Without Pdeathsig, the launcher's stdin watch ends orphans.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
