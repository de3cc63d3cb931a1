package redact

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/apitape/apitape/internal/placeholder"
)

// The keystore gives every secret value its placeholder and remembers the
// values found so far, so that their echoes (a token from a login response
// in a later Referer, a CSRF value in a WebSocket frame) are swept too, in
// every spelling: raw, URL-encoded, JSON-escaped and base64 at any
// alignment. It holds secrets, not the file: it grows with the number of
// distinct secrets.

// minSweep is the shortest value swept everywhere: shorter ones (a
// password "admin") would wipe ordinary words out of the file.
const minSweep = 6

// maxSweep is the longest value swept (a whole kubeconfig is found by its
// key, not by its text).
const maxSweep = 4096

type known struct{ ph, class string }

type keystore struct {
	key   []byte
	vals  map[string]known
	order []string // swept values in the order they were learned
	forms []sweepForm
	m     *matcher
	since struct { // cache of sinceMatcher
		n int
		m *matcher
	}
}

type sweepForm struct {
	text, value string
	n           int // index of value in order
}

func newKeystore(key []byte) *keystore {
	return &keystore{key: key, vals: map[string]known{}}
}

// placeholder returns the placeholder of value. The first class a value is
// seen with sticks, so a value has one placeholder everywhere (the CSRF
// cookie, header and query parameter stay equal). learn adds the value to
// the sweep.
func (k *keystore) placeholder(value, class string, learn bool) string {
	if kv, ok := k.vals[value]; ok {
		return kv.ph
	}
	mac := hmac.New(sha256.New, k.key)
	mac.Write([]byte(value))
	ph := placeholder.Make(class, hex.EncodeToString(mac.Sum(nil)))
	if learn {
		// A copy: value is usually a substring of a whole entry or body,
		// which must not stay in memory with it.
		value = strings.Clone(value)
		k.vals[value] = known{ph, class}
		if len(value) >= minSweep && len(value) <= maxSweep && !placeholder.Contains(value) {
			for _, f := range sweepForms(value) {
				k.forms = append(k.forms, sweepForm{f, value, len(k.order)})
			}
			k.order = append(k.order, value)
			if k.m != nil {
				k.m.add(k.forms) // rebuilding it for every new secret was quadratic
			}
		}
	}
	return ph
}

// sweepForms are the spellings of v that may appear in a HAR.
func sweepForms(v string) []string {
	forms := []string{v, url.QueryEscape(v), url.PathEscape(v), percentAll(v, false), percentAll(v, true), jsonEscaped(v)}
	if b, err := json.Marshal(v); err == nil { // Go's HTML-safe escaping
		forms = append(forms, string(b[1:len(b)-1]))
	}
	forms = append(forms, strings.ReplaceAll(jsonEscaped(v), "/", `\/`), jsonEscaped(jsonEscaped(v)))
	// base64 of v at each of the three alignments it can have inside a
	// longer blob: the characters that depend on v alone.
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for k := 0; k < 3; k++ {
			buf := make([]byte, k+len(v))
			copy(buf[k:], v)
			e := enc.EncodeToString(buf)
			lo := (8*k + 5) / 6
			hi := 8 * (k + len(v)) / 6
			if hi-lo >= minSweep {
				forms = append(forms, e[lo:hi])
			}
		}
	}
	seen := map[string]bool{}
	out := forms[:0]
	for _, f := range forms {
		if len(f) >= minSweep && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// percentAll percent-encodes every byte that is not unreserved.
func percentAll(v string, lowerHex bool) string {
	digits := "0123456789ABCDEF"
	if lowerHex {
		digits = "0123456789abcdef"
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if isAlnum[c] || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(digits[c>>4])
		b.WriteByte(digits[c&15])
	}
	return b.String()
}

// sweep calls fn for every known value found in s, longest spelling first
// at each position.
func (k *keystore) sweep(s string, fn func(start, end int, value, class string)) {
	if len(k.forms) == 0 || len(s) < minSweep {
		return
	}
	if k.m == nil {
		k.m = newMatcher(k.forms)
	}
	k.m.find(s, func(start, end int, value string) {
		fn(start, end, value, k.vals[value].class)
	})
}

// learnedSince reports whether s holds, in any spelling the sweep knows,
// a value learned after the first n.
func (k *keystore) learnedSince(n int, s string) bool {
	if n >= len(k.order) {
		return false
	}
	if k.since.m == nil || k.since.n != n {
		i := 0
		for i < len(k.forms) && k.forms[i].n < n {
			i++
		}
		k.since.n, k.since.m = n, newMatcher(k.forms[i:])
	}
	found := false
	k.since.m.find(s, func(int, int, string) { found = true })
	return found
}

// matcher finds many strings at once: a bitmap of the first four bytes
// of every form rejects almost every position with one lookup, so the sweep
// costs about a nanosecond a byte however many secrets are known.
type matcher struct {
	bits  [1 << 10]uint64
	byKey map[uint32][]int
	forms []sweepForm
}

func key4(s string, i int) uint32 {
	return uint32(s[i]) | uint32(s[i+1])<<8 | uint32(s[i+2])<<16 | uint32(s[i+3])<<24
}

func bit(k uint32) uint32 { return (k * 2654435761) >> 16 }

func newMatcher(forms []sweepForm) *matcher {
	m := &matcher{byKey: map[uint32][]int{}}
	m.add(forms)
	return m
}

// add indexes the forms past those m has: forms extends m's list.
func (m *matcher) add(forms []sweepForm) {
	for i := len(m.forms); i < len(forms); i++ {
		k := key4(forms[i].text, 0)
		b := bit(k)
		m.bits[b>>6] |= 1 << (b & 63)
		m.byKey[k] = append(m.byKey[k], i)
	}
	m.forms = forms
}

func (m *matcher) find(s string, fn func(start, end int, value string)) {
	for i := 0; i+minSweep <= len(s); i++ {
		k := key4(s, i)
		b := bit(k)
		if m.bits[b>>6]&(1<<(b&63)) == 0 {
			continue
		}
		best := -1
		for _, fi := range m.byKey[k] {
			f := m.forms[fi].text
			if strings.HasPrefix(s[i:], f) && (best < 0 || len(f) > len(m.forms[best].text)) {
				best = fi
			}
		}
		if best >= 0 {
			f := m.forms[best]
			fn(i, i+len(f.text), f.value)
			i += len(f.text) - 1
		}
	}
}

// placeholderSpans returns where placeholders are in s.
func placeholderSpans(s string) [][]int {
	if !strings.Contains(s, placeholder.Prefix) {
		return nil
	}
	return placeholder.FindAll(s)
}
