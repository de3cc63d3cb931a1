package correlate

import (
	"cmp"
	"strings"
)

// naming finds the resource type around a JSON value and the member names
// from that resource down to it; without a declared type, the URL's type
// and the members below the innermost array.
func (a *analyzer) naming(p *production, fallback string) (string, []string) {
	typ, depth := a.scan.typeOf(p.obj)
	if typ == "" {
		typ, depth = fallback, 0
		for i, s := range p.steps {
			if s.IsIndex {
				depth = i + 1
			}
		}
	}
	return typ, keysOf(p.steps[depth:])
}

func keysOf(p Path) []string {
	var keys []string
	for _, s := range p {
		if !s.IsIndex {
			keys = append(keys, s.Key)
		}
	}
	return keys
}

// objectType is the resource type an object declares: norman's `type`
// (its last segment when it is a schema URL; `resourceType` for a
// collection), or Kubernetes' `kind`; steve's dotted types keep their last
// part ("provisioning.cattle.io.cluster" → "cluster").
func objectType(typ, kind, resourceType string) string {
	t := typ
	if t == "collection" {
		t = resourceType
	}
	t = cmp.Or(t, kind)
	if i := strings.LastIndexAny(t, "/."); i >= 0 {
		t = t[i+1:]
	}
	if !isWord(t) {
		return ""
	}
	return t
}

func isWord(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == '-' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// urlType guesses the resource type from a URL path: the last plural word
// segment, singular ("/v3/clusters/c-q7x2m" → "cluster"), else the last
// word that is not a version ("/v3/cluster").
func urlType(rawURL string) string {
	_, path, _, _ := SplitURL(rawURL)
	segs := strings.Split(path, "/")
	last := ""
	for i := len(segs) - 1; i >= 0; i-- {
		s := segs[i]
		if !isWord(s) || isVersion(s) || strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			continue
		}
		if singular(s) != s {
			return singular(s) // a collection: "/api/widgets/default" is a widget
		}
		if last == "" {
			last = s
		}
	}
	return last
}

func isVersion(s string) bool {
	s = strings.TrimPrefix(strings.ToLower(s), "v")
	return s != "" && strings.Trim(s, "0123456789") == "" || strings.HasPrefix(s, "3-") || strings.HasPrefix(s, "1-")
}

// singular undoes the plural of a collection name the simple way.
func singular(s string) string {
	s = strings.Trim(s, "/")
	switch {
	case strings.HasSuffix(s, "ies") && len(s) > 4:
		return s[:len(s)-3] + "y"
	case strings.HasSuffix(s, "sses"):
		return s[:len(s)-2]
	case strings.HasSuffix(s, "s") && !strings.HasSuffix(s, "ss") && len(s) > 3:
		return s[:len(s)-1]
	}
	return s
}
