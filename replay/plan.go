package replay

import (
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/correlate"
	"github.com/apitape/apitape/internal/english"
	"github.com/apitape/apitape/internal/placeholder"
)

// call is one selected entry during a run.
type call struct {
	pub       *Call
	entry     *har.Entry
	pos       int // position in the run
	method    string
	origin    string // recorded scheme://host
	pathQuery string // recorded path and query, exactly
	mutation  bool
	deps      []int // positions that must finish first
	producers []int // positions whose responses first revealed values this call uses or expects
	done      chan struct{}

	rec     *Response // recorded response (built once)
	recBody bool      // the recording kept the body
	recErr  error     // the recorded body claims JSON but is not

	live   *Response // kept for the final comparison when something differed
	dur    time.Duration
	judged *judgement
	noise  callNoise
}

// safeMethods never change state. Anything else (POST, PUT, PATCH, DELETE
// and unknown methods) is a mutation.
var safeMethods = map[string]bool{"GET": true, "HEAD": true, "OPTIONS": true, "TRACE": true}

// isMutation also catches method overrides in the query: Rancher's
// ?_method=DELETE turns a GET or POST into the method it names. The query
// is decoded first, as the server decodes it, so ?%5Fmethod=DELETE and
// ?_METHOD=delete are caught too (a spelling check on the raw text once let
// such a call through to a cluster).
func isMutation(method, pathQuery string) bool {
	if !safeMethods[strings.ToUpper(method)] {
		return true
	}
	_, q, ok := strings.Cut(pathQuery, "?")
	return ok && formOverrides(q)
}

// overrideKeys are the parameter and header names, normalised by
// overrideKey, that frameworks read an overriding method from: _method
// (Rails, Laravel, Symfony, Express's method-override, Rancher) and the
// X-HTTP-Method-Override family (Google APIs, ASP.NET, Spring's
// HiddenHttpMethodFilter variants). Accepting a header name as a query
// key costs nothing and some gateways do it.
var overrideKeys = map[string]bool{
	"_method":                true,
	"x-http-method-override": true,
	"x-http-method":          true,
	"x-method-override":      true,
}

// overrideKey normalises a decoded parameter or header name the ways
// servers do before matching: case folded, surrounding blanks dropped, "_"
// and "-" alike in header names (CGI and nginx map both to "_"), a leading
// "." or "[" read as "_" and a trailing "[]" dropped (PHP does both).
func overrideKey(name string, header bool) string {
	k := strings.ToLower(strings.TrimSpace(name))
	k = strings.TrimSuffix(k, "[]")
	if header {
		return strings.ReplaceAll(k, "_", "-")
	}
	if k != "" && (k[0] == '.' || k[0] == '[') {
		k = "_" + k[1:]
	}
	if strings.HasPrefix(k, "x_") || strings.HasPrefix(k, "x-") {
		k = strings.ReplaceAll(k, "_", "-")
	}
	return k
}

// unsafeOverride reports whether an override's value names a method that
// changes state. An empty value overrides nothing.
func unsafeOverride(v string) bool {
	v = strings.TrimSpace(v)
	return v != "" && !safeMethods[strings.ToUpper(v)]
}

// formOverrides reports whether an urlencoded query or body overrides the
// method with one that changes state. Pairs are split on "&" and ";" (both
// separate parameters on some servers) and names and values are decoded
// until they no longer change, so double encoding cannot hide "_method"
// from this check either. A pair that does not decode is judged on its raw
// text.
func formOverrides(q string) bool {
	for pair := range strings.FieldsFuncSeq(q, func(r rune) bool { return r == '&' || r == ';' }) {
		k, v, _ := strings.Cut(pair, "=")
		if overrideKeys[overrideKey(decodeAll(k), false)] && unsafeOverride(decodeAll(v)) {
			return true
		}
	}
	return false
}

// decodeAll query-unescapes s until it is stable (at most a few rounds).
func decodeAll(s string) string {
	for range 4 {
		d, err := url.QueryUnescape(s)
		if err != nil || d == s {
			return s
		}
		s = d
	}
	return s
}

