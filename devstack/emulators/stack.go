package emulators

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"

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

// Options configure Start.
type Options struct {
	DataDir  string    // dynalite persistence folder ("" = in-memory); created if missing
	Ports    Ports     // 0 = random free port on 127.0.0.1
	Stage    string    // resources.For(Stage) names; default "local"
	Log      io.Writer // emulators' output (nil = discard)
	ToolsDir string    // the _tools folder; "" = found by walking up from the working directory
}

// Ports are the emulators' ports on 127.0.0.1; 0 picks a free one.
type Ports struct {
	DynamoDB, SQS, SES int
	S3                 int // gofakes3 runs in-process
}

// Stack is a running set of emulators, provisioned for one stage.
type Stack struct {
	Names                              resources.Names
	DynamoDBURL, SQSURL, S3URL, SESURL string
	JobsQueueURL, DLQURL               string
	AWS                                aws.Config // dummy credentials, us-east-1, per-service endpoints
	toolsDir, dataDir                  string
	log                                io.Writer
	mu                                 sync.Mutex
	ports                              map[Service]int
	children                           map[Service]*child
	s3                                 *s3Server
	closed                             bool
}

// Start starts all four emulators, waits until each listens, and provisions the
// stage's resources (idempotently, so a persistent DataDir survives restarts).
// On error nothing is left running.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	if opts.Stage == "" {
		opts.Stage = "local"
	}
	toolsDir := opts.ToolsDir
	if toolsDir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("starting emulators: %w", err)
		}
		if toolsDir, err = findToolsDir(wd); err != nil {
			return nil, fmt.Errorf("starting emulators: %w", err)
		}
	}
	if err := ensureNodeModules(toolsDir, opts.Log); err != nil {
		return nil, fmt.Errorf("starting emulators: %w", err)
	}
	if opts.DataDir != "" {
		if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("starting emulators: creating the data folder: %w", err)
		}
	}
	s := &Stack{
		Names:    resources.For(opts.Stage),
		toolsDir: toolsDir,
		dataDir:  opts.DataDir,
		log:      opts.Log,
		ports:    map[Service]int{DynamoDB: opts.Ports.DynamoDB, SQS: opts.Ports.SQS, SES: opts.Ports.SES, S3: opts.Ports.S3},
		children: map[Service]*child{},
	}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()

	// Node takes a moment to boot; start the three children side by side.
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i, svc := range []Service{DynamoDB, SQS, SES} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.startChild(svc)
		}()
	}
	s3srv, s3err := newS3Server(opts.Ports.S3)
	wg.Wait()
	if s3err == nil {
		s.s3 = s3srv
		s.ports[S3] = s3srv.port
	}
	if err := errors.Join(append(errs, s3err)...); err != nil {
		return nil, err
	}

	s.DynamoDBURL = s.url(DynamoDB)
	s.SQSURL = s.url(SQS)
	s.S3URL = s.url(S3)
	s.SESURL = s.url(SES)
	s.AWS = LocalConfig(map[string]string{
		"DYNAMODB": s.DynamoDBURL,
		"SQS":      s.SQSURL,
		"S3":       s.S3URL,
		"SESV2":    s.SESURL,
	})
	if s.JobsQueueURL, s.DLQURL, err = Provision(ctx, s.AWS, s.Names); err != nil {
		return nil, fmt.Errorf("starting emulators: %w", err)
	}
	return s, nil
}

func (s *Stack) url(svc Service) string {
	return "http://127.0.0.1:" + strconv.Itoa(s.ports[svc])
}

// startChild starts svc's process on its port (the first time a random one,
// which it then keeps so that URLs stay valid across StopService/StartService).
func (s *Stack) startChild(svc Service) error {
	s.mu.Lock()
	port := s.ports[svc]
	s.mu.Unlock()
	dataDir := ""
	if svc == DynamoDB {
		dataDir = s.dataDir
	}
	c, actual, err := startChild(s.toolsDir, string(svc), port, dataDir, s.log)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.children[svc] = c
	s.ports[svc] = actual
	return nil
}

// Env returns the environment that makes the functions (and the AWS CLI) find
// this stack: per-service endpoints, region, dummy credentials, checksum
// settings the S3 emulator needs, and the resources.Env* names.
func (s *Stack) Env() map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB":        s.DynamoDBURL,
		"AWS_ENDPOINT_URL_SQS":             s.SQSURL,
		"AWS_ENDPOINT_URL_S3":              s.S3URL,
		"AWS_ENDPOINT_URL_SESV2":           s.SESURL,
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
	if svc == S3 {
		return s.s3.start()
	}
	s.mu.Lock()
	running := s.children[svc] != nil
	s.mu.Unlock()
	if running {
		return nil
	}
	if err := s.startChild(svc); err != nil {
		return err
	}
	jobs, dlq, err := Provision(ctx, s.AWS, s.Names)
	if err != nil {
		return fmt.Errorf("starting %s emulator: %w", svc, err)
	}
	s.mu.Lock()
	s.JobsQueueURL, s.DLQURL = jobs, dlq
	s.mu.Unlock()
	return nil
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
		return s.s3.stop()
	}
	return nil
}
