package importfile

import "hash/maphash"

// bloom is a fixed-size, cache-blocked Bloom filter of usage ids. Remembering
// every id of a multi-million-line file would make memory grow with the file;
// the filter answers "certainly new" for almost every id in constant memory, and
// only the few ids it cannot vouch for ("suspects") are checked exactly by a
// re-scan. All bits of one id lie in one 64-byte block, so a lookup costs one
// cache miss instead of one per bit (a plain filter of this size spent half the
// scan time waiting for memory).
type bloom struct {
	blocks    [][8]uint64
	blockMask uint64
	seed      maphash.Seed
}

// bloomHashes is the number of bits per id. With the default 32 MiB filter
// (2^28 bits) and 4M ids that is 67 bits per id: the blocked layout's
// false-positive rate is then about 1e-6 (a handful of suspects at most), and
// at 20M ids (13 bits per id) still about 1e-3.
const bloomHashes = 7

// Filter sizes: 1 bit per input byte (a usage line is 150+ bytes), at least
// 2^19 bits (64 KiB) and at most 2^28 bits (32 MiB). Any input of 32 MiB or
// more (about 200,000 usage lines) gets the full filter, so memory does not
// grow with the number of events.
const (
	minBloomBits = 1 << 19
	maxBloomBits = 1 << 28
)

func bloomBitsFor(inputBytes int64) uint32 {
	if inputBytes < 0 {
		return maxBloomBits // unknown size: assume big
	}
	n := uint32(minBloomBits)
	for int64(n) < inputBytes && n < maxBloomBits {
		n <<= 1
	}
	return n
}

// newBloom makes a filter of bits bits (a power of two, at least 512).
func newBloom(bits uint32) *bloom {
	n := bits / 512
	return &bloom{blocks: make([][8]uint64, n), blockMask: uint64(n - 1), seed: maphash.MakeSeed()}
}

// hash is the filter's hash of id.
func (b *bloom) hash(id string) uint64 { return maphash.String(b.seed, id) }

// prefetch loads the block of hash h. Called for a whole batch of ids before
// testAndAdd, it lets the CPU wait for many cache misses at once instead of one
// after another, which halves the cost of the filter.
func (b *bloom) prefetch(h uint64) uint64 { return b.blocks[h&b.blockMask][0] }

// testAndAdd adds the id of hash h and reports whether it may have been added before.
func (b *bloom) testAndAdd(h uint64) bool {
	blk := &b.blocks[h&b.blockMask]
	// Seven independent 9-bit positions inside the 512-bit block, from a second
	// mix of the hash: deriving them from the block hash's spare bits (double
	// hashing) left so little entropy that distinct ids collided whole.
	pos := mix64(h)
	seen := true
	for range bloomHashes {
		bit := uint32(pos & 511)
		w, m := &blk[bit>>6], uint64(1)<<(bit&63)
		if *w&m == 0 {
			seen = false
			*w |= m
		}
		pos >>= 9
	}
	return seen
}

// mix64 is the splitmix64 finalizer: a bijection that spreads every input bit
// over the output.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
