package lambdabench

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// riePackage is the AWS Lambda Runtime Interface Emulator, pinned as a tool in
// go.mod (`go tool aws-lambda-rie`).
const riePackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

// maxBinaryBytes is the size target of each function.
const maxBinaryBytes = 15 << 20

var functions = []string{"submit", "status", "run"}

func repoRoot(tb testing.TB) string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		tb.Fatalf("finding the module root: %v", err)
	}
	return filepath.Dir(string(bytes.TrimSpace(out)))
}

// buildFunction builds ./functions/fn as the Makefile's build target does.
func buildFunction(tb testing.TB, fn, goarch, dir string) string {
	tb.Helper()
	out := filepath.Join(dir, fn+"-"+goarch, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w -buildid=", "-o", out, "./functions/"+fn)
	cmd.Dir = repoRoot(tb)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("building %s for %s: %v\n%s", fn, goarch, err, b)
	}
	return out
}

// BenchmarkBinarySize reports each function's deployed size in MB and fails
// when one is over the 15 MB target.
func BenchmarkBinarySize(b *testing.B) {
	dir := b.TempDir()
	for _, fn := range functions {
		b.Run(fn, func(b *testing.B) {
			path := buildFunction(b, fn, "arm64", dir)
			st, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
			}
			b.ReportMetric(float64(st.Size())/(1<<20), "MB")
			if st.Size() > maxBinaryBytes {
				b.Errorf("%s is %d bytes, over the %d target", fn, st.Size(), maxBinaryBytes)
			}
		})
	}
}

var (
	rieOnce sync.Once
	riePath string
	rieErr  error
)

func rie(tb testing.TB) string {
	rieOnce.Do(func() {
		dir, err := os.MkdirTemp("", "aws-lambda-rie")
		if err != nil {
			rieErr = err
			return
		}
		riePath = filepath.Join(dir, "aws-lambda-rie")
		cmd := exec.Command("go", "build", "-o", riePath, riePackage)
		cmd.Dir = repoRoot(tb)
		if out, err := cmd.CombinedOutput(); err != nil {
			rieErr = fmt.Errorf("go build %s: %v\n%s", riePackage, err, out)
			return
		}
	})
	if rieErr != nil {
		tb.Fatal(rieErr)
	}
	return riePath
}

// firstRequests are the first events of each function, chosen to need no AWS
// call, so the measurement is the function's own start: config, SDK clients,
// handler. want is what the response must contain for the start to count:
// the API functions answer through the proxy adapter (an unauthenticated
// submit is a 401 decided before any store is touched), and run gets an SQS
// batch with no records, which its handler acknowledges without a call.
var firstRequests = map[string]struct{ event, want string }{
	"submit": {`{"version":"2.0","routeKey":"POST /reports/billing","rawPath":"/reports/billing","headers":{"content-type":"application/json"},"requestContext":{"http":{"method":"POST","path":"/reports/billing"},"requestId":"cold"},"body":"{}"}`, `"statusCode":401`},
	"status": {`{"version":"2.0","routeKey":"GET /openapi.json","rawPath":"/openapi.json","requestContext":{"http":{"method":"GET","path":"/openapi.json"},"requestId":"cold"}}`, `"statusCode":200`},
	"run":    {`{"Records":[]}`, `{"batchItemFailures":[]}`},
}

var initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// BenchmarkColdStart starts the Runtime Interface Emulator with a function's
// bootstrap (built for this machine's linux/amd64: the emulator runs it
// natively) and times, per iteration, the emulator's process start to the
// first successful response (coldstart-ms) and the emulator's own INIT
// REPORT, the bootstrap's start until it asks for its first event (init-ms).
func BenchmarkColdStart(b *testing.B) {
	emulator := rie(b)
	dir := b.TempDir()
	for _, fn := range functions {
		b.Run(fn, func(b *testing.B) {
			bootstrap := buildFunction(b, fn, "amd64", dir)
			first, ok := firstRequests[fn]
			if !ok {
				b.Fatalf("no first request for %s", fn)
			}
			var cold, inits []float64
			for b.Loop() {
				c, i := coldStart(b, emulator, bootstrap, first.event, first.want)
				cold, inits = append(cold, c), append(inits, i)
			}
			b.ReportMetric(median(cold), "coldstart-ms")
			b.ReportMetric(median(inits), "init-ms")
		})
	}
}

func coldStart(b *testing.B, emulator, bootstrap, event, want string) (coldMS, initMS float64) {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var logs bytes.Buffer
	cmd := exec.Command(emulator, "--runtime-interface-emulator-address", addr, bootstrap)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=bench", "AWS_SECRET_ACCESS_KEY=bench",
		"AWS_EC2_METADATA_DISABLED=true", "AWS_LAMBDA_FUNCTION_NAME=bench",
		"REPORTS_TABLE=bench-reports", "BILLING_TABLE=bench-billing", "JOBS_QUEUE_URL=http://127.0.0.1:1/queue/jobs",
		"REPORTS_BUCKET=bench-files", "SIGNING_SECRET=bench-signing-secret-0123456789abcdef",
		"SENDER_ADDRESS=reports@example.com", "PUBLIC_API_URL=https://api.example.com",
		"WEBHOOK_SECRET=bench-webhook-secret-0123456789abcdef",
	}
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}()
	url := "http://" + addr + "/2015-03-31/functions/function/invocations"
	client := &http.Client{Timeout: 10 * time.Second}
	for {
		resp, err := client.Post(url, "application/json", strings.NewReader(event))
		if err != nil {
			if time.Since(start) > 10*time.Second {
				b.Fatalf("the emulator did not answer: %v\n%s", err, logs.String())
			}
			time.Sleep(time.Millisecond)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		coldMS = float64(time.Since(start).Microseconds()) / 1e3
		if resp.StatusCode != 200 || !bytes.Contains(body, []byte(want)) {
			b.Fatalf("invoke: %d %s\n%s", resp.StatusCode, body, logs.String())
		}
		break
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()
	sc := bufio.NewScanner(&logs)
	for sc.Scan() {
		if m := initReport.FindStringSubmatch(sc.Text()); m != nil {
			initMS, _ = strconv.ParseFloat(m[1], 64)
		}
	}
	return coldMS, initMS
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Float64s(xs)
	return xs[len(xs)/2]
}
