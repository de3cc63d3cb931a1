package correlate

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/credential"
	"github.com/apitape/apitape/internal/placeholder"
)

// Source classes, best first: how surely a field holds a reference.
const (
	classID    = iota // a member named "id"
	classToken        // a member named "token", a token-like header, a cookie
	classRefID        // a member named like "clusterId"
	classOther
)

// production is the current producer of one value. It becomes a Var only
// when a request uses the value.
type production struct {
	value    string
	entry    int
	source   Source
	class    int
	score    int
	typ      string
	rel      []string
	manual   string // the --var name
	v        *Var   // set on first use; after that the production never changes
	isSecret bool
	create   bool // the answer to a create (POST, PUT, 201)
	depth    int  // path length, to prefer shallow sources
	obj      int  // innermost JSON object (scanner frame), while naming
	steps    Path // JSON path, while naming
}

// produce offers the values in one response. Cheap tests run first
// (bindable, already known, beaten by the current producer) because list
// responses repeat thousands of values that were produced before.
func (a *analyzer) produce(idx int, e *har.Entry) {
	bonus := 0
	if isCreate(e) {
		bonus = 2 // the answer to a create
	}
	clear(a.byValue)
	found := a.found[:0]
	// consider reports whether a value from this response may still bind.
	consider := func(value string, class, depth int) bool {
		if !bindable(value) {
			return false
		}
		score := classScore(class) + bonus
		if s := a.values[value]; s != nil && (s.cur.v != nil || s.cur.manual != "" || s.cur.score > score) {
			return false
		}
		if old, ok := a.byValue[value]; ok && (old.class < class || old.class == class && old.depth <= depth) {
			return false // a better source of the same value in this response
		}
		return !a.knownToClient(value)
	}
	keep := func(p *production) {
		// Copies: the decoder shares one allocation between many short
		// strings of an entry, which a kept substring would keep alive.
		p.value, p.source.Path = strings.Clone(p.value), strings.Clone(p.source.Path)
		p.entry, p.score, p.create = idx, classScore(p.class)+bonus, bonus > 0
		if old, ok := a.byValue[p.value]; ok {
			*old = *p
			return
		}
		a.byValue[p.value] = p
		found = append(found, p)
	}
	cookies := 0
	for _, h := range e.Response.Headers {
		switch name := strings.ToLower(h.Name); {
		case name == "location" || name == "content-location":
			if v := LastSegment(h.Value); consider(v, classToken, 0) {
				keep(&production{value: v, source: Source{Kind: KindHeader, Path: h.Name, Part: PartLastSegment},
					class: classToken, typ: locationType(h.Value)})
			}
		case name == "set-cookie":
			eachSetCookie(h.Value, func(name, value string) {
				cookies++
				if consider(value, classToken, 0) {
					keep(&production{value: value, source: Source{Kind: KindCookie, Path: name}, class: classToken, isSecret: true})
				}
				// A name the server made up (it holds a port) is sent back
				// with the value: the pair is the credential.
				if value != "" && hasPort(name) && !a.knownToClient(name) {
					if pair := name + "=" + value; consider(pair, classToken, 0) {
						keep(&production{value: pair, source: Source{Kind: KindCookie, Path: name, Part: PartPair}, class: classToken, isSecret: true})
					}
				}
			})
		case tokenHeader(name):
			if consider(h.Value, classToken, 0) {
				keep(&production{value: h.Value, source: Source{Kind: KindHeader, Path: h.Name}, class: classToken, isSecret: true})
			}
		}
	}
	if cookies == 0 {
		for _, c := range e.Response.Cookies {
			if c.Name != "" && consider(c.Value, classToken, 0) {
				keep(&production{value: c.Value, source: Source{Kind: KindCookie, Path: c.Name}, class: classToken, isSecret: true})
			}
		}
	}
	firstJSON := len(found)
	body, isJSON := responseText(&e.Response)
	if isJSON {
		a.echoSet(e)
		a.scan.leaf = func(value string, path Path, obj int) {
			if len(value) >= minEchoLen {
				a.echoed(value)
			}
			if !bindable(value) {
				return
			}
			class := leafClass(path)
			if class < 0 {
				return
			}
			if seg := linkID(value); seg != "" && consider(seg, classOther, len(path)+1) {
				// A link's last segment: HAL's _links.self.href, norman's links.self.
				keep(&production{value: strings.Clone(seg), source: Source{Kind: KindJSON, Path: path.String(), Part: PartLastSegment},
					class: classOther, depth: len(path) + 1, typ: locationType(value)})
			}
			if class == classOther && bonus == 0 {
				// Data a list or a read shows (a version, a description)
				// that a later request sends is what the user chose, not
				// a reference: only a create's answer produces such values.
				return
			}
			if consider(value, class, len(path)) {
				keep(&production{value: strings.Clone(value), source: Source{Kind: KindJSON, Path: path.String()},
					class: class, depth: len(path), obj: obj, steps: append(Path(nil), path...)})
			}
		}
		if !a.scan.run(body) || a.echoes >= minEchoes {
			// Not JSON after all (nothing a client could read back), or
			// an echo of the request: it produced nothing.
			for _, p := range found[firstJSON:] {
				delete(a.byValue, p.value)
			}
			found = found[:firstJSON]
		}
	}
	fallback := urlType(e.Request.URL)
	rb := readBack{r: &e.Response, body: body}
	for _, p := range found {
		if !rb.holds(p) {
			continue
		}
		if p.source.Kind == KindJSON && p.source.Part == "" {
			p.typ, p.rel = a.naming(p, fallback)
			p.steps = nil
		}
		if placeholder.Contains(p.value) || secretName(p.rel) {
			p.isSecret = true
		}
		a.keepCall()
		a.offer(p)
	}
	clear(found)
	a.found = found[:0]
}

