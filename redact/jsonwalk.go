package redact

// A tree of where every value sits in the text, built from jsontext's
// tokens and offsets. The redactor needs byte spans, not values: it
// changes the bytes of one string and leaves every other byte (key order,
// spacing, number spelling, escapes it did not touch) exactly as it was.

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/apitape/apitape/har"
)

// jnode is one JSON value and where it is in its text. It is kept small
// (32 bytes, half what it was): a large API body has a node for every 15
// to 20 bytes, and the tree was most of the memory its redaction took. Offsets are int32:
// parseJSONText refuses a document of 2 GiB or more.
type jnode struct {
	first  *jnode // the first child; the rest follow it in the same slice
	start  int32  // offset of the first byte of the value (the quote for strings)
	end    int32  // offset after the last byte
	kstart int32  // where the member name's literal starts (its quote), in an object
	nkids  int32
	kind   byte // '{' object, '[' array, '"' string, 'n' number, 't' true, 'f' false, '0' null
	kesc   bool // the member name has escapes: name decodes it
	lazy   bool // an array whose elements are parsed as they are walked (see parseLazy)
	klen   int32
}

// kids returns the children of a container: the members of an object, in
// order, or the elements of an array.
func (n *jnode) kids() []jnode {
	if n.nkids == 0 {
		return nil
	}
	return unsafe.Slice(n.first, n.nkids)
}

// name returns the decoded member name, "" for a value that is not a
// member. It is read off the text rather than held in the node: most
// names have no escapes, and a string in every node was a quarter of it.
func (n *jnode) name(doc string) string {
	if n.klen == 0 {
		return ""
	}
	lit := doc[n.kstart+1 : n.kstart+1+n.klen]
	if n.kesc {
		return decodeJSONString(lit).s
	}
	return lit
}

// str returns the decoded value of a string node.
func (n *jnode) str(doc string) jstring { return decodeJSONString(doc[n.start+1 : n.end-1]) }

// member returns the object member with the given name.
func (n *jnode) member(doc, name string) *jnode {
	kids := n.kids()
	for i := range kids {
		if kids[i].name(doc) == name {
			return &kids[i]
		}
	}
	return nil
}

// memberString returns the decoded value of a string member, or "".
func (n *jnode) memberString(doc, name string) (string, bool) {
	m := n.member(doc, name)
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

// maxJSONDoc is the longest document parseJSON reads: jnode's offsets are
// int32.
const maxJSONDoc = math.MaxInt32

// parseJSON parses one JSON document (surrounding whitespace allowed).
func parseJSON(s string) (jnode, error) { return parseJSONIn(s, nil) }

// jsonOpts make jsontext as lenient as the redactor must be: invalid
// UTF-8 is kept as it is (no byte it does not redact may change), and a
// repeated member name is the writer's business, not a reason to skip a
// body.
var jsonOpts = []jsontext.Options{jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true)}

// decoders are reused: a Decoder's state costs more to set up than a short
// entry takes to read.
var decoders = sync.Pool{New: func() any {
	d := &jdecoder{}
	d.dec = jsontext.NewDecoder(&d.sr, jsonOpts...)
	return d
}}

type jdecoder struct {
	sr    strings.Reader
	dec   *jsontext.Decoder
	stack []openNode
}

// parseJSONIn parses with nodes from ar (nil: from the heap). jsontext
// reads the tokens and checks the syntax; parseJSONIn keeps where each
// value and member name lies (InputOffset after each token), which is all
// the redactor needs to splice.
func parseJSONIn(s string, ar *jarena) (root jnode, err error) { return parseJSONText(s, nil, ar) }

// parseJSONText parses s, reading it from raw when raw holds the same
// bytes: jsontext then reads them in place instead of copying them into
// a buffer of its own.
func parseJSONText(s string, raw []byte, ar *jarena) (root jnode, err error) {
	return parseWith(builder{s: s, ar: ar}, raw)
}

