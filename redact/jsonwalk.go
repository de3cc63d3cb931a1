package redact

// A small JSON reader that keeps where every value sits in the text. The
// redactor needs byte spans, not values: it changes the bytes of one string
// and leaves every other byte (key order, spacing, number spelling, escapes
// it did not touch) exactly as it was, which encoding/json cannot do.

import (
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/apitape/apitape/har"
)

// jnode is one JSON value and where it is in its text.
type jnode struct {
	kind   byte // '{' object, '[' array, '"' string, 'n' number, 't' true, 'f' false, '0' null
	start  int  // offset of the first byte of the value (the quote for strings)
	end    int  // offset after the last byte
	key    string
	kstart int32 // where the member name's literal starts (its quote), in an object
	kids   []jnode
}

// str returns the decoded value of a string node.
func (n *jnode) str(doc string) jstring { return decodeJSONString(doc[n.start+1 : n.end-1]) }

// member returns the object member with the given name.
func (n *jnode) member(name string) *jnode {
	for i := range n.kids {
		if n.kids[i].key == name {
			return &n.kids[i]
		}
	}
	return nil
}

// memberString returns the decoded value of a string member, or "".
func (n *jnode) memberString(doc, name string) (string, bool) {
	m := n.member(name)
	if m == nil || m.kind != '"' {
		return "", false
	}
	return m.str(doc).s, true
}

// jsonSyntaxError is a malformed document. Msg never quotes the text: the
// text may be a secret.
type jsonSyntaxError struct {
	Offset int
	Msg    string
}

func (e *jsonSyntaxError) Error() string {
	return "offset " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

type jparser struct {
	s       string
	pos     int
	depth   int
	scratch []jnode // children of the open containers, until each closes
	chunk   []jnode // where closed containers' children are kept, in runs
	ar      *jarena
	escaped bool // skipString saw a backslash
}

// jarena keeps the nodes of the trees parsed for one entry, so the next
// entry reuses them: a tree is dropped when its entry is done, and
// allocating its nodes afresh was most of the redactor's allocation.
type jarena struct {
	chunks  [][]jnode
	i       int // the chunk being filled
	scratch []jnode
}

// maxArenaNodes bounds what an arena keeps between entries: one huge body
// must not hold its tree's memory for the rest of the file.
const maxArenaNodes = 1 << 18

// maxArenaDoc is the longest document parsed into an entry's arena.
const maxArenaDoc = 1 << 20

// reset makes every node free again; nothing may use the trees after.
func (ar *jarena) reset() {
	total := 0
	for i, c := range ar.chunks {
		total += cap(c)
		if total > maxArenaNodes {
			ar.chunks = ar.chunks[:i]
			break
		}
		clear(c) // drop references into the entry's text
		ar.chunks[i] = c[:0]
	}
	ar.i = 0
	if cap(ar.scratch) > 1<<14 {
		ar.scratch = nil
	}
	clear(ar.scratch[:cap(ar.scratch)]) // what a syntax error left
	ar.scratch = ar.scratch[:0]
}

// take returns k nodes' room, len 0, cap k.
func (ar *jarena) take(k int) []jnode {
	for ; ar.i < len(ar.chunks); ar.i++ {
		c := ar.chunks[ar.i]
		if cap(c)-len(c) >= k {
			ar.chunks[ar.i] = c[:len(c)+k]
			return c[len(c) : len(c) : len(c)+k]
		}
	}
	size := 256
	if n := len(ar.chunks); n > 0 {
		size = min(4096, 2*cap(ar.chunks[n-1]))
	}
	c := make([]jnode, k, max(size, k))
	ar.chunks = append(ar.chunks, c)
	ar.i = len(ar.chunks) - 1
	return c[:0:k]
}

var arenas = sync.Pool{New: func() any { return new(jarena) }}

// parseJSON parses one JSON document (surrounding whitespace allowed).
func parseJSON(s string) (jnode, error) { return parseJSONIn(s, nil) }

// parseJSONIn parses with nodes from ar (nil: from the heap).
func parseJSONIn(s string, ar *jarena) (jnode, error) {
	p := jparser{s: s, ar: ar}
	if ar != nil {
		p.scratch = ar.scratch
		defer func() { ar.scratch = p.scratch[:0] }()
	}
	p.space()
	n, err := p.value()
	if err != nil {
		return jnode{}, err
	}
	p.space()
	if p.pos != len(s) {
		return jnode{}, p.errorf("unexpected data after the document")
	}
	return n, nil
}

func (p *jparser) errorf(msg string) error { return &jsonSyntaxError{Offset: p.pos, Msg: msg} }

func (p *jparser) space() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jparser) value() (jnode, error) {
	if p.pos >= len(p.s) {
		return jnode{}, p.errorf("unexpected end of input")
	}
	start := p.pos
	switch c := p.s[p.pos]; c {
	case '{':
		return p.object()
	case '[':
		return p.array()
	case '"':
		if err := p.skipString(); err != nil {
			return jnode{}, err
		}
		return jnode{kind: '"', start: start, end: p.pos}, nil
	case 't':
		return p.literal("true", 't')
	case 'f':
		return p.literal("false", 'f')
	case 'n':
		return p.literal("null", '0')
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return p.number()
		}
		return jnode{}, p.errorf("unexpected character")
	}
}

