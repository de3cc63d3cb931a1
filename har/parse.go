package har

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// A hand-written decoder for HAR objects. encoding/json costs about 20 MB/s
// once unknown members must be kept in order and errors must name the
// failing field; this one decodes in a single pass over the entry's bytes,
// validates them as strictly as encoding/json, and knows the path of every
// value it reads.

type parser struct {
	data  []byte
	pos   int
	depth int         // objects and arrays open, bounded by MaxDepth
	buf   []byte      // scratch for unescaping strings
	nvs   []NameValue // scratch for header and query lists
	cks   []Cookie    // scratch for cookie lists

	// Decoded strings are copied into chunks shared by many strings:
	// one allocation per string was most of the reader's cost. A chunk
	// is only ever appended to, so the strings it backs never change.
	chunk []byte
	ptrs  []string  // backs the *string fields (postData and content text)
	nums  []float64 // backs the *float64 fields (optional timings)
}

// Strings longer than this get an allocation of their own, so a short
// string kept alive does not pin a chunk holding a body.
const (
	maxChunked = 1 << 10
	chunkSize  = 8 << 10
)

// text returns b as a string that does not alias the input.
func (p *parser) text(b []byte) string {
	n := len(b)
	if n == 0 {
		return ""
	}
	if n > maxChunked {
		return string(b)
	}
	if cap(p.chunk)-len(p.chunk) < n {
		// Size the chunk to what this value can still hold: one entry
		// parsed alone (ParseEntry) allocates about its own size.
		size := min(chunkSize, max(len(p.data)-p.pos+n, 64))
		p.chunk = make([]byte, 0, size)
	}
	start := len(p.chunk)
	p.chunk = append(p.chunk, b...)
	return unsafe.String(&p.chunk[start], n)
}

// textPtr returns a pointer to a copy of s from a shared slab.
func (p *parser) textPtr(s string) *string {
	if len(p.ptrs) == cap(p.ptrs) {
		p.ptrs = make([]string, 0, 32)
	}
	p.ptrs = append(p.ptrs, s)
	return &p.ptrs[len(p.ptrs)-1]
}

// MaxDepth is how deeply objects and arrays may nest in a HAR entry and in
// any JSON document apitape reads (bodies included): encoding/json's own
// limit. Every reader in apitape checks it, so a hostile file gets a
// one-line error instead of exhausting the stack.
const MaxDepth = 10000

// syntaxError is malformed JSON at a byte offset within the parsed text;
// path is the member it lies in, as withPath builds it on the way out.
type syntaxError struct {
	off  int
	msg  string
	path string
}

func (e *syntaxError) Error() string { return e.msg }

func (p *parser) syntaxErr(format string, args ...any) error {
	return &syntaxError{off: p.pos, msg: fmt.Sprintf(format, args...)}
}

func (p *parser) ws() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) peek() byte {
	p.ws()
	if p.pos >= len(p.data) {
		return 0
	}
	return p.data[p.pos]
}

func kindOf(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	case 0:
		return "end of input"
	}
	return "number"
}

// typeErr explains a value of the wrong kind and skips it, so the error is
// about the type and not about what follows.
func (p *parser) typeErr(want string) error {
	got := kindOf(p.peek())
	if _, err := p.skip(); err != nil {
		return err
	}
	return fmt.Errorf("expected %s, got %s", want, got)
}

// isNull consumes a null literal if one is next.
func (p *parser) isNull() bool {
	if p.peek() == 'n' && bytes.HasPrefix(p.data[p.pos:], []byte("null")) {
		p.pos += 4
		return true
	}
	return false
}

// object calls member for every member of an object; member must consume
// the value. A null counts as an empty object.
func (p *parser) object(member func(key string) error) error {
	if p.isNull() {
		return nil
	}
	if p.peek() != '{' {
		return p.typeErr("object")
	}
	if err := p.enter(); err != nil {
		return err
	}
	err := p.members(member)
	p.depth--
	return err
}

// enter opens an object or array, within MaxDepth; the caller closes it
// (p.depth--) whatever happens.
func (p *parser) enter() error {
	if p.depth >= MaxDepth {
		return p.syntaxErr("nesting deeper than %d levels", MaxDepth)
	}
	p.depth++
	return nil
}

