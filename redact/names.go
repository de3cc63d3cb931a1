package redact

import (
	"regexp"
	"strings"
)

// Name rules: which headers, cookies, query parameters, form fields and
// JSON/YAML keys hold secrets. Names are compared literally and without
// regard to case (never turned into regular expressions: a cookie called
// "U88+6Et^x" is just those bytes), after normName for keys.

// normName folds a key for comparison: lower case without '_', '-', '.' and
// spaces, so clientSecret, client_secret and Client-Secret are one name.
func normName(s string) string {
	var buf [64]byte
	return string(normInto(buf[:0], s))
}

// normInto appends the folded s to b; with a stack buffer it does not
// allocate, and a map lookup of string(b) does not either.
func normInto(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			b = append(b, c+'a'-'A')
		case c == '_' || c == '-' || c == '.' || c == ' ':
		default:
			b = append(b, c)
		}
	}
	return b
}

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

// headerRules are Rancher's and the common credential headers (rancher
// pkg/auth/audit/default.go lists Cookie, Authorization, X-Api-Tunnel-*,
// X-Api-Auth-Header, X-Amz-Security-Token, Set-Cookie, X-Api-Set-Cookie-Header).
var headerRules = map[string]headerRule{
	"authorization":           {hdrAuth, "auth"},
	"proxy-authorization":     {hdrAuth, "auth"},
	"x-api-auth-header":       {hdrAuth, "auth"},
	"cookie":                  {hdrCookie, "cookie"},
	"x-api-cookie-header":     {hdrCookie, "cookie"},
	"set-cookie":              {hdrSetCookie, "cookie"},
	"x-api-set-cookie-header": {hdrSetCookie, "cookie"},
	"x-api-csrf":              {hdrSecret, "csrf"},
	"x-csrf-token":            {hdrSecret, "csrf"},
	"x-xsrf-token":            {hdrSecret, "csrf"},
	"csrf-token":              {hdrSecret, "csrf"},
	"x-api-tunnel-token":      {hdrSecret, "token"},
	"x-api-tunnel-params":     {hdrSecret, "secret"},
	"x-amz-security-token":    {hdrSecret, "token"},
	"x-api-key":               {hdrSecret, "apikey"},
	"api-key":                 {hdrSecret, "apikey"},
	"apikey":                  {hdrSecret, "apikey"},
	"x-goog-api-key":          {hdrSecret, "apikey"},
	"x-auth-token":            {hdrSecret, "token"},
	"x-access-token":          {hdrSecret, "token"},
	"x-refresh-token":         {hdrSecret, "token"},
	"x-session-token":         {hdrSecret, "token"},
	"x-vault-token":           {hdrSecret, "token"},
	"x-api-token":             {hdrSecret, "token"},
	"private-token":           {hdrSecret, "token"},
	"referer":                 {hdrURL, ""},
	"location":                {hdrURL, ""},
	"content-location":        {hdrURL, ""},
	":path":                   {hdrURL, ""},
	// Not secrets, though they look random or name a credential: the
	// WebSocket handshake, cache validators, trace ids, and Rancher's
	// cloud-credential reference header (the proxy substitutes the secret).
	"x-api-cattleauth-header": {hdrKeep, ""},
	"sec-websocket-key":       {hdrKeep, ""},
	"sec-websocket-accept":    {hdrKeep, ""},
	"etag":                    {hdrKeep, ""},
	"if-none-match":           {hdrKeep, ""},
	"if-match":                {hdrKeep, ""},
	"x-request-id":            {hdrKeep, ""},
	"idempotency-key":         {hdrKeep, ""},
	"x-idempotency-key":       {hdrKeep, ""},
	"sec-websocket-protocol":  {hdrWSProtocol, "bearer"},
	"traceparent":             {hdrKeep, ""},
	"tracestate":              {hdrKeep, ""},
}

// keySuffixes make a JSON/YAML key, form field or multipart part secret
// when its normalised name ends with one of them (Rancher's own audit
// redactor matches password, token and kubeconfig anywhere in a key; a
// suffix keeps tokenSecretName, tokenEndpoint, passwordFields and
// mustChangePassword's siblings out).
var keySuffixes = []struct{ suffix, class string }{
	{"password", "password"}, {"passwd", "password"}, {"passphrase", "password"}, {"rootpass", "password"},
	{"passcode", "password"},
	{"secret", "secret"}, {"secretkey", "secret"}, {"sharedkey", "secret"}, {"sessionkey", "secret"},
	{"token", "token"},
	{"apikey", "apikey"},
	{"privatekey", "privatekey"}, {"privatekeycontents", "privatekey"}, {"privatekeyfile", "privatekey"},
	{"sshkey", "privatekey"}, {"sshkeycontents", "privatekey"}, {"spkey", "privatekey"},
	{"clientkeydata", "privatekey"},
	{"kubeconfig", "kubeconfig"}, {"kubeconfigcontent", "kubeconfig"},
	{"credential", "credential"}, {"credentials", "credential"},
	{"authencodedjson", "credential"},
	{"clusterobject", "secret"},
}

// keyExact are whole names that are secret but too short for a suffix rule.
var keyExact = map[string]string{
	"pwd": "password", "pass": "password", "pw": "password", "pin": "password", "otp": "password",
	"auth": "secret", "authorization": "auth",
	"cookie": "cookie", "csrf": "csrf", "xapicsrf": "csrf", "sessionid": "secret",
}

