package har

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// MaxTail is the most of the text after log.entries (the closing ']',
// then any members such as a log.comment, then the closing braces) that a
// Reader keeps: Gap holds it for redact to rewrite, Log decodes it. A
// longer tail (a 1 GiB comment) is checked as it streams by and never
// held whole; TailCut says where Gap stopped.
const MaxTail = 16 << 20

// TailCut reports whether the text after log.entries was longer than
// MaxTail; then Gap holds only its start, and off is the input offset
// (from where the Reader began) at which the rest begins.
func (r *Reader) TailCut() (off int64, cut bool) { return r.cutOff, r.cut }

// scanner checks the JSON text around the entries as it streams by, as
// strictly as the entries are checked (a skipped member holding `@@@` is
// an error, not text copied to the output). Before the entries (head) it
// keeps every byte in r.gap, decodes member names to find log.entries
// ("\u006cog" is "log") and stops after its '['; after them (tail) it
// keeps what keep takes and runs to the end of the input. It never holds
// a string or a value of the tail whole, so a 1 GiB log.comment streams
// through in constant memory.
//
// jsontext.Decoder does not fit here: it holds each token whole, and it
// counts the levels around the entries into each entry's depth limit.
type scanner struct {
	r     *Reader
	head  bool
	open  []frame
	state int
	keep  func([]byte)
}

// frame is one object or array open; key is the member being read in an
// object, decoded (before the entries only).
type frame struct {
	object bool
	key    string
	index  int // of the element being read, in an array
}

// What the scanner expects next.
const (
	wantValue      = iota
	wantValueOrEnd // after '['
	wantKey        // after ',' in an object
	wantKeyOrEnd   // after '{'
	wantColon      // after a member name
	wantCommaOrEnd // after a value
	wantNothing    // after the root object: only white space
)

// findEntries reads the text before the entries into r.gap and stops right
// after the '[' that opens log.entries.
func (r *Reader) findEntries() error {
	if b, err := r.br.Peek(3); err == nil && bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		r.br.Discard(3)
		r.off += 3
	}
	s := &scanner{r: r, head: true, state: wantValue, keep: func(b []byte) { r.gap.Write(b) }}
	return s.run()
}

// readTail reads what follows log.entries' closing ']' (already in r.gap
// from tailStart on) to the end of the input, keeping up to MaxTail bytes
// of it in r.gap.
func (r *Reader) readTail(tailStart int) error {
	kept := r.gap.Len() - tailStart
	keep := func(b []byte) {
		if r.cut {
			return
		}
		if room := MaxTail - kept; len(b) > room {
			r.gap.Write(b[:room])
			kept += room
			r.cut, r.cutOff = true, r.off+int64(room) // r.off is where b starts
			return
		}
		r.gap.Write(b)
		kept += len(b)
	}
	s := &scanner{r: r, open: []frame{{object: true}, {object: true}}, state: wantCommaOrEnd, keep: keep}
	if err := s.run(); err != nil {
		return err
	}
	if !r.cut {
		r.tail = append([]byte(nil), r.gap.Bytes()[tailStart:]...)
	}
	return nil
}

// fail is malformed JSON at input offset off.
func (s *scanner) fail(off int64, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if s.head {
		return &Error{File: s.r.name, Entry: -1, Field: headPath(s.open), Offset: off, Msg: "malformed JSON: " + msg}
	}
	return &Error{File: s.r.name, Entry: -1, Offset: off, Msg: "malformed JSON after log.entries: " + msg}
}

// consume discards b (buffered bytes) after keeping them.
func (s *scanner) consume(b []byte) {
	s.keep(b)
	s.r.br.Discard(len(b))
	s.r.off += int64(len(b))
}

func (s *scanner) close() {
	s.open = s.open[:len(s.open)-1]
	s.state = wantCommaOrEnd
	if len(s.open) == 0 {
		s.state = wantNothing
	}
}

func (s *scanner) run() error {
	r := s.r
	for {
		buf, err := r.br.Peek(1)
		if err == io.EOF {
			return s.eof()
		}
		if err != nil {
			return r.errorf(-1, r.off, "read: %v", err)
		}
		c, at := buf[0], r.off
		if isSpace(c) {
			buf, _ = r.br.Peek(r.br.Buffered())
			i := 0
			for i < len(buf) && isSpace(buf[i]) {
				i++
			}
			s.consume(buf[:i])
			continue
		}
		if s.head && c == 0 {
			// No JSON text has a NUL outside a string: what does is most
			// likely UTF-16 that lost its byte order mark on the way.
			return r.errorf(-1, at, "not a HAR file: a NUL byte (UTF-16 without a byte order mark?)")
		}
		if s.head && len(s.open) == 0 && c != '{' {
			return r.errorf(-1, at, "not a HAR file: expected a JSON object, found %q", c)
		}
		switch s.state {
		case wantNothing:
			return s.fail(at, "unexpected %q after the end of the document", c)
		case wantColon:
			if c != ':' {
				return s.fail(at, "expected ':' after member name, found %q", c)
			}
			s.consume(buf[:1])
			s.state = wantValue
		case wantKey, wantKeyOrEnd:
			switch {
			case c == '"':
				// After the entries, names at the two outer levels are
				// decoded too: this reader takes the first log.entries and
				// encoding/json the last, so a second one is refused.
				outer := !s.head && len(s.open) <= 2
				key, err := s.str(s.head || outer)
				if err != nil {
					return err
				}
				if outer && key == "log" && len(s.open) == 1 {
					return s.fail(at, "duplicate member log")
				}
				if outer && key == "entries" && len(s.open) == 2 {
					return s.fail(at, "duplicate member log.entries")
				}
				s.open[len(s.open)-1].key = key
				s.state = wantColon
			case c == '}' && s.state == wantKeyOrEnd:
				s.consume(buf[:1])
				s.close()
			default:
				return s.fail(at, "expected a member name, found %q", c)
			}
		case wantCommaOrEnd:
			top := &s.open[len(s.open)-1]
			switch {
			case c == ',' && top.object:
				s.consume(buf[:1])
				s.state = wantKey
			case c == ',':
				s.consume(buf[:1])
				top.index++
				s.state = wantValue
			case c == '}' && top.object, c == ']' && !top.object:
				s.consume(buf[:1])
				s.close()
			default:
				return s.fail(at, "unexpected %q after a value", c)
			}
		case wantValue, wantValueOrEnd:
			switch {
			case c == ']' && s.state == wantValueOrEnd:
				s.consume(buf[:1])
				s.close()
			case c == '[' && s.head && len(s.open) == 2 && s.open[0].key == "log" && s.open[1].object && s.open[1].key == "entries":
				s.consume(buf[:1])
				return nil
			case c == '{' || c == '[':
				if len(s.open) >= MaxDepth {
					return s.fail(at, "nesting deeper than %d levels", MaxDepth)
				}
				s.consume(buf[:1])
				s.open = append(s.open, frame{object: c == '{'})
				s.state = wantValueOrEnd
				if c == '{' {
					s.state = wantKeyOrEnd
				}
			case c == '"':
				if _, err := s.str(false); err != nil {
					return err
				}
				s.state = wantCommaOrEnd
			default:
				if err := s.scalar(c, at); err != nil {
					return err
				}
				s.state = wantCommaOrEnd
			}
		}
		if s.head && len(s.open) == 0 {
			// The top-level object closed without log.entries.
			return r.errorf(-1, -1, "no log.entries array")
		}
	}
}

