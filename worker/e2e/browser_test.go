//go:build integration

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/devstack/emulators"
)

// chromiumPath finds the Debian chromium the CI image installs (.ci/run).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "/usr/bin/chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium is not installed (apt-get install -y chromium); the browser test cannot run")
	return ""
}

// cdp is a minimal Chrome DevTools Protocol client over --remote-debugging-pipe:
// JSON messages separated by NUL bytes on fds 3 (to the browser) and 4 (from it).
type cdp struct {
	w       io.Writer
	mu      sync.Mutex
	nextID  int
	pending map[int]chan cdpMessage
	events  chan cdpMessage
}

type cdpMessage struct {
	ID        int             `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Error     *struct {
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

func newCDP(w io.Writer, r io.Reader) *cdp {
	c := &cdp{w: w, pending: map[int]chan cdpMessage{}, events: make(chan cdpMessage, 4096)}
	go func() {
		br := bufio.NewReader(r)
		for {
			raw, err := br.ReadBytes(0)
			if err != nil {
				close(c.events)
				return
			}
			var m cdpMessage
			if json.Unmarshal(raw[:len(raw)-1], &m) != nil {
				continue
			}
			if m.ID != 0 {
				c.mu.Lock()
				ch := c.pending[m.ID]
				delete(c.pending, m.ID)
				c.mu.Unlock()
				if ch != nil {
					ch <- m
				}
				continue
			}
			select {
			case c.events <- m:
			default: // nobody waits for this many events
			}
		}
	}()
	return c
}

func (c *cdp) call(ctx context.Context, session, method string, params any) (json.RawMessage, error) {
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	ch := make(chan cdpMessage, 1)
	c.pending[id] = ch
	c.mu.Unlock()
	p, _ := json.Marshal(params)
	msg, _ := json.Marshal(cdpMessage{ID: id, Method: method, Params: p, SessionID: session})
	c.mu.Lock()
	_, err := c.w.Write(append(msg, 0))
	c.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("sending %s: %w", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return nil, fmt.Errorf("%s: %s", method, m.Error.Message)
		}
		return m.Result, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for %s: %w", method, ctx.Err())
	}
}

// waitEvent returns the first event named method (of session, "" for the
// browser) for which match, if given, holds.
func (c *cdp) waitEvent(ctx context.Context, session, method string, match func(json.RawMessage) bool) (json.RawMessage, error) {
	for {
		select {
		case m, ok := <-c.events:
			if !ok {
				return nil, errors.New("the browser closed the pipe")
			}
			if m.Method == method && m.SessionID == session && (match == nil || match(m.Params)) {
				return m.Params, nil
			}
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for %s: %w", method, ctx.Err())
		}
	}
}

// TestE2EBrowserClicksTheEmailedLink opens the completion email, as the SES
// emulator stored it, in headless Chromium, clicks its download link with a
// real mouse event, and checks that the browser downloads the fixture CSV
// through the status function's redirect (the real httpapi status handler)
// to a fresh presigned S3 URL.
func TestE2EBrowserClicksTheEmailedLink(t *testing.T) {
	browser := chromiumPath(t)
	e := newEnv(t)
	start, end := october()
	addr := uniqueAddress(t)
	id := e.submit(billing.ReportRequest{AccountID: "acct-acme", StartDate: start, EndDate: end, IncludeCustomerIDs: true, EmailAddressToNotify: addr}, "", true)
	e.waitStatus(id, billing.ReportCompleted, time.Minute)
	var mails []emulators.SentEmail
	waitFor(t, 10*time.Second, "the email", func() (bool, string) {
		mails = e.emailsTo(addr)
		return len(mails) > 0, ""
	})
	dir := t.TempDir()
	page := filepath.Join(dir, "email.html")
	if err := os.WriteFile(page, []byte(mails[0].Body.HTML), 0o600); err != nil {
		t.Fatal(err)
	}
	downloads := filepath.Join(dir, "downloads")
	if err := os.Mkdir(downloads, 0o700); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	toBrowser, browserIn, _ := os.Pipe()
	browserOut, fromBrowser, _ := os.Pipe()
	cmd := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--remote-debugging-pipe", "about:blank")
	cmd.ExtraFiles = []*os.File{toBrowser, fromBrowser} // fds 3 and 4
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	toBrowser.Close()
	fromBrowser.Close()
	defer func() {
		_, _ = browserIn.Write(append([]byte(`{"id":999999,"method":"Browser.close"}`), 0))
		browserIn.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("chromium stderr:\n%s", stderr.String())
		}
	}()
	c := newCDP(browserIn, browserOut)

	must := func(res json.RawMessage, err error) json.RawMessage {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	must(c.call(ctx, "", "Browser.setDownloadBehavior", map[string]any{"behavior": "allow", "downloadPath": downloads, "eventsEnabled": true}))
	var target struct {
		TargetID string `json:"targetId"`
	}
	_ = json.Unmarshal(must(c.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"})), &target)
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	_ = json.Unmarshal(must(c.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true})), &attached)
	s := attached.SessionID
	must(c.call(ctx, s, "Page.enable", nil))
	must(c.call(ctx, s, "Page.navigate", map[string]any{"url": "file://" + page}))
	must(c.waitEvent(ctx, s, "Page.loadEventFired", nil))

	var eval struct {
		Result struct {
			Value string `json:"value"`
		} `json:"result"`
	}
	_ = json.Unmarshal(must(c.call(ctx, s, "Runtime.evaluate", map[string]any{
		"expression":    `(() => { const a = document.getElementById("download"); if (!a) return ""; const r = a.getBoundingClientRect(); return JSON.stringify({x: r.left + r.width / 2, y: r.top + r.height / 2, href: a.href}); })()`,
		"returnByValue": true,
	})), &eval)
	var link struct {
		X, Y float64
		Href string
	}
	if err := json.Unmarshal([]byte(eval.Result.Value), &link); err != nil {
		t.Fatalf("the email has no download link: %q", eval.Result.Value)
	}
	t.Logf("clicking %s", link.Href)
	for _, typ := range []string{"mouseMoved", "mousePressed", "mouseReleased"} {
		must(c.call(ctx, s, "Input.dispatchMouseEvent", map[string]any{"type": typ, "x": link.X, "y": link.Y, "button": "left", "clickCount": 1}))
	}

	var begin struct {
		GUID              string `json:"guid"`
		URL               string `json:"url"`
		SuggestedFilename string `json:"suggestedFilename"`
	}
	_ = json.Unmarshal(must(c.waitEvent(ctx, "", "Browser.downloadWillBegin", nil)), &begin)
	var progress struct {
		State string `json:"state"`
	}
	_ = json.Unmarshal(must(c.waitEvent(ctx, "", "Browser.downloadProgress", func(p json.RawMessage) bool {
		var st struct{ GUID, State string }
		_ = json.Unmarshal(p, &st)
		return st.GUID == begin.GUID && st.State != "inProgress"
	})), &progress)
	if progress.State != "completed" {
		t.Fatalf("download %s: %s", begin.URL, progress.State)
	}
	if begin.SuggestedFilename != "billing-report-2026-10-01-to-2026-10-31.csv" {
		t.Errorf("download name = %q", begin.SuggestedFilename)
	}
	got, err := os.ReadFile(filepath.Join(downloads, begin.SuggestedFilename))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join(fixtures, "expected-acme-2026-10-ids.csv"))
	if !bytes.Equal(got, want) {
		t.Fatalf("downloaded CSV differs\n got:\n%s\nwant:\n%s", got, want)
	}
}
