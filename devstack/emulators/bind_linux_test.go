//go:build integration

package emulators

import (
	"bufio"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestEmulatorsListenOnLoopbackOnly looks at the sockets each emulator process
// really listens on (its file descriptors matched against /proc/net/tcp{,6}),
// not at the URLs it reports: a server that also listened on 0.0.0.0 would
// expose the emulators, and the dev signing key's tokens, to the network.
func TestEmulatorsListenOnLoopbackOnly(t *testing.T) {
	listening := listeningSockets(t)
	for _, c := range shared.children {
		pid := c.cmd.Process.Pid
		fds, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "fd"))
		if err != nil {
			t.Fatalf("%s emulator (pid %d): reading its descriptors: %v", c.kind, pid, err)
		}
		found := 0
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "fd", fd.Name()))
			if err != nil || !strings.HasPrefix(link, "socket:[") {
				continue
			}
			addr, ok := listening[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")]
			if !ok {
				continue
			}
			found++
			if !addr.Addr().IsLoopback() {
				t.Errorf("%s emulator (pid %d) listens on %s, not on loopback", c.kind, pid, addr)
			}
		}
		if found == 0 {
			t.Errorf("%s emulator (pid %d): no listening socket found; the check is not looking at the right process", c.kind, pid)
		}
	}
}

// listeningSockets maps the inode of every listening TCP socket of this
// network namespace to its local address.
func listeningSockets(t *testing.T) map[string]netip.AddrPort {
	t.Helper()
	out := map[string]netip.AddrPort{}
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(file)
		if err != nil {
			t.Fatalf("reading %s: %v", file, err)
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			const stateListen = "0A"
			if len(fields) < 10 || fields[3] != stateListen {
				continue
			}
			addr, err := parseProcAddr(fields[1])
			if err != nil {
				t.Fatalf("%s: %q: %v", file, fields[1], err)
			}
			out[fields[9]] = addr
		}
		f.Close()
	}
	return out
}