// hasPort reports a cookie name with a run of two or more digits: a port
// or an address the server put in it (username-127-0-0-1-8888).
func hasPort(name string) bool {
	run := 0
	for i := 0; i < len(name); i++ {
		if c := name[i]; '0' <= c && c <= '9' {
			if run++; run >= 2 {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

// isCreate reports the answer to a call that made something: a 201, or a
// POST or PUT answered with success.
func isCreate(e *har.Entry) bool {
	st := e.Response.Status
	m := e.Request.Method
	return st == 201 || (strings.EqualFold(m, "POST") || strings.EqualFold(m, "PUT")) && st >= 200 && st < 300
}

// weakness says why a found binding may be wrong, or "".
func weakness(p *production, first int) string {
	switch {
	case p.source.Kind == KindJSON && p.class == classOther && p.source.Part == "":
		return "a member not named id, …Id or token"
	case first != p.entry:
		return fmt.Sprintf("the answer of call %d held it first", first)
	case p.source.Kind == KindJSON && !p.create && strings.Contains(p.source.Path, "["):
		return "taken from a list, not from the answer that created it"
	}
	return ""
}

// readBack checks the values the scanner found in one response the way
// emitters and replay will read them ([Source.Lookup]), decoding the
// response at most once. It drops what the lenient scanner saw but a JSON
// decoder would not return (a member repeated in one object, where the
// last one wins; a control character in a string) and header values that
// are not the first of their name.
type readBack struct {
	r       *har.Response
	body    string // the JSON text, if the response has one
	doc     any
	decoded bool
	header  http.Header
}

func (rb *readBack) holds(p *production) bool {
	var got string
	var ok bool
	if p.source.Kind == KindJSON {
		if !rb.decoded {
			rb.doc, _ = decodeJSON([]byte(rb.body))
			rb.decoded = true
		}
		if rb.doc == nil {
			return false
		}
		got, ok = p.source.fromDoc(rb.doc)
	} else {
		if rb.header == nil {
			rb.header = responseHeader(rb.r)
		}
		got, ok = p.source.Lookup(rb.header, nil)
	}
	return ok && got == p.value
}

// linkID returns the last path segment of a value that is a URL or an
// absolute path, or "".
func linkID(v string) string {
	if !(strings.HasPrefix(v, "/") || strings.Contains(v, "://")) || strings.ContainsAny(v, " \t\r\n") {
		return ""
	}
	if seg := LastSegment(v); seg != v && bindable(seg) {
		return seg
	}
	return ""
}

// responseText returns a response body that looks like a JSON object or
// array, without copying a plain-text body.
func responseText(r *har.Response) (string, bool) {
	c := &r.Content
	if c.Text == nil {
		return "", false
	}
	text := *c.Text
	if strings.EqualFold(c.Encoding, "base64") {
		b, ok, err := c.Bytes()
		if !ok || err != nil {
			return "", false
		}
		text = string(b)
	}
	t := strings.TrimLeft(text, " \t\r\n")
	if t == "" || (t[0] != '{' && t[0] != '[') {
		return "", false
	}
	return text, true
}

func classScore(class int) int {
	if class <= classToken {
		return 1
	}
	return 0
}

// leafClass is the class of a JSON value at path, or -1 for members that
// never name anything.
func leafClass(path Path) int {
	if len(path) == 0 {
		return classOther
	}
	if last := path[len(path)-1]; !last.IsIndex && skipMember[last.Key] {
		return -1
	}
	switch key := lastKey(path); {
	case key == "id":
		return classID
	case strings.EqualFold(key, "token"):
		return classToken
	case len(key) > 2 && (strings.HasSuffix(key, "Id") || strings.HasSuffix(key, "ID") || strings.EqualFold(key[len(key)-3:], "_id")):
		return classRefID
	}
	return classOther
}

func lastKey(p Path) string {
	for i := len(p) - 1; i >= 0; i-- {
		if !p[i].IsIndex {
			return p[i].Key
		}
	}
	return ""
}

// skipMember are members that describe a value rather than name one:
// schema types and versions the client writes itself.
var skipMember = map[string]bool{
	"type": true, "baseType": true, "resourceType": true, "kind": true, "apiVersion": true,
	"$schema": true, "@type": true, "@context": true,
}

// tokenHeader reports whether a response header (lower-case name) carries
// a credential the client sends back: X-Auth-Token, X-Subject-Token,
// X-CSRF-Token, X-Session-Id …
func tokenHeader(name string) bool {
	_, ok := credential.Header(name)
	return ok
}

// secretName reports whether member names say the value is a credential.
func secretName(rel []string) bool {
	if len(rel) == 0 {
		return false
	}
	_, secret := credential.Key(rel[len(rel)-1])
	return secret
}
