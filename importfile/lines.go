package importfile

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
)

// eachLine reads src once, line by line, and calls fn with each line's
// 1-based number and bytes (line ending included; valid only during the call).
// A line longer than maxLineBytes is skipped whole and passed on with tooLong
// set. It returns the number of lines read. progress, if set, is told how far
// it has read (p names the pass) about every MiB.
func eachLine(ctx context.Context, src Source, progress func(Progress), p Progress, fn func(lineNo int, line []byte, tooLong bool) error) (int, error) {
	rc, err := src.Open()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	p.Total = src.Size()
	cr := &countingReader{r: rc, report: progress, p: p}
	br := bufio.NewReaderSize(cr, bufferSize(src.Size()))
	lineNo := 0
	for {
		line, tooLong, err := readLine(br)
		if err != nil && !errors.Is(err, io.EOF) {
			return lineNo, fmt.Errorf("reading import file: %w", err)
		}
		if len(line) == 0 && err != nil {
			break
		}
		lineNo++
		if lineNo&0xffff == 0 {
			if cerr := ctx.Err(); cerr != nil {
				return lineNo, cerr
			}
		}
		if ferr := fn(lineNo, line, tooLong); ferr != nil {
			return lineNo, ferr
		}
		if err != nil {
			break
		}
	}
	cr.flush()
	return lineNo, nil
}

// readLine reads one line of at most maxLineBytes; a longer one is skipped
// whole and reported tooLong.
func readLine(br *bufio.Reader) (line []byte, tooLong bool, err error) {
	line, err = br.ReadSlice('\n')
	for errors.Is(err, bufio.ErrBufferFull) {
		tooLong = true
		_, err = br.ReadSlice('\n')
	}
	return line, tooLong, err
}

// bufferSize is the read buffer for an input of size bytes (-1: unknown):
// small inputs need no 1 MiB buffer.
func bufferSize(size int64) int {
	if size >= 0 && size < maxLineBytes {
		return max(int(size)+1, 4096)
	}
	return maxLineBytes
}

// maxLineBytes is the longest line accepted; a usage line is about 200 bytes and
// an account with every item priced about 1 KiB.
const maxLineBytes = 1 << 20

// countingReader reports read progress about every MiB.
type countingReader struct {
	r      io.Reader
	report func(Progress)
	p      Progress
	last   int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.Done += int64(n)
	if c.report != nil && c.p.Done-c.last >= 1<<20 {
		c.last = c.p.Done
		c.report(c.p)
	}
	return n, err
}

func (c *countingReader) flush() {
	if c.report != nil {
		c.report(c.p)
	}
}
