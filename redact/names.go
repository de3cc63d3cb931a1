package redact

import (
	"strings"

	"github.com/apitape/apitape/internal/credential"
)

// Name rules: which headers, cookies, query parameters, form fields and
// JSON/YAML keys hold secrets. Names are compared literally and without
// regard to case (never turned into regular expressions: a cookie called
// "U88+6Et^x" is just those bytes), after normName for keys.

// normName folds a key for comparison (credential.Norm).
func normName(s string) string { return credential.Norm(s) }

// normInto appends the folded s to b; with a stack buffer it does not
// allocate, and a map lookup of string(b) does not either.
func normInto(b []byte, s string) []byte { return credential.NormInto(b, s) }

// Header kinds beyond "secret value".
const (
	hdrPlain = iota
	hdrSecret
	hdrAuth      // scheme + credentials
	hdrCookie    // name=value; name=value
	hdrSetCookie // name=value; attributes (one per line when joined)
	hdrURL       // a URL or a path with a query
	hdrKeep      // never a secret, not even by detectors' keyword rules
	// hdrWSProtocol: Sec-WebSocket-Protocol, where Kubernetes clients send
	// a bearer token as base64url.bearer.authorization.k8s.io.<token>.
	hdrWSProtocol
)

type headerRule struct {
	kind  int
	class string
}

// headerShapes are headers whose value has a structure to parse; which
// other headers are credentials is credential.Header's to say.
var headerShapes = map[string]headerRule{
	"authorization":           {hdrAuth, "auth"},
	"proxy-authorization":     {hdrAuth, "auth"},
	"x-api-auth-header":       {hdrAuth, "auth"},
	"cookie":                  {hdrCookie, "cookie"},
	"x-api-cookie-header":     {hdrCookie, "cookie"},
	"set-cookie":              {hdrSetCookie, "cookie"},
	"x-api-set-cookie-header": {hdrSetCookie, "cookie"},
	"referer":                 {hdrURL, ""},
	"location":                {hdrURL, ""},
	"content-location":        {hdrURL, ""},
	":path":                   {hdrURL, ""},
	"sec-websocket-protocol":  {hdrWSProtocol, "bearer"},
}

// builtinHeader is the rule for a header by the built-in rules.
func builtinHeader(l string) (headerRule, bool) {
	if r, ok := headerShapes[l]; ok {
		return r, true
	}
	if credential.NotCredentialHeader(l) {
		return headerRule{hdrKeep, ""}, true
	}
	if c, ok := credential.Header(l); ok {
		return headerRule{hdrSecret, c}, true
	}
	return headerRule{hdrPlain, ""}, false
}

// nameMatch is a compiled set of literal names: exact (normalised) names
// and dotted paths.
type nameSet struct {
	exact map[string]bool
	paths [][]string
}

func newNameSet(names []string, norm func(string) string) nameSet {
	ns := nameSet{exact: map[string]bool{}}
	for _, n := range names {
		if strings.Contains(n, ".") && !strings.HasPrefix(n, ".") {
			var segs []string
			for _, s := range strings.Split(n, ".") {
				segs = append(segs, norm(s))
			}
			ns.paths = append(ns.paths, segs)
			continue
		}
		ns.exact[norm(n)] = true
	}
	return ns
}

// has reports whether name (already normalised) or the key path ending in
// it (normalised keys, array indexes left out) is in the set.
func (ns *nameSet) has(name string, path []string) bool {
	if len(ns.exact) > 0 && ns.exact[name] {
		return true
	}
	for _, p := range ns.paths {
		if len(p) <= len(path) {
			match := true
			for i := range p {
				if p[len(p)-1-i] != path[len(path)-1-i] {
					match = false
					break
				}
			}
			if match {
				return true
			}
		}
	}
	return false
}

// policy is the name rules in force: the built-in ones plus a rules file,
// minus the names to keep.
type policy struct {
	headers, cookies, query, keys nameSet
	keep                          nameSet
	patterns                      []*Pattern
	strict                        bool
	kw                            []string // assignment keywords, lower case
	// kwRun, when set, are the keywords that find the same names in one
	// scan of the text's identifiers (kwRunNames): those of kw not
	// holding an earlier one, with their index in kw.
	kwRun    *runKeywordSet
	gitleaks *gitleaksSet
}

func lower(s string) string { return strings.ToLower(s) }

func newPolicy(rules *Rules, keep []string, strict bool) *policy {
	p := &policy{strict: strict}
	if rules == nil {
		rules = &Rules{}
	}
	p.headers = newNameSet(rules.Headers, lower)
	p.cookies = newNameSet(rules.Cookies, lower)
	p.query = newNameSet(rules.Query, normName)
	p.keys = newNameSet(rules.JSON, normName)
	p.keep = newNameSet(append(append([]string(nil), rules.Keep...), keep...), normName)
	p.patterns = rules.Patterns
	p.gitleaks = rules.gitleaks // nil: gitleaks' defaults, read on first use
	p.computeKeywords()
	return p
}

// kept reports a name the user asked to leave alone.
func (p *policy) kept(name string) bool { return p.keptPath(name, nil) }

func (p *policy) keptPath(name string, path []string) bool {
	if len(p.keep.exact) == 0 && len(p.keep.paths) == 0 {
		return false
	}
	return p.keep.has(normName(name), path)
}

// needPaths reports whether any rule names a dotted key path (only then
// is the path of every key worth building).
func (p *policy) needPaths() bool { return len(p.keys.paths) > 0 || len(p.keep.paths) > 0 }

// header returns the rule for a header name.
func (p *policy) header(name string) headerRule {
	l := lower(name)
	r, _ := builtinHeader(l)
	if p.headers.exact[l] && r.kind != hdrAuth && r.kind != hdrCookie && r.kind != hdrSetCookie && r.kind != hdrSecret {
		return headerRule{hdrSecret, "secret"}
	}
	return r
}

// cookie returns the class of a cookie name when it is secret by name.
func (p *policy) cookie(name string) (class string, secret bool) {
	if p.cookies.exact[lower(strings.TrimSpace(name))] {
		return "cookie", true
	}
	return credential.Cookie(name)
}

// key returns the class of a JSON/YAML key, form field or part name.
func (p *policy) key(name string, path []string) (class string, secret bool) {
	var buf [64]byte
	nb := normInto(buf[:0], name)
	if (len(p.keys.exact) > 0 || len(p.keys.paths) > 0) && p.keys.has(string(nb), path) {
		return "secret", true
	}
	if class, ok := credential.KeyNorm(nb); ok {
		return class, ok
	}
	if credential.PassWord(name) {
		return "password", true
	}
	return "", false
}

// queryParam returns the class of a query parameter name; code and state
// count only on an OAuth-looking URL (authish).
func (p *policy) queryParam(name string, authish bool) (class string, secret bool) {
	if p.query.exact[normName(name)] {
		return "secret", true
	}
	return credential.Param(name, authish)
}

// refShape is a "namespace:name" reference such as
// cattle-global-data:cc-x7k2p (cloudCredentialId, amazonCredentialSecret):
// keys that say "Secret" and hold a pointer to one.
var refShape = newLazyRegexp(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

func containsAny(s string, words ...string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}
