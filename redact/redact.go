// Package redact makes HAR files, and the scripts made from them, safe to
// share: it replaces every secret with a keyed placeholder,
// REDACTED-<class>-<8 hex> (see internal/placeholder), and changes nothing
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
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
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
	return &Redactor{
		pol:   newPolicy(opts.Rules, opts.Keep, opts.Strict),
		check: newPolicy(opts.Rules, nil, opts.Strict),
		ks:    newKeystore(append([]byte(nil), key...)),
	}, nil
}

func (r *Redactor) analyzer(p *policy, entry int, learn bool) *analyzer {
	return &analyzer{p: p, ks: r.ks, learn: learn, entry: entry}
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
	// No copy of the entry: nothing keeps doc, or a part of it, beyond
	// this call (the keystore copies the secrets it remembers).
	doc := unsafe.String(unsafe.SliceData(raw), len(raw))
	root, err := parseJSON(doc)
	if err != nil {
		var se *jsonSyntaxError
		errors.As(err, &se)
		return nil, nil, &har.Error{Entry: index, Offset: int64(se.Offset), Msg: "malformed JSON: " + se.Msg}
	}
	if root.kind != '{' {
		return nil, nil, &har.Error{Entry: index, Offset: -1, Msg: "an entry must be a JSON object"}
	}
	a := r.analyzer(p, index, learn)
	es := &editSet{}
	a.harEntry(doc, &root, es)
	if p == r.check {
		return nil, a.result(es), nil // a check: only the findings matter
	}
	return es.applyBytes(doc), a.result(es), nil
}

// result returns the records of the edits that were made (a hit whose
// span another rule had claimed is not reported), then the warnings.
func (a *analyzer) result(es *editSet) []Record {
	var out []Record
	for _, i := range es.recs() {
		out = append(out, a.recs[i])
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
// pass. Memory holds one entry and the secrets, never the file.
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
	defer func() {
		spool.Close()
		os.Remove(spool.Name())
	}()

	// Pass 1: redact, learn, spool.
	sw := bufio.NewWriterSize(spool, 256<<10)
	rd := har.NewReader(in, name)
	for {
		_, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return sum, err
		}
		if rd.Index() == 0 {
			r.outside(rd.Gap(), true, r.pol, true)
		}
		gen := len(r.ks.order)
		red, recs, err := r.entry(rd.Index(), rd.Raw(), r.pol, true)
		if err != nil {
			return sum, withFile(err, name)
		}
		if err := writeFrame(sw, gen, red, recs); err != nil {
			return sum, err
		}
	}
	r.outside(rd.Gap(), rd.Index() < 0, r.pol, true)
	if err := sw.Flush(); err != nil {
		return sum, err
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return sum, err
	}
	if _, err := in.Seek(start, io.SeekStart); err != nil {
		return sum, err
	}

	// Pass 2: write, and check what is written.
	bw := bufio.NewWriterSize(out, 256<<10)
	sr := bufio.NewReaderSize(spool, 256<<10)
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
	residual := func(b []byte, entry int, head bool) {
		var recs []Record
		if entry >= 0 {
			_, recs, _ = r.entry(entry, b, r.check, false)
		} else {
			_, recs = r.outside(b, head, r.check, false)
		}
		for _, f := range findings(name, recs) {
			f.Entry = entry
			sum.Residual = append(sum.Residual, f)
		}
	}
	rd = har.NewReader(in, name)
	for {
		raw, err := rd.NextRaw()
		gap := rd.Gap()
		if err == io.EOF {
			whole := rd.Index() < 0
			out, recs := r.outside(gap, whole, r.pol, true)
			emit(recs)
			residual(out, -1, whole)
			bw.Write(out)
			break
		}
		if err != nil {
			return sum, err
		}
		if rd.Index() == 0 {
			out, recs := r.outside(gap, true, r.pol, true)
			emit(recs)
			residual(out, -1, true)
			gap = out
		}
		bw.Write(gap)
		gen, red, recs, err := readFrame(sr)
		if err != nil {
			return sum, fmt.Errorf("redact: spool: %w", err)
		}
		// A value learned from this entry on may still be in what the
		// first pass wrote (an echo before the value was found), in any
		// spelling the sweep knows; a gzip body ("H4sI" in base64) could
		// hide one from this quick look.
		if gen < len(r.ks.order) && (r.ks.learnedSince(gen, unsafe.String(unsafe.SliceData(red), len(red))) || bytes.Contains(red, []byte(`"H4sI`)) || mayHideEcho(red)) {
			if red, recs, err = r.entry(rd.Index(), raw, r.pol, true); err != nil {
				return sum, withFile(err, name)
			}
		}
		emit(recs)
		residual(red, rd.Index(), false)
		bw.Write(red)
		sum.Entries++
	}
	return sum, bw.Flush()
}

// writeFrame spools one redacted entry: the number of secrets known before
// it, its text and its records.
func writeFrame(w *bufio.Writer, gen int, red []byte, recs []Record) error {
	rj, err := json.Marshal(recs)
	if err != nil {
		return err
	}
	var hdr [12]byte
	binary.LittleEndian.PutUint32(hdr[0:], uint32(gen))
	binary.LittleEndian.PutUint32(hdr[4:], uint32(len(red)))
	binary.LittleEndian.PutUint32(hdr[8:], uint32(len(rj)))
	w.Write(hdr[:])
	w.Write(red)
	_, err = w.Write(rj)
	return err
}

func readFrame(r *bufio.Reader) (gen int, red []byte, recs []Record, err error) {
	var hdr [12]byte
	if _, err = io.ReadFull(r, hdr[:]); err != nil {
		return
	}
	gen = int(binary.LittleEndian.Uint32(hdr[0:]))
	red = make([]byte, binary.LittleEndian.Uint32(hdr[4:]))
	if _, err = io.ReadFull(r, red); err != nil {
		return
	}
	rj := make([]byte, binary.LittleEndian.Uint32(hdr[8:]))
	if _, err = io.ReadFull(r, rj); err != nil {
		return
	}
	err = json.Unmarshal(rj, &recs)
	return
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
		a.freeText(doc, es)
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
