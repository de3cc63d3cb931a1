package convert

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime"
	"slices"
	"strconv"
	"strings"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/correlate"
	cred "github.com/apitape/apitape/internal/credential"
	"github.com/apitape/apitape/internal/placeholder"
)

// A value is what a generated program sends in one place (URL, header
// value, body): literal text, environment variables and values earlier
// answers produced, in order. Keeping the pieces apart, instead of one
// opaque string, is what lets the emitters quote literal text and
// reference variables.
type value []part

// part is one piece of a value: recorded text, an environment variable
// (Env), or a value an earlier call's answer produced (Var).
type part struct {
	Text string
	Env  string
	// Var is a correlated value; Text holds its recorded text. Enc says
	// how the recording wrote it (correlate.EncodedRaw or EncodedURL) and
	// InJSON that it sits inside a string of a JSON body.
	Var    *correlate.Var
	Enc    string
	InJSON bool
}

func literal(s string) value { return value{{Text: s}} }

func envValue(name string) value { return value{{Env: name}} }

// isVariable reports a part that is a variable, not recorded text.
func (p part) isVariable() bool { return p.Env != "" || p.Var != nil }

// isLiteral reports whether v has no variables.
func (v value) isLiteral() bool { return !slices.ContainsFunc(v, part.isVariable) }

// size is the number of literal bytes.
func (v value) size() int {
	n := 0
	for _, p := range v {
		if !p.isVariable() {
			n += len(p.Text)
		}
	}
	return n
}

