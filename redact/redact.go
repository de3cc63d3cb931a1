// Package redact makes HAR files, and the scripts made from them, safe to
// share: it replaces every secret with a keyed placeholder,
// REDACTED-<class>-<8 letters> (see internal/placeholder), and changes nothing
// else, byte for byte, so the file stays valid, diffs cleanly and still
// replays once the secrets are supplied again.
//
// # How secrets are found
//
// Structure first: every place a HAR can carry a credential is analysed by
// what it is (a header by its name, a cookie by its name, a query or form
// parameter, a JSON or YAML key, a multipart part, a URL's userinfo, a
// base64 or gzip body, a WebSocket frame). Then token detectors over every
// string after decoding (Rancher tokens, JWT signatures, PEM private keys,
// AWS, GitHub, GitLab, Slack, DigitalOcean and GCP tokens, Basic
// credentials, random values next to secret-like names). Last, a sweep for
// every secret value found anywhere, in all its spellings. Names are always
// compared literally and without regard to case.
//
// # Placeholders
//
// A placeholder is the HMAC-SHA256 of the value under a key: random per run
// unless a key file makes it stable across files. Equal values get equal
// placeholders (the CSRF cookie and the X-Api-Csrf header stay equal, so a
// replay passes the server's check); the non-secret part of a value stays
// (the Bearer scheme, a Rancher token's name, a JWT's header and claims,
// PEM armour). Placeholders are never flagged again, so redacting twice
// changes nothing.
//
// # Sizes
//
// content.size follows the redacted text (it moves by the change in the
// text's length), and so does a bodySize that was that text's length; a
// bodySize that counted compressed wire bytes, and headersSize, stay as
// recorded.
package redact

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"unsafe"

	"github.com/apitape/apitape/har"
)

// Options configure a Redactor.
type Options struct {
	// Key is the HMAC key of the placeholders; empty means a random key
	// for this Redactor (placeholders then differ between runs).
	Key []byte
	// Rules add names and patterns to the built-in ones.
	Rules *Rules
	// Keep lists names (headers, cookies, parameters, keys) never to
	// redact; the check after redaction still reports them.
	Keep []string
	// Strict replaces whole JWTs, not just their signatures.
	Strict bool
}

// Record is one redaction (or, with an empty Placeholder, a warning about
// something that could not be inspected). It never holds the value.
type Record struct {
	Entry       int    `json:"entry"`
	Location    string `json:"location"`
	Rule        string `json:"rule"`
	Class       string `json:"class,omitempty"`
	Placeholder string `json:"placeholder,omitempty"`
	Length      int    `json:"length,omitempty"`
}

// Finding is a secret found by a scan. It never holds the value.
type Finding struct {
	File     string `json:"file"`
	Entry    int    `json:"entry"` // -1 outside HAR entries
	Location string `json:"location"`
	Rule     string `json:"rule"`
	Line     int    `json:"line,omitempty"` // text files
}

func (f Finding) String() string {
	switch {
	case f.Line > 0:
		return fmt.Sprintf("%s:%d: %s: %s", f.File, f.Line, f.Location, f.Rule)
	case f.Entry >= 0:
		return fmt.Sprintf("%s: entry %d: %s: %s", f.File, f.Entry, f.Location, f.Rule)
	}
	return fmt.Sprintf("%s: %s: %s", f.File, f.Location, f.Rule)
}

// Redactor redacts entries and files. It is safe for concurrent use; it
// remembers the secrets it has seen, so that their echoes in later entries
// are found too.
type Redactor struct {
	mu    sync.Mutex
	pol   *policy // with Keep
	check *policy // without Keep: what the check after redaction enforces
	ks    *keystore
	// polMemo and checkMemo serve pol and check on the goroutine that
	// holds mu (see memos).
	polMemo, checkMemo *memos
}

