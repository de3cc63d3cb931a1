package correlate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Path is a location inside a JSON document, written as the subset of jq
// filters that jq (1.6 and later) and [Path.Eval] evaluate the same way:
//
//	.                  the whole document
//	.id                a member whose name is a jq identifier
//	.data[0].id        an array element (negative counts from the end)
//	.["a b"]  .x["a b"] a member with any name, as a JSON string
//
// A leading `$` (JSONPath habit) is accepted and dropped: `$.data[0].id`
// is `.data[0].id`. [Path.String] gives the canonical form, which is the jq
// filter itself, so an emitter can write `jq -er '<path>'` and a Go program
// can evaluate the same text with [Source.Lookup].
type Path []Step

// Step is one member name or array index of a [Path].
type Step struct {
	Key     string
	Index   int
	IsIndex bool
}

// maxPathSteps bounds a parsed path; real ones have a handful of steps.
const maxPathSteps = 256

// ParsePath parses the path syntax described at [Path].
func ParsePath(s string) (Path, error) {
	in := s
	if strings.HasPrefix(s, "$") {
		s = s[1:]
		if s == "" {
			return Path{}, nil
		}
		if s[0] != '.' && s[0] != '[' {
			return nil, pathErrorf(in, "after $ expected . or [")
		}
		if s == "." {
			return nil, pathErrorf(in, "a path ends with a member name or index")
		}
	} else if !strings.HasPrefix(s, ".") {
		return nil, pathErrorf(in, "a path starts with . (like .data[0].id)")
	}
	if s == "." {
		return Path{}, nil
	}
	var p Path
	for len(s) > 0 {
		if len(p) >= maxPathSteps {
			return nil, pathErrorf(in, "more than %d steps", maxPathSteps)
		}
		switch s[0] {
		case '.':
			s = s[1:]
			if s == "" {
				return nil, pathErrorf(in, "a path ends with a member name or index")
			}
			if s[0] == '[' {
				// jq's ".[0]" and '.["k"]'; only valid first, as jq 1.6 rejects ".a.[0]".
				if len(p) > 0 {
					return nil, pathErrorf(in, "write .a[0] or .a[\"k\"], not .a.[")
				}
				continue
			}
			n := identLen(s)
			if n == 0 {
				return nil, pathErrorf(in, "expected a member name after .")
			}
			if jqKeywords[s[:n]] {
				return nil, pathErrorf(in, "%s is a jq keyword: write [\"%s\"]", s[:n], s[:n])
			}
			p = append(p, Step{Key: s[:n]})
			s = s[n:]
		case '[':
			step, rest, err := parseBracket(s)
			if err != nil {
				return nil, pathErrorf(in, "%v", err)
			}
			p = append(p, step)
			s = rest
		default:
			return nil, pathErrorf(in, "unexpected %q", s[0])
		}
	}
	return p, nil
}

func pathErrorf(path, format string, args ...any) error {
	return fmt.Errorf("invalid path %q: %s", path, fmt.Sprintf(format, args...))
}

// parseBracket parses "[12]", "[-1]" or `["key"]` at the start of s.
func parseBracket(s string) (Step, string, error) {
	s = s[1:]
	if strings.HasPrefix(s, `"`) {
		end := jsonStringEnd(s)
		if end < 0 {
			return Step{}, "", errors.New("unterminated string")
		}
		var key string
		if err := json.Unmarshal([]byte(s[:end]), &key); err != nil {
			return Step{}, "", errors.New("bad string")
		}
		if !strings.HasPrefix(s[end:], "]") {
			return Step{}, "", errors.New("expected ] after the string")
		}
		return Step{Key: key}, s[end+1:], nil
	}
	close := strings.IndexByte(s, ']')
	if close < 0 {
		return Step{}, "", errors.New("missing ]")
	}
	num := s[:close]
	digits := strings.TrimPrefix(num, "-")
	if digits == "" || len(digits) > 9 || strings.Trim(digits, "0123456789") != "" || (len(digits) > 1 && digits[0] == '0') {
		return Step{}, "", fmt.Errorf("index %q is not an integer", num)
	}
	n, _ := strconv.Atoi(num)
	if num == "-0" {
		return Step{}, "", errors.New("index -0")
	}
	return Step{Index: n, IsIndex: true}, s[close+1:], nil
}

// jsonStringEnd returns the length of the JSON string literal at the start
// of s (which begins with a quote), or -1.
func jsonStringEnd(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// identLen is the length of the jq identifier at the start of s.
func identLen(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9' {
			continue
		}
		return i
	}
	return len(s)
}

// jqKeywords cannot follow a dot in jq 1.6 (".if" is a syntax error), so
// such members are written `["if"]`.
var jqKeywords = map[string]bool{
	"and": true, "or": true, "not": true, "if": true, "then": true, "elif": true, "else": true, "end": true,
	"as": true, "def": true, "reduce": true, "foreach": true, "try": true, "catch": true, "label": true,
	"import": true, "include": true, "__loc__": true,
}

// String returns the canonical form, which is also the jq filter.
func (p Path) String() string {
	if len(p) == 0 {
		return "."
	}
	var b strings.Builder
	for i, st := range p {
		if !st.IsIndex && identLen(st.Key) == len(st.Key) && st.Key != "" && !jqKeywords[st.Key] {
			b.WriteString("." + st.Key)
			continue
		}
		if i == 0 {
			b.WriteByte('.')
		}
		if st.IsIndex {
			b.WriteString("[" + strconv.Itoa(st.Index) + "]")
		} else {
			b.WriteString("[" + quoteJSON(st.Key) + "]")
		}
	}
	return b.String()
}

// quoteJSON writes s as a JSON string literal without HTML escaping: valid
// in jq too, whose string literals are JSON's plus "\(…)" interpolation
// (which a JSON encoder never produces: a backslash is always doubled).
func quoteJSON(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// Eval walks a document decoded by encoding/json (objects as
// map[string]any, arrays as []any) and returns the value at the path, like
// jq: a missing member gives nil, true; a step into the wrong kind of value
// (a member of an array, an index of a string) gives false, where jq stops
// with an error.
func (p Path) Eval(doc any) (any, bool) {
	v := doc
	for _, st := range p {
		switch x := v.(type) {
		case nil:
			// jq: .a and .[0] of null are null.
		case map[string]any:
			if st.IsIndex {
				return nil, false
			}
			v = x[st.Key]
		case []any:
			if !st.IsIndex {
				return nil, false
			}
			i := st.Index
			if i < 0 {
				i += len(x)
			}
			if i < 0 || i >= len(x) {
				v = nil
			} else {
				v = x[i]
			}
		default:
			return nil, false
		}
	}
	return v, true
}

func scalarText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	}
	return "", false
}

// decodeJSON decodes exactly one JSON value, keeping numbers as written.
func decodeJSON(body []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false
	}
	return doc, true
}