func (p *jparser) literal(word string, kind byte) (jnode, error) {
	start := p.pos
	if len(p.s)-p.pos < len(word) || p.s[p.pos:p.pos+len(word)] != word {
		return jnode{}, p.errorf("invalid literal")
	}
	p.pos += len(word)
	return jnode{kind: kind, start: start, end: p.pos}, nil
}

func (p *jparser) number() (jnode, error) {
	start := p.pos
	digits := func() int {
		n := 0
		for p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if p.s[p.pos] == '-' {
		p.pos++
	}
	if p.pos < len(p.s) && p.s[p.pos] == '0' {
		p.pos++
	} else if digits() == 0 {
		return jnode{}, p.errorf("invalid number")
	}
	if p.pos < len(p.s) && p.s[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return jnode{}, p.errorf("invalid number")
		}
	}
	if p.pos < len(p.s) && (p.s[p.pos] == 'e' || p.s[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.s) && (p.s[p.pos] == '+' || p.s[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return jnode{}, p.errorf("invalid number")
		}
	}
	return jnode{kind: 'n', start: start, end: p.pos}, nil
}

// skipString moves past a string whose opening quote is at p.pos, checking
// escapes and rejecting raw control characters as encoding/json does.
func (p *jparser) skipString() error {
	p.pos++
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == '"':
			p.pos++
			return nil
		case c == '\\':
			p.escaped = true
			if p.pos+1 >= len(p.s) {
				return p.errorf("unterminated string")
			}
			switch p.s[p.pos+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.pos += 2
			case 'u':
				if p.pos+6 > len(p.s) || !isHex4(p.s[p.pos+2:p.pos+6]) {
					return p.errorf("invalid escape")
				}
				p.pos += 6
			default:
				return p.errorf("invalid escape")
			}
		case c < 0x20:
			return p.errorf("control character in string")
		default:
			p.pos++
		}
	}
	return p.errorf("unterminated string")
}

// closeKids moves a container's children from the scratch stack into the
// current chunk: one allocation per few thousand nodes, not one per
// container.
func (p *jparser) closeKids(n *jnode, mark int) {
	k := len(p.scratch) - mark
	if k <= 0 {
		return
	}
	if p.ar != nil {
		n.kids = append(p.ar.take(k), p.scratch[mark:]...)
		clear(p.scratch[mark:])
		p.scratch = p.scratch[:mark]
		return
	}
	if cap(p.chunk)-len(p.chunk) < k {
		// Size the first chunk by the document (a short entry must not pay
		// for thousands of nodes) and grow geometrically from there.
		size := min(4096, max(32, len(p.s)/48, 2*cap(p.chunk)))
		p.chunk = make([]jnode, 0, max(size, k))
	}
	start := len(p.chunk)
	p.chunk = append(p.chunk, p.scratch[mark:]...)
	n.kids = p.chunk[start:len(p.chunk):len(p.chunk)]
	clear(p.scratch[mark:])
	p.scratch = p.scratch[:mark]
}

// container parses an object or an array: its members (member reads one,
// name included) up to the closing bracket.
func (p *jparser) container(kind, closing byte, member func() (jnode, error)) (n jnode, err error) {
	n = jnode{kind: kind, start: p.pos}
	mark := len(p.scratch)
	if p.depth++; p.depth > har.MaxDepth {
		return n, p.errorf("nesting deeper than " + strconv.Itoa(har.MaxDepth) + " levels")
	}
	n, err = p.members(n, closing, member)
	p.closeKids(&n, mark)
	p.depth--
	return n, err
}

func (p *jparser) members(n jnode, closing byte, member func() (jnode, error)) (jnode, error) {
	p.pos++
	p.space()
	if p.pos < len(p.s) && p.s[p.pos] == closing {
		p.pos++
		n.end = p.pos
		return n, nil
	}
	for {
		p.space()
		v, err := member()
		if err != nil {
			return n, err
		}
		p.scratch = append(p.scratch, v)
		p.space()
		switch {
		case p.pos >= len(p.s):
			return n, p.errorf("unexpected end of input")
		case p.s[p.pos] == ',':
			p.pos++
		case p.s[p.pos] == closing:
			p.pos++
			n.end = p.pos
			return n, nil
		default:
			return n, p.errorf("expected ',' or '" + string(closing) + "'")
		}
	}
}

func (p *jparser) object() (jnode, error) { return p.container('{', '}', p.member) }
func (p *jparser) array() (jnode, error)  { return p.container('[', ']', p.value) }

