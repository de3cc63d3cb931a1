package jsondiff

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync/atomic"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/apitape/apitape/har"
)

// Decode parses one JSON document into the values encoding/json produces
// with UseNumber (map[string]any, []any, string, json.Number, bool, nil),
// with the same results (nesting deeper than har.MaxDepth is an error), including for invalid UTF-8 and lone surrogates
// (replaced by U+FFFD) and duplicate keys (the last wins). It exists
// because replay decodes two bodies per call and encoding/json's reflection
// made that the largest cost of a replay.
func Decode(b []byte) (any, error) {
	d := decoder{data: b}
	d.space()
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	d.space()
	if d.pos < len(d.data) {
		return nil, d.errorf("invalid character %q after top-level value", d.data[d.pos])
	}
	return v, nil
}

type decoder struct {
	data []byte
	pos  int
}

// SyntaxError is a malformed document; Offset is where it went wrong.
type SyntaxError struct {
	Msg    string
	Offset int
}

func (e *SyntaxError) Error() string { return e.Msg }

func (d *decoder) errorf(format string, args ...any) error {
	return &SyntaxError{Msg: fmt.Sprintf(format, args...) + fmt.Sprintf(" (offset %d)", d.pos), Offset: d.pos}
}

func (d *decoder) space() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) value(depth int) (any, error) {
	if d.pos >= len(d.data) {
		return nil, d.errorf("unexpected end of JSON input")
	}
	switch c := d.data[d.pos]; {
	case c == '{':
		return d.object(depth + 1)
	case c == '[':
		return d.array(depth + 1)
	case c == '"':
		return d.str()
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	default:
		return nil, d.errorf("invalid character %q looking for beginning of value", c)
	}
}

func (d *decoder) literal(lit string) error {
	if len(d.data)-d.pos < len(lit) || string(d.data[d.pos:d.pos+len(lit)]) != lit {
		return d.errorf("invalid literal, want %s", lit)
	}
	d.pos += len(lit)
	return nil
}

func (d *decoder) object(depth int) (any, error) {
	if depth > har.MaxDepth {
		return nil, d.errorf("exceeded max depth")
	}
	d.pos++ // {
	m := make(map[string]any, 8)
	d.space()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		return m, nil
	}
	for {
		d.space()
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			if d.pos >= len(d.data) {
				return nil, d.errorf("unexpected end of JSON input")
			}
			return nil, d.errorf("invalid character %q looking for beginning of object key string", d.data[d.pos])
		}
		k, err := d.key()
		if err != nil {
			return nil, err
		}
		d.space()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return nil, d.errorf("missing ':' after object key")
		}
		d.pos++
		d.space()
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		m[k] = v
		d.space()
		if d.pos >= len(d.data) {
			return nil, d.errorf("unexpected end of JSON input")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return m, nil
		default:
			return nil, d.errorf("invalid character %q after object key:value pair", d.data[d.pos])
		}
	}
}

func (d *decoder) array(depth int) (any, error) {
	if depth > har.MaxDepth {
		return nil, d.errorf("exceeded max depth")
	}
	d.pos++ // [
	a := []any{}
	d.space()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		return a, nil
	}
	for {
		d.space()
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		d.space()
		if d.pos >= len(d.data) {
			return nil, d.errorf("unexpected end of JSON input")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return a, nil
		default:
			return nil, d.errorf("invalid character %q after array element", d.data[d.pos])
		}
	}
}

func (d *decoder) number() (any, error) {
	start := d.pos
	data := d.data
	i := d.pos
	if data[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && data[i] >= '1' && data[i] <= '9':
		digits()
	default:
		d.pos = i
		return nil, d.errorf("invalid number")
	}
	if i < len(data) && data[i] == '.' {
		i++
		if digits() == 0 {
			d.pos = i
			return nil, d.errorf("invalid number: no digits after decimal point")
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if digits() == 0 {
			d.pos = i
			return nil, d.errorf("invalid number: no digits in exponent")
		}
	}
	d.pos = i
	return json.Number(data[start:i]), nil
}

// keys remembers object keys across documents: an API answers with the
// same few dozen keys over and over, and a remembered key is not allocated
// again. A slot holds the last key that hashed to it.
var keys [1024]atomic.Pointer[string]

// key reads an object key, from the cache when it is plain ASCII.
func (d *decoder) key() (string, error) {
	start := d.pos + 1
	var h uint32 = 2166136261
	for i := start; i < len(d.data) && i-start < 64; i++ {
		c := d.data[i]
		if c == '"' {
			slot := &keys[h%uint32(len(keys))]
			if k := slot.Load(); k != nil && *k == string(d.data[start:i]) {
				d.pos = i + 1
				return *k, nil
			}
			k := string(d.data[start:i])
			slot.Store(&k)
			d.pos = i + 1
			return k, nil
		}
		if c == '\\' || c < 0x20 || c >= 0x80 {
			break
		}
		h = (h ^ uint32(c)) * 16777619
	}
	return d.str()
}

// str reads a string; the fast path is a run without escapes of valid
// UTF-8.
func (d *decoder) str() (string, error) {
	d.pos++ // "
	start := d.pos
	ascii := true
	for i := d.pos; i < len(d.data); i++ {
		c := d.data[i]
		switch {
		case c == '"':
			if ascii || utf8.Valid(d.data[start:i]) {
				d.pos = i + 1
				return string(d.data[start:i]), nil
			}
			return d.slowStr(start)
		case c == '\\':
			return d.slowStr(start)
		case c < 0x20:
			d.pos = i
			return "", d.errorf("invalid character %q in string literal", c)
		case c >= 0x80:
			ascii = false
		}
	}
	d.pos = len(d.data)
	return "", d.errorf("unexpected end of JSON input")
}

func (d *decoder) slowStr(start int) (string, error) {
	b := make([]byte, 0, 32)
	i := start
	for i < len(d.data) {
		c := d.data[i]
		switch {
		case c == '"':
			d.pos = i + 1
			return string(b), nil
		case c < 0x20:
			d.pos = i
			return "", d.errorf("invalid character %q in string literal", c)
		case c == '\\':
			if i+1 >= len(d.data) {
				d.pos = len(d.data)
				return "", d.errorf("unexpected end of JSON input")
			}
			e := d.data[i+1]
			i += 2
			switch e {
			case '"', '\\', '/':
				b = append(b, e)
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
				r, ok := hex4(d.data, i)
				if !ok {
					d.pos = i
					return "", d.errorf("invalid escape in string literal")
				}
				i += 4
				if utf16.IsSurrogate(r) {
					r2, ok := rune(-1), false
					if i+6 <= len(d.data) && d.data[i] == '\\' && d.data[i+1] == 'u' {
						r2, ok = hex4(d.data, i+2)
					}
					if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
						i += 6
						b = utf8.AppendRune(b, dec)
						continue
					}
					r = utf8.RuneError
				}
				b = utf8.AppendRune(b, r)
			default:
				d.pos = i - 1
				return "", d.errorf("invalid character %q in string escape code", e)
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRune(d.data[i:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, d.data[i:i+size]...)
			}
			i += size
		}
	}
	d.pos = len(d.data)
	return "", d.errorf("unexpected end of JSON input")
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(b[i:i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(v), true
}