// label renders v for comments and messages: correlated values as
// ${NAME}, placeholders as recorded.
func (v value) label() string {
	if len(v) == 1 && !v[0].isVariable() {
		return v[0].Text // the common case, without a copy
	}
	var b strings.Builder
	for _, p := range v {
		switch {
		case p.Var != nil:
			b.WriteString("${" + p.Var.Name + "}")
		case p.Env != "" && p.Text == "":
			b.WriteString("${" + p.Env + "}")
		default:
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// shape is v's literal text with a NUL for each variable: what a check of
// a value's syntax outside its variables reads.
func (v value) shape() string {
	var t strings.Builder
	for _, p := range v {
		if p.isVariable() {
			t.WriteByte(0)
		} else {
			t.WriteString(p.Text)
		}
	}
	return t.String()
}

// merged joins neighbouring literal parts, so that a field written in
// pieces reads as one string.
func (v value) merged() value {
	if len(v) < 2 {
		return v
	}
	out := v[:0:0]
	for _, p := range v {
		if n := len(out); n > 0 && !p.isVariable() && !out[n-1].isVariable() {
			out[n-1].Text += p.Text
			continue
		}
		out = append(out, p)
	}
	return out
}

// withPlaceholders turns redaction placeholders in s into their
// variables (keeping the placeholder as the part's text, for labels).
func withPlaceholders(s string) value {
	if !strings.Contains(s, placeholder.Prefix) {
		return literal(s)
	}
	var v value
	for _, p := range placeholder.Split(s) {
		v = append(v, part{Env: p.Env, Text: p.Text})
	}
	return v
}

// rewritten is the value of a request field with correlation: the parts
// correlate found, literal text still subject to placeholders.
func rewritten(parts []correlate.Part) value {
	if len(parts) == 1 && parts[0].Var == nil {
		return withPlaceholders(parts[0].Text)
	}
	var v value
	for _, p := range parts {
		if p.Var != nil {
			v = append(v, part{Text: p.Text, Var: p.Var, Enc: p.Encoded, InJSON: p.InJSONString})
			continue
		}
		v = append(v, withPlaceholders(p.Text)...)
	}
	return v
}

// hasVar reports whether v holds a correlated value.
func (v value) hasVar() bool {
	return slices.ContainsFunc(v, func(p part) bool { return p.Var != nil })
}

type header struct {
	name  string
	value value
}

// spelt reports a Host header whose name is not spelt "Host": clients
// write their own spelling unless made not to.
func (h header) spelt() bool { return h.name != "Host" && strings.EqualFold(h.name, "Host") }

// call is one request as a generated program sends it.
type call struct {
	index  int
	method string
	// origin is the recorded scheme://host[:port], or the --base-url; it is
	// the session's base (BASE_URL in bash and Go) when base is true.
	origin string
	base   bool
	target value // raw path and query as recorded, never empty
	// headers in recorded order, Host included; nothing the client adds.
	headers []header
	body    value // nil: no body
	// compressed: the recording asked for compressed answers; curl says
	// --compressed instead of repeating Accept-Encoding.
	compressed bool
	status     int // recorded response status, 0 if none
	// path is the target's path, for labels.
	path value
	// label is "METHOD path" with variables as ${NAME}; set when the call
	// is written, since the variables are named after the first pass.
	label string
	// produces are the correlated values later calls take from this
	// call's answer.
	produces []taken
	// started and elapsed are the entry's startedDateTime and time (ms),
	// for the think time of a load test.
	started string
	elapsed float64
}

// values calls f with each value c sends: the target, the headers' and
// the body.
func (c *call) values(f func(value)) {
	f(c.target)
	for _, h := range c.headers {
		f(h.value)
	}
	f(c.body)
}

func (c *call) has(name string) bool {
	return slices.ContainsFunc(c.headers, func(h header) bool { return strings.EqualFold(h.name, name) })
}

// needsZeroLength: a bodiless POST, PUT or PATCH should say Content-Length: 0
// (some servers wait or answer 411 otherwise). Go does this itself.
func (c *call) needsZeroLength() bool {
	if c.body != nil {
		return false
	}
	switch strings.ToUpper(c.method) {
	case "POST", "PUT", "PATCH":
		return true
	}
	return false
}

// Headers that only make sense on one hop, or describe the framing, which
// the client computes itself: sending a recorded value would be wrong
// (a stale Content-Length truncates the body or hangs the server).
var hopByHop = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-connection": true, "transfer-encoding": true,
	"te": true, "trailer": true, "upgrade": true, "content-length": true,
}

// Headers a browser adds on its own that say nothing about the API call:
// dropped by default (kept with --exact).
var browserNoise = map[string]bool{
	"priority": true, "accept-language": true, "referer": true, "origin": true,
	"if-none-match": true, "if-modified-since": true, "cache-control": true, "pragma": true,
	"dnt": true, "upgrade-insecure-requests": true, "sec-gpc": true,
}

// isNoise reports a browser-only header; n is lower case.
func isNoise(n string) bool {
	return browserNoise[n] || strings.HasPrefix(n, "sec-ch-") || strings.HasPrefix(n, "sec-fetch-")
}

// Environment variables that stand for live credentials in default mode.
const (
	EnvCookie        = "COOKIE"
	EnvAuthorization = "AUTHORIZATION"
	EnvCSRF          = "CSRF_TOKEN"
	EnvRancherToken  = "RANCHER_TOKEN"
	EnvBaseURL       = "BASE_URL"
)

// unsendable starts the skip reason of an entry whose URL cannot be sent.
const unsendable = "request.url: "

// skipReason says why an entry is not converted ("" when it is).
func skipReason(e *har.Entry) string {
	if isWebSocket(e) {
		return "WebSocket"
	}
	if p := har.URLProblem(e.Request.URL); p != "" {
		return unsendable + p
	}
	return ""
}

func isWebSocket(e *har.Entry) bool {
	if e.ResourceType() == "websocket" || e.Response.Status == 101 {
		return true
	}
	if _, ok := e.Extra.Get("_webSocketMessages"); ok {
		return true
	}
	if u := e.Request.URL; hasPrefixFold(u, "ws://") || hasPrefixFold(u, "wss://") {
		return true
	}
	up, _ := har.Header(e.Request.Headers, "Upgrade")
	return strings.EqualFold(strings.TrimSpace(up), "websocket")
}

func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// fieldError is a problem with one field of the entry being converted.
type fieldError struct {
	field, msg string
}

func (e *fieldError) Error() string { return e.field + ": " + e.msg }

// splitURL cuts an absolute http(s) URL into origin and request target
// without decoding or normalising anything; the fragment is not sent, nor
// is user info: it never goes over the wire (the recorded header lines say
// what did), and in a URL curl, requests and Go would make an
// Authorization line of it that the recording did not have.
func splitURL(raw string) (origin, target string, err error) {
	if strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return "", "", &fieldError{"request.url", "contains a space or control character, which HTTP cannot send as recorded"}
	}
	scheme, rest, _ := strings.Cut(raw, "://")
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	host := rest[:end]
	if at := strings.LastIndexByte(host, '@'); at >= 0 {
		host = host[at+1:]
	}
	if host == "" || strings.ContainsAny(host, "\"'\\`<>{}|^$") {
		return "", "", &fieldError{"request.url", "has no valid host"}
	}
	target = rest[end:]
	if i := strings.IndexByte(target, '#'); i >= 0 {
		target = target[:i]
	}
	if target == "" || target[0] == '?' {
		target = "/" + target
	}
	return strings.ToLower(scheme) + "://" + host, target, nil
}

// validHeader checks what HTTP/1.1 can carry: a token name and a value
// without line breaks or NUL.
func validHeader(i int, nv *har.NameValue) error {
	if nv.Name == "" {
		return &fieldError{fmt.Sprintf("request.headers[%d].name", i), "empty"}
	}
	if j := notToken(nv.Name); j >= 0 {
		return &fieldError{fmt.Sprintf("request.headers[%d].name", i), badHeaderName(nv.Name, j)}
	}
	if strings.ContainsFunc(nv.Value, isControl) {
		return &fieldError{fmt.Sprintf("request.headers[%d].value", i), "contains a line break or control character, which HTTP cannot send"}
	}
	return nil
}

// isControl reports a control character other than a tab.
func isControl(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }

// badHeaderName says why name is no header name, quoting it only up to
// its first bad byte i: a tool that wrote a whole header line as the name
// ("Authorization: Bearer …") would otherwise put the credential in the
// error.
func badHeaderName(name string, i int) string {
	return fmt.Sprintf("not a valid header name: %q after %q", name[i], name[:i])
}

// notToken is the index of the first byte of s that is not a token
// byte, or -1.
func notToken(s string) int {
	return strings.IndexFunc(s, func(r rune) bool { return r >= 0x80 || !tokenChars[r] })
}

// tokenChars are the bytes of an HTTP token (RFC 9110 5.6.2).
var tokenChars = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", byte(c)) >= 0
	}
	return t
}()

