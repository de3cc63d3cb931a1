package replay

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apitape/apitape/internal/credential"
	"github.com/apitape/apitape/internal/placeholder"
	"github.com/apitape/apitape/replay/internal/jsondiff"
)

// Response is one response as the comparison sees it: the body decoded
// (content.text from the recording, decompressed from the wire) and parsed
// when it is JSON.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   any // nil unless the body is JSON
	IsJSON bool
}

// exchange is what a [valueMap] learns from: one call's recorded and live
// responses and the structural differences found between their bodies.
type exchange struct {
	Call     int // entry index
	Recorded *Response
	Live     *Response
	Changes  []jsondiff.Change
}

// Pair is one learned value: what the recording had and what the live
// server chose instead.
type Pair struct {
	Recorded string `json:"recorded"`
	Live     string `json:"live"`
	Call     int    `json:"call"`  // entry index of the call it was learned from
	Where    string `json:"where"` // path or header it was learned at
	Secret   bool   `json:"secret"`
	// Var names the correlation model's variable (package correlate) the
	// pair was read for; "" when the heuristic learned it from differing
	// answers.
	Var string `json:"var,omitempty"`
}

// valueMap is the heuristic behind the correlation model (package
// correlate): it learns values a server chooses (ids of created objects,
// session tokens) from differing answers, carries them into later
// requests where the model has no variable, and lets comparisons treat a
// recorded value and its live counterpart as equal. It is safe for
// concurrent use.
//
// Where the recorded and the live response differ at the same place (JSON path, Set-Cookie name, Location
// path segment) and the recorded value looks like an id — at least 5
// characters, no spaces, a digit or a separator, not a URL, under a key
// named like an id (id, *Id, *Ids, name, *Name, uid, token) — it maps
// recorded → live. Apply substitutes whole values only (the characters
// around a match must not be letters or digits), and also their URL-encoded
// forms.
type valueMap struct {
	mu    sync.RWMutex
	n     atomic.Int32
	pairs []Pair
	m     map[string]string // recorded → live, including encoded forms
	bound map[string]bool   // recorded values put with override
	idx   map[string]int    // recorded value → its pair in pairs
	keys  []string          // keys of m, longest first
	first [256]bool         // first bytes of keys, to skip positions fast
}

// newValueMap returns an empty valueMap.
func newValueMap() *valueMap {
	return &valueMap{m: map[string]string{}, bound: map[string]bool{}, idx: map[string]int{}}
}

// Learn looks at one call's exchange; it reports whether it learned
// something new (the runner then compares that call again).
func (v *valueMap) Learn(x *exchange) bool {
	var found []Pair
	for _, c := range x.Changes {
		if c.Kind != jsondiff.Changed {
			continue
		}
		rs, ok1 := c.Recorded.(string)
		ls, ok2 := c.Live.(string)
		if !ok1 || !ok2 || !idKey(c.Path) || !looksLikeID(rs) || !looksLikeID(ls) {
			continue
		}
		found = append(found, Pair{Recorded: rs, Live: ls, Call: x.Call, Where: c.Path.String(), Secret: secretKey(c.Path.Last()) || placeholder.Contains(rs)})
	}
	if x.Recorded != nil && x.Live != nil {
		found = append(found, cookiePairs(x)...)
		found = append(found, locationPairs(x)...)
	}
	return v.put(found, false)
}

