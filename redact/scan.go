package redact

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/apitape/apitape/har"
)

// Scanner finds secrets in HAR files and in text (the bash, Go and curl
// that convert writes) with the same rules the Redactor uses, and reports
// where they are, never what they are.
type Scanner struct {
	r *Redactor
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
			out = append(out, findings(name, recs)...)
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if hr.Index() == 0 {
			_, recs := r.outside(hr.Gap(), true, r.check, true)
			out = append(out, findings(name, recs)...)
		}
		_, recs, err := r.entry(hr.Index(), raw, r.check, true)
		if err != nil {
			return out, withFile(err, name)
		}
		out = append(out, findings(name, recs)...)
	}
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
	a.freeText(text, es)
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
// object with a "log" member); scan uses it to pick ScanHAR or ScanText.
func Sniff(br *bufio.Reader) bool {
	head, _ := br.Peek(64 << 10)
	head = bytes.TrimPrefix(head, []byte{0xEF, 0xBB, 0xBF})
	t := bytes.TrimLeft(head, " \t\r\n")
	return len(t) > 0 && t[0] == '{' && bytes.Contains(head, []byte(`"log"`))
}
