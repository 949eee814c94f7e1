package emulators

// parseProcAddr needs no emulator; its test runs in `make test-unit`, the
// socket check that uses it (bind_linux_test.go) only with the emulators.

import (
	"encoding/hex"
	"net/netip"
	"os"
	"strings"
	"testing"
)

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
