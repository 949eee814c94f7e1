package emulators

import "syscall"

// childProcAttr puts a child in its own process group (so Close can kill the
// group) and has the kernel kill it if this process dies first.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
