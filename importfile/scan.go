package importfile

import (
	"bytes"
	"context"
	"fmt"
	"hash/maphash"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	billing "github.com/evovoice/billing"
)

// Options tune a scan; the zero value is ready to use.
type Options struct {
	// MaxProblems is how many problems the ValidationError keeps (the ones with
	// the lowest line numbers); all are counted. Default 1000.
	MaxProblems int
	// BloomBits sizes the duplicate-id filter (a power of two). 0 picks 1 bit per
	// input byte, between 2^19 and 2^28 bits (32 MiB).
	BloomBits uint32
	// Progress, if set, is told how far each pass has read, about every MiB.
	Progress func(Progress)
}

// Progress is how far a pass over the input has got.
type Progress struct {
	Pass  int    // 1, 2...
	Name  string // what the pass does, e.g. "reading", "re-checking"
	Done  int64  // bytes read
	Total int64  // input size, -1 if unknown
}

// Summary counts what an input held.
type Summary struct {
	Lines           int   // lines read, blank ones included
	Accounts        int   // distinct accounts
	Customers       int   // distinct customers
	UsageEvents     int64 // distinct usage events
	RepeatedRecords int   // account and customer lines identical to an earlier one, counted once
	RepeatedUsage   int64 // usage lines identical to an earlier one, counted once
	Passes          int   // passes over the input the scan needed
}

// Dataset is the validated content of an import file, except the usage events,
// which are streamed: memory is bounded by the number of accounts and customers.
type Dataset struct {
	Accounts  []billing.Account  // in file order
	Customers []billing.Customer // in file order
	Summary   Summary

	accountIdx  map[string]recordPos
	customerIdx map[string]recordPos
	// repeats maps a usage id that occurs more than once (identically) to the
	// line of its first occurrence, so a later stream skips the repeats.
	repeats map[string]int
}

type recordPos struct{ index, line int }

// Account returns the account with id.
func (d *Dataset) Account(id string) (billing.Account, bool) {
	pos, ok := d.accountIdx[id]
	if !ok {
		return billing.Account{}, false
	}
	return d.Accounts[pos.index], true
}

// CustomersOf returns the customers of accountID, in file order.
func (d *Dataset) CustomersOf(accountID string) []billing.Customer {
	var out []billing.Customer
	for _, c := range d.Customers {
		if c.AccountID == accountID {
			out = append(out, c)
		}
	}
	return out
}

// UsageFunc receives one distinct, valid usage event. e and its fields are only
// valid during the call (the decoder reuses the struct): copy what you keep.
type UsageFunc func(e *billing.UsageEvent) error

// StartFunc is called when the accounts and customers are complete and valid,
// before the first usage event, and returns where the events go.
//
// In a well-ordered file (every account and customer line before the first
// usage line) it is called once, at the first usage line, and the events arrive
// during the same single pass. If an account or customer line turns up after a
// usage line, the events delivered so far were rated against incomplete data:
// StartFunc is then called AGAIN after the first pass, with the complete data,
// and every event is delivered anew in a second pass; the consumer must drop
// whatever the first call's UsageFunc received. An error from the first call
// (say, the account it wants has not been read yet) ends the scan only if the
// file turns out well ordered; otherwise the second call decides. A file
// without usage gets one call at the end.
type StartFunc func(d *Dataset) (UsageFunc, error)

// Validate reads the whole input and returns its accounts and customers, or a
// *ValidationError listing every bad line. Usage is checked but not kept; use
// Dataset.Usage to stream it afterwards (e.g. to write it in batches).
func Validate(ctx context.Context, src Source, opts Options) (*Dataset, error) {
	return Scan(ctx, src, opts, nil)
}

// Scan validates the whole input like Validate and, while it reads, hands every
// distinct valid usage event to the UsageFunc that start returns (see StartFunc
// for when it is called). If Scan returns an error, whatever the consumer built
// from the events must be thrown away: validation of the whole file comes last.
// Events stop flowing as soon as a problem is found; validation goes on so that
// every bad line is reported.
//
// Usage ids repeated with the same content are counted once (the repeats are not
// delivered); with different content they are a problem naming both lines.
// Finding repeats takes a Bloom filter in pass 1 and, only if some id hit it, a
// second pass over the input that settles those ids exactly.
func Scan(ctx context.Context, src Source, opts Options, start StartFunc) (*Dataset, error) {
	s := newScanner(src, opts)
	s.start = start
	return s.run(ctx)
}