// member reads `"name": value`.
func (p *jparser) member() (jnode, error) {
	if p.pos >= len(p.s) || p.s[p.pos] != '"' {
		return jnode{}, p.errorf("expected a member name")
	}
	ks := p.pos
	p.escaped = false
	if err := p.skipString(); err != nil {
		return jnode{}, err
	}
	key := p.s[ks+1 : p.pos-1]
	if p.escaped {
		key = decodeJSONString(key).s
	}
	p.space()
	if p.pos >= len(p.s) || p.s[p.pos] != ':' {
		return jnode{}, p.errorf("expected ':'")
	}
	p.pos++
	p.space()
	v, err := p.value()
	v.key, v.kstart = key, int32(ks)
	return v, err
}

// keyLiteral returns the member name's text (without quotes) and where it
// starts.
func (n *jnode) keyLiteral(doc string) (string, int) {
	start := int(n.kstart) + 1
	end := start
	for end < len(doc) && doc[end] != '"' {
		if doc[end] == '\\' {
			end++
		}
		end++
	}
	return doc[start:end], start
}

func isHex4(s string) bool {
	for i := 0; i < 4; i++ {
		if unhex(s[i]) < 0 {
			return false
		}
	}
	return true
}

// unhex is a hex digit's value, or -1. A table: mayHideEcho asks it for
// every byte of every entry.
func unhex(c byte) int { return int(hexValue[c]) }

var hexValue = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = int8(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = int8(c-'a') + 10
		t[c-'a'+'A'] = int8(c-'a') + 10
	}
	return t
}()

// jstring is a decoded string and the way back to its encoded text: the
// escapes, in order. A string without escapes has none, so the common case
// costs nothing.
type jstring struct {
	s   string
	esc escMap
}

// esc is one escape: decoded bytes [d, d+dl) came from encoded bytes
// [r, r+rl).
type esc struct {
	d, r   int32
	dl, rl uint8
}

type escMap []esc

// rawPos maps a decoded offset to the encoded offset. inside reports an
// offset that falls strictly inside one escape's decoded bytes.
func (m escMap) rawPos(i int) (pos int, inside bool) {
	lo, hi := 0, len(m)
	for lo < hi { // last escape with d <= i
		mid := (lo + hi) / 2
		if int(m[mid].d) <= i {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == 0 {
		return i, false
	}
	e := m[lo-1]
	d, r := int(e.d), int(e.r)
	switch {
	case i == d:
		return r, false
	case i < d+int(e.dl):
		return r, true
	}
	return r + int(e.rl) + i - d - int(e.dl), false
}

// decodeJSONString decodes the contents of a JSON string literal (without
// its quotes). Invalid UTF-8 is kept as is (the redactor must not change
// bytes it does not redact); lone surrogates become U+FFFD like
// encoding/json.
func decodeJSONString(raw string) jstring {
	i := 0
	for i < len(raw) && raw[i] != '\\' {
		i++
	}
	if i == len(raw) {
		return jstring{s: raw}
	}
	b := make([]byte, 0, len(raw))
	b = append(b, raw[:i]...)
	m := make(escMap, 0, strings.Count(raw[i:], `\`))
	for i < len(raw) {
		c := raw[i]
		if c != '\\' {
			j := i + 1
			for j < len(raw) && raw[j] != '\\' {
				j++
			}
			b = append(b, raw[i:j]...)
			i = j
			continue
		}
		if i+1 >= len(raw) {
			b = append(b, c)
			i++
			continue
		}
		d := len(b)
		rl := 2
		switch raw[i+1] {
		case '"', '\\', '/':
			b = append(b, raw[i+1])
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, n := decodeU(raw[i:])
			if n == 0 {
				b = append(b, raw[i:i+2]...)
				break
			}
			b = utf8.AppendRune(b, r)
			rl = n
		default:
			b = append(b, raw[i:i+2]...)
		}
		m = append(m, esc{d: int32(d), r: int32(i), dl: uint8(len(b) - d), rl: uint8(rl)})
		i += rl
	}
	return jstring{s: string(b), esc: m}
}

// decodeU decodes \uXXXX (and a following low surrogate) at the start of s.
func decodeU(s string) (rune, int) {
	if len(s) < 6 || s[1] != 'u' || !isHex4(s[2:6]) {
		return 0, 0
	}
	r := hex4(s[2:6])
	if utf16.IsSurrogate(r) {
		if len(s) >= 12 && s[6] == '\\' && s[7] == 'u' && isHex4(s[8:12]) {
			if dec := utf16.DecodeRune(r, hex4(s[8:12])); dec != utf8.RuneError {
				return dec, 12
			}
		}
		return utf8.RuneError, 6
	}
	return r, 6
}

func hex4(s string) rune {
	return rune(unhex(s[0])<<12 | unhex(s[1])<<8 | unhex(s[2])<<4 | unhex(s[3]))
}

// appendJSONEscaped appends s escaped for the inside of a JSON string: only
// what JSON requires (quote, backslash, control characters), so replacement
// text looks like what browsers write.
func appendJSONEscaped(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	return append(b, s[start:]...)
}

func jsonEscaped(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' {
			return string(appendJSONEscaped(make([]byte, 0, len(s)+8), s))
		}
	}
	return s // a placeholder, mostly: nothing to escape, nothing to copy
}
