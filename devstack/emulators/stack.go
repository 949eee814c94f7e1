package emulators

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/evovoice/billing/resources"
)

// Service names one emulated AWS service.
type Service string

// The emulated services.
const (
	DynamoDB Service = "dynamodb"
	SQS      Service = "sqs"
	S3       Service = "s3"
	SES      Service = "ses"
)

// AllServices are the four emulators, the default of Options.Services.
var AllServices = []Service{DynamoDB, SQS, S3, SES}

// notStartedURL is the endpoint a Stack gives the services it did not start:
// nothing listens on port 1, so a client of such a service fails at once on
// this machine instead of reaching AWS with the dummy credentials.
const notStartedURL = "http://127.0.0.1:1"

// Options configure Start.
type Options struct {
	DataDir  string    // dynalite persistence folder ("" = in-memory); created if missing
	S3File   string    // gofakes3's bbolt data file ("" = in-memory); its folder must exist
	Ports    Ports     // 0 = random free port on 127.0.0.1
	Stage    string    // resources.For(Stage) names; default "local"
	Log      io.Writer // emulators' output (nil = discard)
	ToolsDir string    // the _tools folder; "" = found by walking up from the working directory
	// Logger receives the supervisor's messages: an emulator that exited,
	// its output tail, its restart. nil = discard.
	Logger *slog.Logger
	// RestartAttempts is how often the supervisor tries to start an exited
	// emulator again before it gives up and reports on Failed (default 3).
	RestartAttempts int
	// Services are the emulators to start (nil = AllServices). A test package
	// starts only what its code talks to: each Node.js emulator costs a
	// process and a second of a loaded CPU. The others' URLs stay "", and the
	// stack's aws.Config and Env point them at a closed local port.
	Services []Service
}

// Ports are the emulators' ports on 127.0.0.1; 0 picks a free one.
type Ports struct {
	DynamoDB, SQS, SES int
	S3                 int // gofakes3 runs in-process
}

// Stack is a running set of emulators, provisioned for one stage.
type Stack struct {
	Names                              resources.Names
	DynamoDBURL, SQSURL, S3URL, SESURL string     // "" for a service not started
	JobsQueueURL, DLQURL               string     // "" without SQS
	AWS                                aws.Config // dummy credentials, us-east-1, per-service endpoints
	toolsDir, dataDir                  string
	log                                io.Writer
	mu                                 sync.Mutex
	services                           map[Service]bool // the ones started
	ports                              map[Service]int
	children                           map[Service]*child
	s3                                 *s3Server
	closed                             bool
	logger                             *slog.Logger
	restartAttempts                    int
	failed                             chan error
}

// Start starts the emulators of opts.Services (all four by default), waits
// until each listens, and provisions the stage's resources in them
// (idempotently, so a persistent DataDir survives restarts). On error nothing
// is left running.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	if opts.Stage == "" {
		opts.Stage = "local"
	}
	services, err := serviceSet(opts.Services)
	if err != nil {
		return nil, err
	}
	toolsDir, err := prepare(opts, services)
	if err != nil {
		return nil, err
	}
	s := &Stack{
		Names:    resources.For(opts.Stage),
		toolsDir: toolsDir,
		dataDir:  opts.DataDir,
		log:      opts.Log,
		services: services,
		ports:    map[Service]int{DynamoDB: opts.Ports.DynamoDB, SQS: opts.Ports.SQS, SES: opts.Ports.SES, S3: opts.Ports.S3},
		children: map[Service]*child{},
		logger:   opts.Logger,
		failed:   make(chan error, 1),
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	s.restartAttempts = opts.RestartAttempts
	if s.restartAttempts <= 0 {
		s.restartAttempts = 3
	}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()

	if err := s.startAll(opts); err != nil {
		return nil, err
	}

	s.DynamoDBURL = s.url(DynamoDB)
	s.SQSURL = s.url(SQS)
	s.S3URL = s.url(S3)
	s.SESURL = s.url(SES)
	s.AWS = LocalConfig(map[string]string{
		"DYNAMODB": s.endpoint(DynamoDB),
		"SQS":      s.endpoint(SQS),
		"S3":       s.endpoint(S3),
		"SESV2":    s.endpoint(SES),
	})
	if s.JobsQueueURL, s.DLQURL, err = s.provision(ctx); err != nil {
		return nil, fmt.Errorf("starting emulators: %w", err)
	}
	return s, nil
}

// serviceSet is the set of services to start: all four by default.
func serviceSet(list []Service) (map[Service]bool, error) {
	if list == nil {
		list = AllServices
	}
	services := map[Service]bool{}
	for _, svc := range list {
		if !slices.Contains(AllServices, svc) {
			return nil, fmt.Errorf("starting emulators: unknown service %q", svc)
		}
		services[svc] = true
	}
	return services, nil
}