// overridesMethod reports whether a call that is safe by its method and
// URL still changes state through a method-override header (recorded, or
// set with --header; extra holds those, already expanded) or an
// urlencoded body or body parameter named _method.
func overridesMethod(e *har.Entry, extra http.Header) bool {
	for name, vals := range extra {
		if overrideKeys[overrideKey(name, true)] && slices.ContainsFunc(vals, unsafeOverride) {
			return true
		}
	}
	for _, h := range e.Request.Headers {
		if _, replaced := extra[http.CanonicalHeaderKey(h.Name)]; replaced {
			continue // --header replaces the recorded value
		}
		if overrideKeys[overrideKey(h.Name, true)] && unsafeOverride(h.Value) {
			return true
		}
	}
	pd := e.Request.PostData
	if pd == nil {
		return false
	}
	for _, p := range pd.Params {
		if p.Value != nil && overrideKeys[overrideKey(p.Name, false)] && unsafeOverride(*p.Value) {
			return true
		}
	}
	if bodyKind(pd.MimeType) == "form" || pd.MimeType == "" {
		return formOverrides(string(e.Request.Body()))
	}
	return false
}

// loopback reports whether the target's host is loopback by its text
// alone (localhost, 127.0.0.0/8, ::1): no name is resolved, so nothing is
// dialled to decide.
func (t *targetURL) loopback() bool {
	host := t.host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// skipReason says why an entry is not replayed, or "".
func skipReason(e *har.Entry) string {
	if har.IsPreflight(e) {
		return "CORS preflight (sent by the browser, not the application)"
	}
	if e.ResourceType() == "websocket" || e.Response.Status == 101 || strings.HasPrefix(strings.ToLower(e.Request.URL), "ws") {
		return "WebSocket (not replayed)"
	}
	if v, ok := har.Header(e.Request.Headers, "Upgrade"); ok && strings.EqualFold(v, "websocket") {
		return "WebSocket (not replayed)"
	}
	return ""
}

// prepared is a run's calls, checked and scheduled.
type prepared struct {
	calls   []*call
	origins []string         // recorded origins, sorted
	model   *correlate.Model // nil without correlation
	analyze time.Duration    // spent building the model, for benchmarks
}

// prepare turns items into calls, builds the correlation model and checks
// everything that must hold before the first byte is sent.
func (r *Runner) prepare(items []item) (*prepared, error) {
	calls := make([]*call, len(items))
	originSet := map[string]bool{}
	extra := r.expandedHeaders()
	for i, it := range items {
		e := it.entry
		c := &call{entry: e, pos: i, method: strings.ToUpper(e.Request.Method), done: make(chan struct{})}
		c.pub = &Call{
			Index:          it.index,
			Method:         c.method,
			URL:            maskURL(e.Request.URL),
			RecordedStatus: e.Response.Status,
			RecordedMS:     e.Time,
		}
		c.pub.Path = c.pub.URL
		origin, pq, err := splitURL(e.Request.URL)
		if err == nil {
			c.pub.Path = maskURL(pq)
		}
		if skip := skipReason(e); skip != "" {
			c.pub.Skipped = skip
		} else if p := har.URLProblem(e.Request.URL); p != "" {
			c.pub.Skipped = "request.url: " + p
		} else if err != nil {
			c.pub.Skipped = "request.url: " + err.Error()
		} else {
			c.origin, c.pathQuery = origin, pq
			c.mutation = isMutation(c.method, pq) || overridesMethod(e, extra)
			c.pub.Mutation = c.mutation
			originSet[origin] = true
		}
		calls[i] = c
	}
	origins := slices.Sorted(maps.Keys(originSet))
	analyzeStart := time.Now()
	model, err := r.analyze(calls)
	if err != nil {
		return nil, err
	}
	analyzed := time.Since(analyzeStart)

	var missing []string
	addMissing := func(name string) {
		if !slices.Contains(missing, name) {
			missing = append(missing, name)
		}
	}
	for _, h := range r.headers {
		_, miss, _ := expandEnv(h.value, r.getenv)
		for _, m := range miss {
			addMissing(m)
		}
	}
	r.eachPlaceholder(calls, model, func(_ *call, ph string, learned bool) {
		if !learned && r.getenv(placeholder.EnvName(ph)) == "" {
			addMissing(placeholder.EnvName(ph))
		}
	})
	if len(missing) > 0 {
		return nil, &PreflightError{Missing: missing}
	}

	var refused []*Call
	for _, t := range []*targetURL{r.target, r.baseline} {
		if t == nil || r.allowMutations || t.loopback() || (t == r.baseline && r.noiseRuns == 0) {
			continue
		}
		for _, c := range calls {
			if c.mutation && c.pub.Skipped == "" {
				refused = append(refused, c.pub)
			}
		}
		if len(refused) > 0 {
			return nil, &PreflightError{Refused: refused, Target: t.raw}
		}
	}
	schedule(calls, modelEdges(calls, model), r.carries())
	return &prepared{calls: calls, origins: origins, model: model, analyze: analyzed}, nil
}

// PreflightError is returned by Run when nothing may be sent: variables
// are missing for placeholders or --header values, or calls would change
// state on a target that is not loopback.
type PreflightError struct {
	Missing []string // environment variables, in first-use order
	Refused []*Call  // mutations refused
	Target  string
}

func (e *PreflightError) Error() string {
	if len(e.Missing) > 0 {
		return fmt.Sprintf("missing environment variables (nothing was sent): %s", strings.Join(e.Missing, ", "))
	}
	methods := map[string]bool{}
	for _, c := range e.Refused {
		methods[c.Method] = true
	}
	return fmt.Sprintf("refusing to send %s (%s) to %s, which is not loopback (nothing was sent)",
		english.Count(len(e.Refused), "state-changing call", ""), strings.Join(slices.Sorted(maps.Keys(methods)), ", "), e.Target)
}

// eachPlaceholder calls fn for each placeholder the requests of calls send,
// in order, saying whether it is learned at replay: an earlier recorded
// response carries it (a session cookie set at login), so it needs no
// variable. When nothing is carried (correlation off), only the declared
// variables' values are learned.
func (r *Runner) eachPlaceholder(calls []*call, model *correlate.Model, fn func(c *call, ph string, learned bool)) {
	overridden := map[string]bool{}
	for _, h := range r.headers {
		overridden[h.name] = true
	}
	revealed := map[string]bool{}
	for _, c := range calls {
		if c.pub.Skipped != "" {
			continue
		}
		for _, ph := range requestPlaceholders(c, overridden) {
			fn(c, ph, revealed[ph])
		}
		if r.carries() {
			for _, ph := range responsePlaceholders(c.entry) {
				revealed[ph] = true
			}
		}
		// Once this call is answered, the placeholders in the recorded
		// values of its variables are replaced at their uses.
		for _, v := range model.Produced(c.pub.Index) {
			if len(v.Uses) > 0 {
				for _, ph := range appendPlaceholders(nil, v.Value) {
					revealed[ph] = true
				}
			}
		}
	}
}

// appendPlaceholders appends the placeholders in s.
func appendPlaceholders(out []string, s string) []string {
	if !strings.Contains(s, placeholder.Prefix) {
		return out
	}
	for _, loc := range placeholder.FindAll(s) {
		out = append(out, s[loc[0]:loc[1]])
	}
	return out
}

func requestPlaceholders(c *call, overridden map[string]bool) []string {
	var out []string
	add := func(s string) { out = appendPlaceholders(out, s) }
	add(c.pathQuery)
	for _, nv := range c.entry.Request.Headers {
		if !overridden[canonical(nv.Name)] && !hopByHop[canonical(nv.Name)] {
			add(nv.Value)
		}
	}
	if !overridden["Cookie"] {
		if _, ok := har.Header(c.entry.Request.Headers, "Cookie"); !ok {
			for _, ck := range c.entry.Request.Cookies {
				add(ck.Value)
			}
		}
	}
	if c.entry.Request.PostData != nil {
		add(string(c.entry.Request.Body()))
	}
	return out
}

func responsePlaceholders(e *har.Entry) []string {
	var out []string
	add := func(s string) { out = appendPlaceholders(out, s) }
	for _, nv := range e.Response.Headers {
		add(nv.Value)
	}
	for _, ck := range e.Response.Cookies {
		add(ck.Value)
	}
	if text, ok := contentText(&e.Response.Content); ok && strings.Contains(text, placeholder.Prefix) {
		add(text)
	}
	return out
}

// contentText is a recorded body as a string, without copying it when it
// is stored as text.
func contentText(c *har.Content) (string, bool) {
	if c.Text == nil {
		return "", false
	}
	if !strings.EqualFold(c.Encoding, "base64") {
		return *c.Text, true
	}
	b, ok, err := c.Bytes()
	return string(b), ok && err == nil
}

// schedule decides which calls must finish before each call starts.
// Mutations are barriers: a mutation waits for everything before it and
// everything after waits for it (state changed; what was read before must
// be read before). Between barriers, calls run in parallel except that a
// call waits for the producers of the model's variables it uses (edges,
// by position), whose answers teach the live values, and, when the
// heuristic's values are carried, for the call whose response first
// revealed a value (an id, a token) it uses. Those first revealers are
// also the producers a failure is attributed to, carried or not.
func schedule(calls []*call, edges map[int][]int, carry bool) {
	producer := map[string]int{}
	seen := map[string]bool{}
	barrier := -1
	var since []int
	for _, c := range calls {
		if c.pub.Skipped != "" {
			continue
		}
		deps := map[int]bool{}
		prods := map[int]bool{}
		for _, s := range requestTexts(c.entry) {
			idTokens(s, func(tok string) {
				if p, ok := producer[tok]; ok {
					if carry {
						deps[p] = true
					}
					prods[p] = true
				}
				seen[tok] = true
			})
		}
		for _, p := range edges[c.pos] {
			if calls[p].pub.Skipped == "" {
				deps[p] = true
				prods[p] = true
			}
		}
		for _, s := range responseTexts(c.entry) {
			idTokens(s, func(tok string) {
				if p, ok := producer[tok]; ok {
					prods[p] = true
				} else if !seen[tok] {
					producer[tok] = c.pos
				}
				seen[tok] = true
			})
		}
		if c.mutation {
			for _, p := range since {
				deps[p] = true
			}
			since = nil
		}
		if barrier >= 0 {
			deps[barrier] = true
		}
		if c.mutation {
			barrier = c.pos
		} else {
			since = append(since, c.pos)
		}
		delete(deps, c.pos)
		delete(prods, c.pos)
		c.deps = slices.Sorted(maps.Keys(deps))
		c.producers = slices.Sorted(maps.Keys(prods))
	}
}

func requestTexts(e *har.Entry) []string {
	out := []string{e.Request.URL}
	for _, nv := range e.Request.Headers {
		out = append(out, nv.Value)
	}
	if e.Request.PostData != nil {
		out = append(out, string(e.Request.Body()))
	}
	return out
}

func responseTexts(e *har.Entry) []string {
	var out []string
	for _, nv := range e.Response.Headers {
		if n := canonical(nv.Name); n == "Set-Cookie" || n == "Location" {
			out = append(out, nv.Value)
		}
	}
	if text, ok := contentText(&e.Response.Content); ok {
		out = append(out, text)
	}
	return out
}

// idTokens calls fn for each run of [A-Za-z0-9_-] in s that could be an
// id: at least 5 long with a digit, a dash or an underscore.
func idTokens(s string, fn func(string)) {
	start, marked := -1, false
	for i := 0; i <= len(s); i++ {
		if i < len(s) {
			c := s[i]
			if isAlnum(c) || c == '-' || c == '_' {
				if start < 0 {
					start, marked = i, false
				}
				if c < 'A' || c == '_' {
					marked = true // digit, dash or underscore
				}
				continue
			}
		}
		if start >= 0 && i-start >= 5 && marked {
			fn(s[start:i])
		}
		start = -1
	}
}

func canonical(name string) string {
	if name != "" && name[0] == ':' {
		return name
	}
	return http.CanonicalHeaderKey(name)
}

// expandedHeaders is the --header set with $VAR expanded; an empty value
// (a removed header) is kept as a name without values.
func (r *Runner) expandedHeaders() http.Header {
	h := http.Header{}
	for _, t := range r.headers {
		v, _, _ := expandEnv(t.value, r.getenv)
		h[t.name] = nil
		if v != "" {
			h[t.name] = []string{v}
		}
	}
	return h
}