// lazyJSON is the length from which a JSON text is parsed lazily (a
// variable: tests set it to 0 to walk every text that way).
var lazyJSON = maxArenaDoc

// parseLazy is parseJSON, but every array is lazy: checked, and its place
// kept, but its elements left for elems to parse one at a time. A large
// body is mostly arrays of small objects, and its whole tree took twice
// the body's size.
func parseLazy(s string) (jnode, error) { return parseWith(builder{s: s, lazy: true}, bytesOf(s)) }

// bytesOf is s for jsontext to read in place, never to write: copied
// into a buffer of its own, a long string value took its length again.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

func parseWith(b builder, raw []byte) (root jnode, err error) {
	s, ar := b.s, b.ar
	if len(s) > maxJSONDoc {
		return jnode{}, &jsonSyntaxError{Offset: maxJSONDoc, Msg: "a document of 2 GiB or more"}
	}
	if ar != nil {
		b.scratch = ar.scratch
		defer func() { ar.scratch = b.scratch[:0] }()
	}
	d := decoders.Get().(*jdecoder)
	dec := d.dec
	if raw != nil {
		dec.Reset(bytes.NewBuffer(raw), jsonOpts...)
	} else {
		d.sr.Reset(s)
		dec.Reset(&d.sr, jsonOpts...)
	}
	defer d.put(len(s) > maxArenaDoc && !b.lazy)
	b.stack = d.stack[:0]
	root, err = b.build(dec)
	d.stack = b.stack[:0]
	if err != nil {
		return jnode{}, err
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return jnode{}, &jsonSyntaxError{Offset: int(dec.InputOffset()), Msg: "unexpected data after the document"}
	}
	return root, nil
}

// put gives d back to the pool, unless its buffer grew to a document.
func (d *jdecoder) put(grown bool) {
	if grown {
		return
	}
	d.sr.Reset("")
	d.dec.Reset(&d.sr, jsonOpts...)
	if cap(d.stack) > 1<<10 {
		d.stack = nil
	}
	clear(d.stack[:cap(d.stack)])
	decoders.Put(d)
}

// builder turns the tokens of one document into a jnode tree.
type builder struct {
	s       string
	scratch []jnode // children of the open containers, until each closes
	chunk   []jnode // where closed containers' children are kept, in runs
	ar      *jarena
	stack   []openNode
	base    int32 // where in s the decoder's input begins
	lazy    bool  // arrays are lazy (see parseLazy)
}

// elems visits the elements of an array, parsing a lazy one's one at a
// time, each from its own text, dropped once fn returns.
func (n *jnode) elems(doc string, fn func(i int, e *jnode)) {
	if !n.lazy {
		kids := n.kids()
		for i := range kids {
			fn(i, &kids[i])
		}
		return
	}
	ar := arenas.Get().(*jarena)
	d := decoders.Get().(*jdecoder)
	defer func() { ar.reset(); arenas.Put(ar); d.put(false) }()
	d.dec.Reset(bytes.NewBuffer(bytesOf(doc[n.start:n.end])), jsonOpts...)
	b := builder{s: doc, ar: ar, base: n.start, lazy: true, stack: d.stack[:0]}
	d.dec.ReadToken() // [ (parseLazy checked all of it)
	for i := 0; d.dec.PeekKind() != ']'; i++ {
		e, err := b.build(d.dec)
		if err != nil {
			return
		}
		fn(i, &e)
		ar.reset()
	}
}

type openNode struct {
	n    jnode
	mark int // where its children start in scratch
}