func (p *parser) members(member func(key string) error) error {
	p.pos++
	if p.peek() == '}' {
		p.pos++
		return nil
	}
	for {
		if p.peek() != '"' {
			return p.syntaxErr("expected a member name")
		}
		key, err := p.key()
		if err != nil {
			return err
		}
		if p.peek() != ':' {
			return p.syntaxErr("expected ':' after member name")
		}
		p.pos++
		if err := member(key); err != nil {
			return withPath(key, err)
		}
		switch p.peek() {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return nil
		default:
			return p.syntaxErr("expected ',' or '}' after object member")
		}
	}
}

// array calls elem for every element; a null counts as an empty array.
func (p *parser) array(elem func(i int) error) error {
	if p.isNull() {
		return nil
	}
	if p.peek() != '[' {
		return p.typeErr("array")
	}
	if err := p.enter(); err != nil {
		return err
	}
	err := p.elements(elem)
	p.depth--
	return err
}

func (p *parser) elements(elem func(i int) error) error {
	p.pos++
	if p.peek() == ']' {
		p.pos++
		return nil
	}
	for i := 0; ; i++ {
		if err := elem(i); err != nil {
			return withPath("["+strconv.Itoa(i)+"]", err)
		}
		switch p.peek() {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return nil
		default:
			return p.syntaxErr("expected ',' or ']' after array element")
		}
	}
}

func withPath(prefix string, err error) error {
	var se *syntaxError
	if errors.As(err, &se) {
		se.path = joinPath(prefix, se.path)
		return err
	}
	return prefixPath(prefix, err)
}

func (p *parser) str() (string, error) {
	if p.peek() != '"' {
		if p.isNull() {
			return "", nil
		}
		return "", p.typeErr("string")
	}
	return p.rawString()
}

func (p *parser) strPtr() (*string, error) {
	if p.isNull() {
		return nil, nil
	}
	s, err := p.str()
	return p.textPtr(s), err
}

// key reads a member name without allocating when it has no escapes: the
// string shares the parser's bytes, so callers must not keep it (extra
// clones it).
func (p *parser) key() (string, error) {
	d := p.data
	start := p.pos + 1
	i := start
	var high byte
	for i < len(d) && !stringStop[d[i]] {
		high |= d[i]
		i++
	}
	if i >= len(d) || d[i] != '"' || (high >= 0x80 && !utf8.Valid(d[start:i])) {
		return p.rawString() // escapes, errors and invalid UTF-8
	}
	p.pos = i + 1
	if i == start {
		return "", nil
	}
	return unsafe.String(&d[start], i-start), nil
}

const (
	ones        = 0x0101010101010101
	highs       = 0x8080808080808080
	quotes      = '"' * ones
	backslashes = '\\' * ones
)

// hasZeroByte reports whether any byte of w is zero; hasByteBelow whether
// any is below n (n <= 128). Both are exact (Hacker's Delight, 6-1).
func hasZeroByte(w uint64) bool { return (w-ones)&^w&highs != 0 }

func hasByteBelow(w uint64, n uint64) bool { return (w-ones*n)&^w&highs != 0 }

// stringStop marks the bytes that end a plain run inside a JSON string:
// the closing quote, a backslash, and the control characters JSON
// forbids. One table lookup per byte beat bytes.IndexByte here, because
// most HAR strings are a few bytes long.
var stringStop = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// rawString decodes the string at p.pos (which is '"').
func (p *parser) rawString() (string, error) {
	d := p.data
	start := p.pos + 1
	i := start
	var high byte // the OR of the bytes: below 0x80, the run is ASCII
	// Eight bytes at a time while none of them ends the run: URLs,
	// cookies and bodies are long strings.
	for ; i+8 <= len(d); i += 8 {
		w := binary.LittleEndian.Uint64(d[i:])
		if hasZeroByte(w^quotes) || hasZeroByte(w^backslashes) || hasByteBelow(w, 0x20) {
			break
		}
		high |= byte(w>>56 | w>>48 | w>>40 | w>>32 | w>>24 | w>>16 | w>>8 | w)
	}
	for i < len(d) && !stringStop[d[i]] {
		high |= d[i]
		i++
	}
	switch {
	case i >= len(d):
		p.pos = len(d)
		return "", p.syntaxErr("unexpected end of input in string")
	case d[i] == '"':
		s := d[start:i]
		p.pos = i + 1
		if high >= 0x80 && !utf8.Valid(s) {
			return string(bytes.ToValidUTF8(s, []byte("\uFFFD"))), nil
		}
		return p.text(s), nil
	case d[i] == '\\':
		return p.escapedString(start)
	}
	p.pos = i
	return "", p.syntaxErr("invalid control character in string")
}

