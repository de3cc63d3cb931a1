package correlate

import (
	"bytes"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/apitape/apitape/har"
)

// scanner walks a JSON document held in a string and reports every string
// and integer with its path, without building the document: list responses
// are most of a session's bytes and almost none of their values are used.
// Keys and unescaped strings are substrings of the body (no copies).
// Strings decode as encoding/json decodes them (invalid UTF-8 and lone
// surrogates become U+FFFD; a repeated member is reported each time), and
// Analyze re-reads every variable it keeps with [Source.Lookup], so a
// value the real decoder would not give back never binds.
type scanner struct {
	s    string
	dec  jsontext.Decoder // reused: its buffer outlives one response
	rd   strings.Reader
	path Path
	objs []objFrame // objects seen, for resource types
	cur  int        // innermost object, -1 outside any
	leaf func(value string, path Path, obj int)
	buf  []byte // scratch for unquoting
}

// objFrame is one object: its declared resource type, its parent object
// and the path depth where it starts.
type objFrame struct {
	typ, kind, resourceType string
	parent, depth           int
}

// run scans s and reports whether it is one JSON value nested at most
// har.MaxDepth deep; leaves seen before an error have been reported.
func (sc *scanner) run(s string) bool {
	sc.s, sc.path, sc.objs, sc.cur = s, sc.path[:0], sc.objs[:0], -1
	sc.rd.Reset(s)
	sc.dec.Reset(&sc.rd, jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))
	ok := sc.value()
	if ok {
		_, err := sc.dec.ReadToken()
		ok = err == io.EOF // not a second value

	}
	sc.rd.Reset("") // not to keep the body alive
	sc.s = ""
	return ok
}

func (sc *scanner) value() bool {
	if len(sc.path) > har.MaxDepth {
		return false
	}
	switch sc.dec.PeekKind() {
	case '{':
		return sc.object()
	case '[':
		return sc.array()
	case '"':
		v, ok := sc.str()
		if ok {
			sc.leaf(v, sc.path, sc.cur)
		}
		return ok
	case '0':
		raw, err := sc.dec.ReadValue()
		if err != nil {
			return false
		}
		if bytes.IndexAny(raw, ".eE") < 0 {
			end := int(sc.dec.InputOffset())
			sc.leaf(sc.s[end-len(raw):end], sc.path, sc.cur)
		}
		return true
	default:
		return sc.dec.SkipValue() == nil
	}
}

func (sc *scanner) object() bool {
	if _, err := sc.dec.ReadToken(); err != nil {
		return false
	}
	frame := len(sc.objs)
	sc.objs = append(sc.objs, objFrame{parent: sc.cur, depth: len(sc.path)})
	outer := sc.cur
	sc.cur = frame
	defer func() { sc.cur = outer }()
	for sc.dec.PeekKind() == '"' {
		key, ok := sc.str()
		if !ok {
			return false
		}
		sc.path = append(sc.path, Step{Key: key})
		if sc.dec.PeekKind() == '"' && (key == "type" || key == "kind" || key == "resourceType") {
			v, ok := sc.str()
			if !ok {
				return false
			}
			f := &sc.objs[frame]
			switch key {
			case "type":
				f.typ = v
			case "kind":
				f.kind = v
			default:
				f.resourceType = v
			}
		} else if !sc.value() {
			return false
		}
		sc.path = sc.path[:len(sc.path)-1]
	}
	_, err := sc.dec.ReadToken() // '}', or the error that stopped the loop
	return err == nil
}

func (sc *scanner) array() bool {
	if _, err := sc.dec.ReadToken(); err != nil {
		return false
	}
	for n := 0; sc.dec.PeekKind() != ']'; n++ {
		sc.path = append(sc.path, Step{Index: n, IsIndex: true})
		if !sc.value() {
			return false
		}
		sc.path = sc.path[:len(sc.path)-1]
	}
	_, err := sc.dec.ReadToken() // ']', or the error that stopped the loop
	return err == nil
}

// str reads the next string (a value or a member name): a substring of
// the body when it has no escapes and is valid UTF-8, else decoded.
func (sc *scanner) str() (string, bool) {
	raw, err := sc.dec.ReadValue()
	if err != nil {
		return "", false
	}
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		end := int(sc.dec.InputOffset())
		return sc.s[end-len(raw)+1 : end-1], true
	}
	// The decoder checked the syntax; the one error left says invalid
	// UTF-8 became U+FFFD, as encoding/json makes it.
	sc.buf, _ = jsontext.AppendUnquote(sc.buf[:0], raw)
	return string(sc.buf), true
}

// typeOf is the resource type of object frame obj or the nearest enclosing
// object that declares one, and the path depth of that object; "" and -1
// when none does. See [objectType] for the rules.
func (sc *scanner) typeOf(obj int) (string, int) {
	for ; obj >= 0; obj = sc.objs[obj].parent {
		f := sc.objs[obj]
		if t := objectType(f.typ, f.kind, f.resourceType); t != "" {
			return t, f.depth
		}
	}
	return "", -1
}