func (b *builder) build(dec *jsontext.Decoder) (jnode, error) {
	stack := b.stack
	defer func() { b.stack = stack }()
	var name jnode // kstart, klen and kesc: the name of the value that comes next
	named := false
	for {
		kind := dec.PeekKind()
		if kind == 0 {
			_, err := dec.ReadToken() // the error PeekKind saw
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return jnode{}, syntaxError(dec, err)
		}
		if top := len(stack) - 1; top >= 0 && stack[top].n.kind == '{' && !named && kind != '}' {
			// A member name.
			v, err := dec.ReadValue()
			if err != nil {
				return jnode{}, syntaxError(dec, err)
			}
			end := int(b.base) + int(dec.InputOffset())
			lit := v[1 : len(v)-1]
			name = jnode{kstart: int32(end - len(v)), klen: int32(len(lit)), kesc: bytes.IndexByte(lit, '\\') >= 0}
			named = true
			continue
		}
		var n jnode
		switch kind {
		case '{', '[':
			if len(stack) >= har.MaxDepth {
				return jnode{}, &jsonSyntaxError{Offset: int(dec.InputOffset()), Msg: "nesting deeper than " + strconv.Itoa(har.MaxDepth) + " levels"}
			}
			if kind == '[' && b.lazy {
				// Checked whole (read in place: nothing is copied), and
				// left for elems.
				v, err := dec.ReadValue()
				if err != nil {
					return jnode{}, syntaxError(dec, err)
				}
				n = name
				n.kind, n.lazy, n.end = '[', true, b.base+int32(dec.InputOffset())
				n.start = n.end - int32(len(v))
				break
			}
			if _, err := dec.ReadToken(); err != nil {
				return jnode{}, syntaxError(dec, err)
			}
			n = name
			n.kind, n.start = byte(kind), b.base+int32(dec.InputOffset()-1)
			stack = append(stack, openNode{n: n, mark: len(b.scratch)})
			name, named = jnode{}, false
			continue
		case '}', ']':
			if _, err := dec.ReadToken(); err != nil {
				return jnode{}, syntaxError(dec, err)
			}
			o := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			n = o.n
			n.end = b.base + int32(dec.InputOffset())
			b.closeKids(&n, o.mark)
		default:
			v, err := dec.ReadValue()
			if err != nil {
				return jnode{}, syntaxError(dec, err)
			}
			end := b.base + int32(dec.InputOffset())
			n = name
			n.kind, n.start, n.end = scalarKind(kind), end-int32(len(v)), end
		}
		if len(stack) == 0 {
			return n, nil
		}
		b.scratch = append(b.scratch, n)
		name, named = jnode{}, false
	}
}

func scalarKind(k jsontext.Kind) byte {
	switch k {
	case 'n':
		return '0'
	case '0':
		return 'n'
	}
	return byte(k) // '"', 't', 'f'
}

// syntaxError is a jsontext error without its text: jsontext quotes the
// offending bytes, which may be part of a secret.
func syntaxError(dec *jsontext.Decoder, err error) error {
	off := int(dec.InputOffset())
	msg := "invalid JSON"
	var se *jsontext.SyntacticError
	switch {
	case errors.As(err, &se):
		off = int(se.ByteOffset)
		switch {
		case errors.Is(se.Err, io.ErrUnexpectedEOF):
			msg = "unexpected end of input"
		case strings.Contains(se.Err.Error(), "depth"):
			msg = "nesting deeper than " + strconv.Itoa(har.MaxDepth) + " levels"
		}
	case errors.Is(err, io.ErrUnexpectedEOF):
		msg = "unexpected end of input"
	}
	return &jsonSyntaxError{Offset: off, Msg: msg}
}

