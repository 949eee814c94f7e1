package webhook

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestAllowed(t *testing.T) {
	cases := []struct {
		addr          string
		allowLoopback bool
		want          bool
	}{
		{"93.184.216.34", false, true},
		{"2606:4700::1111", false, true},
		{"10.1.2.3", false, false},
		{"172.16.0.1", false, false},
		{"192.168.1.1", false, false},
		{"127.0.0.1", false, false},
		{"127.0.0.1", true, true},
		{"::1", false, false},
		{"::1", true, true},
		{"169.254.169.254", false, false}, // instance metadata
		{"169.254.169.254", true, false},  // loopback permission does not open link-local
		{"fe80::1", false, false},
		{"fc00::1", false, false},
		{"fd12:3456::1", false, false},
		{"100.64.0.1", false, false}, // CGNAT
		{"0.0.0.0", false, false},
		{"::", false, false},
		{"224.0.0.1", false, false},
		{"ff02::1", false, false},
		{"255.255.255.255", false, false},
		{"::ffff:10.0.0.1", false, false},       // IPv4-mapped private
		{"::ffff:169.254.169.254", true, false}, // IPv4-mapped metadata
		{"64:ff9b::a00:1", false, false},        // NAT64 of 10.0.0.1
		{"64:ff9b::5db8:d822", false, true},     // NAT64 of a public address
		{"198.18.0.1", false, false},
		{"::a00:1", false, false},             // IPv4-compatible (deprecated) 10.0.0.1
		{"::7f00:1", true, false},             // IPv4-compatible 127.0.0.1 is not "loopback" ::1
		{"64:ff9b:1::a00:1", false, false},    // local-use NAT64 prefix (RFC 8215)
		{"2002:a00:1::1", false, false},       // 6to4 of 10.0.0.1
		{"2002:a9fe:a9fe::1", false, false},   // 6to4 of the metadata endpoint
		{"2002:5db8:d822::1", false, true},    // 6to4 of a public address
		{"2001:0:4136:e378::1", false, false}, // Teredo tunnel
	}
	for _, c := range cases {
		if got := Allowed(netip.MustParseAddr(c.addr), c.allowLoopback); got != c.want {
			t.Errorf("Allowed(%s, loopback=%v) = %v, want %v", c.addr, c.allowLoopback, got, c.want)
		}
	}
}

func TestSignVerify(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	body := []byte(`{"report":{"id":"r1"},"rows":[]}`)
	now := time.Unix(1_800_000_000, 0)
	h := Sign(key, now, body)
	if !strings.HasPrefix(h, "t=1800000000,v1=") {
		t.Fatalf("header %q", h)
	}
	if err := Verify(key, h, body, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if err := Verify(key, h, append([]byte{}, append(body, ' ')...), now, 5*time.Minute); !errors.Is(err, ErrBadSignature) {
		t.Errorf("tampered body: %v", err)
	}
	if err := Verify([]byte("another key of thirty-two bytes!"), h, body, now, 5*time.Minute); !errors.Is(err, ErrBadSignature) {
		t.Errorf("wrong key: %v", err)
	}
	if err := Verify(key, h, body, now.Add(10*time.Minute), 5*time.Minute); !errors.Is(err, ErrStale) {
		t.Errorf("replayed late: %v", err)
	}
	// A timestamp changed by an attacker breaks the MAC rather than extending it.
	forged := strings.Replace(h, "t=1800000000", "t=1800000600", 1)
	if err := Verify(key, forged, body, now.Add(10*time.Minute), 5*time.Minute); !errors.Is(err, ErrBadSignature) {
		t.Errorf("forged timestamp: %v", err)
	}
	for _, bad := range []string{"", "t=abc,v1=00", "v1=00", "t=1800000000"} {
		if err := Verify(key, bad, body, now, 5*time.Minute); !errors.Is(err, ErrNoSignature) {
			t.Errorf("Verify(%q) = %v, want ErrNoSignature", bad, err)
		}
	}
}

func TestCheckURL(t *testing.T) {
	strict := New([]byte("k"))
	local := New([]byte("k"), func(o *Options) { o.AllowHTTP = true; o.AllowLoopback = true })
	cases := []struct {
		s      *Sender
		url    string
		wantOK bool
	}{
		{strict, "https://hooks.example.com/x", true},
		{strict, "http://hooks.example.com/x", false},
		{strict, "ftp://hooks.example.com/x", false},
		{strict, "https://user:pw@hooks.example.com/x", false},
		{strict, "/relative", false},
		{strict, "https://10.0.0.1/x", false},
		{strict, "https://[::1]/x", false},
		{strict, "https://169.254.169.254/latest/meta-data", false},
		{strict, "https://100.64.0.1/x", false},
		{strict, "https://[fe80::1%25eth0]/x", false},
		{strict, "https://[::ffff:10.0.0.1]/x", false},
		{strict, "https://0.0.0.0/x", false},
		{strict, "https://localhost/x", false},
		{strict, "https://LOCALHOST./x", false},
		{strict, "https://api.localhost/x", false},
		{strict, "https://localhost.example.com/x", true},
		{strict, "https://93.184.215.14/x", true},
		{local, "http://127.0.0.1:9000/x", true},
		{local, "http://localhost:9000/x", true},
		{local, "http://169.254.169.254/latest/meta-data", false},
		{local, "http://10.0.0.1/x", false},
	}
	for _, c := range cases {
		if err := c.s.CheckURL(c.url); (err == nil) != c.wantOK {
			t.Errorf("CheckURL(%q) = %v, want ok=%v", c.url, err, c.wantOK)
		}
	}
}

func TestSendSignsAndDelivers(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := Verify(key, r.Header.Get(SignatureHeader), body, time.Now(), time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		got.Store(string(body))
	}))
	defer srv.Close()
	s := New(key, func(o *Options) { o.AllowHTTP = true; o.AllowLoopback = true })
	if err := s.Send(context.Background(), srv.URL+"/hook", []byte(`{"a":1}`)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got.Load() != `{"a":1}` {
		t.Fatalf("receiver got %v", got.Load())
	}
}