// New returns a Redactor.
func New(opts Options) (*Redactor, error) {
	key := opts.Key
	if len(key) == 0 {
		key = make([]byte, 32)
		rand.Read(key)
	}
	if opts.Rules != nil {
		for i, p := range opts.Rules.Patterns {
			if p == nil || p.re == nil {
				return nil, fmt.Errorf("rules: patterns[%d]: not compiled (use ParseRules or LoadRules)", i)
			}
		}
	}
	r := &Redactor{
		pol:   newPolicy(opts.Rules, opts.Keep, opts.Strict),
		check: newPolicy(opts.Rules, nil, opts.Strict),
		ks:    newKeystore(append([]byte(nil), key...)),
	}
	r.polMemo = newMemos()
	r.checkMemo = r.polMemo
	if len(opts.Keep) > 0 {
		// Keep changes what the analysis finds: the check must not take
		// the redaction's word for a string.
		r.checkMemo = newMemos()
	}
	return r, nil
}

func (r *Redactor) analyzer(p *policy, entry int, learn bool) *analyzer {
	return &analyzer{p: p, ks: r.ks, learn: learn, entry: entry, m: r.memoFor(p)}
}

func (r *Redactor) memoFor(p *policy) *memos {
	if p == r.check {
		return r.checkMemo
	}
	return r.polMemo
}

// analyzers are reused from entry to entry: their paths, records and
// edit sets grew afresh for every entry.
var analyzers = sync.Pool{New: func() any { return new(analyzer) }}

// recycle drops what the analyzer refers to (the entry's text, records)
// and gives it back.
func (a *analyzer) recycle() {
	clear(a.path[:cap(a.path)])
	clear(a.recs[:cap(a.recs)])
	clear(a.warns[:cap(a.warns)])
	*a = analyzer{free: a.free, fns: a.fns, path: a.path[:0], recs: a.recs[:0], warns: a.warns[:0]}
	analyzers.Put(a)
}

// Entry redacts one entry's JSON text (as har.Reader.NextRaw returns it)
// and returns the redacted text and what was redacted. Secrets it finds
// are remembered for the entries that follow; Stream also goes back to the
// ones before.
func (r *Redactor) Entry(index int, raw []byte) (out []byte, recs []Record, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.entry(index, raw, r.pol, true)
}

func (r *Redactor) entry(index int, raw []byte, p *policy, learn bool) ([]byte, []Record, error) {
	red, recs, err := r.entryEdits(index, raw, p, learn, nil, nil)
	if red.es == nil {
		return nil, recs, err
	}
	return red.es.applyBytes(red.doc), recs, nil
}

// redacted is an entry's text and the edits to make in it: the first
// pass writes it out piece by piece rather than build it (an entry with a
// 100 MB body is not held twice).
type redacted struct {
	doc string // the entry as read, which it must outlive
	es  *editSet
}

func (red redacted) writeTo(w *bufio.Writer) error {
	last := 0
	for _, e := range red.es.e {
		w.WriteString(red.doc[last:e.start])
		w.WriteString(e.text)
		last = e.end
	}
	_, err := w.WriteString(red.doc[last:])
	return err
}