// builder turns entries into calls with the session-wide choices.
type builder struct {
	slab    []part // backs the one-part literal values of many calls (see lit)
	exact   bool
	baseURL string // --base-url, without a trailing slash
	origin  string // the session's base origin: --base-url or the first call's

	auth     *Auth // --auth: replaces the browser session (auth.go)
	redacted bool  // the input went through redaction

	// csrf caches credential.CSRFHeader by lower-case name: every call
	// asks it of the same dozen headers, and it was a twentieth of
	// building a call.
	csrf map[string]bool
}

// isCSRF is credential.CSRFHeader(lower), remembered for the first
// names seen.
func (b *builder) isCSRF(lower string) bool {
	is, ok := b.csrf[lower]
	if !ok {
		is = cred.CSRFHeader(lower)
		if len(b.csrf) < 1024 {
			b.csrf[lower] = is
		}
	}
	return is
}

// lit is literal(s) with its part taken from a slab shared by many calls:
// a call's headers are a dozen one-part values, and an allocation each
// was a tenth of building it. The value's capacity ends with it, so an
// append never reaches a neighbour.
func (b *builder) lit(s string) value {
	if len(b.slab) == cap(b.slab) {
		b.slab = make([]part, 0, 256)
	}
	b.slab = append(b.slab, part{Text: s})
	n := len(b.slab)
	return b.slab[n-1 : n : n]
}

// rewriter cuts a request field into recorded text and correlated values
// (correlate's Model.Rewrite); nil when nothing is correlated.
type rewriter func(entry int, where, text string) []correlate.Part

// field is the value of a request field: with the correlated values rw
// finds in it, and redaction placeholders as variables.
func field(rw rewriter, index int, where, text string) value {
	if rw == nil {
		return withPlaceholders(text)
	}
	return rewritten(rw(index, where, text))
}

