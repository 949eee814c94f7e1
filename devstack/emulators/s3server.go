package emulators

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// s3Server serves gofakes3 with an in-memory backend on a fixed loopback port.
// It can be stopped and started again on the same port with its objects kept,
// so tests can simulate an S3 outage.
type s3Server struct {
	handler http.Handler
	port    int

	mu  sync.Mutex
	srv *http.Server
}

func newS3Server(port int) (*s3Server, error) {
	faker := gofakes3.New(s3mem.New(), gofakes3.WithAutoBucket(false))
	s := &s3Server{handler: faker.Server(), port: port}
	if err := s.start(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *s3Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return nil
	}
	var ln net.Listener
	var err error
	// A just-closed port can linger briefly; retry the same port for a moment.
	for deadline := time.Now().Add(5 * time.Second); ; {
		ln, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", s.port))
		if err == nil || s.port == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("starting S3 emulator: %w", err)
	}
	s.port = ln.Addr().(*net.TCPAddr).Port
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	s.srv = srv
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = ln.Close()
		}
	}()
	return nil
}

func (s *s3Server) stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return nil
	}
	err := s.srv.Close()
	s.srv = nil
	if err != nil {
		return fmt.Errorf("stopping S3 emulator: %w", err)
	}
	return nil
}
