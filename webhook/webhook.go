// Package webhook delivers the signed report notifications of spec 2.6 and lets
// receivers verify them.
//
// A webhook URL is chosen by whoever submits a report, so the sender treats it as
// hostile: only https (plain http only when the local stack allows it), no
// proxies, no redirects, a 10 s timeout, and an SSRF guard in the dialer that
// looks at the address actually being connected to, after DNS resolution, and
// refuses private, loopback, link-local (including the 169.254.169.254 metadata
// endpoint), CGNAT, unspecified, multicast and reserved addresses; IPv6 forms
// that embed an IPv4 address (mapped, NAT64, 6to4) are judged by that address,
// and IPv4-compatible, local-use NAT64 and Teredo ones are refused. Because the
// check runs on the connected address rather than on the name, a DNS answer that
// changes between a check and the connection (DNS rebinding) cannot bypass it.
//
// Every body is signed: the header
//
//	X-Report-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>
//
// lets a receiver check, with Verify and the shared webhook key, that the body
// came from this service and is recent (which bounds replays).
//
// Errors name the target by scheme and host only: a webhook URL's path or query
// is often the receiver's secret, and errors end up in logs and in the report's
// stored webhook result.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// SignatureHeader carries the body's signature.
const SignatureHeader = "X-Report-Signature"

// Defaults of spec 2.6.
const (
	DefaultTimeout  = 10 * time.Second
	DefaultAttempts = 3
	DefaultBackoff  = time.Second
)

// ErrForbiddenAddress is returned when the target resolves to an address the
// guard refuses.
var ErrForbiddenAddress = errors.New("webhook target address is not allowed")

// Options configure a Sender beyond its key.
type Options struct {
	// AllowHTTP accepts http:// targets; only the local stack sets it.
	AllowHTTP bool
	// AllowLoopback accepts 127.0.0.0/8 and ::1 targets so that a developer can
	// point a report at a receiver on their own machine; only the local stack
	// sets it. Every other refused range stays refused.
	AllowLoopback bool
	Timeout       time.Duration // per try; default 10 s
	Attempts      int           // default 3
	Backoff       time.Duration // before the second try, doubled after; default 1 s
	// Now is the clock of the signature timestamp; default time.Now.
	Now func() time.Time
}

// Sender posts signed bodies to webhook URLs.
type Sender struct {
	key    []byte // HMAC key shared with receivers
	opts   Options
	client *http.Client
}

// New returns a Sender that signs with key (shared with the receivers), with
// the SSRF guard installed in its transport.
func New(key []byte, optFns ...func(*Options)) *Sender {
	var opts Options
	for _, fn := range optFns {
		fn(&opts)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Attempts <= 0 {
		opts.Attempts = DefaultAttempts
	}
	if opts.Backoff <= 0 {
		opts.Backoff = DefaultBackoff
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	allowLoopback := opts.AllowLoopback
	dialer := &net.Dialer{
		Timeout: opts.Timeout,
		// Control runs for every connection attempt with the resolved address,
		// which is the only place where a rebinding DNS answer can be caught.
		Control: func(network, address string, _ syscall.RawConn) error {
			return checkDialAddress(address, allowLoopback)
		},
	}
	transport := &http.Transport{
		Proxy:                 nil, // a proxy would connect on our behalf and bypass the guard
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   opts.Timeout,
		ResponseHeaderTimeout: opts.Timeout,
		MaxIdleConns:          4,
		IdleConnTimeout:       30 * time.Second,
	}
	client := &http.Client{
		Transport: transport,
		Timeout:   opts.Timeout,
		// A redirect could point anywhere, including at plain http; the receiver
		// must answer at the URL it registered.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &Sender{key: key, opts: opts, client: client}
}

// CheckURL reports whether target is acceptable before any network access
// (CheckURL of the package with this sender's options).
func (s *Sender) CheckURL(target string) error {
	return CheckURL(target, s.opts.AllowHTTP, s.opts.AllowLoopback)
}

// CheckURL is the guard's static half, the one check shared by the sender and
// by submit (spec 2.6: a target the sender would refuse is refused at submit,
// not discovered when the report finishes): target must be absolute, https (or
// http when allowHTTP), without credentials, and must not name a host the
// dialer would refuse anyway: an IP literal outside Allowed, or localhost and
// its subdomains (which resolve to loopback without asking DNS), unless
// allowLoopback. Names that need DNS are judged at dial time only, where a
// rebinding answer is caught.
func CheckURL(target string, allowHTTP, allowLoopback bool) error {
	u, err := url.Parse(target)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error quotes the whole URL, secrets included
		}
		return fmt.Errorf("parsing webhook URL: %w", err)
	}
	if u.Host == "" || u.User != nil {
		return errors.New("webhook URL must be absolute and carry no credentials")
	}
	if u.Scheme != "https" && !(allowHTTP && u.Scheme == "http") {
		return fmt.Errorf("webhook URL scheme %q is not allowed: use https", u.Scheme)
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if addr, err := netip.ParseAddr(host); err == nil && !Allowed(addr, allowLoopback) {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, addr)
	}
	if (host == "localhost" || strings.HasSuffix(host, ".localhost")) && !allowLoopback {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, host)
	}
	return nil
}