// The guard must act on the resolved address: "localhost" passes the URL check
// (it is a name) but resolves to loopback, which the dialer refuses.
func TestSendRefusesResolvedLoopback(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	port := srv.URL[strings.LastIndexByte(srv.URL, ':')+1:]
	s := New([]byte("k"), func(o *Options) { o.AllowHTTP = true; o.Backoff = time.Millisecond })
	err := s.Send(context.Background(), "http://localhost:"+port+"/hook", []byte(`{}`))
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("Send to localhost = %v, want ErrForbiddenAddress", err)
	}
	if hits.Load() != 0 {
		t.Fatalf("receiver was reached %d times", hits.Load())
	}
}

func TestSendRetriesThreeTimesOn5xx(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	s := New([]byte("k"), func(o *Options) { o.AllowHTTP = true; o.AllowLoopback = true; o.Backoff = time.Millisecond })
	if err := s.Send(context.Background(), srv.URL, []byte(`{}`)); err == nil {
		t.Fatal("Send succeeded against a failing receiver")
	}
	if hits.Load() != 3 {
		t.Fatalf("tries = %d, want 3", hits.Load())
	}
}

func TestSendDoesNotRetryRejectionOrFollowRedirect(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "http://169.254.169.254/", http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
	}))
	defer srv.Close()
	s := New([]byte("k"), func(o *Options) { o.AllowHTTP = true; o.AllowLoopback = true; o.Backoff = time.Millisecond })
	if err := s.Send(context.Background(), srv.URL+"/bad", []byte(`{}`)); err == nil || hits.Load() != 1 {
		t.Fatalf("400: err=%v tries=%d, want an error after 1 try", err, hits.Load())
	}
	hits.Store(0)
	if err := s.Send(context.Background(), srv.URL+"/moved", []byte(`{}`)); err == nil || hits.Load() != 1 {
		t.Fatalf("redirect: err=%v tries=%d, want an error after 1 try and no redirect followed", err, hits.Load())
	}
}

func TestSendTimesOut(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	s := New([]byte("k"), func(o *Options) {
		o.AllowHTTP = true
		o.AllowLoopback = true
		o.Timeout = 50 * time.Millisecond
		o.Attempts = 2
		o.Backoff = time.Millisecond
	})
	if err := s.Send(context.Background(), srv.URL, []byte(`{}`)); err == nil {
		t.Fatal("Send to a hanging receiver succeeded")
	}
}

// A webhook URL often carries the receiver's secret in its path or query
// (Slack-style hooks, ?token=). Errors end up in logs and in the report's
// stored webhook result, so they name the target by scheme and host only.
func TestErrorsDoNotRevealTheURLsSecrets(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-hang }))
	defer srv.Close()
	defer close(hang)
	port := srv.URL[strings.LastIndexByte(srv.URL, ':')+1:]
	const secret = "S3CRETPATH"
	strict := New([]byte("k"), func(o *Options) { o.AllowHTTP = true; o.Attempts = 1 })
	local := New([]byte("k"), func(o *Options) {
		o.AllowHTTP = true
		o.AllowLoopback = true
		o.Attempts = 1
		o.Timeout = 50 * time.Millisecond
	})
	for name, c := range map[string]struct {
		s   *Sender
		url string
	}{
		"refused address": {strict, "http://localhost:" + port + "/hooks/" + secret + "?token=" + secret},
		"timeout":         {local, srv.URL + "/hooks/" + secret + "?token=" + secret},
		"unparsable":      {strict, "https://example.com/" + secret + "/%zz"},
		"user info":       {strict, "https://user:" + secret + "@example.com/x"},
	} {
		err := c.s.Send(context.Background(), c.url, []byte(`{}`))
		if err == nil {
			t.Fatalf("%s: Send succeeded", name)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error reveals the URL's secret: %v", name, err)
		}
	}
}
