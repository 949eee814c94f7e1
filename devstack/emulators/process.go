package emulators

import (
	"bufio"
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// launcherJS starts one npm emulator bound to loopback; it is passed to node
// with -e so the package works from any working directory.
//
//go:embed launcher.mjs
var launcherJS string

const readyPrefix = "EMULATOR_READY "

// startTimeout bounds how long a child may take to listen. Node starts in well
// under a second; the margin is for a loaded 2-core CI machine.
const startTimeout = 60 * time.Second

// child is one running emulator process.
type child struct {
	kind  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{} // closed when the process has exited
	err   error         // Wait's result, valid after done
	tail  *tailBuffer
}

// startChild runs the launcher for kind and waits for it to report its port.
func startChild(toolsDir, kind string, port int, dataDir string, log io.Writer) (*child, int, error) {
	nodePath, err := exec.LookPath("node")
	if err != nil {
		return nil, 0, fmt.Errorf("starting %s emulator: node (20+) is not on PATH: %w", kind, err)
	}
	args := []string{"--input-type=module", "-e", launcherJS, kind, strconv.Itoa(port), toolsDir}
	if dataDir != "" {
		args = append(args, dataDir)
	}
	cmd := exec.Command(nodePath, args...)
	cmd.Dir = toolsDir
	cmd.Env = os.Environ()
	cmd.SysProcAttr = childProcAttr()
	c := &child{kind: kind, cmd: cmd, done: make(chan struct{}), tail: &tailBuffer{max: 4096}}
	if log == nil {
		log = io.Discard
	}
	cmd.Stderr = io.MultiWriter(log, c.tail)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, 0, fmt.Errorf("starting %s emulator: %w", kind, err)
	}
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, 0, fmt.Errorf("starting %s emulator: %w", kind, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, 0, fmt.Errorf("starting %s emulator: %w", kind, err)
	}
	ports := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		reported := false
		for sc.Scan() {
			line := sc.Text()
			if !reported && strings.HasPrefix(line, readyPrefix) {
				if p, err := strconv.Atoi(strings.TrimPrefix(line, readyPrefix)); err == nil {
					reported = true
					ports <- p
					continue
				}
			}
			fmt.Fprintln(log, line)
		}
		// Keep draining so the child never blocks on a full pipe.
		_, _ = io.Copy(log, stdout)
	}()
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	select {
	case p := <-ports:
		return c, p, nil
	case <-c.done:
		return nil, 0, fmt.Errorf("starting %s emulator: exited before listening (%v): %s", kind, c.err, c.tail.String())
	case <-time.After(startTimeout):
		c.stop()
		return nil, 0, fmt.Errorf("starting %s emulator: not listening after %s: %s", kind, startTimeout, c.tail.String())
	}
}

// stop ends the child's whole process group: politely first, so dynalite can
// close its LevelDB cleanly, then by force.
func (c *child) stop() {
	_ = c.stdin.Close()
	pid := c.cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	// A paused (SIGSTOPped) child only acts on SIGTERM once continued.
	_ = syscall.Kill(-pid, syscall.SIGCONT)
	select {
	case <-c.done:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-c.done
	}
	// A grandchild that ignored SIGTERM must not outlive the group leader.
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}

// tailBuffer keeps the last bytes of a child's stderr for error messages.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = t.buf[over:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.buf))
}

// emulatorPackages must exist under _tools/node_modules for the launcher to work.
var emulatorPackages = []string{"dynalite", "fauxqs", "aws-ses-v2-local"}

// findToolsDir walks up from dir to the folder containing _tools/package.json.
func findToolsDir(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("finding _tools: %w", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		candidate := filepath.Join(d, "_tools")
		if _, err := os.Stat(filepath.Join(candidate, "package.json")); err == nil {
			return candidate, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("finding _tools: no _tools/package.json in %s or any parent", dir)
		}
	}
}

// ensureNodeModules runs `npm ci` in toolsDir when the emulators are not
// installed (a fresh clone). A file lock keeps test packages that start at the
// same time from installing over each other.
func ensureNodeModules(toolsDir string, log io.Writer) error {
	installed := func() bool {
		for _, p := range emulatorPackages {
			if _, err := os.Stat(filepath.Join(toolsDir, "node_modules", p, "package.json")); err != nil {
				return false
			}
		}
		return true
	}
	if installed() {
		return nil
	}
	lock, err := os.OpenFile(filepath.Join(toolsDir, ".npm-ci.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("locking _tools for npm ci: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("locking _tools for npm ci: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if installed() {
		return nil
	}
	if log == nil {
		log = io.Discard
	}
	var out tailBuffer
	out.max = 4096
	cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = toolsDir
	cmd.Stdout = io.MultiWriter(log, &out)
	cmd.Stderr = io.MultiWriter(log, &out)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("running npm ci in %s: %w: %s", toolsDir, err, out.String())
	}
	if !installed() {
		return errors.New("running npm ci: the emulator packages are still missing")
	}
	return nil
}
