package redact

import (
	"sort"
	"strings"
)

// edit replaces s[start:end] of one layer's string with text. recs are the
// report records it carries (indexes into the analyzer's records), so a
// finding can be placed on a line of the outermost text.
type edit struct {
	start, end int
	text       string
	recs       []int32
}

// editSet is the edits of one string, sorted and never overlapping: the
// first analysis to claim a span wins, so structure (a header's name rule)
// goes before detectors, and detectors before the known-value sweep.
type editSet struct{ e []edit }

// free reports whether [start, end) overlaps no edit yet.
func (es *editSet) free(start, end int) bool {
	i := sort.Search(len(es.e), func(i int) bool { return es.e[i].end > start })
	return i == len(es.e) || es.e[i].start >= end
}

// add inserts an edit unless it overlaps one already there.
func (es *editSet) add(e edit) bool {
	if e.start > e.end || !es.free(e.start, e.end) {
		return false
	}
	i := sort.Search(len(es.e), func(i int) bool { return es.e[i].start >= e.end })
	es.e = append(es.e, edit{})
	copy(es.e[i+1:], es.e[i:])
	es.e[i] = e
	return true
}

// addAll inserts inner edits made on a substring that starts at off.
func (es *editSet) addAll(inner *editSet, off int) {
	for _, e := range inner.e {
		e.start += off
		e.end += off
		es.add(e)
	}
}

func (es *editSet) empty() bool { return len(es.e) == 0 }

// recs returns every record index the edits carry.
func (es *editSet) recs() []int32 {
	var r []int32
	for _, e := range es.e {
		r = append(r, e.recs...)
	}
	return r
}

// apply returns s with the edits made.
func (es *editSet) apply(s string) string {
	if len(es.e) == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for _, e := range es.e {
		b.WriteString(s[last:e.start])
		b.WriteString(e.text)
		last = e.end
	}
	b.WriteString(s[last:])
	return b.String()
}

// size is the length of s with the edits made.
func (es *editSet) size(s string) int {
	n := len(s)
	for _, e := range es.e {
		n += len(e.text) - (e.end - e.start)
	}
	return n
}

// applyBytes is apply into a new byte slice.
func (es *editSet) applyBytes(s string) []byte {
	b := make([]byte, 0, es.size(s))
	last := 0
	for _, e := range es.e {
		b = append(b, s[last:e.start]...)
		b = append(b, e.text...)
		last = e.end
	}
	return append(b, s[last:]...)
}

// whole collapses the edits into one that replaces all of the encoded
// string (length n) with encode(decoded with the edits made): for layers
// such as base64 where a change cannot be made in place.
func (es *editSet) whole(decoded string, n int, encode func(string) string) edit {
	return edit{start: 0, end: n, text: encode(es.apply(decoded)), recs: es.recs()}
}

// rawPositions maps decoded offsets to encoded ones (see escMap.rawPos);
// addMapped asks for offsets in increasing order, which lets a JSON
// string's map be read off its text (jsonCursor) instead of kept.
type rawPositions interface {
	rawPos(i int) (pos int, inside bool)
}

// addMapped moves edits made on a decoded string back onto its encoded
// text, escaping each replacement for that encoding, and adds them, moved
// by off, to dst. It reports false (dst unchanged) when an edit boundary
// falls inside one escape; the caller then re-encodes the string whole.
// positions gives a fresh map for each pass over the edits.
func (es *editSet) addMapped(dst *editSet, positions func() rawPositions, escape func(string) string, off int) bool {
	m := positions()
	for _, e := range es.e {
		_, in1 := m.rawPos(e.start)
		_, in2 := m.rawPos(e.end)
		if in1 || in2 {
			return false
		}
	}
	m = positions()
	for _, e := range es.e {
		e.start, _ = m.rawPos(e.start)
		e.end, _ = m.rawPos(e.end)
		e.text = escape(e.text)
		e.start += off
		e.end += off
		dst.add(e)
	}
	return true
}