func (b *builder) build(index int, e *har.Entry, rw rewriter) (*call, error) {
	req := &e.Request
	origin, target, err := splitURL(req.URL)
	if err != nil {
		return nil, err
	}
	c := &call{index: index, method: req.Method, status: e.Response.Status, started: e.StartedDateTime, elapsed: e.Time}
	if !har.ValidMethod(c.method) {
		return nil, &fieldError{"request.method", "not a valid HTTP method"}
	}
	// The path and query as correlate cuts them; splitURL only adds the
	// "/" of an empty path, which no value can sit in.
	path, query, hasQuery := strings.Cut(target, "?")
	if rw == nil && !placeholder.Contains(target) {
		// Nothing to rewrite: the target is one literal.
		c.path, c.target = b.lit(path), b.lit(target)
	} else {
		rewriteTarget(c, rw, index, req.URL, path, query, hasQuery)
	}
	if b.baseURL != "" {
		c.origin, c.base = b.baseURL, true
	} else {
		b.origin = cmp.Or(b.origin, origin)
		c.origin, c.base = origin, origin == b.origin
	}

	rancher := !b.exact && b.auth == nil && hasRancherSession(req) && !b.loggedIn(rw, index, req)
	c.headers = make([]header, 0, len(req.Headers)+2)
	var authority string
	hasCookie := false
	for i, nv := range req.Headers {
		if strings.HasPrefix(nv.Name, ":") {
			if strings.EqualFold(nv.Name, ":authority") {
				authority = nv.Value
			}
			continue
		}
		lower := strings.ToLower(nv.Name)
		if hopByHop[lower] {
			continue
		}
		if err := validHeader(i, &nv); err != nil {
			return nil, err
		}
		if lower == "cookie" {
			hasCookie = true
		}
		if b.auth != nil && b.auth.replaced(lower, nv.Value) {
			continue
		}
		if lower == "host" {
			// Routing, not data: never rewritten.
			if b.exact || !strings.EqualFold(nv.Value, hostOf(origin)) {
				c.headers = append(c.headers, header{nv.Name, withPlaceholders(nv.Value)})
			}
			continue // else the URL says it; and BASE_URL may point elsewhere
		}
		if b.exact {
			c.headers = append(c.headers, header{nv.Name, b.headerField(rw, index, nv.Name, nv.Value)})
			continue
		}
		switch {
		case isNoise(lower):
			continue
		case lower == "accept-encoding":
			c.compressed = true
			continue
		case rancher && (lower == "cookie" || b.isCSRF(lower) || lower == "user-agent"):
			// A bearer token replaces the browser session; a browser
			// User-Agent without the CSRF pair would fail Rancher's check.
			continue
		}
		c.headers = append(c.headers, header{nv.Name, b.headerValue(rw, index, lower, nv.Name, nv.Value)})
	}
	if authority != "" && !c.has("Host") && !strings.EqualFold(authority, hostOf(origin)) {
		c.headers = append(c.headers, header{"Host", withPlaceholders(authority)})
	}
	if !hasCookie && len(req.Cookies) > 0 && !rancher && b.auth == nil {
		var cb strings.Builder
		for i, ck := range req.Cookies {
			if i > 0 {
				cb.WriteString("; ")
			}
			cb.WriteString(ck.Name + "=" + ck.Value)
		}
		nv := har.NameValue{Name: "Cookie", Value: cb.String()}
		if err := validHeader(len(req.Headers), &nv); err != nil {
			return nil, &fieldError{"request.cookies", "contain a line break or control character, which HTTP cannot send"}
		}
		v := withPlaceholders(nv.Value)
		if !b.exact {
			v = credential("cookie", nv.Value)
		}
		c.headers = append(c.headers, header{"Cookie", v})
	}
	if rancher && !c.has("Authorization") {
		c.headers = append(c.headers, header{"Authorization", rancherBearer})
	}
	if b.auth != nil {
		c.headers = append(c.headers, header{b.auth.Name, b.auth.value()})
	}
	if body, rebuilt, ct := requestBody(req); len(body) > 0 {
		if rebuilt {
			c.body = withPlaceholders(body)
		} else {
			c.body = field(rw, index, correlate.WhereBody, body).merged()
		}
		switch {
		case ct != "":
			c.setContentType(ct)
		case !b.exact:
			c.repairBoundary(body)
		}
	}
	return c, nil
}

