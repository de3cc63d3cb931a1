package redact

import "strings"

// HTML pages carry CSRF and one-time tokens in form fields and meta tags:
// <input type="hidden" name="authenticity_token" value="…"> (Rails),
// <meta name="csrf-token" content="…">. The attribute value is the secret
// when the name says so.

type htmlAttr struct {
	name   string
	lo, hi int // the value's span in the text
}

// htmlFields redacts secret-named <input> values and <meta> contents.
func (a *analyzer) htmlFields(s string, es *editSet) {
	if !strings.Contains(s, "<") {
		return
	}
	for _, tag := range []string{"<input", "<meta"} {
		for from := 0; ; {
			i := indexTag(s, from, tag)
			if i < 0 {
				break
			}
			end := strings.IndexByte(s[i:], '>')
			if end < 0 {
				break
			}
			end += i
			from = end
			attrs := htmlAttrs(s, i+len(tag), end)
			name, value := "", -1
			for j, at := range attrs {
				switch at.name {
				case "name", "property":
					name = s[at.lo:at.hi]
				case "value", "content":
					value = j
				}
			}
			if name == "" || value < 0 || a.p.kept(name) {
				continue
			}
			class, secret := a.key(name, nil)
			if !secret && containsAny(lower(name), "csrf", "xsrf", "authenticity") {
				class, secret = "csrf", true
			}
			if !secret {
				continue
			}
			v := attrs[value]
			inner := &editSet{}
			a.pushQN("html", name)
			a.secretValue(s[v.lo:v.hi], inner, class, "html:"+lower(name), false, false)
			a.pop()
			es.addAll(inner, v.lo)
		}
	}
}

// indexTag is strings.Index(asciiLower(s)[from:], tag)+from, or -1, for
// a lower-case tag that starts with '<', without lower-casing a copy of
// the page (FuzzIndexTag).
func indexTag(s string, from int, tag string) int {
	for from < len(s) {
		i := strings.IndexByte(s[from:], '<')
		if i < 0 {
			return -1
		}
		i += from
		if hasLowerPrefix(s[i:], tag) {
			return i
		}
		from = i + 1
	}
	return -1
}

// htmlAttrs parses the attributes of a tag between lo and hi (the '>').
func htmlAttrs(s string, lo, hi int) []htmlAttr {
	var out []htmlAttr
	i := lo
	for i < hi {
		for i < hi && (isSpaceByte(s[i]) || s[i] == '/') {
			i++
		}
		ns := i
		for i < hi && !isSpaceByte(s[i]) && s[i] != '=' && s[i] != '/' {
			i++
		}
		if i == ns {
			i++
			continue
		}
		name := lower(s[ns:i])
		for i < hi && isSpaceByte(s[i]) {
			i++
		}
		if i >= hi || s[i] != '=' {
			continue
		}
		i++
		for i < hi && isSpaceByte(s[i]) {
			i++
		}
		if i >= hi {
			break
		}
		var vlo, vhi int
		if q := s[i]; q == '"' || q == '\'' {
			vlo = i + 1
			vhi = strings.IndexByte(s[vlo:hi], q)
			if vhi < 0 {
				break
			}
			vhi += vlo
			i = vhi + 1
		} else {
			vlo = i
			for i < hi && !isSpaceByte(s[i]) {
				i++
			}
			vhi = i
		}
		out = append(out, htmlAttr{name, vlo, vhi})
	}
	return out
}

// maxXMLTag bounds the search for a start tag's end.
const maxXMLTag = 1024

// xmlElements redacts the text of secret-named XML elements, as a SOAP or
// XML-RPC login sends them: <Password>…</Password>, <ns:ApiKey>…</ns:ApiKey>.
// Only an element holding text alone counts, and the value must pass the
// free-text gate.
func (a *analyzer) xmlElements(s string, es *editSet) {
	if !strings.Contains(s, "</") {
		return
	}
	for from := 0; ; {
		i := strings.IndexByte(s[from:], '<')
		if i < 0 {
			return
		}
		i += from
		from = i + 1
		j := i + 1
		for j < len(s) && (isIdentByte(s[j]) || s[j] == ':') {
			j++
		}
		if j == i+1 || j >= len(s) {
			continue
		}
		if s[j] != '>' && s[j] != ' ' {
			continue
		}
		name := s[i+1 : j]
		local := name[strings.LastIndexByte(name, ':')+1:]
		// A start tag's attributes are short; a bounded look keeps a text
		// full of '<' linear.
		gt := strings.IndexByte(s[j:min(len(s), j+maxXMLTag)], '>')
		if gt < 0 {
			continue
		}
		gt += j
		if s[gt-1] == '/' || local == "" || a.p.kept(local) {
			continue
		}
		class, secret := a.key(local, nil)
		if !secret {
			continue
		}
		lo := gt + 1
		hi := strings.IndexByte(s[lo:], '<')
		if hi < 0 {
			return
		}
		hi += lo
		if !strings.HasPrefix(s[hi:], "</"+name+">") {
			continue
		}
		for lo < hi && isSpaceByte(s[lo]) {
			lo++
		}
		for hi > lo && isSpaceByte(s[hi-1]) {
			hi--
		}
		v := s[lo:hi]
		if v == "" || !freeTextSecret(v, class, true) {
			continue
		}
		inner := &editSet{}
		a.pushQN("xml", local)
		a.secretValue(v, inner, class, "xml:"+lower(local), false, false)
		a.pop()
		es.addAll(inner, lo)
		from = hi
	}
}