// closeKids moves a container's children from the scratch stack into the
// current chunk: one allocation per few thousand nodes, not one per
// container.
func (p *builder) closeKids(n *jnode, mark int) {
	k := len(p.scratch) - mark
	if k <= 0 {
		return
	}
	n.nkids = int32(k)
	if p.ar != nil {
		n.first = &append(p.ar.take(k), p.scratch[mark:]...)[0]
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
	n.first = &p.chunk[start]
	clear(p.scratch[mark:])
	p.scratch = p.scratch[:mark]
}

// keyLiteral returns the member name's text (without quotes) and where it
// starts.
func (n *jnode) keyLiteral(doc string) (string, int) {
	start := int(n.kstart) + 1
	return doc[start : start+int(n.klen)], start
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

// isHex holds the hex digits, for eachRun.
var isHex = func() (t [256]bool) {
	for i := range t {
		t[i] = hexValue[i] >= 0
	}
	return t
}()

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
	// jraw, when set, is the JSON text s was decoded from: its escapes
	// are found again only when an edit needs them (most strings get
	// none, and the map of a large body's escapes took more memory than
	// the body).
	jraw string
}

// positions returns the way back to the encoded text for offsets asked
// in increasing order: a JSON string's escapes are read off its text as
// they are passed, never held in a map (a 100 MB body has millions).
func (js jstring) positions() rawPositions {
	if js.jraw == "" {
		return js.esc
	}
	return &jsonCursor{raw: js.jraw}
}

// jsonCursor maps decoded offsets of a JSON string's contents to offsets
// in raw, moving forward only.
type jsonCursor struct {
	raw  string
	r, d int // the encoded and decoded offsets reached
}

func (c *jsonCursor) rawPos(i int) (int, bool) {
	for c.d < i {
		if c.raw[c.r] != '\\' || c.r+1 >= len(c.raw) {
			j := strings.IndexByte(c.raw[c.r+1:], '\\') + 1 // the next escape, or
			if j == 0 {
				j = len(c.raw) - c.r // the end
			}
			step := min(j, i-c.d)
			c.r += step
			c.d += step
			continue
		}
		var u [utf8.UTFMax]byte
		out, rl := unescapeOne(c.raw[c.r:], u[:0])
		if c.d+len(out) > i {
			return c.r, true
		}
		c.d += len(out)
		c.r += rl
	}
	return c.r, false
}

// escapes returns the escape map.
func (js jstring) escapes() escMap {
	if js.jraw == "" {
		return js.esc
	}
	_, m := unescapeJSON(js.jraw, false, true)
	return m
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
	if strings.IndexByte(raw, '\\') < 0 {
		return jstring{s: raw}
	}
	s, _ := unescapeJSON(raw, true, false)
	return jstring{s: s, jraw: raw}
}

// unescapeJSON decodes raw (text, when asked) and maps its escapes (when
// asked).
func unescapeJSON(raw string, text, escapes bool) (string, escMap) {
	var b strings.Builder // its String does not copy
	var m escMap
	if text {
		n := len(raw)
		if n > 1<<16 {
			n = jsonDecodedLen(raw) // a body: no room for its escapes
		}
		b.Grow(n)
	}
	if escapes {
		m = make(escMap, 0, strings.Count(raw, `\`))
	}
	var u [utf8.UTFMax]byte
	d := 0 // decoded length so far
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			j := i + 1
			for j < len(raw) && raw[j] != '\\' {
				j++
			}
			if text {
				b.WriteString(raw[i:j])
			}
			d += j - i
			i = j
			continue
		}
		if i+1 >= len(raw) {
			if text {
				b.WriteByte(c)
			}
			d++
			i++
			continue
		}
		out, rl := unescapeOne(raw[i:], u[:0])
		if text {
			b.Write(out)
		}
		if escapes {
			m = append(m, esc{d: int32(d), r: int32(i), dl: uint8(len(out)), rl: uint8(rl)})
		}
		d += len(out)
		i += rl
	}
	return b.String(), m
}

// unescapeOne decodes the escape at the start of s (a backslash and at
// least one more byte), appending its bytes to out, and returns them and
// the escape's length.
func unescapeOne(s string, out []byte) ([]byte, int) {
	switch s[1] {
	case '"', '\\', '/':
		return append(out, s[1]), 2
	case 'b':
		return append(out, '\b'), 2
	case 'f':
		return append(out, '\f'), 2
	case 'n':
		return append(out, '\n'), 2
	case 'r':
		return append(out, '\r'), 2
	case 't':
		return append(out, '\t'), 2
	case 'u':
		if r, n := decodeU(s); n > 0 {
			return utf8.AppendRune(out, r), n
		}
	}
	return append(out, s[:2]...), 2
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
