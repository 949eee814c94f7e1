package importfile

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// Source is an import file that can be read more than once: validating a file
// whose usage precedes its customers, or whose usage ids repeat, takes a second
// pass, and importing reads it again after validation.
type Source interface {
	Open() (io.ReadCloser, error)
	// Size is the length in bytes, or -1 if unknown (for progress and sizing).
	Size() int64
}

// File is a Source reading the file at path.
func File(path string) Source { return fileSource(path) }

type fileSource string

func (f fileSource) Open() (io.ReadCloser, error) {
	r, err := os.Open(string(f))
	if err != nil {
		return nil, fmt.Errorf("opening import file: %w", err)
	}
	return r, nil
}

func (f fileSource) Size() int64 {
	st, err := os.Stat(string(f))
	if err != nil {
		return -1
	}
	return st.Size()
}

// Bytes is a Source over data held in memory (tests, small uploads).
func Bytes(data []byte) Source { return bytesSource(data) }

type bytesSource []byte

func (b bytesSource) Open() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (b bytesSource) Size() int64 { return int64(len(b)) }