// prepare finds the npm tools (installing them if missing) when a Node.js
// emulator is wanted, and makes the data folder; it returns the tools folder.
// gofakes3 runs in-process: a stack of S3 alone needs neither Node.js nor
// _tools.
func prepare(opts Options, services map[Service]bool) (string, error) {
	toolsDir := opts.ToolsDir
	if services[DynamoDB] || services[SQS] || services[SES] {
		if toolsDir == "" {
			wd, err := os.Getwd()
			if err != nil {
				return "", fmt.Errorf("starting emulators: %w", err)
			}
			if toolsDir, err = findToolsDir(wd); err != nil {
				return "", fmt.Errorf("starting emulators: %w", err)
			}
		}
		if err := ensureNodeModules(toolsDir, opts.Log); err != nil {
			return "", fmt.Errorf("starting emulators: %w", err)
		}
	}
	if opts.DataDir != "" {
		if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
			return "", fmt.Errorf("starting emulators: creating the data folder: %w", err)
		}
	}
	return toolsDir, nil
}

// startAll starts the Node.js emulators side by side (Node takes a moment
// to boot) and the in-process S3, and waits until each listens.
func (s *Stack) startAll(opts Options) error {
	var wg sync.WaitGroup
	var errs []error
	var mu sync.Mutex
	for _, svc := range []Service{DynamoDB, SQS, SES} {
		if !s.services[svc] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.startChild(svc); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	var s3err error
	if s.services[S3] {
		s.s3, s3err = newS3Server(opts.Ports.S3, opts.S3File)
	}
	wg.Wait()
	if s.s3 != nil {
		s.ports[S3] = s.s3.port
	}
	return errors.Join(append(errs, s3err)...)
}

// url is svc's URL, "" when the stack did not start it.
func (s *Stack) url(svc Service) string {
	if !s.services[svc] {
		return ""
	}
	return "http://127.0.0.1:" + strconv.Itoa(s.ports[svc])
}

// endpoint is where clients of svc are sent: its emulator, or a closed port.
func (s *Stack) endpoint(svc Service) string {
	if u := s.url(svc); u != "" {
		return u
	}
	return notStartedURL
}

// provision creates the stage's resources in the emulators the stack runs.
func (s *Stack) provision(ctx context.Context) (jobsQueueURL, dlqURL string, err error) {
	return provision(ctx, s.AWS, s.Names, s.services)
}

// notStarted is the error of an operation on a service the stack did not start.
func (s *Stack) notStarted(op string, svc Service) error {
	if s.services[svc] {
		return nil
	}
	return fmt.Errorf("%s %s emulator: not part of this stack (Options.Services)", op, svc)
}

// startChild starts svc's process on its port (the first time a random one,
// which it then keeps so that URLs stay valid across StopService/StartService).
func (s *Stack) startChild(svc Service) error {
	s.mu.Lock()
	port, toolsDir := s.ports[svc], s.toolsDir
	s.mu.Unlock()
	dataDir := ""
	if svc == DynamoDB {
		dataDir = s.dataDir
	}
	c, actual, err := startChild(toolsDir, string(svc), port, dataDir, s.log)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		// Close ran while this child was starting: it must not outlive the stack.
		go c.stop()
		return fmt.Errorf("starting %s emulator: the stack is closed", svc)
	}
	s.children[svc] = c
	s.ports[svc] = actual
	go s.supervise(svc, c)
	return nil
}

// Failed reports, once, that an emulator exited and could not be restarted:
// the stack is broken and its user (reportctl dev) should stop with an error
// rather than answer 503 forever.
func (s *Stack) Failed() <-chan error { return s.failed }

// supervise waits for c to exit. An exit nobody asked for (StopService and
// Close take the child out of s.children first) is logged with the end of the
// emulator's output and followed by a restart on the same port, keeping
// dynalite's data folder, and a new Provision (queues are in memory). After
// RestartAttempts failed starts the error goes to Failed.
func (s *Stack) supervise(svc Service, c *child) {
	<-c.done
	s.mu.Lock()
	if s.closed || s.children[svc] != c {
		s.mu.Unlock()
		return
	}
	delete(s.children, svc)
	s.mu.Unlock()
	s.logger.Error("emulator exited; restarting it", "service", svc, "err", c.err, "outputTail", c.tail.String())
	var errs []error
	wait := time.Second
	for try := 1; try <= s.restartAttempts; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		err := s.restart(ctx, svc)
		cancel()
		if err == nil {
			s.logger.Info("emulator restarted", "service", svc, "try", try, "url", s.url(svc))
			return
		}
		if s.isClosed() {
			return
		}
		errs = append(errs, err)
		s.logger.Warn("restarting the emulator failed", "service", svc, "try", try, "err", err)
		if try < s.restartAttempts {
			time.Sleep(wait)
			wait *= 2
		}
	}
	err := fmt.Errorf("the %s emulator exited and could not be restarted after %d tries: %w", svc, s.restartAttempts, errors.Join(errs...))
	s.logger.Error("giving up on the emulator", "service", svc, "err", err)
	select {
	case s.failed <- err:
	default:
	}
}

