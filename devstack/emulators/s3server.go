package emulators

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3bolt"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	bolt "go.etcd.io/bbolt"
)

// s3Server serves gofakes3 on a fixed loopback port, in memory or, given a
// file, in a bbolt database so that objects outlive the process (the local
// stack's report CSVs must survive a restart, as its DynamoDB items do).
// It can be stopped and started again on the same port with its objects kept,
// so tests can simulate an S3 outage.
type s3Server struct {
	handler http.Handler
	port    int
	db      *bolt.DB // nil when in memory; closed by close

	mu  sync.Mutex
	srv *http.Server
}

// newS3Server starts gofakes3 on port; dbFile "" keeps objects in memory.
func newS3Server(port int, dbFile string) (*s3Server, error) {
	var backend gofakes3.Backend = s3mem.New()
	var db *bolt.DB
	if dbFile != "" {
		var err error
		// A timeout, because bbolt otherwise waits forever for the file lock
		// that another stack on the same data folder holds.
		if db, err = bolt.Open(dbFile, 0o600, &bolt.Options{Timeout: 5 * time.Second}); err != nil {
			return nil, fmt.Errorf("opening the S3 emulator's data file %s: %w", dbFile, err)
		}
		backend = s3bolt.New(db)
	}
	faker := gofakes3.New(backend, gofakes3.WithAutoBucket(false))
	s := &s3Server{handler: faker.Server(), port: port, db: db}
	if err := s.start(); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// close stops serving for good and releases the data file.
func (s *s3Server) close() error {
	err := s.stop()
	if s.db != nil {
		if cerr := s.db.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing the S3 emulator's data file: %w", cerr)
		}
		s.db = nil
	}
	return err
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
