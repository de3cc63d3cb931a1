package replay

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/correlate"
	"github.com/apitape/apitape/internal/placeholder"
)

// session is one server being replayed against, with what was learned from
// it so far.
type session struct {
	target  *targetURL
	mapping *valueMap // the heuristic, learning from differing answers
	carry   bool      // what mapping learned goes into later requests
	vars    *varState // the correlation model's variables as this server answered them
	cmp     *valueMap // for comparisons: the variables' pairs over the heuristic's
	mergeMu sync.Mutex
	merged  int // how many of mapping's pairs cmp has
	env     func(string) string
	origins *strings.Replacer // recorded origins → this server's, for comparisons
	headers http.Header       // expanded --header values (nil value: remove)
}

func newSession(t *targetURL, m *valueMap, vs *varState, carry bool, env func(string) string, recordedOrigins []string, headers http.Header) *session {
	var pairs []string
	ws := "ws"
	if t.scheme == "https" {
		ws = "wss"
	}
	for _, o := range recordedOrigins {
		scheme, host, _ := strings.Cut(o, "://")
		pairs = append(pairs, o, t.origin()+t.prefix)
		// The other schemes of the same host follow: a page served over
		// https links to wss:// for its sockets.
		for _, s := range []string{"http", "https", "ws", "wss"} {
			if s == scheme {
				continue
			}
			to := t.scheme
			if s == "ws" || s == "wss" {
				to = ws
			}
			pairs = append(pairs, s+"://"+host, to+"://"+t.host+t.prefix)
		}
	}
	return &session{target: t, mapping: m, carry: carry, vars: vs, cmp: newValueMap(), env: env,
		origins: strings.NewReplacer(pairs...), headers: headers}
}

// learn lets the heuristic learn from one exchange and hands what it
// learned to the comparisons (where the model's pairs win).
func (s *session) learn(x *exchange) bool {
	if !s.mapping.Learn(x) {
		return false
	}
	s.mergeMu.Lock()
	defer s.mergeMu.Unlock()
	pairs := s.mapping.Pairs()
	s.cmp.put(pairs[min(s.merged, len(pairs)):], false)
	s.merged = len(pairs)
	return true
}

// normalize turns a recorded string into what this server should answer:
// recorded origins rewritten, learned values mapped.
func (s *session) normalize(v string) string {
	if strings.Contains(v, "://") {
		v = s.origins.Replace(v)
	}
	return s.cmp.Apply(v)
}

