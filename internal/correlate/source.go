package correlate

import (
	"net/http"
	"strings"

	"github.com/apitape/apitape/har"
)

// Source kinds: where in a response a value comes from.
const (
	KindJSON   = "json"   // Path is a [Path] into the JSON body
	KindHeader = "header" // Path is a response header name
	KindCookie = "cookie" // Path is the name of a cookie set by Set-Cookie
)

// PartLastSegment takes the last path segment of a URL value (query and
// fragment dropped): what a `Location: /v3/clusters/c-q7x2m` header
// contributes to later calls.
const PartLastSegment = "last-segment"

// PartPair takes a cookie's "name=value" pair, for a cookie whose name the
// server made up (Jupyter's username-127-0-0-1-8888, which changes with
// the port): the name is read back as a pattern in which every run of
// digits matches any run of digits, see [CookieNameMatches].
const PartPair = "pair"

// Source says where a response holds a value, in a form every consumer can
// evaluate: [Source.Lookup] in Go (replay, generated Go), jq with
// [Source.JQ] for JSON bodies, and for headers and cookies the response
// headers a client kept (curl -D).
type Source struct {
	Kind string // KindJSON, KindHeader or KindCookie
	Path string // canonical [Path] for KindJSON; header or cookie name otherwise
	Part string // "" for the whole value, or PartLastSegment
}

// String is the source as people and --var write it: ".data[0].id",
// "header:Location", "cookie:R_SESS", with " (last segment)" when only a
// part is used.
func (s Source) String() string {
	out := s.Path
	if s.Kind != KindJSON {
		out = s.Kind + ":" + s.Path
	}
	switch s.Part {
	case PartLastSegment:
		out += " (last segment)"
	case PartPair:
		out += " (name=value)"
	}
	return out
}

// JQ returns the jq filter that reads a JSON source the way
// [Source.Lookup] does, for `jq -er`: the path, then only strings and
// numbers (so an object, a boolean or null makes jq -e fail as Lookup
// does), then the part selection. It returns "" for other kinds.
//
//	.id | strings, numbers
func (s Source) JQ() string {
	if s.Kind != KindJSON {
		return ""
	}
	if s.Part == PartLastSegment {
		return s.Path + ` | strings | sub("[?#].*$"; "") | sub("/+$"; "") | sub("^.*/"; "")`
	}
	return s.Path + " | strings, numbers"
}

// Lookup finds the value in a response given its headers and body: the
// same rules the analysis used on the recording, for replay and for Go
// emitters. It reports false when the response does not hold the value.
func (s Source) Lookup(h http.Header, body []byte) (string, bool) {
	var v string
	switch s.Kind {
	case KindJSON:
		doc, ok := decodeJSON(body)
		if !ok {
			return "", false
		}
		return s.fromDoc(doc)
	case KindHeader:
		v = h.Get(s.Path)
	case KindCookie:
		exact := false
		for _, sc := range h.Values("Set-Cookie") {
			eachSetCookie(sc, func(name, value string) {
				switch {
				case name == s.Path:
					v, exact = value, true // a later Set-Cookie of the same name wins, as in a browser
					if s.Part == PartPair {
						v = name + "=" + value
					}
				case s.Part == PartPair && !exact && value != "" && CookieNameMatches(s.Path, name):
					v = name + "=" + value
				}
			})
		}
	default:
		return "", false
	}
	if s.Part == PartLastSegment {
		v = LastSegment(v)
	}
	return v, v != ""
}

// fromDoc is Lookup for a JSON source on a decoded body.
func (s Source) fromDoc(doc any) (string, bool) {
	p, err := ParsePath(s.Path)
	if err != nil {
		return "", false
	}
	raw, ok := p.Eval(doc)
	if !ok {
		return "", false
	}
	v, ok := scalarText(raw)
	if s.Part == PartLastSegment {
		str, isString := raw.(string) // jq's sub() takes strings only
		v, ok = LastSegment(str), isString
	}
	return v, ok && v != ""
}

// CookieNameMatches reports whether a live cookie name is the recorded
// one with other digits: each maximal run of digits in either stands for
// any run of digits (a port, an address), the rest must be equal.
func CookieNameMatches(recorded, live string) bool {
	return digitShape(recorded) == digitShape(live)
}

func digitShape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; '0' <= c && c <= '9' {
			if i == 0 || s[i-1] < '0' || s[i-1] > '9' {
				b.WriteByte('#')
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// LookupEntry is [Source.Lookup] on a recorded response.
func (s Source) LookupEntry(r *har.Response) (string, bool) {
	var body []byte
	if s.Kind == KindJSON {
		body, _, _ = r.Content.Bytes()
	}
	return s.Lookup(responseHeader(r), body)
}

// responseHeader is a recorded response's header as a client would have
// it, with Set-Cookie rebuilt from the cookies when the headers lack it.
func responseHeader(r *har.Response) http.Header {
	h := make(http.Header, len(r.Headers))
	for _, nv := range r.Headers {
		h.Add(nv.Name, nv.Value)
	}
	if len(h.Values("Set-Cookie")) == 0 {
		for _, c := range r.Cookies {
			h.Add("Set-Cookie", c.Name+"="+c.Value)
		}
	}
	return h
}

// eachSetCookie calls f with the name and the value, as the client will
// send it back, of each cookie a Set-Cookie header value sets. Chrome's HAR
// export joins several Set-Cookie headers into one value with newlines.
func eachSetCookie(sc string, f func(name, value string)) {
	for _, line := range strings.Split(sc, "\n") {
		pair, _, _ := strings.Cut(line, ";")
		name, value, ok := strings.Cut(pair, "=")
		if name = strings.TrimSpace(name); ok && name != "" {
			f(name, strings.TrimSpace(value))
		}
	}
}

// LastSegment is the last non-empty path segment of a URL or path, with
// the query and fragment dropped: "https://h/v3/clusters/c-q7x2m?x=1" →
// "c-q7x2m".
func LastSegment(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	u = strings.TrimRight(u, "/")
	if i := strings.LastIndexByte(u, '/'); i >= 0 {
		u = u[i+1:]
	}
	return u
}

// SplitURL cuts a recorded absolute URL into the fields uses refer to:
// origin ("https://rancher.test"), path ("/v3/clusters/c-q7x2m", the
// "url.path" field), query (without "?", the "url.query" field) and
// fragment (without "#"). A URL without scheme is all path.
func SplitURL(raw string) (origin, path, query, fragment string) {
	rest := raw
	if i := strings.Index(rest, "://"); i >= 0 && !strings.ContainsAny(rest[:i], "/?#") {
		j := strings.IndexAny(rest[i+3:], "/?#")
		if j < 0 {
			return rest, "", "", ""
		}
		origin, rest = rest[:i+3+j], rest[i+3+j:]
	}
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest, fragment = rest[:i], rest[i+1:]
	}
	path, query, _ = strings.Cut(rest, "?")
	return origin, path, query, fragment
}
