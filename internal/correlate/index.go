package correlate

import "strings"

// slot holds the current producer of one value; the index points at
// slots so that a new producer takes over without refiling the value.
type slot struct {
	cur   *production
	first int // the entry whose answer first held the value
}

// candidate is one form (raw or percent-encoded) of a value.
type candidate struct {
	form    string
	encoded string
	s       *slot
}

// bucket holds the forms filed under one anchor token that have the same
// length and the same anchor offset: at an occurrence of the anchor, one
// map lookup of the text around it finds the form, however many values
// share the anchor (timestamps of one hour share "2025-03-14T09").
type bucket struct {
	off, n int
	first  *candidate              // the usual case: one form
	more   map[string][]*candidate // forms after the first
}

// offer makes p the producer of its value if the rules allow, and files
// the value's forms in the index the first time it is produced. A --var
// always takes over; detection never replaces a producer whose value was
// used (the client knows it then) or that the user declared.
func (a *analyzer) offer(p *production) {
	// Copies, as in produce: a type or member name cut from an entry's
	// text would keep the whole text alive as long as the value.
	p.typ = strings.Clone(p.typ)
	for i, k := range p.rel {
		p.rel[i] = strings.Clone(k)
	}
	if s := a.values[p.value]; s != nil {
		cur := s.cur
		if p.manual == "" && (cur.v != nil || cur.manual != "" || cur.score > p.score) {
			return
		}
		s.cur = p
		return
	}
	s := &slot{cur: p, first: p.entry}
	a.values[p.value] = s
	a.file(s, p.value, EncodedRaw)
	if enc := EscapeURI(p.value); enc != p.value {
		a.file(s, enc, EncodedURL)
		if low := lowerEscapes(enc); low != enc {
			a.file(s, low, EncodedURL)
		}
	}
}

func (a *analyzer) file(s *slot, form, encoded string) {
	tok, off := anchor(form)
	if tok == "" {
		return
	}
	c := &candidate{form: form, encoded: encoded, s: s}
	for _, b := range a.index[tok] {
		if b.off == off && b.n == len(form) {
			if b.more == nil {
				b.more = map[string][]*candidate{}
			}
			b.more[form] = append(b.more[form], c)
			return
		}
	}
	a.index[tok] = append(a.index[tok], &bucket{off: off, n: len(form), first: c})
}

// lowerEscapes writes the hex digits of percent-escapes in lower case, as
// some clients do. s is EscapeURI's: two hex digits follow each %, and
// c|0x20 lowers A-F and keeps 0-9.
func lowerEscapes(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1], b[i+2] = b[i+1]|0x20, b[i+2]|0x20
			i += 2
		}
	}
	return string(b)
}
