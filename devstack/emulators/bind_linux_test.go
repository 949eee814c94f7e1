package emulators

import (
	"bufio"
	"encoding/hex"
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

// parseProcAddr reads "0100007F:1F90" (IPv4) or a 32-digit IPv6 address: hex
// in host byte order per 32-bit word, then the port in hex.
func parseProcAddr(s string) (netip.AddrPort, error) {
	host, port, _ := strings.Cut(s, ":")
	raw, err := hex.DecodeString(host)
	if err != nil {
		return netip.AddrPort{}, err
	}
	for i := 0; i+4 <= len(raw); i += 4 { // little-endian words
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	addr, ok := netip.AddrFromSlice(raw)
	if !ok {
		return netip.AddrPort{}, os.ErrInvalid
	}
	p, err := hex.DecodeString(port)
	if err != nil || len(p) != 2 {
		return netip.AddrPort{}, os.ErrInvalid
	}
	return netip.AddrPortFrom(addr.Unmap(), uint16(p[0])<<8|uint16(p[1])), nil
}

func TestParseProcAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F:1F90":                         "127.0.0.1:8080",
		"00000000:0050":                         "0.0.0.0:80",
		"00000000000000000000000000000000:0050": "[::]:80",
		"00000000000000000000000001000000:0050": "[::1]:80",
		"0000000000000000FFFF00000100007F:0050": "127.0.0.1:80",
	} {
		got, err := parseProcAddr(in)
		if err != nil || got.String() != want {
			t.Errorf("parseProcAddr(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
}
