package correlate

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/apitape/apitape/har"
)

// scanner walks a JSON document held in a string and reports every string
// and integer with its path, without building the document: list responses
// are most of a session's bytes and almost none of their values are used.
// Keys and unescaped strings are substrings of the body (no copies). It is
// lenient about details (number grammar, escapes) and stops on structural
// errors; Analyze re-reads every variable it keeps with [Source.Lookup],
// so a value the real decoder would not give back never binds.
type scanner struct {
	s    string
	i    int
	path Path
	objs []objFrame // objects seen, for resource types
	cur  int        // innermost object, -1 outside any
	leaf func(value string, path Path, obj int)
	bad  bool
}

// objFrame is one object: its declared resource type, its parent object
// and the path depth where it starts.
type objFrame struct {
	typ, kind, resourceType string
	parent, depth           int
}

func (sc *scanner) run(s string) bool {
	sc.s, sc.i, sc.path, sc.objs, sc.cur, sc.bad = s, 0, sc.path[:0], sc.objs[:0], -1, false
	sc.value()
	sc.ws()
	return !sc.bad && sc.i == len(sc.s)
}

func (sc *scanner) ws() {
	for sc.i < len(sc.s) {
		switch sc.s[sc.i] {
		case ' ', '\t', '\r', '\n':
			sc.i++
		default:
			return
		}
	}
}

func (sc *scanner) value() {
	sc.ws()
	if sc.bad || sc.i >= len(sc.s) || len(sc.path) > har.MaxDepth {
		sc.bad = true
		return
	}
	switch c := sc.s[sc.i]; {
	case c == '{':
		sc.object()
	case c == '[':
		sc.array()
	case c == '"':
		if v, ok := sc.str(); ok {
			sc.leaf(v, sc.path, sc.cur)
		}
	case c == 't' || c == 'f' || c == 'n':
		for _, lit := range []string{"true", "false", "null"} {
			if strings.HasPrefix(sc.s[sc.i:], lit) {
				sc.i += len(lit)
				return
			}
		}
		sc.bad = true
	case c == '-' || '0' <= c && c <= '9':
		start := sc.i
		if integer, ok := sc.number(); !ok {
			sc.bad = true
		} else if integer {
			sc.leaf(sc.s[start:sc.i], sc.path, sc.cur)
		}
	default:
		sc.bad = true
	}
}

// number reads -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)? and reports whether
// it is an integer.
func (sc *scanner) number() (integer, ok bool) {
	digits := func() int {
		n := 0
		for sc.i < len(sc.s) && '0' <= sc.s[sc.i] && sc.s[sc.i] <= '9' {
			sc.i++
			n++
		}
		return n
	}
	if sc.s[sc.i] == '-' {
		sc.i++
	}
	if sc.i < len(sc.s) && sc.s[sc.i] == '0' {
		sc.i++
	} else if digits() == 0 {
		return false, false
	}
	integer = true
	if sc.i < len(sc.s) && sc.s[sc.i] == '.' {
		sc.i++
		if digits() == 0 {
			return false, false
		}
		integer = false
	}
	if sc.i < len(sc.s) && (sc.s[sc.i] == 'e' || sc.s[sc.i] == 'E') {
		sc.i++
		if sc.i < len(sc.s) && (sc.s[sc.i] == '+' || sc.s[sc.i] == '-') {
			sc.i++
		}
		if digits() == 0 {
			return false, false
		}
		integer = false
	}
	return integer, true
}

func (sc *scanner) object() {
	sc.i++ // {
	frame := len(sc.objs)
	sc.objs = append(sc.objs, objFrame{parent: sc.cur, depth: len(sc.path)})
	outer := sc.cur
	sc.cur = frame
	defer func() { sc.cur = outer }()
	for first := true; ; first = false {
		sc.ws()
		if sc.i < len(sc.s) && sc.s[sc.i] == '}' && first {
			sc.i++
			return
		}
		if sc.i >= len(sc.s) || sc.s[sc.i] != '"' {
			sc.bad = true
			return
		}
		key, ok := sc.str()
		sc.ws()
		if !ok || sc.i >= len(sc.s) || sc.s[sc.i] != ':' {
			sc.bad = true
			return
		}
		sc.i++
		sc.ws()
		sc.path = append(sc.path, Step{Key: key})
		if sc.i < len(sc.s) && sc.s[sc.i] == '"' && (key == "type" || key == "kind" || key == "resourceType") {
			v, _ := sc.str()
			f := &sc.objs[frame]
			switch key {
			case "type":
				f.typ = v
			case "kind":
				f.kind = v
			default:
				f.resourceType = v
			}
		} else {
			sc.value()
		}
		if !sc.next('}') {
			return
		}
	}
}

// next ends a member or an element: it pops its path step and reads the
// comma (true: another follows) or the closing bracket (false).
func (sc *scanner) next(close byte) bool {
	sc.path = sc.path[:len(sc.path)-1]
	sc.ws()
	switch {
	case sc.bad || sc.i >= len(sc.s):
		sc.bad = true
		return false
	case sc.s[sc.i] == ',':
		sc.i++
		return true
	case sc.s[sc.i] == close:
		sc.i++
		return false
	}
	sc.bad = true
	return false
}

func (sc *scanner) array() {
	sc.i++ // [
	for n := 0; ; n++ {
		sc.ws()
		if n == 0 && sc.i < len(sc.s) && sc.s[sc.i] == ']' {
			sc.i++
			return
		}
		sc.path = append(sc.path, Step{Index: n, IsIndex: true})
		sc.value()
		if !sc.next(']') {
			return
		}
	}
}

// str reads the string at sc.i (a quote): a substring when it has no
// escapes, else decoded as encoding/json does (which also turns invalid
// UTF-8 into U+FFFD).
func (sc *scanner) str() (string, bool) {
	start := sc.i + 1
	escaped := false
	for j := start; j < len(sc.s); j++ {
		switch sc.s[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			sc.i = j + 1
			if !escaped && utf8.ValidString(sc.s[start:j]) {
				return sc.s[start:j], true
			}
			var v string
			if err := json.Unmarshal([]byte(sc.s[start-1:j+1]), &v); err != nil {
				sc.bad = true
				return "", false
			}
			return v, true
		}
	}
	sc.bad = true
	sc.i = len(sc.s)
	return "", false
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