// setContentType replaces the value of the first Content-Type header
// (keeping its name as recorded), or adds one.
func (c *call) setContentType(ct string) {
	for i, h := range c.headers {
		if strings.EqualFold(h.name, "Content-Type") {
			c.headers[i].value = literal(ct)
			return
		}
	}
	c.headers = append(c.headers, header{"Content-Type", literal(ct)})
}

// rewriteTarget sets c's path and target with the values rw finds and
// the placeholders they hold.
func rewriteTarget(c *call, rw rewriter, index int, url, path, query string, hasQuery bool) {
	_, cpath, cquery, _ := correlate.SplitURL(url)
	if path != cpath {
		c.path = withPlaceholders(path)
	} else {
		c.path = field(rw, index, correlate.WhereURLPath, path)
	}
	c.target = append(value(nil), c.path...)
	if hasQuery {
		c.target = append(c.target, part{Text: "?"})
		if query != cquery {
			c.target = append(c.target, withPlaceholders(query)...)
		} else {
			c.target = append(c.target, field(rw, index, correlate.WhereURLQuery, query)...)
		}
	}
	c.target = c.target.merged()
}

// headerField is field for a header, without building the header's
// "where" when nothing is rewritten.
func (b *builder) headerField(rw rewriter, index int, name, v string) value {
	if rw == nil {
		if !placeholder.Contains(v) {
			return b.lit(v)
		}
		return withPlaceholders(v).merged()
	}
	return field(rw, index, correlate.WhereHeader(name), v).merged()
}

// rancherBearer replaces a Rancher browser session; shared, as values are
// never changed in place.
var rancherBearer = value{{Text: "Bearer "}, {Env: EnvRancherToken}}

// headerValue is the value to send for a header in default mode: live
// browser credentials become variables, unless the session itself
// produced them (a login's token): then the header carries those values,
// but only when nothing else in it is a live credential ("Bearer
// ${TOKEN}", "R_SESS=${R_SESS_COOKIE}").
func (b *builder) headerValue(rw rewriter, index int, lower, name, v string) value {
	fv := b.headerField(rw, index, name, v)
	if lower != "cookie" && lower != "authorization" && !b.isCSRF(lower) {
		return fv
	}
	if fv.hasVar() && onlyVariables(lower, fv) {
		return fv
	}
	return b.credentialValue(lower, v, fv)
}

// onlyVariables reports whether a credential header's recorded text
// outside its variables is only syntax: an Authorization scheme, cookie
// names. Anything else may be a live credential the session did not
// produce, which must not be written out.
func onlyVariables(lowerName string, v value) bool {
	s := v.shape()
	switch lowerName {
	case "authorization":
		scheme, ok := strings.CutSuffix(s, "\x00")
		if !ok || strings.IndexByte(scheme, 0) >= 0 {
			return false
		}
		if scheme == "" {
			return true
		}
		word, ok := strings.CutSuffix(scheme, " ")
		return ok && word != "" && !strings.ContainsAny(word, " \t")
	case "cookie":
		for _, pair := range strings.Split(s, ";") {
			name, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
			if !ok || strings.IndexByte(name, 0) >= 0 || (val != "\x00" && val != "") {
				return false
			}
		}
		return true
	}
	return s == "\x00"
}

// repairBoundary adds the boundary to a bare multipart Content-Type, taken
// from the body's first line (edge case 5): without it no server can read
// the body.
func (c *call) repairBoundary(body string) {
	for i, h := range c.headers {
		if !strings.EqualFold(h.name, "Content-Type") || !h.value.isLiteral() {
			continue
		}
		ct := h.value.label()
		if !containsFold(ct, "multipart/") {
			return
		}
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] != "" {
			return
		}
		line, _, ok := strings.Cut(body, "\r\n")
		if !ok || !strings.HasPrefix(line, "--") || len(line) < 3 {
			return
		}
		boundary := line[2:]
		c.headers[i].value = literal(strings.TrimRight(ct, "; ") + "; boundary=" + boundary)
		return
	}
}

// credential is the value to send for a header in default mode: live
// browser credentials become variables; placeholders become theirs.
func credential(lowerName, v string) value {
	if placeholder.Contains(v) {
		return withPlaceholders(v)
	}
	switch {
	case lowerName == "cookie":
		return envValue(EnvCookie)
	case lowerName == "authorization":
		return envValue(EnvAuthorization)
	case cred.CSRFHeader(lowerName):
		return envValue(EnvCSRF)
	}
	return literal(v)
}