// suspect is a usage id the Bloom filter could not vouch for in pass 1.
type suspect struct {
	firstHit  int // the line where the filter first said "maybe seen"
	firstLine int // pass 2: the id's first occurrence
	hash      uint64
	seen      bool
}

// scanner is the validation of Scan and Validate: pass 1 (firstLine) checks
// every line, pass 2 (secondLine) settles the suspects and, in a disordered
// file, the references; its usageDecoder turns lines into checked events.
type scanner struct {
	usageDecoder
	src   Source
	opts  Options
	start StartFunc

	probs    problemList
	refProbs problemList // pass-1 reference problems, kept only if the file was ordered
	bloom    *bloom
	suspects map[string]*suspect
	// suspectIDs are the suspects as bytes, for pass 2's quick filter.
	suspectIDs [][]byte
	seed       maphash.Seed
	zones      map[string]error

	sink       UsageFunc
	sawUsage   bool
	disordered bool // an account or customer line came after a usage line
	usageLines int64
	startErr   error  // the consumer refused the records at the first usage line
	touched    uint64 // sink for the filter's prefetch loads, so they are not optimized away

	// Pass 1 pipeline: this goroutine decodes and validates lines into batches;
	// a second one runs the Bloom filter and the consumer's UsageFunc on them.
	batch       *usageBatch
	batches     chan *usageBatch
	free        chan *usageBatch
	checked     chan error
	checkFailed atomic.Bool
}

// usageBatch is a run of locally valid usage events of pass 1.
type usageBatch struct {
	events []billing.UsageEvent
	lines  []int
	refOK  []bool
	hashes []uint64
	// deliver is decided when the batch is sent: false once the file turned out
	// disordered or any problem was found, so no event goes out after that.
	deliver bool
}

// Batch sizes: big enough to amortize channel hand-offs and let the filter's
// cache misses overlap, small enough that memory stays negligible.
const (
	batchSize    = 1024
	batchesInUse = 4
)

func newScanner(src Source, opts Options) *scanner {
	if opts.MaxProblems <= 0 {
		opts.MaxProblems = 1000
	}
	return &scanner{
		src:      src,
		opts:     opts,
		probs:    problemList{max: opts.MaxProblems},
		refProbs: problemList{max: opts.MaxProblems},
		suspects: map[string]*suspect{},
		seed:     maphash.MakeSeed(),
		zones:    map[string]error{},
		usageDecoder: newUsageDecoder(&Dataset{
			accountIdx:  map[string]recordPos{},
			customerIdx: map[string]recordPos{},
			repeats:     map[string]int{},
		}),
	}
}

func (s *scanner) zone(name string) (*time.Location, error) {
	if err, ok := s.zones[name]; ok {
		return nil, err
	}
	loc, err := billing.LoadZone(name)
	s.zones[name] = err
	return loc, err
}

func (s *scanner) run(ctx context.Context) (*Dataset, error) {
	bits := s.opts.BloomBits
	if bits == 0 {
		bits = bloomBitsFor(s.src.Size())
	}
	if bits < 512 || bits&(bits-1) != 0 {
		return nil, fmt.Errorf("importfile: BloomBits must be a power of two of at least 512, not %d", bits)
	}
	s.bloom = newBloom(bits)
	if err := s.firstPass(ctx); err != nil {
		return nil, err
	}
	s.bloom = nil // 32 MiB the second pass does not need
	for _, p := range s.ds.recordProblems() {
		s.probs.add(p.Line, "%s", p.Reason)
	}
	if !s.disordered {
		s.probs.merge(&s.refProbs)
	}
	if err := s.secondPass(ctx); err != nil {
		return nil, err
	}
	return s.result()
}

// secondPass re-reads the input when pass 1 left suspects to settle or the
// file turned out disordered (then the consumer starts over).
func (s *scanner) secondPass(ctx context.Context) error {
	if !s.disordered && len(s.suspects) == 0 {
		return nil
	}
	if s.disordered {
		s.sink = nil
		if err := s.begin(); err != nil {
			return err
		}
	}
	s.ds.Summary.Passes = 2
	_, err := eachLine(ctx, s.src, s.opts.Progress, Progress{Pass: 2, Name: "re-checking"}, s.secondLine)
	return err
}

// secondLine is pass 2's handling of a line: only usage lines that may hold a
// suspect are decoded, and their own problems were reported in pass 1.
func (s *scanner) secondLine(lineNo int, line []byte, tooLong bool) error {
	if tooLong || !s.mayHoldSuspect(bytes.TrimRight(line, "\r\n")) {
		return nil
	}
	if kind, _ := s.classify(line, false); kind != lineUsage || len(s.usageEvent()) > 0 {
		return nil
	}
	return s.usageSecond(lineNo)
}