// entryEdits is entry without making the edits (a check has none), with
// the memos m (nil: the Redactor's, for the goroutine that holds mu) and
// the overlay ov (nil: the keystore itself).
func (r *Redactor) entryEdits(index int, raw []byte, p *policy, learn bool, m *memos, ov *overlay) (redacted, []Record, error) {
	// Read in place, not copied: nothing keeps a string of doc past this
	// call (the keystore, the memos and the overlay keep copies; records
	// are built afresh).
	doc := unsafe.String(unsafe.SliceData(raw), len(raw))
	ar := arenas.Get().(*jarena)
	defer func() { ar.reset(); arenas.Put(ar) }()
	root, err := parseJSONText(doc, raw, ar)
	if err != nil {
		var se *jsonSyntaxError
		errors.As(err, &se)
		return redacted{}, nil, &har.Error{Entry: index, Offset: int64(se.Offset), Msg: "malformed JSON: " + se.Msg}
	}
	if root.kind != '{' {
		return redacted{}, nil, &har.Error{Entry: index, Offset: -1, Msg: "an entry must be a JSON object"}
	}
	if ov != nil {
		ov.acquire()
		defer ov.release()
	}
	a := analyzers.Get().(*analyzer)
	defer a.recycle()
	*a = analyzer{p: p, ks: r.ks, ov: ov, learn: learn, entry: index, m: r.memoFor(p), ar: ar,
		free: a.free, fns: a.fns, path: a.path[:0], recs: a.recs[:0], warns: a.warns[:0]}
	if m != nil {
		a.m = m
	}
	es := &editSet{}
	a.harEntry(doc, &root, es)
	clear(a.path[:cap(a.path)]) // names in a decoded body: let it go
	if p == r.check {
		return redacted{}, a.result(es), nil // a check: only the findings matter
	}
	return redacted{doc, es}, a.result(es), nil
}

// result returns the records of the edits that were made (a hit whose
// span another rule had claimed is not reported), then the warnings.
func (a *analyzer) result(es *editSet) []Record {
	n := len(a.warns)
	for _, e := range es.e {
		n += len(e.recs)
	}
	if n == 0 {
		return nil
	}
	out := make([]Record, 0, n)
	for _, e := range es.e {
		for _, i := range e.recs {
			out = append(out, a.recs[i])
		}
	}
	return append(out, a.warns...)
}

// Check reports what is still secret in an entry's JSON text: what the
// rules without Keep find, and every secret this Redactor has seen. An
// entry Entry returned has no findings unless Keep left some.
func (r *Redactor) Check(index int, raw []byte) ([]Finding, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, recs, err := r.entry(index, raw, r.check, false)
	return findings("", recs), err
}

func findings(file string, recs []Record) []Finding {
	var out []Finding
	for _, rec := range recs {
		if rec.Placeholder != "" {
			out = append(out, Finding{File: file, Entry: rec.Entry, Location: rec.Location, Rule: rec.Rule})
		}
	}
	return out
}

// StreamOptions configure Stream.
type StreamOptions struct {
	Name     string       // the input's name in errors ("-" for stdin)
	OnRecord func(Record) // called for each redaction and warning, in order
	// Progress, when set, is called after each entry of each pass (1 and
	// 2) with the entries done and the input bytes read in that pass.
	Progress func(pass, entries int, bytes int64)
}

// Summary is what Stream did.
type Summary struct {
	Entries    int            `json:"entries"`
	Redactions int            `json:"redactions"`
	Classes    map[string]int `json:"classes"`
	Warnings   int            `json:"warnings"`
	// Residual is what the check of the output still found: secrets under
	// names kept with Options.Keep, or a redaction that failed. The output
	// should not be shared while it is not empty.
	Residual []Finding `json:"residual,omitempty"`
}

