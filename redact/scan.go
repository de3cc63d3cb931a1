package redact

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/textenc"
)

// Scanner finds secrets in HAR files and in text (the bash, Go and curl
// that convert writes) with the same rules the Redactor uses, and reports
// where they are, never what they are.
type Scanner struct {
	r *Redactor
	// AllowUninspected leaves bodies that cannot be inspected (invalid
	// base64, a compressed body that does not inflate) out of the
	// findings; by default each is a finding, since a scan that cannot
	// look inside a body cannot call it clean.
	AllowUninspected bool
}

// NewScanner returns a Scanner with the built-in rules plus rules (may be
// nil).
func NewScanner(rules *Rules) (*Scanner, error) {
	r, err := New(Options{Rules: rules})
	if err != nil {
		return nil, err
	}
	return &Scanner{r: r}, nil
}

// ScanHAR scans a HAR with the built-in rules.
func ScanHAR(r io.Reader, name string) ([]Finding, error) {
	s, _ := NewScanner(nil)
	return s.ScanHAR(r, name)
}

// ScanText scans a script or any text with the built-in rules.
func ScanText(r io.Reader, name string) ([]Finding, error) {
	s, _ := NewScanner(nil)
	return s.ScanText(r, name)
}

// ScanHAR reads a HAR one entry at a time. A secret found in one entry is
// also looked for, in all its spellings, in the entries after it.
func (s *Scanner) ScanHAR(rd io.Reader, name string) ([]Finding, error) {
	r := s.r
	r.mu.Lock()
	defer r.mu.Unlock()
	hr := har.NewReader(rd, name)
	var out []Finding
	for {
		raw, err := hr.NextRaw()
		if err == io.EOF {
			_, recs := r.outside(hr.Gap(), hr.Index() < 0, r.check, true)
			out = append(out, s.findings(name, recs)...)
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if hr.Index() == 0 {
			_, recs := r.outside(hr.Gap(), true, r.check, true)
			out = append(out, s.findings(name, recs)...)
		}
		_, recs, err := r.entry(hr.Index(), raw, r.check, true)
		if err != nil {
			return out, withFile(err, name)
		}
		out = append(out, s.findings(name, recs)...)
	}
}

// findings are the secrets in recs and, unless AllowUninspected, what
// could not be inspected.
func (s *Scanner) findings(file string, recs []Record) []Finding {
	out := findings(file, recs)
	if !s.AllowUninspected {
		for _, rec := range recs {
			if rec.NotInspected() {
				out = append(out, Finding{File: file, Entry: rec.Entry, Location: rec.Location, Rule: rec.Rule})
			}
		}
	}
	return out
}

// NotInspected reports a warning about a body that could not be looked
// into at all (not merely one inspected as text): redact and scan fail on
// it unless told to allow it.
func (rec Record) NotInspected() bool {
	return rec.Placeholder == "" && strings.HasPrefix(rec.Rule, "not inspected")
}

// ErrUnreadable is wrapped by the errors of OpenText for input that is
// neither text nor a HAR in an encoding scan knows.
var ErrUnreadable = errors.New("cannot read")

// OpenText returns the text of an input for scanning: UTF-8 as it is
// (a byte order mark dropped), UTF-16 with a byte order mark (PowerShell
// 5's > writes it) decoded, gzip inflated. Anything else that is not text
// is an error wrapping ErrUnreadable: a scan must never call a file it
// could not read clean.
func OpenText(r io.Reader, name string) (*bufio.Reader, error) {
	br, enc, err := textenc.Decode(bufio.NewReaderSize(r, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", name, ErrUnreadable, err)
	}
	if enc == textenc.UTF16 {
		return br, nil
	}
	if head, _ := br.Peek(3); bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
	}
	head, err := br.Peek(64 << 10)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if bytes.IndexByte(head, 0) >= 0 || !utf8.Valid(trimPartialRune(head)) {
		return nil, fmt.Errorf("%s: %w: not UTF-8 text (binary, or UTF-16 without a byte order mark)", name, ErrUnreadable)
	}
	return br, nil
}

// trimPartialRune drops a rune cut off at the end of a peeked buffer.
func trimPartialRune(b []byte) []byte {
	for i := 1; i <= 3 && i <= len(b); i++ {
		if c := b[len(b)-i]; c >= 0xC0 {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			break
		} else if c < 0x80 {
			break
		}
	}
	return b
}

// maxText is the largest text file ScanText reads.
const maxText = 256 << 20

// ScanText scans free text: each finding has the line it starts on.
func (s *Scanner) ScanText(rd io.Reader, name string) ([]Finding, error) {
	data, err := io.ReadAll(io.LimitReader(rd, maxText+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > maxText {
		return nil, fmt.Errorf("%s: larger than %d MiB", name, maxText>>20)
	}
	r := s.r
	r.mu.Lock()
	defer r.mu.Unlock()
	text := string(data)
	a := r.analyzer(r.check, -1, true)
	es := &editSet{}
	// A JSON file (a Postman collection, a Docker or cloud config) is read
	// as JSON, as a HAR body is: a pair's value is no assignment in text.
	if t := strings.TrimLeft(text, " \t\r\n"); t == "" || t[0] != '{' && t[0] != '[' || !a.jsonDoc(text, es) {
		a.freeText(text, es)
	}
	a.sweep(text, es)
	lines := lineStarts(text)
	var out []Finding
	for _, e := range es.e {
		line := sort.Search(len(lines), func(i int) bool { return lines[i] > e.start })
		for _, ri := range e.recs {
			rec := a.recs[ri]
			loc := strings.TrimSpace(rec.Location)
			if loc == "" {
				loc = "text"
			}
			out = append(out, Finding{File: name, Entry: -1, Location: loc, Rule: rec.Rule, Line: line})
		}
	}
	return out, nil
}

// Sniff reports whether the start of a file looks like a HAR (a JSON
// object with a "log" member whose value is an object); scan uses it to
// pick ScanHAR or ScanText. Another JSON file with a "log" member (a
// package.json script, a logging setting) is text, scanned as JSON.
func Sniff(br *bufio.Reader) bool {
	head, _ := br.Peek(64 << 10)
	head = bytes.TrimPrefix(head, []byte{0xEF, 0xBB, 0xBF})
	t := bytes.TrimLeft(head, " \t\r\n")
	if len(t) == 0 || t[0] != '{' {
		return false
	}
	for from := 1; ; { // t[0] is '{'
		i := bytes.Index(t[from:], []byte(`"log"`))
		if i < 0 {
			return false
		}
		i += from
		from = i + 5
		after := bytes.TrimLeft(t[from:], " \t\r\n")
		if t[i-1] != '\\' && len(after) > 0 && after[0] == ':' {
			if v := bytes.TrimLeft(after[1:], " \t\r\n"); len(v) > 0 && v[0] == '{' {
				return true
			}
		}
	}
}
