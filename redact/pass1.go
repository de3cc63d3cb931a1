package redact

import (
	"errors"
	"runtime"
	"sync"
	"unsafe"

	"github.com/apitape/apitape/har"
)

// firstPass runs Stream's first pass: entries are analysed on several
// goroutines against the keystore as it stands, and merged in entry order
// (see overlay.go); an analysis that something learned meanwhile could
// have changed is made again in turn. What it writes is what analysing
// the entries one after the other writes.
type firstPass struct {
	r     *Redactor
	write func(index int, f frame, red redacted) error // f without Len
	// mu guards the keystore: analyses read it, merges write it.
	mu      sync.RWMutex
	jobs    chan *p1job
	wg      sync.WaitGroup
	workers int
	window  []*p1job // dispatched, not yet merged, in entry order
	bytes   int
	stopped bool
	free    []*p1job // merged, to reuse
	gens    []int
	redone  int // analyses made again in turn
	pend    *pending
	// While most analyses are made again (every entry echoes a secret
	// the one before revealed), entries are analysed in turn up to
	// serialUntil, for serialRun more entries each time it happens again.
	serialUntil, serialRun int
}

type p1job struct {
	index int
	raw   []byte
	off   int64 // of raw in the file
	done  chan struct{}
	red   redacted // of raw
	recs  []Record
	err   error
	d     delta
}

// Bounds of the entries in flight: how many, and their bytes. An entry
// larger than maxParallelEntry is analysed alone, as it comes, without a
// copy (a 100 MB body must not be held twice).
const (
	maxWindow        = 64
	maxWindowBytes   = 4 << 20
	maxParallelEntry = 1 << 20
)

func newFirstPass(r *Redactor, write func(index int, f frame, red redacted) error) *firstPass {
	f := &firstPass{r: r, write: write}
	if n := pass1Workers(); n > 0 {
		f.workers = n
		f.jobs = make(chan *p1job, maxWindow)
		for range n {
			f.wg.Add(1)
			go f.work(r.polMemo.clone())
		}
	}
	return f
}

// pass1Workers is how many goroutines analyse entries in the first pass;
// 0 analyses each in turn on Stream's own.
var pass1Workers = func() int {
	if n := runtime.GOMAXPROCS(0); n > 1 {
		return min(n, 4)
	}
	return 0
}

func (f *firstPass) work(m *memos) {
	defer f.wg.Done()
	ov := newOverlay(f.r.ks, &f.mu)
	for j := range f.jobs {
		if j.err = checkEntry(j.index, j.raw, j.off); j.err == nil {
			ov.begin(&j.d)
			j.red, j.recs, j.err = f.r.entryEdits(j.index, j.raw, f.r.pol, true, m, ov)
			ov.end()
		}
		close(j.done)
	}
}

// checkEntry decodes an entry as har.Reader.Next does, which begins at
// off in the file, and returns Next's error for it.
func checkEntry(index int, raw []byte, off int64) error {
	raw, cut, n := withoutText(raw)
	_, err := har.ParseEntry(raw)
	var he *har.Error
	if !errors.As(err, &he) {
		return err
	}
	e := *he
	e.Entry = index
	if e.Offset >= 0 {
		if e.Offset > int64(cut) {
			e.Offset += int64(n)
		}
		e.Offset += off
	}
	return &e
}

// bigText is the length from which withoutText leaves a body out (a
// variable: tests set it to 0).
var bigText = 1 << 20

// withoutText returns raw without the contents of a large
// response.content.text, and where they were cut (n bytes at cut), when
// raw is valid JSON: decoding a 100 MB body's text took twice its size,
// and a string there is never an error (the model keeps it as it is, in
// any encoding), so only the offsets of errors after it move.
func withoutText(raw []byte) (_ []byte, cut, n int) {
	if len(raw) < bigText {
		return raw, 0, 0
	}
	doc := unsafe.String(unsafe.SliceData(raw), len(raw))
	root, err := parseLazy(doc)
	if err != nil || root.kind != '{' {
		return raw, 0, 0
	}
	var text *jnode
	for _, path := range [][2]string{{"response", "content"}, {"request", "postData"}} {
		for _, m := range root.kids() {
			if m.kind != '{' || m.name(doc) != path[0] {
				continue
			}
			for _, c := range m.kids() {
				if c.kind != '{' || c.name(doc) != path[1] {
					continue
				}
				for i, t := range c.kids() {
					if t.kind == '"' && t.name(doc) == "text" && (text == nil || t.end-t.start > text.end-text.start) {
						text = &c.kids()[i]
					}
				}
			}
		}
	}
	if text == nil || int(text.end-text.start) < bigText {
		return raw, 0, 0
	}
	cut, n = int(text.start)+1, int(text.end-text.start)-2
	return append(append(make([]byte, 0, len(raw)-n), raw[:cut]...), raw[cut+n:]...), cut, n
}