func (s *scanner) eof() error {
	r := s.r
	switch {
	case !s.head && s.state == wantNothing:
		return nil
	case !s.head:
		return s.fail(r.off, "unexpected end of file")
	case r.gap.Len() == 0:
		return r.errorf(-1, -1, "empty file")
	case len(s.open) == 0:
		return r.errorf(-1, -1, "not a HAR file: no JSON object")
	}
	return r.errorf(-1, r.off, "unexpected end of file before log.entries")
}

// str checks a string whose opening quote is next, a buffer at a time,
// and returns it decoded when asked to.
func (s *scanner) str(decode bool) (string, error) {
	r := s.r
	start := r.off
	var raw []byte // the string as read, when decoding
	take := func(b []byte) {
		if decode {
			raw = append(raw, b...)
		}
		s.consume(b)
	}
	b, _ := r.br.Peek(1)
	take(b)
	var esc []byte // an escape, which the buffer's end may cut
	var escAt int64
	for {
		if _, err := r.br.Peek(1); err == io.EOF {
			return "", s.fail(start, "unexpected end of file in a string")
		} else if err != nil {
			return "", r.errorf(-1, r.off, "read: %v", err)
		}
		buf, _ := r.br.Peek(r.br.Buffered())
		i := 0
		for i < len(buf) {
			c := buf[i]
			switch {
			case c == '"' && len(esc) == 0:
				take(buf[:i+1])
				if !decode {
					return "", nil
				}
				return unquote(raw), nil
			case c < 0x20:
				return "", s.fail(r.off+int64(i), "invalid control character in string")
			case c == '\\' || len(esc) > 0:
				// An escape goes byte by byte through esc.
				if len(esc) == 0 {
					escAt = r.off + int64(i)
				}
				esc = append(esc, c)
				done, ok := escape(esc)
				if !ok {
					return "", s.fail(escAt, "invalid escape in string")
				}
				if done {
					esc = esc[:0]
				}
				i++
			default:
				// Plain text up to the next quote, backslash or control
				// byte (bytes that are not UTF-8 pass, as in entries).
				i++
				for i < len(buf) && buf[i] >= 0x20 && buf[i] != '"' && buf[i] != '\\' {
					i++
				}
			}
		}
		take(buf)
	}
}

// escape reports whether p is a complete escape (\n, \u00e9), and
// whether it can still become one.
func escape(p []byte) (done, ok bool) {
	switch {
	case len(p) == 1:
		return false, true
	case len(p) == 2:
		switch p[1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			return true, true
		case 'u':
			return false, true
		}
		return false, false
	}
	if c := p[len(p)-1]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
		return false, false
	}
	return len(p) == 6, true
}

// scalar checks a number or a literal whose first byte c (at offset at) is
// next.
func (s *scanner) scalar(c byte, at int64) error {
	var tok []byte
	for len(tok) <= 64 {
		b, err := s.r.br.Peek(1)
		if err != nil || !scalarByte[b[0]] {
			break
		}
		tok = append(tok, b[0])
		s.consume(b)
	}
	switch {
	case jsontext.Value(tok).IsValid():
		return nil
	case c == '-' || c >= '0' && c <= '9':
		return s.fail(at, "invalid number")
	}
	return s.fail(at, "invalid character %q looking for a value", c)
}

// scalarByte marks the bytes a number or a literal can hold.
var scalarByte = func() (t [256]bool) {
	for _, c := range []byte("0123456789+-.eEtruefalsn") {
		t[c] = true
	}
	return t
}()

// headPath is where the frames are, as a field path ("log.pages[0].id").
func headPath(open []frame) string {
	var b strings.Builder
	for _, f := range open {
		if b.Len() > maxPath {
			break // cutPath cuts it
		}
		switch {
		case !f.object:
			b.WriteString("[" + strconv.Itoa(f.index) + "]")
		case f.key == "":
			return cutPath(b.String()) // an object just opened
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(f.key)
		}
	}
	return cutPath(b.String())
}