// subst prepares a piece of a recorded request: values the heuristic
// learned first when they are carried (a placeholder whose value a
// response revealed), then placeholders from the environment, each
// inserted with esc.
func (s *session) subst(v string, esc func(string) string) string {
	if s.carry {
		v = s.mapping.Apply(v)
	}
	if !strings.Contains(v, placeholder.Prefix) {
		return v
	}
	var b strings.Builder
	for _, p := range placeholder.Split(v) {
		if p.Env == "" {
			b.WriteString(p.Text)
			continue
		}
		if val := s.env(p.Env); val != "" {
			b.WriteString(esc(val))
		} else {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

func rawEscape(s string) string { return s }

func jsonEscape(s string) string { return jsonInterior(s, true) }

// splitURL cuts a recorded absolute URL into its origin and the exact path
// and query (the fragment is never sent).
func splitURL(raw string) (origin, pathQuery string, err error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	scheme = strings.ToLower(scheme)
	if !ok || (scheme != "http" && scheme != "https") {
		return "", "", fmt.Errorf("not an http(s) URL")
	}
	host := rest
	pathQuery = "/"
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host, pathQuery = rest[:i], rest[i:]
	}
	if i := strings.IndexByte(pathQuery, '#'); i >= 0 {
		pathQuery = pathQuery[:i]
	}
	if pathQuery == "" || pathQuery[0] != '/' {
		pathQuery = "/" + pathQuery
	}
	if host == "" {
		return "", "", fmt.Errorf("URL has no host")
	}
	return scheme + "://" + strings.ToLower(host), pathQuery, nil
}

// requestTarget percent-encodes only the bytes that cannot appear on a
// request line (spaces, controls, non-ASCII); everything else is sent as
// recorded, encoded or not.
func requestTarget(s string) string {
	// Every byte of a non-ASCII rune is >= 0x80, as is utf8.RuneError.
	if !strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// hopByHop headers belong to one connection and are never forwarded
// (RFC 9110 §7.6.1); Host and Content-Length are recomputed.
var hopByHop = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
	"Host": true, "Content-Length": true,
}

// decodable are the content codings this package can decode.
var decodable = map[string]bool{"gzip": true, "x-gzip": true, "deflate": true, "identity": true}

// filterEncodings keeps the Accept-Encoding entries that can be decoded
// (brotli and zstd are not in the standard library).
func filterEncodings(v string) string {
	var keep []string
	for _, part := range strings.Split(v, ",") {
		name, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if decodable[strings.ToLower(strings.TrimSpace(name))] {
			keep = append(keep, strings.TrimSpace(part))
		}
	}
	return strings.Join(keep, ", ")
}

// buildRequest turns a recorded call into a request to the session's
// server.
func (s *session) buildRequest(ctx context.Context, c *call) (*http.Request, error) {
	idx := c.pub.Index
	pathPart, query, hasQuery := strings.Cut(c.pathQuery, "?")
	target := s.fill(idx, correlate.WhereURLPath, pathPart, url.PathEscape, rawEscape)
	if hasQuery {
		target += "?" + s.fill(idx, correlate.WhereURLQuery, query, url.QueryEscape, rawEscape)
	}
	target = requestTarget(target)

	var body []byte
	if c.entry.Request.PostData != nil {
		esc := rawEscape
		switch bodyKind(c.entry.Request.PostData.MimeType) {
		case "json":
			esc = jsonEscape
		case "form":
			esc = url.QueryEscape
		}
		body = []byte(s.fill(idx, correlate.WhereBody, string(c.entry.Request.Body()), esc, esc))
	}
	var rd io.Reader
	if len(body) > 0 {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, s.target.origin()+"/", rd)
	if err != nil {
		return nil, err
	}
	// The recorded path and query are sent without being decoded and
	// encoded again.
	p, q, hasQ := strings.Cut(target, "?")
	setRawPath(req.URL, s.target.prefix+p)
	req.URL.RawQuery = q
	req.URL.ForceQuery = hasQ && q == ""
	if len(body) > 0 {
		req.ContentLength = int64(len(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	req.Header = s.headersFor(c)
	return req, nil
}

// setRawPath makes p the path of u's request line as it is. net/http
// writes an Opaque as is, except one that starts with "//": that it
// writes as "http://…", which a server reads as naming another host. Such
// a path goes in Path and RawPath when it is a valid encoding of itself,
// and otherwise in the absolute form, which names u's host.
func setRawPath(u *url.URL, p string) {
	if !strings.HasPrefix(p, "//") {
		u.Opaque = p
		return
	}
	if dec, err := url.PathUnescape(p); err == nil {
		u.Opaque, u.Path, u.RawPath = "", dec, p
		if u.EscapedPath() == p {
			return
		}
	}
	u.Opaque, u.Path, u.RawPath = "//"+u.Host+p, "", ""
}

func (s *session) headersFor(c *call) http.Header {
	h := make(http.Header, len(c.entry.Request.Headers)+2)
	drop := map[string]bool{}
	for _, nv := range c.entry.Request.Headers {
		if strings.EqualFold(nv.Name, "Connection") {
			for _, t := range strings.Split(nv.Value, ",") {
				drop[http.CanonicalHeaderKey(strings.TrimSpace(t))] = true
			}
		}
	}
	for _, nv := range c.entry.Request.Headers {
		if nv.Name == "" || nv.Name[0] == ':' {
			continue // HTTP/2 pseudo-headers
		}
		name := http.CanonicalHeaderKey(nv.Name)
		if hopByHop[name] || drop[name] {
			continue
		}
		if _, ok := s.headers[name]; ok {
			continue
		}
		v := nv.Value
		switch name {
		case "Accept-Encoding":
			if v = filterEncodings(v); v == "" {
				continue
			}
			v = s.subst(v, rawEscape)
		case "Origin", "Referer":
			// After the variables: their spans are in the recorded text.
			v = s.origins.Replace(s.fill(c.pub.Index, correlate.WhereHeader(nv.Name), v, rawEscape, rawEscape))
		default:
			v = s.fill(c.pub.Index, correlate.WhereHeader(nv.Name), v, rawEscape, rawEscape)
		}
		if name == "Cookie" && len(h[name]) > 0 {
			h[name][0] += "; " + v // one Cookie header, as RFC 6265 wants
			continue
		}
		h[name] = append(h[name], v)
	}
	if _, ok := h["Cookie"]; !ok && len(c.entry.Request.Cookies) > 0 {
		if _, over := s.headers["Cookie"]; !over {
			var parts []string
			for _, ck := range c.entry.Request.Cookies {
				parts = append(parts, ck.Name+"="+ck.Value)
			}
			h["Cookie"] = []string{s.subst(strings.Join(parts, "; "), rawEscape)}
		}
	}
	for name, vals := range s.headers {
		if len(vals) > 0 {
			h[name] = vals
		}
	}
	if _, ok := h["User-Agent"]; !ok {
		// An empty value keeps Go from sending its own User-Agent: the
		// recording had none.
		h["User-Agent"] = []string{""}
	}
	return h
}

// bodyKind classifies a media type: "json", "form", "text" or "binary".
func bodyKind(mediaType string) string {
	mt, _, err := mime.ParseMediaType(mediaType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(strings.Split(mediaType, ";")[0]))
	}
	switch {
	case mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json"):
		return "json"
	case mt == "application/x-www-form-urlencoded":
		return "form"
	case strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "+xml") || mt == "application/xml" ||
		mt == "application/javascript" || mt == "application/yaml" || mt == "application/x-yaml":
		return "text"
	case mt == "":
		return ""
	}
	return "binary"
}

// headerTemplate is a --header value before $VAR expansion.
type headerTemplate struct{ name, value string }

// expandEnv expands $VAR, ${VAR} and $$ in s; it returns the names of unset
// variables and the values it inserted (to keep them out of reports).
func expandEnv(s string, getenv func(string) string) (out string, missing, secrets []string) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		if s[i+1] == '$' {
			b.WriteByte('$')
			i++
			continue
		}
		name, n := "", 0
		if s[i+1] == '{' {
			end := strings.IndexByte(s[i+2:], '}')
			if end > 0 && isEnvName(s[i+2:i+2+end]) {
				name, n = s[i+2:i+2+end], end+3
			}
		} else {
			j := i + 1
			for j < len(s) && (s[j] == '_' || isAlnum(s[j])) {
				j++
			}
			if isEnvName(s[i+1 : j]) {
				name, n = s[i+1:j], j-i
			}
		}
		if name == "" {
			b.WriteByte('$')
			continue
		}
		v := getenv(name)
		if v == "" {
			missing = append(missing, name)
		} else {
			secrets = append(secrets, v)
		}
		b.WriteString(v)
		i += n - 1
	}
	return b.String(), missing, secrets
}

func isEnvName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '_' && !isAlnum(s[i]) {
			return false
		}
	}
	return true
}

// bodyAllowed: 1xx, 204 and 304 answers carry no body on the wire; a body
// a browser shows for a 304 came from its cache.
func bodyAllowed(status int) bool {
	return status >= 200 && status != 204 && status != 304
}

// recordedResponse converts the recording's response for comparison.
func recordedResponse(e *har.Entry) (*Response, bool) {
	h := make(http.Header, len(e.Response.Headers))
	for _, nv := range e.Response.Headers {
		if nv.Name == "" || nv.Name[0] == ':' {
			continue
		}
		name := http.CanonicalHeaderKey(nv.Name)
		h[name] = append(h[name], nv.Value)
	}
	if _, ok := h["Content-Type"]; !ok && e.Response.Content.MimeType != "" && e.Response.Content.MimeType != "x-unknown" && bodyAllowed(e.Response.Status) {
		h["Content-Type"] = []string{e.Response.Content.MimeType}
	}
	body, ok, err := e.Response.Content.Bytes()
	return &Response{Status: e.Response.Status, Header: h, Body: body}, ok && err == nil
}