// put adds pairs. Without override the first pair for a recorded value
// wins (later answers saw the substituted request); with override a pair
// replaces what was there, and is never replaced by a pair put without
// override: the correlation model knows which answer produced a value.
func (v *valueMap) put(found []Pair, override bool) bool {
	if len(found) == 0 {
		return false
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	learned := false
	for _, p := range found {
		if p.Recorded == "" || p.Recorded == p.Live {
			continue
		}
		// Whoever holds a value, it stays a secret if either saw one.
		i, had := v.idx[p.Recorded]
		if had && p.Secret {
			v.pairs[i].Secret = true
		}
		if live, ok := v.m[p.Recorded]; ok && (!override || v.bound[p.Recorded] || live == p.Live) {
			continue
		}
		switch {
		case had:
			// Only an override gets here: it takes the pair's place.
			p.Secret = p.Secret || v.pairs[i].Secret
			v.pairs[i] = p
		default:
			v.idx[p.Recorded] = len(v.pairs)
			v.pairs = append(v.pairs, p)
		}
		if override {
			v.bound[p.Recorded] = true
		}
		v.add(p.Recorded, p.Live, override)
		if e1, e2 := url.QueryEscape(p.Recorded), url.QueryEscape(p.Live); e1 != p.Recorded {
			v.add(e1, e2, override)
		}
		if e1, e2 := url.PathEscape(p.Recorded), url.PathEscape(p.Live); e1 != p.Recorded {
			v.add(e1, e2, override)
		}
		learned = true
	}
	if learned {
		v.keys = v.keys[:0]
		for k := range v.m {
			v.keys = append(v.keys, k)
			v.first[k[0]] = true
		}
		slices.SortFunc(v.keys, func(a, b string) int {
			if len(a) != len(b) {
				return len(b) - len(a)
			}
			return strings.Compare(a, b)
		})
		v.n.Store(int32(len(v.keys)))
	}
	return learned
}

func (v *valueMap) add(rec, live string, override bool) {
	if _, ok := v.m[rec]; !ok || override {
		v.m[rec] = live
	}
}

// Apply replaces every recorded value in s by its live counterpart.
func (v *valueMap) Apply(s string) string {
	if v.n.Load() == 0 || len(s) < 5 {
		return s
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	var b *strings.Builder
	last := 0
	for i := 0; i < len(s); {
		if !v.first[s[i]] || i > 0 && isAlnum(s[i-1]) {
			i++
			continue
		}
		hit := ""
		for _, k := range v.keys {
			if len(k) <= len(s)-i && s[i] == k[0] && strings.HasPrefix(s[i:], k) && (i+len(k) == len(s) || !isAlnum(s[i+len(k)])) {
				hit = k
				break
			}
		}
		if hit == "" {
			i++
			continue
		}
		if b == nil {
			b = new(strings.Builder)
			b.Grow(len(s))
		}
		b.WriteString(s[last:i])
		b.WriteString(v.m[hit])
		i += len(hit)
		last = i
	}
	if b == nil {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// Pairs lists what was learned, in the order it was learned.
func (v *valueMap) Pairs() []Pair {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return slices.Clone(v.pairs)
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// idKey reports whether the value at p is named like an identifier. Values
// inside arrays take the name of the array (clusterIds[0]).
func idKey(p jsondiff.Path) bool {
	k := ""
	for i := len(p) - 1; i >= 0; i-- {
		if !p[i].Elem {
			k = p[i].Key
			break
		}
	}
	switch k {
	case "id", "ids", "uid", "name", "token", "ID", "_id":
		return true
	}
	for _, suf := range []string{"Id", "Ids", "ID", "IDs", "_id", "Name", "Token"} {
		if strings.HasSuffix(k, suf) {
			return true
		}
	}
	return false
}

// secretKey: the value under this key is a credential (token,
// accessToken, secretKey, password, sessionId), not merely related to one
// (token-userId, nextPageToken), as redaction decides it
// (internal/credential): a name it calls secret is masked in reports too.
func secretKey(k string) bool {
	_, ok := credential.Key(k)
	return ok
}

// commonWords are short values that are never ids even with a separator.
var commonWords = map[string]bool{
	"active": true, "pending": true, "provisioning": true, "updating": true, "removing": true,
	"true": true, "false": true, "null": true, "error": true, "cluster": true, "default": true,
}

// looksLikeID is the simple test of the built-in mapping: long enough, no
// whitespace, not a URL or a date, and not a plain word.
func looksLikeID(s string) bool {
	if len(s) < 5 || len(s) > 512 || commonWords[strings.ToLower(s)] || isTimestamp(s) {
		return false
	}
	lower := strings.ToLower(s)
	for _, p := range []string{"http://", "https://", "ws://", "wss://"} {
		if strings.HasPrefix(lower, p) {
			return false
		}
	}
	marked := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c <= ' ' || c == 0x7f:
			return false
		case c >= '0' && c <= '9', c == '-', c == '_', c == ':', c == '.', c == '/':
			marked = true
		}
	}
	return marked
}

// cookiePairs maps recorded Set-Cookie values to live ones by cookie name.
func cookiePairs(x *exchange) []Pair {
	rec := setCookies(x.Recorded.Header)
	if len(rec) == 0 {
		return nil
	}
	live := setCookies(x.Live.Header)
	var out []Pair
	for _, name := range slices.Sorted(maps.Keys(rec)) {
		rv, lv := rec[name], live[name]
		if lv == "" || rv == lv || len(rv) < 5 {
			continue
		}
		out = append(out, Pair{Recorded: rv, Live: lv, Call: x.Call, Where: "header:Set-Cookie[" + name + "]", Secret: true})
	}
	return out
}

func setCookies(h http.Header) map[string]string {
	vals := h.Values("Set-Cookie")
	if len(vals) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, sc := range vals {
		nv, _, _ := strings.Cut(sc, ";")
		name, value, ok := strings.Cut(nv, "=")
		if !ok {
			continue
		}
		out[strings.TrimSpace(name)] = strings.Trim(strings.TrimSpace(value), `"`)
	}
	return out
}

// locationPairs maps path segments of a Location header (a created
// object's URL) that differ and look like ids.
func locationPairs(x *exchange) []Pair {
	rl, ll := x.Recorded.Header.Get("Location"), x.Live.Header.Get("Location")
	if rl == "" || ll == "" {
		return nil
	}
	rs, ls := strings.Split(pathOf(rl), "/"), strings.Split(pathOf(ll), "/")
	if len(rs) != len(ls) {
		return nil
	}
	var out []Pair
	for i := range rs {
		if rs[i] != ls[i] && looksLikeID(rs[i]) && looksLikeID(ls[i]) {
			out = append(out, Pair{Recorded: rs[i], Live: ls[i], Call: x.Call, Where: "header:Location"})
		}
	}
	return out
}

// pathOf returns the path of an absolute or relative URL, without query.
func pathOf(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
		if j := strings.IndexByte(u, '/'); j >= 0 {
			u = u[j:]
		} else {
			u = "/"
		}
	}
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	return u
}