// result is the dataset with its summary, and the scan's error: the bad
// lines first, then the consumer's refusal.
func (s *scanner) result() (*Dataset, error) {
	d := s.ds
	d.Summary.Accounts, d.Summary.Customers = len(d.Accounts), len(d.Customers)
	d.Summary.UsageEvents = s.usageLines - d.Summary.RepeatedUsage
	if err := s.probs.err(); err != nil {
		return d, err // bad lines first: they are what the user must fix
	}
	if s.startErr != nil && !s.disordered {
		return d, s.startErr
	}
	if !s.sawUsage && s.start != nil {
		if _, err := s.start(d); err != nil {
			return d, err
		}
	}
	return d, nil
}

// maxQuickSuspects bounds the suspects pass 2 searches for as raw bytes; with
// more (a file with many real repeats) every line is decoded.
const maxQuickSuspects = 16

// mayHoldSuspect is pass 2's cheap filter. When the file was ordered, pass 2
// only settles suspect ids (almost always a false alarm or two of the filter),
// so a line that cannot hold one need not be decoded. A line without a
// backslash has every JSON string verbatim, so a suspect id in it is a
// substring of it; lines with escapes are always decoded.
func (s *scanner) mayHoldSuspect(line []byte) bool {
	if s.disordered || len(s.suspects) > maxQuickSuspects || bytes.IndexByte(line, '\\') >= 0 {
		return true
	}
	if s.suspectIDs == nil {
		s.suspectIDs = make([][]byte, 0, len(s.suspects))
		for id := range s.suspects {
			s.suspectIDs = append(s.suspectIDs, []byte(id))
		}
	}
	for _, id := range s.suspectIDs {
		if bytes.Contains(line, id) {
			return true
		}
	}
	return false
}

// begin asks the consumer where events go, once the records have no problems.
func (s *scanner) begin() error {
	if s.start == nil || s.probs.total > 0 || len(s.ds.recordProblems()) > 0 {
		return nil
	}
	sink, err := s.start(s.ds)
	s.sink = sink
	return err
}

// firstPass reads the input once, validating every line, while the pipeline
// runs the duplicate filter and hands events to the consumer.
func (s *scanner) firstPass(ctx context.Context) error {
	s.ds.Summary.Passes = 1
	s.startPipeline()
	defer s.stopPipeline() // on early returns; a no-op after the normal stop
	lines, err := eachLine(ctx, s.src, s.opts.Progress, Progress{Pass: 1, Name: "reading"}, s.firstLine)
	if err != nil {
		return err
	}
	s.ds.Summary.Lines = lines
	return s.stopPipeline()
}

// firstLine is pass 1's handling of a line: its problems are reported, its
// records kept. It returns an error only to abort the scan.
func (s *scanner) firstLine(lineNo int, line []byte, tooLong bool) error {
	kind, problem := s.classify(line, tooLong)
	switch kind {
	case lineBad:
		s.probs.add(lineNo, "%s", problem)
	case lineRecord:
		if s.sawUsage {
			s.disordered = true
		}
		s.addRecord(lineNo, string(s.f.typ), bytes.TrimRight(line, "\r\n"))
	case lineUsage:
		return s.usageFirst(lineNo)
	}
	return nil
}

func (s *scanner) startPipeline() {
	s.batches = make(chan *usageBatch, batchesInUse)
	s.free = make(chan *usageBatch, batchesInUse)
	s.checked = make(chan error, 1)
	for range batchesInUse {
		s.free <- &usageBatch{
			events: make([]billing.UsageEvent, 0, batchSize), lines: make([]int, 0, batchSize),
			refOK: make([]bool, 0, batchSize), hashes: make([]uint64, batchSize),
		}
	}
	go func() {
		var err error
		for b := range s.batches {
			if err == nil {
				if err = s.checkBatch(b); err != nil {
					s.checkFailed.Store(true)
				}
			}
			s.free <- b
		}
		s.checked <- err
	}()
}

// stopPipeline sends the last batch, waits for the checker and returns its error.
func (s *scanner) stopPipeline() error {
	if s.batches == nil {
		return nil
	}
	s.sendBatch()
	close(s.batches)
	err := <-s.checked
	s.batches = nil
	return err
}

func (s *scanner) sendBatch() {
	if s.batch == nil || len(s.batch.events) == 0 {
		return
	}
	s.batch.deliver = s.sink != nil && !s.disordered && s.probs.total == 0 && s.refProbs.total == 0
	s.batches <- s.batch
	s.batch = nil
}