func (p *parser) escapedString(start int) (string, error) {
	buf := p.buf[:0]
	defer func() { p.buf = buf[:0] }()
	i := start
	for i < len(p.data) {
		c := p.data[i]
		switch {
		case c == '"':
			p.pos = i + 1
			if !utf8.Valid(buf) {
				buf = bytes.ToValidUTF8(buf, []byte("\uFFFD"))
			}
			return p.text(buf), nil
		case c < 0x20:
			p.pos = i
			return "", p.syntaxErr("invalid control character in string")
		case c != '\\':
			// Copy the run up to the next quote, backslash or control
			// character at once: bodies are long escaped strings.
			j := i + 1
			for j < len(p.data) {
				if d := p.data[j]; d == '"' || d == '\\' || d < 0x20 {
					break
				}
				j++
			}
			buf = append(buf, p.data[i:j]...)
			i = j
			continue
		}
		if i+1 >= len(p.data) {
			break
		}
		switch e := p.data[i+1]; e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, n, ok := decodeU(p.data[i:])
			if !ok {
				p.pos = i
				return "", p.syntaxErr("invalid \\u escape in string")
			}
			buf = utf8.AppendRune(buf, r)
			i += n
			continue
		default:
			p.pos = i
			return "", p.syntaxErr("invalid escape in string")
		}
		i += 2
	}
	p.pos = len(p.data)
	return "", p.syntaxErr("unexpected end of input in string")
}

// decodeU decodes `\uXXXX` (and a following low surrogate) at the start of
// b, returning the rune and the bytes used. Lone surrogates become U+FFFD,
// as encoding/json does.
func decodeU(b []byte) (rune, int, bool) {
	r := hex4(b)
	if r < 0 {
		return 0, 0, false
	}
	if utf16.IsSurrogate(r) {
		if r2 := hex4(b[6:]); r2 >= 0 && len(b) >= 12 && b[6] == '\\' {
			if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
				return d, 12, true
			}
		}
		return utf8.RuneError, 6, true
	}
	return r, 6, true
}

func hex4(b []byte) rune {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range b[2:6] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return -1
		}
	}
	return r
}

