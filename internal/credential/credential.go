// Package credential is apitape's one answer to "does this name carry a
// credential?": for HTTP headers, cookies, query and form parameters, and
// JSON or YAML keys. redact replaces what it names, correlate treats the
// values it names as secrets, convert turns its headers into variables,
// and replay ignores a changed CSRF cookie, so a name one of them treats as
// secret never reaches a script in clear through another.
//
// Names are compared literally, without regard to case, and (for keys and
// parameters) without '_', '-', '.' and spaces: clientSecret,
// client_secret and Client-Secret are one name. A class says what kind of
// credential it is (password, token, csrf, cookie, apikey, …) and becomes
// part of a redaction placeholder.
package credential

import (
	"maps"
	"slices"
	"strings"
)

// Norm folds a name for comparison: lower case without '_', '-', '.' and
// spaces.
func Norm(s string) string {
	var buf [64]byte
	return string(NormInto(buf[:0], s))
}

// NormInto appends the folded s to b; with a stack buffer it does not
// allocate.
func NormInto(b []byte, s string) []byte {
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

// headers are Rancher's and the common credential headers by exact
// (lower-case) name (rancher pkg/auth/audit/default.go lists Cookie,
// Authorization, X-Api-Tunnel-*, X-Api-Auth-Header, X-Amz-Security-Token,
// Set-Cookie, X-Api-Set-Cookie-Header).
var headers = map[string]string{
	"authorization": "auth", "proxy-authorization": "auth", "x-api-auth-header": "auth",
	"cookie": "cookie", "x-api-cookie-header": "cookie", "set-cookie": "cookie", "x-api-set-cookie-header": "cookie",
	"x-api-csrf": "csrf", "x-csrf-token": "csrf", "x-xsrf-token": "csrf", "csrf-token": "csrf",
	"x-api-tunnel-token": "token", "x-api-tunnel-params": "secret", "x-amz-security-token": "token",
	"x-api-key": "apikey", "api-key": "apikey", "apikey": "apikey", "x-goog-api-key": "apikey",
	"x-auth-token": "token", "x-access-token": "token", "x-refresh-token": "token", "x-session-token": "token",
	"x-vault-token": "token", "x-api-token": "token", "private-token": "token",
}

// notCredentialHeaders look random or name a credential but never carry
// one: the WebSocket handshake, cache validators, trace and idempotency
// ids, and Rancher's cloud-credential reference header (its proxy
// substitutes the secret).
var notCredentialHeaders = map[string]bool{
	"x-api-cattleauth-header": true, "sec-websocket-key": true, "sec-websocket-accept": true,
	"etag": true, "if-none-match": true, "if-match": true, "x-request-id": true,
	"traceparent": true, "tracestate": true, "idempotency-key": true, "x-idempotency-key": true,
}

// Header returns the class of a header that carries a credential.
func Header(name string) (class string, ok bool) {
	l := strings.ToLower(strings.TrimSpace(name))
	if c, ok := headers[l]; ok {
		return c, true
	}
	if notCredentialHeaders[l] {
		return "", false
	}
	n := Norm(l)
	if keyKeep[n] || strings.Contains(n, "idempotency") {
		return "", false
	}
	for _, s := range []string{"token", "secret", "password", "apikey", "csrf", "key", "sessionid", "signature"} {
		if strings.HasSuffix(n, s) {
			if strings.Contains(n, "csrf") || strings.Contains(n, "xsrf") {
				return "csrf", true
			}
			if s == "key" && containsAny(n, "cache", "public", "partition", "routing", "sort", "dedup") {
				break // a key that is not a credential
			}
			return "token", true
		}
	}
	if strings.Contains(n, "signature") {
		return "signature", true // X-Hub-Signature-256
	}
	return "", false
}

// NotCredentialHeader reports a header that never carries a credential
// although its value looks random.
func NotCredentialHeader(name string) bool {
	return notCredentialHeaders[strings.ToLower(strings.TrimSpace(name))]
}

// CSRFHeaders lists the headers known by exact name (lower case, sorted)
// that carry a CSRF token: what replacing a browser session drops.
func CSRFHeaders() []string {
	return slices.DeleteFunc(slices.Sorted(maps.Keys(headers)), func(h string) bool { return headers[h] != "csrf" })
}

// CSRFHeader reports a header that carries a CSRF token.
func CSRFHeader(name string) bool {
	c, ok := Header(name)
	return ok && c == "csrf"
}

// keySuffixes make a JSON/YAML key, form field or multipart part a
// credential when its folded name ends with one of them (Rancher's own
// audit redactor matches password, token and kubeconfig anywhere in a key;
// a suffix keeps tokenSecretName, tokenEndpoint, passwordFields out).
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

// keyExact are whole names that are credentials but too short for a
// suffix rule.
var keyExact = map[string]string{
	"pwd": "password", "pass": "password", "pw": "password", "pin": "password", "otp": "password",
	"auth": "secret", "authorization": "auth",
	"cookie": "cookie", "csrf": "csrf", "xapicsrf": "csrf", "sessionid": "secret",
}

// keyKeep are names a suffix rule would catch that never hold credentials:
// pagination and idempotency tokens are handles, not credentials.
var keyKeep = map[string]bool{
	"mustchangepassword": true, "tokentype": true, "tokenendpoint": true,
	"pagetoken": true, "nextpagetoken": true, "prevpagetoken": true, "previouspagetoken": true,
	"continuationtoken": true, "nexttoken": true, "synctoken": true, "clienttoken": true,
	"idempotencytoken": true, "idempotencykey": true,
}

// Key returns the class of a JSON/YAML key, form field or multipart part
// that holds a credential.
func Key(name string) (class string, ok bool) {
	var buf [64]byte
	if class, ok := KeyNorm(NormInto(buf[:0], name)); ok {
		return class, ok
	}
	if PassWord(name) {
		return "password", true
	}
	return "", false
}

// PassWord reports a name whose last word is "pass" (ADMIN_PASS, db-pass,
// rootPass), where a plain suffix would take bypass and compass: a
// password by Key, for callers of KeyNorm.
func PassWord(name string) bool {
	n := len(name)
	if n < 5 || !strings.EqualFold(name[n-4:], "pass") {
		return false
	}
	switch c := name[n-5]; {
	case c == '_' || c == '-' || c == '.' || c == ' ':
		return true
	case name[n-4] == 'P' && c >= 'a' && c <= 'z':
		return true // camelCase
	}
	return false
}

// KeyNorm is Key for a name already folded with NormInto (no allocation).
func KeyNorm(nb []byte) (class string, ok bool) {
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

// cookieExact are Rancher's credential cookies.
var cookieExact = map[string]string{
	"r_sess": "cookie", "csrf": "csrf", "r_oidc_id": "cookie", "r_azuread_id": "cookie",
}

// cookieKeep are Rancher's preference cookies.
var cookieKeep = map[string]bool{
	"r_pcs": true, "r_locale": true, "r_redirected": true, "r_theme": true, "r_username": true,
}

// cookieContains make a cookie a credential by a word in its name.
var cookieContains = []string{"sess", "token", "auth", "csrf", "xsrf", "jwt", "secret", "passw", "sid", "apikey", "login"}

// Cookie returns the class of a cookie that carries a credential by its
// name (session cookies have many names: redact also judges values).
func Cookie(name string) (class string, ok bool) {
	l := strings.ToLower(strings.TrimSpace(name))
	if c, ok := cookieExact[l]; ok {
		return c, true
	}
	if cookieKeep[l] {
		return "", false
	}
	n := Norm(l)
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

// ExactCookie reports one of Rancher's credential cookies by exact name
// (the contains-rules are too loose for free text).
func ExactCookie(name string) bool {
	_, ok := cookieExact[strings.ToLower(name)]
	return ok
}

// CSRFCookie reports a cookie that holds a CSRF token (Rancher's CSRF,
// Angular's XSRF-TOKEN, Django's csrftoken).
func CSRFCookie(name string) bool {
	c, ok := Cookie(name)
	return ok && c == "csrf"
}

// params are query parameters (folded) that carry credentials.
var params = map[string]string{
	"token": "token", "accesstoken": "token", "idtoken": "token", "refreshtoken": "token", "authtoken": "token",
	"csrf": "csrf", "csrftoken": "csrf", "apikey": "apikey", "password": "password", "passwd": "password",
	"pwd": "password", "secret": "secret", "clientsecret": "secret", "signature": "signature", "sig": "signature",
	"xamzsignature": "signature", "xamzsecuritytoken": "token", "samlresponse": "oauth", "session": "secret",
	"sessionid": "secret", "jwt": "token", "assertion": "oauth", "ticket": "token",
	"key": "apikey", "pw": "password", "pass": "password", "auth": "secret", "accesskey": "apikey",
	"sessid": "secret", "signingkey": "secret", "sas": "signature", "subscriptionkey": "apikey",
}

// Param returns the class of a query or form parameter that carries a
// credential. code and state count only on an OAuth-looking URL (oauth:
// elsewhere state=active is a filter).
func Param(name string, oauth bool) (class string, ok bool) {
	n := Norm(name)
	if c, ok := params[n]; ok {
		return c, true
	}
	if n == "code" || n == "state" {
		if oauth {
			return "oauth", true
		}
		return "", false
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

// authPathWords mark a URL whose code and state are an OAuth callback's.
var authPathWords = []string{"verify", "callback", "oauth", "auth", "login", "saml", "oidc", "sso", "redirect"}

// OAuthPath reports a URL path where code and state are credentials.
func OAuthPath(p string) bool { return containsAny(strings.ToLower(p), authPathWords...) }

func containsAny(s string, words ...string) bool {
	return slices.ContainsFunc(words, func(w string) bool { return strings.Contains(s, w) })
}

// ExactHeader reports a credential header by its exact name only (not
// the suffix rules: in free text "token: x" is a key, not a header).
func ExactHeader(name string) bool {
	_, ok := headers[strings.ToLower(strings.TrimSpace(name))]
	return ok
}

// ExactHeaders lists the credential headers known by exact name (lower
// case), for keyword prefilters.
func ExactHeaders() []string { return slices.Collect(maps.Keys(headers)) }
