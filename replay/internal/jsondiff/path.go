package jsondiff

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Seg is one step of a [Path]: an object key, an array index, or an array
// element found by the value of one of its fields (Field=Value).
type Seg struct {
	Key   string // object key (when !Elem)
	Elem  bool   // array element
	Index int    // element index in the recorded array (or live array for extra elements)
	Field string // when matched by key: the field name ("id", "name")
	Value string // and its recorded value
}

// Path locates a value inside a JSON document.
type Path []Seg

// String renders the path in the JSONPath-like notation used in reports and
// --ignore rules: $.data[name=lab].links.self, $.annotations["a.b/c"], $.x[3].
func (p Path) String() string {
	var b strings.Builder
	b.WriteByte('$')
	for _, s := range p {
		s.write(&b)
	}
	return b.String()
}

func (s Seg) write(b *strings.Builder) {
	switch {
	case !s.Elem:
		if isIdent(s.Key) {
			b.WriteByte('.')
			b.WriteString(s.Key)
			return
		}
		b.WriteByte('[')
		b.WriteString(quote(s.Key))
		b.WriteByte(']')
	case s.Field != "":
		b.WriteByte('[')
		b.WriteString(s.Field)
		b.WriteByte('=')
		if isBare(s.Value) {
			b.WriteString(s.Value)
		} else {
			b.WriteString(quote(s.Value))
		}
		b.WriteByte(']')
	default:
		b.WriteByte('[')
		b.WriteString(strconv.Itoa(s.Index))
		b.WriteByte(']')
	}
}

// Generic returns the path with every array step written as [*], the form
// in which paths are grouped across calls (noise seen at $.data[name=a].x is
// noise at $.data[name=b].x too).
func (p Path) Generic() string {
	var b strings.Builder
	b.WriteByte('$')
	for _, s := range p {
		if s.Elem {
			b.WriteString("[*]")
			continue
		}
		s.write(&b)
	}
	return b.String()
}

// Last is the last object key of the path, or "" when it ends in an element.
func (p Path) Last() string {
	if len(p) == 0 || p[len(p)-1].Elem {
		return ""
	}
	return p[len(p)-1].Key
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// isBare reports whether an element key value can be written without quotes.
func isBare(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_-.:/@+", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