func (p *parser) number() ([]byte, error) {
	c := p.peek()
	if c != '-' && (c < '0' || c > '9') {
		return nil, p.typeErr("number")
	}
	start := p.pos
	i := p.pos
	if i < len(p.data) && p.data[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(p.data) && p.data[i] >= '0' && p.data[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(p.data) && p.data[i] == '0' {
		i++
	} else if digits() == 0 {
		p.pos = i
		return nil, p.syntaxErr("invalid number")
	}
	if i < len(p.data) && p.data[i] == '.' {
		i++
		if digits() == 0 {
			p.pos = i
			return nil, p.syntaxErr("invalid number")
		}
	}
	if i < len(p.data) && (p.data[i] == 'e' || p.data[i] == 'E') {
		i++
		if i < len(p.data) && (p.data[i] == '+' || p.data[i] == '-') {
			i++
		}
		if digits() == 0 {
			p.pos = i
			return nil, p.syntaxErr("invalid number")
		}
	}
	p.pos = i
	return p.data[start:i], nil
}

func (p *parser) float() (float64, error) {
	if p.isNull() {
		return 0, nil
	}
	b, err := p.number()
	if err != nil {
		return 0, err
	}
	return strconv.ParseFloat(string(b), 64)
}

func (p *parser) floatPtr() (*float64, error) {
	if p.isNull() {
		return nil, nil
	}
	f, err := p.float()
	if len(p.nums) == cap(p.nums) {
		p.nums = make([]float64, 0, 64)
	}
	p.nums = append(p.nums, f)
	return &p.nums[len(p.nums)-1], err
}

func (p *parser) int() (int64, error) {
	if p.isNull() {
		return 0, nil
	}
	b, err := p.number()
	if err != nil {
		return 0, err
	}
	if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
		return n, nil
	}
	// Some exporters write sizes as floats ("size": 12.0).
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || f != float64(int64(f)) {
		return 0, fmt.Errorf("expected an integer, got %s", b)
	}
	return int64(f), nil
}

func (p *parser) boolPtr() (*bool, error) {
	if p.isNull() {
		return nil, nil
	}
	switch {
	case bytes.HasPrefix(p.data[p.pos:], []byte("true")):
		p.pos += 4
		t := true
		return &t, nil
	case bytes.HasPrefix(p.data[p.pos:], []byte("false")):
		p.pos += 5
		f := false
		return &f, nil
	}
	return nil, p.typeErr("boolean")
}

// skip validates and steps over any value, returning its exact bytes.
func (p *parser) skip() ([]byte, error) {
	c := p.peek()
	start := p.pos
	switch {
	case c == '{':
		err := p.object(func(string) error { _, err := p.skip(); return err })
		return p.data[start:p.pos], err
	case c == '[':
		err := p.array(func(int) error { _, err := p.skip(); return err })
		return p.data[start:p.pos], err
	case c == '"':
		// Validate without building the string.
		i := p.pos + 1
		for i < len(p.data) {
			switch b := p.data[i]; {
			case b == '"':
				p.pos = i + 1
				return p.data[start:p.pos], nil
			case b == '\\':
				if i+1 >= len(p.data) {
					i = len(p.data)
					continue
				}
				switch p.data[i+1] {
				case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
					i += 2
				case 'u':
					if hex4(p.data[i:]) < 0 {
						p.pos = i
						return nil, p.syntaxErr("invalid \\u escape in string")
					}
					i += 6
				default:
					p.pos = i
					return nil, p.syntaxErr("invalid escape in string")
				}
			case b < 0x20:
				p.pos = i
				return nil, p.syntaxErr("invalid control character in string")
			default:
				i++
			}
		}
		p.pos = len(p.data)
		return nil, p.syntaxErr("unexpected end of input in string")
	case c == 't' && bytes.HasPrefix(p.data[p.pos:], []byte("true")):
		p.pos += 4
	case c == 'f' && bytes.HasPrefix(p.data[p.pos:], []byte("false")):
		p.pos += 5
	case c == 'n' && bytes.HasPrefix(p.data[p.pos:], []byte("null")):
		p.pos += 4
	case c == '-' || (c >= '0' && c <= '9'):
		_, err := p.number()
		return p.data[start:p.pos], err
	case c == 0:
		return nil, p.syntaxErr("unexpected end of input")
	default:
		return nil, p.syntaxErr("invalid character %q looking for a value", c)
	}
	return p.data[start:p.pos], nil
}

// extra keeps an unknown member verbatim (without insignificant white
// space, so values compare equal across a round trip).
func (p *parser) extra(fs *Fields, key string) error {
	raw, err := p.skip()
	if err != nil {
		return err
	}
	*fs = append(*fs, Field{Name: p.text(unsafe.Slice(unsafe.StringData(key), len(key))), Value: p.rawCopy(raw)})
	return nil
}

// rawCopy keeps a JSON value without insignificant white space, in a
// chunk when it is small. The slice's capacity ends with it, so appending
// to it cannot write over its neighbours.
func (p *parser) rawCopy(raw []byte) json.RawMessage {
	if bytes.ContainsAny(raw, " \t\r\n") {
		return compact(raw)
	}
	if len(raw) == 0 || len(raw) > maxChunked {
		return json.RawMessage(bytes.Clone(raw))
	}
	s := p.text(raw)
	return unsafe.Slice(unsafe.StringData(s), len(s))[:len(s):len(s)]
}

func (p *parser) rawValue() (json.RawMessage, error) {
	raw, err := p.skip()
	if err != nil {
		return nil, err
	}
	return p.rawCopy(raw), nil
}

// optionalRaw is rawValue for a member kept as JSON text whose null
// means absent.
func (p *parser) optionalRaw() (json.RawMessage, error) {
	if p.isNull() {
		return nil, nil
	}
	return p.rawValue()
}

// end checks that nothing but white space follows the value.
func (p *parser) end() error {
	if p.peek() != 0 {
		return p.syntaxErr("invalid character %q after top-level value", p.data[p.pos])
	}
	return nil
}

// decode runs parse over data as a whole JSON text.
func decode(data []byte, parse func(p *parser) error) error {
	p := &parser{data: data}
	if err := parse(p); err != nil {
		return err
	}
	return p.end()
}