func hostOf(origin string) string {
	_, h, _ := strings.Cut(origin, "://")
	return h
}

// hasRancherSession reports a Rancher browser session: an R_SESS cookie.
func hasRancherSession(req *har.Request) bool {
	for _, ck := range req.Cookies {
		if ck.Name == "R_SESS" {
			return true
		}
	}
	for _, nv := range req.Headers {
		if !strings.EqualFold(nv.Name, "cookie") {
			continue
		}
		for _, kv := range strings.Split(nv.Value, ";") {
			if name, _, _ := strings.Cut(strings.TrimSpace(kv), "="); name == "R_SESS" {
				return true
			}
		}
	}
	return false
}

// requestBody is the exact recorded body. postData.text is the byte source;
// params are used only when text is absent (edge cases 5 and 10), and a
// multipart body is then rebuilt from them with the recorded boundary, as
// raw bytes, so that no part is ever read from a local file.
//
// rebuilt reports a multipart body made here, which is not the text
// correlate read (har.Request.Body). When the recording names no boundary
// (httpsnippet's fixtures and some exporters write a bare
// multipart/form-data), one is made from the parts, so the same entry
// always gives the same bytes, and contentType is the Content-Type that
// must go with the body.
func requestBody(req *har.Request) (body string, rebuilt bool, contentType string) {
	pd := req.PostData
	if pd == nil {
		return "", false, ""
	}
	if pd.Text != nil && !pd.IsBase64() {
		return *pd.Text, false, "" // the recorded text itself, not a copy
	}
	if pd.Text != nil || len(pd.Params) == 0 {
		return string(req.Body()), false, ""
	}
	ct, _ := har.Header(req.Headers, "Content-Type")
	if ct == "" {
		ct = pd.MimeType
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		return string(req.Body()), false, ""
	}
	boundary := params["boundary"]
	if boundary == "" {
		// The header has none: the mimeType's, or a new one; the header
		// must then say it, even with --exact.
		if _, mp, err := mime.ParseMediaType(pd.MimeType); err == nil {
			boundary = mp["boundary"]
		}
		if boundary == "" {
			boundary = makeBoundary(pd.Params)
		}
		param := mime.FormatMediaType(mt, map[string]string{"boundary": boundary})[len(mt):]
		contentType = strings.TrimRight(ct, "; ") + param
	}
	var buf bytes.Buffer
	for _, p := range pd.Params {
		buf.WriteString("--" + boundary + "\r\n")
		buf.WriteString("Content-Disposition: form-data; name=" + strconv.Quote(p.Name))
		if p.FileName != "" {
			buf.WriteString("; filename=" + strconv.Quote(p.FileName))
		}
		buf.WriteString("\r\n")
		if p.ContentType != "" {
			buf.WriteString("Content-Type: " + p.ContentType + "\r\n")
		}
		buf.WriteString("\r\n")
		if p.Value != nil {
			buf.WriteString(*p.Value)
		}
		buf.WriteString("\r\n")
	}
	buf.WriteString("--" + boundary + "--\r\n")
	return buf.String(), true, contentType
}

// makeBoundary derives a multipart boundary from the parts: a hash, so
// that converting the same entry twice gives the same bytes, and checked
// against every part, which must not contain it.
func makeBoundary(parts []har.Param) string {
	h := sha256.New()
	for _, p := range parts {
		for _, s := range []string{p.Name, p.FileName, p.ContentType} {
			h.Write([]byte(s))
			h.Write([]byte{0})
		}
		if p.Value != nil {
			h.Write([]byte(*p.Value))
		}
		h.Write([]byte{1})
	}
	sum := h.Sum(nil)
	for {
		b := "apitape-" + hex.EncodeToString(sum[:12])
		clash := false
		for _, p := range parts {
			for _, s := range []string{p.Name, p.FileName, p.ContentType} {
				clash = clash || strings.Contains(s, b)
			}
			clash = clash || (p.Value != nil && strings.Contains(*p.Value, b))
		}
		if !clash {
			return b
		}
		next := sha256.Sum256(sum)
		sum = next[:]
	}
}
