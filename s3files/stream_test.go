package s3files

// Helpers shared by the emulator tests (files_test.go, tag integration) and
// the benchmark, which needs no emulator.

import (
	"io"
	"math/rand/v2"
)

// randomStream is n pseudo-random bytes from seed, as a plain io.Reader (no
// Seek, no Len): a body of unknown length, like a CSV being generated.
func randomStream(seed uint64, n int64) io.Reader {
	return io.LimitReader(rand.NewChaCha8([32]byte{byte(seed)}), n)
}