// restart starts svc again and provisions what it lost (the queues and
// in-memory tables).
func (s *Stack) restart(ctx context.Context, svc Service) error {
	if err := s.startChild(svc); err != nil {
		return err
	}
	jobs, dlq, err := s.provision(ctx)
	if err != nil {
		return fmt.Errorf("starting %s emulator: %w", svc, err)
	}
	s.mu.Lock()
	s.JobsQueueURL, s.DLQURL = jobs, dlq
	s.mu.Unlock()
	return nil
}

func (s *Stack) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Pause stops svc's process with SIGSTOP, the way a hung dependency looks to
// its clients: connections are accepted by the kernel, nothing answers. It
// is for fault-injection tests; Resume (SIGCONT) lets it go on.
func (s *Stack) Pause(svc Service) error { return s.signal(svc, syscall.SIGSTOP) }

// Resume continues a paused emulator.
func (s *Stack) Resume(svc Service) error { return s.signal(svc, syscall.SIGCONT) }

// Kill ends svc's process with SIGKILL without telling the supervisor: a
// crash, which the supervisor answers with a restart.
func (s *Stack) Kill(svc Service) error { return s.signal(svc, syscall.SIGKILL) }

// PID is the process id of svc's emulator (0 if none runs).
func (s *Stack) PID(svc Service) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.children[svc]; c != nil {
		return c.cmd.Process.Pid
	}
	return 0
}

func (s *Stack) signal(svc Service, sig syscall.Signal) error {
	pid := s.PID(svc)
	if pid == 0 {
		return fmt.Errorf("signalling the %s emulator: no process runs it", svc)
	}
	if err := syscall.Kill(-pid, sig); err != nil {
		return fmt.Errorf("signalling the %s emulator (%v): %w", svc, sig, err)
	}
	return nil
}

// Env returns the environment that makes the functions (and the AWS CLI) find
// this stack: per-service endpoints, region, dummy credentials, checksum
// settings the S3 emulator needs, and the resources.Env* names.
func (s *Stack) Env() map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB":        s.endpoint(DynamoDB),
		"AWS_ENDPOINT_URL_SQS":             s.endpoint(SQS),
		"AWS_ENDPOINT_URL_S3":              s.endpoint(S3),
		"AWS_ENDPOINT_URL_SESV2":           s.endpoint(SES),
		"AWS_REGION":                       Region,
		"AWS_DEFAULT_REGION":               Region,
		"AWS_ACCESS_KEY_ID":                accessKeyID,
		"AWS_SECRET_ACCESS_KEY":            secretAccessKey,
		"AWS_REQUEST_CHECKSUM_CALCULATION": "when_required",
		"AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
		"AWS_EC2_METADATA_DISABLED":        "true",
		resources.EnvReportsTable:          s.Names.ReportsTable,
		resources.EnvBillingTable:          s.Names.BillingTable,
		resources.EnvSchedulesTable:        s.Names.SchedulesTable,
		resources.EnvJobsQueueURL:          s.JobsQueueURL,
		resources.EnvReportsBucket:         s.Names.ReportsBucket,
	}
}

// StopService stops one emulator, to simulate an outage of that dependency;
// its port stays reserved for StartService. S3 objects survive; the npm
// emulators lose their state unless DynamoDB has a DataDir.
func (s *Stack) StopService(svc Service) error {
	if err := s.notStarted("stopping", svc); err != nil {
		return err
	}
	if svc == S3 {
		return s.s3.stop()
	}
	s.mu.Lock()
	c := s.children[svc]
	delete(s.children, svc)
	s.mu.Unlock()
	if c == nil {
		return fmt.Errorf("stopping %s emulator: not running", svc)
	}
	c.stop()
	return nil
}

// StartService starts a stopped emulator again on its old port and provisions
// the stack's resources again (the queues and in-memory tables were lost).
func (s *Stack) StartService(ctx context.Context, svc Service) error {
	if err := s.notStarted("starting", svc); err != nil {
		return err
	}
	if svc == S3 {
		return s.s3.start()
	}
	s.mu.Lock()
	running := s.children[svc] != nil
	s.mu.Unlock()
	if running {
		return nil
	}
	return s.restart(ctx, svc)
}

// Close stops every emulator and its process group. It is safe to call twice.
func (s *Stack) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	children := s.children
	s.children = map[Service]*child{}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range children {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.stop()
		}()
	}
	wg.Wait()
	if s.s3 != nil {
		return s.s3.close()
	}
	return nil
}