// keyKeep are names a suffix rule would catch that never hold secrets.
var keyKeep = map[string]bool{
	"mustchangepassword": true, "tokentype": true, "tokenendpoint": true,
	// Pagination and idempotency tokens are handles, not credentials.
	"pagetoken": true, "nextpagetoken": true, "prevpagetoken": true, "previouspagetoken": true,
	"continuationtoken": true, "nexttoken": true, "synctoken": true, "clienttoken": true,
	"idempotencytoken": true, "idempotencykey": true,
}

// cookieExact are Rancher's credential cookies.
var cookieExact = map[string]string{
	"r_sess": "cookie", "csrf": "csrf", "r_oidc_id": "cookie", "r_azuread_id": "cookie",
}

// cookieKeep are Rancher's preference cookies.
var cookieKeep = map[string]bool{
	"r_pcs": true, "r_locale": true, "r_redirected": true, "r_theme": true, "r_username": true,
}

// cookieContains make a cookie secret by a word in its name.
var cookieContains = []string{"sess", "token", "auth", "csrf", "xsrf", "jwt", "secret", "passw", "sid", "apikey", "login"}

// queryExact are query parameters (normalised) that carry credentials.
var queryExact = map[string]string{
	"token": "token", "accesstoken": "token", "idtoken": "token", "refreshtoken": "token", "authtoken": "token",
	"csrf": "csrf", "csrftoken": "csrf", "apikey": "apikey", "password": "password", "passwd": "password",
	"pwd": "password", "secret": "secret", "clientsecret": "secret", "signature": "signature", "sig": "signature",
	"xamzsignature": "signature", "xamzsecuritytoken": "token", "samlresponse": "oauth", "session": "secret",
	"sessionid": "secret", "jwt": "token", "assertion": "oauth", "ticket": "token",
	"key": "apikey", "pw": "password", "pass": "password", "auth": "secret", "accesskey": "apikey",
	"sessid": "secret", "signingkey": "secret", "sas": "signature", "subscriptionkey": "apikey",
}

// authPathWords mark a URL whose `code` and `state` are an OAuth callback's
// (elsewhere `state=active` is a filter).
var authPathWords = []string{"verify", "callback", "oauth", "auth", "login", "saml", "oidc", "sso", "redirect"}

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
	gitleaks                      *gitleaksSet
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
	p.gitleaks = rules.gitleaks
	if p.gitleaks == nil {
		p.gitleaks, _ = defaultGitleaks() // the embedded config compiles (TestGitleaksDefaults)
	}
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
	if p.headers.exact[l] {
		if r, ok := headerRules[l]; ok && r.kind != hdrKeep && r.kind != hdrURL {
			return r
		}
		return headerRule{hdrSecret, "secret"}
	}
	if r, ok := headerRules[l]; ok {
		return r
	}
	n := normName(name)
	if keyKeep[n] || strings.Contains(n, "idempotency") {
		return headerRule{hdrPlain, ""}
	}
	for _, s := range []string{"token", "secret", "password", "apikey", "csrf", "key", "sessionid", "signature"} {
		if strings.HasSuffix(n, s) {
			if strings.Contains(n, "csrf") || strings.Contains(n, "xsrf") {
				return headerRule{hdrSecret, "csrf"}
			}
			if s == "key" && containsAny(n, "cache", "public", "partition", "routing", "sort", "dedup") {
				break // a key that is not a credential
			}
			return headerRule{hdrSecret, "token"}
		}
	}
	if strings.Contains(n, "signature") {
		return headerRule{hdrSecret, "signature"} // X-Hub-Signature-256
	}
	return headerRule{hdrPlain, ""}
}

// cookie returns the class of a cookie name when it is secret by name.
func (p *policy) cookie(name string) (class string, secret bool) {
	l := lower(strings.TrimSpace(name))
	if p.cookies.exact[l] {
		return "cookie", true
	}
	if c, ok := cookieExact[l]; ok {
		return c, true
	}
	if cookieKeep[l] {
		return "", false
	}
	n := normName(l)
	for _, w := range cookieContains {
		if strings.Contains(n, w) {
			if strings.Contains(n, "csrf") || strings.Contains(n, "xsrf") {
				return "csrf", true
			}
			return "cookie", true
		}
	}
	return "", false
}

// key returns the class of a JSON/YAML key, form field or part name.
func (p *policy) key(name string, path []string) (class string, secret bool) {
	var buf [64]byte
	nb := normInto(buf[:0], name)
	if (len(p.keys.exact) > 0 || len(p.keys.paths) > 0) && p.keys.has(string(nb), path) {
		return "secret", true
	}
	if keyKeep[string(nb)] {
		return "", false
	}
	if c, ok := keyExact[string(nb)]; ok {
		return c, true
	}
	for _, s := range keySuffixes {
		if len(nb) >= len(s.suffix) && string(nb[len(nb)-len(s.suffix):]) == s.suffix {
			return s.class, true
		}
	}
	return "", false
}

// queryParam returns the class of a query parameter name; code and state
// count only on an OAuth-looking URL (authish).
func (p *policy) queryParam(name string, authish bool) (class string, secret bool) {
	n := normName(name)
	if p.query.exact[n] {
		return "secret", true
	}
	if c, ok := queryExact[n]; ok {
		return c, true
	}
	if n == "code" || n == "state" {
		return "oauth", authish
	}
	if keyKeep[n] {
		return "", false
	}
	for _, s := range []string{"token", "secret", "password", "apikey", "signature"} {
		if strings.HasSuffix(n, s) {
			return "token", true
		}
	}
	return "", false
}

// refShape is a "namespace:name" reference such as
// cattle-global-data:cc-x7k2p (cloudCredentialId, amazonCredentialSecret):
// keys that say "Secret" and hold a pointer to one.
var refShape = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)

func containsAny(s string, words ...string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}
