package har

import (
	"encoding/json"
	"fmt"
	"io"
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

// tailError is a syntax error in the tail, at an input offset.
type tailError struct {
	off int64
	msg string
}

func (e *tailError) Error() string { return e.msg }

// What the tail checker expects next.
const (
	tailValue      = iota
	tailValueOrEnd // after '['
	tailKey        // after ',' in an object
	tailKeyOrEnd   // after '{'
	tailColon      // after a member name
	tailCommaOrEnd // after a value
	tailDone       // after the root object: only space
)

// checkTail reads the rest of the input after log.entries' closing ']',
// checking that it completes the document as JSON, and keeps it in r.gap
// up to MaxTail bytes past keepFrom. It holds no string or value whole,
// so its memory does not grow with the tail.
func (r *Reader) checkTail(keepFrom int) error {
	open := []bool{true, true} // objects: the root and log
	state := tailCommaOrEnd
	kept := r.gap.Len() - keepFrom
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
	bad := func(off int64, format string, args ...any) error {
		return &tailError{off, fmt.Sprintf(format, args...)}
	}
	for {
		buf, err := r.br.Peek(1)
		if err != nil {
			if err != io.EOF {
				return err
			}
			if state == tailDone {
				return nil
			}
			return bad(r.off, "unexpected end of file")
		}
		c := buf[0]
		at := r.off
		if isSpace(c) {
			n := r.br.Buffered()
			buf, _ = r.br.Peek(n)
			i := 0
			for i < len(buf) && isSpace(buf[i]) {
				i++
			}
			r.consume(buf[:i], keep)
			continue
		}
		switch state {
		case tailDone:
			return bad(at, "unexpected %q after the end of the document", c)
		case tailColon:
			if c != ':' {
				return bad(at, "expected ':' after a member name, found %q", c)
			}
			r.consume(buf[:1], keep)
			state = tailValue
		case tailKey, tailKeyOrEnd:
			switch {
			case c == '"':
				if err := r.tailString(keep); err != nil {
					return err
				}
				state = tailColon
			case c == '}' && state == tailKeyOrEnd:
				r.consume(buf[:1], keep)
				open = open[:len(open)-1]
				state = afterValue(open)
			default:
				return bad(at, "expected a member name, found %q", c)
			}
		case tailCommaOrEnd:
			top := open[len(open)-1]
			switch {
			case c == ',':
				r.consume(buf[:1], keep)
				state = tailValue
				if top {
					state = tailKey
				}
			case c == '}' && top, c == ']' && !top:
				r.consume(buf[:1], keep)
				open = open[:len(open)-1]
				state = afterValue(open)
			default:
				return bad(at, "expected ',' or the end of an %s, found %q", map[bool]string{true: "object", false: "array"}[top], c)
			}
		case tailValue, tailValueOrEnd:
			switch {
			case c == ']' && state == tailValueOrEnd:
				r.consume(buf[:1], keep)
				open = open[:len(open)-1]
				state = afterValue(open)
			case c == '{' || c == '[':
				if len(open) >= MaxDepthTail {
					return bad(at, "nested more than %d deep", MaxDepthTail)
				}
				r.consume(buf[:1], keep)
				open = append(open, c == '{')
				state = tailValueOrEnd
				if c == '{' {
					state = tailKeyOrEnd
				}
			case c == '"':
				if err := r.tailString(keep); err != nil {
					return err
				}
				state = tailCommaOrEnd
			default:
				if err := r.tailScalar(keep); err != nil {
					return err
				}
				state = tailCommaOrEnd
			}
		}
	}
}

// MaxDepthTail bounds nesting in the tail, as in the entries.
const MaxDepthTail = 512

func afterValue(open []bool) int {
	if len(open) == 0 {
		return tailDone
	}
	return tailCommaOrEnd
}

// consume discards b (buffered bytes) after keeping them.
func (r *Reader) consume(b []byte, keep func([]byte)) {
	keep(b)
	r.br.Discard(len(b))
	r.off += int64(len(b))
}

// tailString checks a string whose opening quote is next, a buffer at a
// time.
func (r *Reader) tailString(keep func([]byte)) error {
	start := r.off
	b, _ := r.br.Peek(1)
	r.consume(b, keep)
	var pend []byte // an escape, which the buffer's end may cut
	for {
		buf, err := r.br.Peek(1)
		if err == io.EOF {
			return &tailError{start, "unexpected end of file in a string"}
		}
		if err != nil {
			return err
		}
		buf, _ = r.br.Peek(r.br.Buffered())
		i := 0
		for i < len(buf) {
			c := buf[i]
			switch {
			case c == '"' && len(pend) == 0:
				r.consume(buf[:i+1], keep)
				return nil
			case c < 0x20:
				return &tailError{r.off + int64(i), fmt.Sprintf("control character %q in a string", c)}
			case c == '\\' || len(pend) > 0:
				// An escape goes byte by byte through pend.
				pend = append(pend, c)
				done, ok := escape(pend)
				if !ok {
					return &tailError{r.off + int64(i), "invalid escape in a string"}
				}
				if done {
					pend = pend[:0]
				}
				i++
			default:
				// Plain text up to the next quote, backslash or control
				// byte (bytes that are not UTF-8 pass, as in entries).
				j := i + 1
				for j < len(buf) && buf[j] >= 0x20 && buf[j] != '"' && buf[j] != '\\' {
					j++
				}
				i = j
			}
		}
		r.consume(buf, keep)
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
	if !isHex(p[len(p)-1]) {
		return false, false
	}
	return len(p) == 6, true
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// tailScalar checks a number or a literal (true, false, null).
func (r *Reader) tailScalar(keep func([]byte)) error {
	start := r.off
	var tok []byte
	for len(tok) <= 64 {
		b, err := r.br.Peek(1)
		if err != nil {
			break
		}
		c := b[0]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-' || c == '+' || c == '.' || c == 'E') {
			break
		}
		tok = append(tok, c)
		r.consume(b, keep)
	}
	if len(tok) == 0 {
		b, _ := r.br.Peek(1)
		return &tailError{start, fmt.Sprintf("unexpected %q", b)}
	}
	if !json.Valid(tok) {
		return &tailError{start, fmt.Sprintf("invalid value %q", tok)}
	}
	return nil
}