// Stream redacts a whole HAR file from in to out. It reads in twice: once
// to redact each entry and learn every secret, keeping the result in a
// temporary file (mode 0600), and once to catch echoes of secrets that
// appear before the secret does: an entry holding a value learned only
// later is redacted again, every other entry is copied from the first
// pass (the second reading takes only the text between entries, and the
// entries to redact again). The first pass analyses entries on several
// goroutines and merges them in order, with the same result as one after
// the other (see overlay.go). Memory holds a bounded window of entries
// (64, or 4 MiB; an entry over 1 MiB is handled alone, its text once and
// its decoded body once) and the secrets, never the file.
// Everything outside the entries (pages, creator, comments) is redacted
// too, every byte that is not secret is copied unchanged, and every
// written entry is checked again (see Check and Summary.Residual).
func (r *Redactor) Stream(in io.ReadSeeker, out io.Writer, opts StreamOptions) (Summary, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	name := opts.Name
	if name == "" {
		name = "-"
	}
	sum := Summary{Classes: map[string]int{}}
	start, err := in.Seek(0, io.SeekCurrent)
	if err != nil {
		return sum, err
	}
	spool, err := os.CreateTemp("", "apitape-redact-*")
	if err != nil {
		return sum, err
	}
	// Unlinked at once (the open file stays readable): the first pass may
	// hold a secret learned only later, and a process ended mid-stream
	// must leave none of it in the temporary folder.
	os.Remove(spool.Name())
	defer func() {
		spool.Close()
		os.Remove(spool.Name())
	}()

	// Pass 1: redact, learn, spool.
	sw := bufio.NewWriterSize(spool, 256<<10)
	spoolEnc := gob.NewEncoder(sw)
	progress := opts.Progress
	if progress == nil {
		progress = func(int, int, int64) {}
	}
	cin := &countingReader{r: in}
	rd := har.NewReader(cin, name)
	largest := 0
	fp := newFirstPass(r, func(index int, f frame, red redacted) error {
		largest = max(largest, f.Raw)
		f.Len = red.es.size(red.doc)
		if err := spoolEnc.Encode(f); err != nil {
			return err
		}
		if err := red.writeTo(sw); err != nil {
			return err
		}
		progress(1, index+1, cin.n)
		return nil
	})
	defer fp.stop()
	for {
		// Not Next: an entry is decoded (checked as Next checks it) by
		// the goroutine that analyses it.
		raw, err := rd.NextRaw()
		if err == io.EOF {
			break
		}
		if err != nil {
			if ferr := fp.flush(); ferr != nil {
				return sum, withFile(ferr, name)
			}
			return sum, err
		}
		if rd.Index() == 0 {
			r.outside(rd.Gap(), true, r.pol, true)
		}
		if err := fp.add(rd.Index(), raw, rd.EntryError("", "").Offset); err != nil {
			return sum, withFile(err, name)
		}
	}
	if err := fp.flush(); err != nil {
		return sum, withFile(err, name)
	}
	fp.stop()
	entries := rd.Index() + 1
	r.outside(rd.Gap(), entries == 0, r.pol, true)
	cutOff, cut := rd.TailCut()
	rd = nil
	if largest >= hugeEntry {
		// The reader's buffer and the last body decoded, each as large as
		// the largest entry, are garbage now; left to the collector's
		// pace, the second pass would add its own before they go.
		debug.FreeOSMemory()
	}
	progress(1, entries, cin.n) // the text after the entries too
	if err := sw.Flush(); err != nil {
		return sum, err
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return sum, err
	}
	if _, err := in.Seek(start, io.SeekStart); err != nil {
		return sum, err
	}

	// Pass 2: write, and check what is written. The input is read again
	// for the text between the entries, and for an entry redacted again;
	// the spool has the rest.
	bw := bufio.NewWriterSize(out, 256<<10)
	sr := bufio.NewReaderSize(spool, 256<<10)
	spoolDec := gob.NewDecoder(sr) // reads no further than each frame (sr is an io.ByteReader)
	ir := bufio.NewReaderSize(in, 256<<10)
	var pos int64 // read from ir
	var small []byte
	if b, _ := ir.Peek(3); string(b) == "\xef\xbb\xbf" {
		ir.Discard(3) // the reader drops a byte order mark, and counts it
		pos = 3
	}
	next := func(n int64) ([]byte, error) { // the input's next n bytes
		if n < 0 {
			return nil, fmt.Errorf("%s: changed while it was redacted", name)
		}
		b := small
		if n > maxKeptBuffer {
			b = make([]byte, n)
		} else if int64(cap(small)) < n {
			small = make([]byte, n)
			b = small
		}
		b = b[:n]
		_, err := io.ReadFull(ir, b)
		pos += n
		return b, err
	}
	emit := func(recs []Record) {
		for _, rec := range recs {
			if rec.Placeholder == "" {
				sum.Warnings++
			} else {
				sum.Redactions++
				sum.Classes[rec.Class]++
			}
			if opts.OnRecord != nil {
				opts.OnRecord(rec)
			}
		}
	}
	var headRes []Finding
	residual := func(b []byte, entry int, head bool) {
		var recs []Record
		if entry >= 0 {
			_, recs, _ = r.entry(entry, b, r.check, false)
		} else {
			_, recs = r.outside(b, head, r.check, false)
		}
		for _, f := range findings(name, recs) {
			f.Entry = entry
			headRes = append(headRes, f)
		}
	}
	// Checking a written entry is a third of the stream's work and changes
	// nothing, so it runs beside the writing (see checker).
	ck := newChecker(r, name)
	defer ck.stop()
	for index := range entries {
		var f frame
		if err := spoolDec.Decode(&f); err != nil {
			return sum, fmt.Errorf("redact: spool: %w", err)
		}
		gap, err := next(f.Off - pos)
		if err != nil {
			return sum, err
		}
		if index == 0 {
			ck.mu.Lock()
			out, recs := r.outside(gap, true, r.pol, true)
			ck.mu.Unlock()
			emit(recs)
			residual(out, -1, true)
			gap = out
		}
		bw.Write(gap)
		red := make([]byte, f.Len)
		if _, err := io.ReadFull(sr, red); err != nil {
			return sum, fmt.Errorf("redact: spool: %w", err)
		}
		gen, recs := f.Gen, f.Recs
		// A value learned from this entry on may still be in what the
		// first pass wrote (an echo before the value was found), in any
		// spelling the sweep knows; a gzip body ("H4sI" in base64) could
		// hide one from this quick look.
		if gen < len(r.ks.order) && (r.ks.learnedSince(gen, red) || bytes.Contains(red, []byte(`"H4sI`)) || mayHideEcho(red)) {
			raw, err := next(int64(f.Raw))
			if err != nil {
				return sum, err
			}
			ck.mu.Lock()
			red, recs, err = r.entry(index, raw, r.pol, true)
			ck.mu.Unlock()
			if err != nil {
				return sum, withFile(err, name)
			}
		} else if _, err := ir.Discard(f.Raw); err != nil {
			return sum, err
		} else {
			pos += int64(f.Raw)
		}
		emit(recs)
		ck.check(index, red)
		bw.Write(red)
		sum.Entries++
		progress(2, sum.Entries, pos)
	}
	// The text after the entries (all of it without entries); only the
	// start of a huge tail (a 1 GiB log.comment), which the reader cut:
	// the rest is copied as it is, and outside warned that it was not
	// inspected.
	var gap []byte
	if cut {
		gap, err = next(cutOff - pos)
	} else {
		gap, err = io.ReadAll(ir)
	}
	if err != nil {
		return sum, err
	}
	whole := entries == 0
	ck.mu.Lock()
	tail, recs := r.outside(gap, whole, r.pol, true)
	ck.mu.Unlock()
	emit(recs)
	entryRes := ck.stop()
	n := len(headRes)
	residual(tail, -1, whole)
	sum.Residual = append(append(headRes[:n:n], entryRes...), headRes[n:]...)
	bw.Write(tail)
	if cut {
		if _, err := io.Copy(bw, ir); err != nil {
			return sum, err
		}
	}
	return sum, bw.Flush()
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// checker checks written entries on other goroutines while Stream goes
// on. Checks only read the keystore; Stream holds mu while it may learn.
// The entries in flight are bounded in bytes, so a file of large entries
// does not pile them up in memory.
type checker struct {
	r    *Redactor
	name string
	mu   sync.RWMutex // the keystore: read by checks, written under Lock
	jobs chan checkJob
	wg   sync.WaitGroup

	bmu      sync.Mutex
	bcond    *sync.Cond
	inflight int
	res      []Finding
	stopped  bool
}

type checkJob struct {
	entry int
	red   []byte
}

// maxInflight bounds the bytes of entries waiting for their check (one
// larger entry is checked alone).
const maxInflight = 8 << 20

func newChecker(r *Redactor, name string) *checker {
	c := &checker{r: r, name: name, jobs: make(chan checkJob, 64)}
	c.bcond = sync.NewCond(&c.bmu)
	workers := max(1, min(runtime.GOMAXPROCS(0), 4))
	for range workers {
		c.wg.Add(1)
		go c.work(r.checkMemo.clone())
	}
	return c
}

func (c *checker) check(entry int, red []byte) {
	c.bmu.Lock()
	for c.inflight > 0 && c.inflight+len(red) > maxInflight {
		c.bcond.Wait()
	}
	c.inflight += len(red)
	c.bmu.Unlock()
	c.jobs <- checkJob{entry, red}
}

func (c *checker) work(m *memos) {
	defer c.wg.Done()
	for j := range c.jobs {
		c.mu.RLock()
		_, recs, _ := c.r.entryEdits(j.entry, j.red, c.r.check, false, m, nil)
		c.mu.RUnlock()
		fs := findings(c.name, recs)
		c.bmu.Lock()
		for _, f := range fs {
			f.Entry = j.entry
			c.res = append(c.res, f)
		}
		c.inflight -= len(j.red)
		c.bcond.Broadcast()
		c.bmu.Unlock()
	}
}

// stop waits for the checks and returns their findings in entry order.
func (c *checker) stop() []Finding {
	if c.stopped {
		return nil
	}
	c.stopped = true
	close(c.jobs)
	c.wg.Wait()
	slices.SortStableFunc(c.res, func(x, y Finding) int { return x.Entry - y.Entry })
	return c.res
}

// hugeEntry is the size of an entry around which Stream has the garbage
// collected at once (see firstPass.add): buffers as large as the entry
// fall free at known points, and at the collector's pace the next ones
// came before they went.
const hugeEntry = 16 << 20

// frame is one entry in the spool between the passes: the number of
// secrets known before it, the length of its redacted text, which follows
// the frame as it is (through gob it was copied twice more, which a
// 100 MB body felt), its records, and where it lies in the input (from
// Off, Raw bytes).
type frame struct {
	Gen, Len int
	Recs     []Record
	Off      int64
	Raw      int
}

func withFile(err error, name string) error {
	var he *har.Error
	if errors.As(err, &he) {
		he.File = name
	}
	return err
}

// entriesPrefix is what precedes a tail gap in a whole document.
const entriesPrefix = `{"log":{"entries":[`

// outside redacts the text around the entries: head (everything up to and
// including "entries":[), or the tail (from the closing ] on), or, for a
// file without entries, all of it.
func (r *Redactor) outside(gap []byte, head bool, p *policy, learn bool) ([]byte, []Record) {
	text := string(gap)
	if len(text) == 0 {
		return gap, nil
	}
	var doc string
	off := 0
	switch {
	case head && hasClosedEntries(text):
		doc = text // the whole file: no entries
	case head:
		doc = text + "]}}"
	default:
		doc, off = entriesPrefix+text, len(entriesPrefix)
	}
	a := r.analyzer(p, -1, learn)
	es := &editSet{}
	root, err := parseJSON(doc)
	if err == nil {
		a.walk(doc, &root, es, false)
	} else {
		// Only the start of a tail longer than har.MaxTail is here.
		a.freeText(doc, es)
		a.warn(fmt.Sprintf("more than %d MiB after log.entries: only the first %d MiB inspected", har.MaxTail>>20, har.MaxTail>>20))
	}
	red := es.apply(doc)
	// Edits lie inside string literals of the gap, so the added closing
	// or opening text is unchanged at the ends.
	if head && doc != text {
		red = red[:len(red)-3]
	}
	return []byte(red[off:]), a.result(es)
}

// hasClosedEntries reports a head gap that already holds the whole file:
// the reader returns the file as one gap when log.entries is empty.
func hasClosedEntries(text string) bool {
	_, err := parseJSON(text)
	return err == nil
}
