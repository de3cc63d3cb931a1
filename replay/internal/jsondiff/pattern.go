package jsondiff

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Pattern selects paths, for ignore rules. Syntax (a small JSONPath):
//
//	$.a.b          keys from the root
//	$["a.b/c"]     a key with dots or other punctuation
//	$.data[*].id   any element of an array
//	$.data[3]      the element at index 3 (recorded index)
//	$.data[name=lab].id   the element whose field name is "lab"
//	**.created     "created" at any depth (also $..created)
//	$.labels.*     any key; * inside a key or value is a wildcard
//
// A pattern also matches everything below what it selects: $.conditions
// covers $.conditions[0].lastUpdateTime.
type Pattern struct {
	segs []patSeg
}

type patKind uint8

const (
	pKey patKind = iota
	pAnyElem
	pIndex
	pMatch
	pDeep
)

type patSeg struct {
	kind  patKind
	key   string // glob for pKey; field name for pMatch
	value string // glob for pMatch
	index int
}

// ParsePattern parses a path pattern. It must start with $ or **.
func ParsePattern(s string) (*Pattern, error) {
	p := &Pattern{}
	rest := s
	switch {
	case strings.HasPrefix(rest, "$"):
		rest = rest[1:]
	case strings.HasPrefix(rest, "**"):
		p.segs = append(p.segs, patSeg{kind: pDeep})
		rest = rest[2:]
	default:
		return nil, fmt.Errorf("path %q must start with $ (the body) or ** (any depth)", s)
	}
	for rest != "" {
		switch {
		case strings.HasPrefix(rest, ".."):
			p.segs = append(p.segs, patSeg{kind: pDeep})
			rest = rest[1:] // leave one dot for the key that follows
			if rest == "." {
				return nil, fmt.Errorf("path %q: a key must follow ..", s)
			}
			if strings.HasPrefix(rest, ".[") {
				rest = rest[1:]
			}
		case strings.HasPrefix(rest, ".**"):
			p.segs = append(p.segs, patSeg{kind: pDeep})
			rest = rest[3:]
		case rest[0] == '.':
			end := strings.IndexAny(rest[1:], ".[")
			if end < 0 {
				end = len(rest) - 1
			}
			key := rest[1 : 1+end]
			if key == "" {
				return nil, fmt.Errorf("path %q: empty key", s)
			}
			p.segs = append(p.segs, patSeg{kind: pKey, key: key})
			rest = rest[1+end:]
		case rest[0] == '[':
			seg, n, err := parseBracket(rest)
			if err != nil {
				return nil, fmt.Errorf("path %q: %v", s, err)
			}
			p.segs = append(p.segs, seg)
			rest = rest[n:]
		default:
			return nil, fmt.Errorf("path %q: unexpected %q (keys start with . or [)", s, rest[:1])
		}
	}
	return p, nil
}

// parseBracket parses one [...] step and returns its length.
func parseBracket(s string) (patSeg, int, error) {
	inner, n, err := bracketContent(s)
	if err != nil {
		return patSeg{}, 0, err
	}
	switch {
	case inner == "*":
		return patSeg{kind: pAnyElem}, n, nil
	case strings.HasPrefix(inner, `"`):
		var key string
		if err := json.Unmarshal([]byte(inner), &key); err != nil {
			return patSeg{}, 0, fmt.Errorf("bad quoted key %s", inner)
		}
		return patSeg{kind: pKey, key: key}, n, nil
	}
	if i, err := strconv.Atoi(inner); err == nil && i >= 0 {
		return patSeg{kind: pIndex, index: i}, n, nil
	}
	field, value, ok := strings.Cut(inner, "=")
	if !ok || field == "" {
		return patSeg{}, 0, fmt.Errorf("bad step [%s]: want [*], [N], [\"key\"] or [field=value]", inner)
	}
	if strings.HasPrefix(value, `"`) {
		if err := json.Unmarshal([]byte(value), &value); err != nil {
			return patSeg{}, 0, fmt.Errorf("bad quoted value in [%s]", inner)
		}
	}
	return patSeg{kind: pMatch, key: field, value: value}, n, nil
}

// bracketContent returns what is between [ and the matching ], honouring
// quoted strings, and the length including both brackets.
func bracketContent(s string) (string, int, error) {
	inQuote, esc := false, false
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case esc:
			esc = false
		case inQuote && c == '\\':
			esc = true
		case c == '"':
			inQuote = !inQuote
		case c == ']' && !inQuote:
			return s[1:i], i + 1, nil
		}
	}
	return "", 0, fmt.Errorf("missing ]")
}

// Match reports whether the pattern selects p or one of its ancestors.
func (pt *Pattern) Match(p Path) bool { return matchSegs(pt.segs, p) }

func matchSegs(ps []patSeg, p Path) bool {
	for len(ps) > 0 {
		if ps[0].kind == pDeep {
			rest := ps[1:]
			if len(rest) == 0 {
				return true
			}
			for i := 0; i <= len(p); i++ {
				if matchSegs(rest, p[i:]) {
					return true
				}
			}
			return false
		}
		if len(p) == 0 {
			return false
		}
		if !ps[0].matches(p[0]) {
			return false
		}
		ps, p = ps[1:], p[1:]
	}
	// Pattern exhausted: it selected p itself or an ancestor of it.
	return true
}

func (ps patSeg) matches(s Seg) bool {
	switch ps.kind {
	case pKey:
		return !s.Elem && glob(ps.key, s.Key)
	case pAnyElem:
		return s.Elem
	case pIndex:
		return s.Elem && s.Index == ps.index
	case pMatch:
		return s.Elem && s.Field == ps.key && glob(ps.value, s.Value)
	}
	return false
}

// glob matches s against a pattern where * stands for any run of characters.
func glob(pattern, s string) bool {
	if !strings.Contains(pattern, "*") {
		return pattern == s
	}
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, last)
}