// checkBatch runs on the checker goroutine: it owns the Bloom filter and the
// suspects during pass 1, and calls the consumer.
func (s *scanner) checkBatch(b *usageBatch) error {
	var touch uint64
	for i := range b.events {
		b.hashes[i] = s.bloom.hash(b.events[i].ID)
		touch += s.bloom.prefetch(b.hashes[i])
	}
	s.touched += touch
	for i := range b.events {
		ev := &b.events[i]
		hit := s.bloom.testAndAdd(b.hashes[i])
		if hit {
			if _, ok := s.suspects[ev.ID]; !ok {
				s.suspects[ev.ID] = &suspect{firstHit: b.lines[i]}
			}
		}
		if b.deliver && b.refOK[i] && !hit {
			if err := s.sink(ev); err != nil {
				return fmt.Errorf("handling usage event %q: %w", ev.ID, err)
			}
		}
	}
	b.events, b.lines, b.refOK = b.events[:0], b.lines[:0], b.refOK[:0]
	return nil
}

// usageFirst is pass 1's handling of a usage line: checked on its own, it goes
// into the batch that the pipeline's second goroutine filters and delivers.
func (s *scanner) usageFirst(lineNo int) error {
	if !s.sawUsage {
		s.sawUsage = true
		// The records seen so far are complete only if no account or customer line
		// follows; the consumer's refusal counts only then (see run).
		if err := s.begin(); err != nil {
			s.startErr, s.sink = err, nil
		}
	}
	if reasons := s.usageEvent(); len(reasons) > 0 {
		s.probs.add(lineNo, "%s", strings.Join(reasons, "; "))
		return nil
	}
	s.usageLines++
	refOK := s.checkRefs(lineNo, &s.refProbs)
	if s.batch == nil {
		if s.checkFailed.Load() { // the consumer failed: stop reading
			return s.stopPipeline()
		}
		s.batch = <-s.free
	}
	b := s.batch
	b.events, b.lines, b.refOK = append(b.events, s.ev), append(b.lines, lineNo), append(b.refOK, refOK)
	if len(b.events) == batchSize {
		s.sendBatch()
	}
	return nil
}

// usageSecond is pass 2's handling of a locally valid usage line: it settles
// the suspects exactly, and in a disordered file checks references and
// delivers every event anew.
func (s *scanner) usageSecond(lineNo int) error {
	refOK := true
	if s.disordered {
		refOK = s.checkRefs(lineNo, &s.probs)
	}
	deliver := s.disordered
	if sp, ok := s.suspects[string(s.f.id)]; ok {
		h := s.contentHash()
		switch {
		case !sp.seen:
			sp.seen, sp.firstLine, sp.hash = true, lineNo, h
			deliver = deliver || lineNo == sp.firstHit // held back in pass 1 by a false alarm
		case sp.hash == h:
			s.ds.repeats[s.ev.ID] = sp.firstLine
			s.ds.Summary.RepeatedUsage++
			deliver = false
		default:
			s.probs.add(lineNo, "duplicate usage id %q with different content (first at line %d)", s.ev.ID, sp.firstLine)
			deliver = false
		}
	}
	if deliver && refOK {
		return s.deliver()
	}
	return nil
}

func (s *scanner) deliver() error {
	if s.sink == nil || s.probs.total > 0 {
		return nil
	}
	if err := s.sink(&s.ev); err != nil {
		return fmt.Errorf("handling usage event %q: %w", s.ev.ID, err)
	}
	return nil
}

// contentHash fingerprints everything of the event but its id, to tell an
// identical repeat from a conflicting one.
func (s *scanner) contentHash() uint64 {
	var h maphash.Hash
	h.SetSeed(s.seed)
	ev := &s.ev
	for _, v := range [...]string{ev.AccountID, ev.CustomerID, string(ev.Item), ev.RawQuantity, ev.InternationalCost, ev.Description} {
		var n [8]byte
		l := len(v)
		for i := range n {
			n[i] = byte(l >> (8 * i))
		}
		h.Write(n[:])
		h.WriteString(v)
	}
	ts, _ := ev.Time.MarshalBinary()
	h.Write(ts)
	if ev.Recorded {
		h.WriteByte(1)
	}
	return h.Sum64()
}

func (pl *problemList) merge(o *problemList) {
	o.trim()
	pl.list = append(pl.list, o.list...)
	pl.total += o.total
	sort.SliceStable(pl.list, func(i, j int) bool { return pl.list[i].Line < pl.list[j].Line })
	pl.trim()
}