// add analyses entry index, which begins at off in the file (raw is the
// reader's: valid until its next entry), and writes every entry that can
// be merged.
func (f *firstPass) add(index int, raw []byte, off int64) error {
	if f.workers == 0 || len(raw) > maxParallelEntry || index < f.serialUntil {
		if err := f.flush(); err != nil {
			return err
		}
		if err := checkEntry(index, raw, off); err != nil {
			return err
		}
		if len(raw) >= hugeEntry {
			// The reader's buffer grew to this entry, leaving the smaller
			// ones; the analysis is about to decode its body, as large.
			runtime.GC()
		}
		r := f.r
		gen := len(r.ks.order)
		red, recs, err := r.entryEdits(index, raw, r.pol, true, nil, nil)
		if err != nil {
			return err
		}
		return f.write(index, frame{Gen: gen, Recs: recs, Off: off, Raw: len(raw)}, red)
	}
	j := reuse(&f.free)
	j.index, j.raw, j.off, j.done = index, append(j.raw[:0], raw...), off, make(chan struct{})
	f.window = append(f.window, j)
	f.bytes += len(raw)
	f.jobs <- j
	for len(f.window) >= maxWindow || f.bytes > maxWindowBytes {
		if err := f.merge(); err != nil {
			return err
		}
	}
	return nil
}

// flush merges every entry dispatched.
func (f *firstPass) flush() error {
	for len(f.window) > 0 {
		if err := f.merge(); err != nil {
			return err
		}
	}
	return nil
}

// merge waits for the oldest entry in flight, then merges it and every
// one after it that is done, and writes them.
func (f *firstPass) merge() error {
	<-f.window[0].done
	n := 1
	for n < len(f.window) && isClosed(f.window[n].done) {
		n++
	}
	ready := f.window[:n]
	r := f.r
	gens := f.gens[:0]
	if f.pend == nil {
		f.pend = newPending()
	}
	p := f.pend
	p.sync(r.ks)
	var err error
	redone := f.redone
	for i, j := range ready {
		if j.err != nil {
			err, n = j.err, i
			break
		}
		// Read without the lock: only this goroutine changes the
		// keystore, and the analyses beside it go on meanwhile.
		if r.ks.valid(&j.d, p) {
			gen := len(r.ks.order) + p.order
			gens = append(gens, gen)
			p.add(&j.d, gen)
			continue
		}
		// Something learned since the analysis began may change it.
		f.redone++
		f.mu.Lock()
		r.ks.applyPending(p)
		gens = append(gens, len(r.ks.order))
		j.red, j.recs, j.err = r.entryEdits(j.index, j.raw, r.pol, true, nil, nil)
		p.sync(r.ks)
		f.mu.Unlock()
		if j.err != nil {
			err, n = j.err, i
			break
		}
	}
	if len(p.deltas) > 0 {
		f.mu.Lock()
		r.ks.applyPending(p)
		f.mu.Unlock()
	}
	if redone = f.redone - redone; 2*redone > n && n >= 4 {
		f.serialRun = min(max(2*f.serialRun, 4*maxWindow), 128*maxWindow)
		f.serialUntil = ready[n-1].index + 1 + len(f.window) - n + f.serialRun
	} else if redone == 0 {
		f.serialRun = 0
	}
	for i, j := range ready[:n] {
		if werr := f.write(j.index, frame{Gen: gens[i], Recs: j.recs, Off: j.off, Raw: len(j.raw)}, j.red); werr != nil {
			return werr
		}
		f.bytes -= len(j.raw)
	}
	f.gens = gens
	if err != nil {
		return err
	}
	for _, j := range ready[:n] {
		f.recycle(j)
	}
	clear(f.window[:n])
	f.window = append(f.window[:0], f.window[n:]...)
	return nil
}

// recycle keeps a merged job's buffers, dropping what they refer to.
func (f *firstPass) recycle(j *p1job) {
	raw := j.raw[:0]
	if cap(raw) > maxKeptBuffer {
		raw = nil // the jobs kept must not hold a window of large entries
	}
	d := j.d
	*j = p1job{raw: raw, d: delta{ops: keep(d.ops), queried: keep(d.queried), swept: keep(d.swept)}}
	f.free = append(f.free, j)
}

// maxKeptBuffer is the largest entry buffer a merged job keeps for reuse.
const maxKeptBuffer = 64 << 10

// keep empties a job's list for reuse, unless it grew large.
func keep[T any](s []T) []T {
	if cap(s) > 1<<12 {
		return nil
	}
	clear(s)
	return s[:0]
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// stop ends the workers, once the analyses in flight are done.
func (f *firstPass) stop() {
	if f.stopped || f.workers == 0 {
		return
	}
	f.stopped = true
	close(f.jobs)
	f.wg.Wait()
}