// Send posts body to target with the signature header, trying up to Attempts
// times with exponential backoff on network errors, 429 and 5xx. Other 4xx
// answers are final: the receiver rejected the body and a retry would not help.
func (s *Sender) Send(ctx context.Context, target string, body []byte) error {
	if err := s.CheckURL(target); err != nil {
		return err
	}
	var last error
	wait := s.opts.Backoff
	for try := 1; try <= s.opts.Attempts; try++ {
		if try > 1 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("posting webhook (after %d tries): %w", try-1, errors.Join(last, ctx.Err()))
			case <-time.After(wait):
			}
			wait *= 2
		}
		retry, err := s.post(ctx, target, body)
		if err == nil {
			return nil
		}
		last = err
		if !retry {
			return fmt.Errorf("posting webhook: %w", err)
		}
	}
	return fmt.Errorf("posting webhook (%d tries): %w", s.opts.Attempts, last)
}

func (s *Sender) post(ctx context.Context, target string, body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("building webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "billing-reports-webhook/1")
	req.Header.Set(SignatureHeader, Sign(s.key, s.opts.Now(), body))
	resp, err := s.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = redact(req.URL)
		}
		// A refused address will be refused again; do not hammer the guard.
		return !errors.Is(err, ErrForbiddenAddress), err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return true, fmt.Errorf("webhook answered %s", resp.Status)
	default:
		return false, fmt.Errorf("webhook answered %s", resp.Status)
	}
}

// redact names a target by scheme and host: the path and query of a webhook
// URL are often the receiver's secret, and errors reach logs and the report.
func redact(u *url.URL) string {
	return u.Scheme + "://" + u.Host + "/..."
}

// checkDialAddress is the dialer's guard: address is the resolved "ip:port".
func checkDialAddress(address string, allowLoopback bool) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q", ErrForbiddenAddress, address)
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !Allowed(addr, allowLoopback) {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, host)
	}
	return nil
}

// refusedPrefixes are the ranges netip's predicates do not already name.
var refusedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // CGNAT, shared address space
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, incl. broadcast
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("fec0::/10"),       // deprecated site-local
	// IPv6 forms that carry or tunnel to an IPv4 address a router may reach
	// on our behalf: IPv4-compatible (deprecated), the local-use NAT64 prefix
	// (whatever it maps to is the operator's own network) and Teredo.
	netip.MustParsePrefix("::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2001::/32"),
}

// nat64 embeds an IPv4 address in its last 32 bits and 6to4 in bits 16 to 48;
// such an address is judged by the IPv4 address it leads to.
var (
	nat64  = netip.MustParsePrefix("64:ff9b::/96")
	sixTo4 = netip.MustParsePrefix("2002::/16")
)

// Allowed reports whether a webhook may connect to addr: a public unicast
// address, or a loopback one when allowLoopback is set.
func Allowed(addr netip.Addr, allowLoopback bool) bool {
	addr = addr.Unmap() // ::ffff:10.0.0.1 is 10.0.0.1
	switch b := addr.As16(); {
	case nat64.Contains(addr):
		addr = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	case sixTo4.Contains(addr):
		addr = netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
	}
	if !addr.IsValid() {
		return false
	}
	if addr.IsLoopback() {
		return allowLoopback
	}
	if addr.IsPrivate() || addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast() ||
		addr.IsInterfaceLocalMulticast() || addr.IsMulticast() || addr.IsUnspecified() {
		return false
	}
	for _, p := range refusedPrefixes {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// Sign returns the signature header value of body at time t.
func Sign(key []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(key, ts, body))
}

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("webhook: missing or malformed " + SignatureHeader)
	ErrBadSignature = errors.New("webhook: signature does not match the body")
	ErrStale        = errors.New("webhook: signature timestamp outside the tolerance")
)

// Verify is for receivers: it checks header (the X-Report-Signature value)
// against the raw request body with the shared key, and refuses signatures
// whose timestamp is more than tolerance away from now (5 minutes is a sensible
// tolerance; it bounds how long a captured request can be replayed). Verify the
// raw bytes before parsing them: re-encoded JSON would not match.
func Verify(key []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrNoSignature
	}
	want := mac(key, ts, body)
	matched := false
	for _, s := range sigs {
		got, err := hex.DecodeString(s)
		if err == nil && hmac.Equal(got, want) {
			matched = true
		}
	}
	if !matched {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	return nil
}

func mac(key []byte, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}
