package redact

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"hash"
	"net/url"
	"slices"
	"strings"
	"sync"

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

type known struct {
	ph, class string
	key       string // the map's own copy of the value
	decoded   bool   // its base64 plaintext, if any, has been learned
	mod       int    // the keystore's ver when it was learned or last changed
}

type keystore struct {
	key   []byte
	vals  map[string]known
	order []string // swept values in the order they were learned
	m     *matcher
	// ver counts the changes (values learned, plaintexts marked
	// learned): an analysis made against an older ver is checked
	// against what changed since (see overlay).
	ver int
	// macs are keyed HMACs to reuse: keying one costs more than hashing
	// a short value, and checks run on several goroutines.
	macs sync.Pool
}

type sweepForm struct {
	text, value string
	n           int // index of value in order
}

func newKeystore(key []byte) *keystore {
	k := &keystore{key: key, vals: map[string]known{}, m: newMatcher(nil)}
	k.macs.New = func() any { return hmac.New(sha256.New, key) }
	return k
}

// placeholder returns the placeholder of value. The first class a value is
// seen with sticks, so a value has one placeholder everywhere (the CSRF
// cookie, header and query parameter stay equal). learn adds the value to
// the sweep.
func (k *keystore) placeholder(value, class string, learn bool) string {
	if kv, ok := k.vals[value]; ok {
		return kv.ph
	}
	ph := k.mac(value, class)
	if learn {
		// A copy: value is usually a substring of a whole entry or body,
		// which must not stay in memory with it.
		k.learn(strings.Clone(value), class, ph, nil, nil)
	}
	return ph
}

// mac is the placeholder of a value not yet known.
func (k *keystore) mac(value, class string) string {
	mac := k.macs.Get().(hash.Hash)
	mac.Reset()
	mac.Write([]byte(value))
	var sum [sha256.Size]byte
	ph := placeholder.Make(class, mac.Sum(sum[:0]))
	k.macs.Put(mac)
	return ph
}

// learn adds a value not yet known (the caller's own copy) with its
// placeholder, and returns its spellings for the sweep: forms, when not
// nil, are those spellings already made, and offs where their windows
// lie (see matcher.anchor).
func (k *keystore) learn(value, class, ph string, forms []string, offs []int32) []string {
	k.vals[value] = known{ph: ph, class: class, key: value, mod: k.ver}
	k.ver++
	if len(value) >= minSweep && len(value) <= maxSweep && !containsPlaceholder(value) {
		if forms == nil {
			forms = sweepForms(value)
		}
		var buf [24]sweepForm
		fs := buf[:0]
		for _, f := range forms {
			fs = append(fs, sweepForm{f, value, len(k.order)})
		}
		k.order = append(k.order, value)
		k.m.appendAt(fs, offs) // rebuilding it for every new secret was quadratic
	}
	return forms
}

// firstDecode reports whether a learned value's base64 plaintext is yet
// to be learned, and marks it learned: a secret seen in every entry is
// decoded once, not every time.
func (k *keystore) firstDecode(value string) bool {
	kv, ok := k.vals[value]
	if !ok || kv.decoded {
		return !ok
	}
	k.markDecoded(kv)
	return true
}

func (k *keystore) markDecoded(kv known) {
	kv.decoded = true
	kv.mod = k.ver
	k.ver++
	// Stored under the map's own copy: assigning under value would make
	// the map keep value, a slice of a whole entry, in its place.
	k.vals[kv.key] = kv
}

// sweepForms are the spellings of v that may appear in a HAR. They are
// cut from one buffer: a session learns thousands of values, and a string
// per spelling was most of what learning one allocated.
func sweepForms(v string) []string {
	bp := formBufs.Get().(*[]byte)
	defer formBufs.Put(bp)
	b := (*bp)[:0]
	defer func() { *bp = b[:0] }()
	var spans [][2]int
	keep := func(start int) {
		f := b[start:]
		if len(f) < minSweep {
			b = b[:start]
			return
		}
		for _, sp := range spans {
			if string(b[sp[0]:sp[1]]) == string(f) {
				b = b[:start]
				return
			}
		}
		spans = append(spans, [2]int{start, len(b)})
	}
	add := func(f string) {
		start := len(b)
		b = append(b, f...)
		keep(start)
	}
	add(v)
	if !unreserved(v) { // else every escaped spelling is v itself
		qe := url.QueryEscape(v)
		add(qe)
		add(url.PathEscape(v))
		// A URL carried in another URL's query holds v escaped twice.
		add(url.QueryEscape(qe))
		start := len(b)
		b = appendPercentAll(b, v, false)
		keep(start)
		start = len(b)
		b = appendPercentAll(b, v, true)
		keep(start)
		je := jsonEscaped(v)
		add(je)
		// Go's HTML-safe escaping differs from je only for <, >, &,
		// control characters and what is not ASCII.
		if !plainASCII(v) {
			if m, err := json.Marshal(v); err == nil {
				start = len(b)
				b = append(b, m[1:len(m)-1]...)
				keep(start)
			}
		}
		if strings.Contains(je, "/") {
			add(strings.ReplaceAll(je, "/", `\/`))
		}
		if strings.ContainsAny(je, `"\`) { // else escaping it again changes nothing
			start = len(b)
			b = appendJSONEscaped(b, je)
			keep(start)
		}
	}
	// base64 of v at each of the three alignments it can have inside a
	// longer blob: the characters that depend on v alone.
	padded := make([]byte, 2+len(v))
	copy(padded[2:], v)
	var e []byte
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for k := 0; k < 3; k++ {
			e = enc.AppendEncode(e[:0], padded[2-k:])
			lo := (8*k + 5) / 6
			hi := 8 * (k + len(v)) / 6
			if hi-lo >= minSweep {
				start := len(b)
				b = append(b, e[lo:hi]...)
				keep(start)
			}
		}
	}
	all := string(b) // exactly the spellings' bytes
	out := make([]string, len(spans))
	for i, sp := range spans {
		out[i] = all[sp[0]:sp[1]]
	}
	return out
}

// formBufs are sweepForms' scratch buffers.
var formBufs = sync.Pool{New: func() any { return new([]byte) }}

// unreserved reports a value of letters, digits and -_.~ alone, which no
// encoding the sweep knows (URL, JSON, HTML-safe JSON) changes.
func unreserved(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; !isAlnum[c] && c != '-' && c != '_' && c != '.' && c != '~' {
			return false
		}
	}
	return true
}

// plainASCII reports printable ASCII without the characters HTML-safe
// JSON escapes.
func plainASCII(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c > 0x7e || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// appendPercentAll percent-encodes every byte that is not unreserved.
func appendPercentAll(b []byte, v string, lowerHex bool) []byte {
	digits := "0123456789ABCDEF"
	if lowerHex {
		digits = "0123456789abcdef"
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if isAlnum[c] || c == '-' || c == '_' || c == '.' || c == '~' {
			b = append(b, c)
			continue
		}
		b = append(b, '%', digits[c>>4], digits[c&15])
	}
	return b
}

// sweep calls fn for every known value found in s, longest spelling first
// at each position.
func (k *keystore) sweep(s string, fn func(start, end int, value, class string)) {
	if k.m.n == 0 || len(s) < minSweep {
		return
	}
	k.m.find(s, func(start, end int, value string) {
		fn(start, end, value, k.vals[value].class)
	})
}

// learnedSince reports whether s holds, in any spelling the sweep knows,
// a value learned after the first n. It asks the one matcher the sweep
// uses: a matcher of the later values alone would have to be built anew
// for every n, which made a session's second pass quadratic in its
// secrets.
func (k *keystore) learnedSince(n int, b []byte) bool {
	if n >= len(k.order) || len(b) < minSweep {
		return false
	}
	return anyForm(k.m, b, func(f *sweepForm) bool { return f.n >= n })
}

// matcher finds many strings at once, in time linear in the text and
// independent of how many strings it knows, and takes more strings without
// being rebuilt.
//
// Every form is indexed by one window of anchorLen bytes inside it, chosen
// where the index is emptiest, so that forms sharing a prefix (whole JWTs
// with the same header, tokens with the same name) still land in buckets
// of their own. The scan hashes the window at every position (rolling, a
// few instructions a byte); a Bloom filter of 16 bits per form, both of a
// window's bits in one word, rejects all but about 2 % of positions before
// the index is asked, and stays small enough for the CPU's cache (a plain
// bitmap big enough for 40,000 secrets was not), and a candidate is
// checked by comparing the whole form where it would start.
type matcher struct {
	words    []uint64 // 1 << logWords words
	logWords uint
	index    anchorTable
	// forms in chunks of formChunk: a session learns tens of thousands,
	// and one slice of them was copied whole each time it grew.
	chunks [][]sweepForm
	n      int
}

const formChunk = 1024

// form returns form i.
func (m *matcher) form(i int) *sweepForm { return &m.chunks[i/formChunk][i%formChunk] }

// anchorLen is the window every form is indexed by; forms are never
// shorter (minSweep).
const anchorLen = minSweep

// maxAnchorTries bounds the offsets considered for a long form's window.
const maxAnchorTries = 32

const windowMask = 1<<(8*anchorLen) - 1

type match struct{ start, end, form int }

// text is what the matcher reads: strings, and the spooled entries'
// bytes without a copy.
type text interface{ ~string | ~[]byte }

func window[T text](s T, i int) uint64 {
	var w uint64
	for j := anchorLen - 1; j >= 0; j-- {
		w = w<<8 | uint64(s[i+j])
	}
	return w
}

const hashMul = 0x9E3779B97F4A7C15

// probe is the word and the two bits of window w.
func probe(w uint64, logWords uint) (word uint64, mask uint64) {
	h := w * hashMul
	return h >> (64 - logWords), 1<<(h&63) | 1<<((h>>6)&63)
}

func (m *matcher) setBit(w uint64) {
	i, mask := probe(w, m.logWords)
	m.words[i] |= mask
}

func newMatcher(forms []sweepForm) *matcher {
	m := &matcher{}
	m.grow(len(forms))
	m.add(forms)
	return m
}

// reset empties m for reuse.
func (m *matcher) reset() {
	t := &m.index
	if m.n > 64 {
		clear(m.words)
		clear(t.slots)
	} else {
		// Only the words and slots the forms used: a matcher of an
		// entry's own values holds a few forms in tables sized for a
		// thousand.
		var buf [64]int
		slots := buf[:0]
		for _, w := range t.windows {
			i, _ := probe(w, m.logWords)
			m.words[i] = 0
			slots = append(slots, t.slot(w))
		}
		for _, j := range slots {
			t.slots[j] = anchorSlot{}
		}
	}
	t.used = 0
	t.links, t.windows = t.links[:0], t.windows[:0]
	for i := range m.chunks {
		clear(m.chunks[i])
		m.chunks[i] = m.chunks[i][:0]
	}
	m.chunks = m.chunks[:0]
	m.n = 0
}

// grow makes room for n forms in the filter, doubling, so that refilling
// it costs amortised constant time a form.
func (m *matcher) grow(n int) {
	if m.words != nil && 16*n <= 64*len(m.words) {
		return
	}
	logWords := max(m.logWords, 10)
	for 64<<logWords < 16*n {
		logWords++
	}
	m.logWords = logWords
	m.words = make([]uint64, 1<<logWords)
	for _, w := range m.index.windows {
		m.setBit(w)
	}
}

// add indexes the forms past those m has: forms extends m's list.
func (m *matcher) add(forms []sweepForm) { m.append(forms[m.n:]...) }

// append indexes more forms.
func (m *matcher) append(forms ...sweepForm) { m.appendAt(forms, nil) }

// appendAt indexes more forms; offs, when not nil, are where their
// windows lie, chosen beforehand (see anchor).
func (m *matcher) appendAt(forms []sweepForm, offs []int32) {
	m.grow(m.n + len(forms))
	for i, sf := range forms {
		if m.n%formChunk == 0 {
			if k := len(m.chunks); k < cap(m.chunks) && cap(m.chunks[:k+1][k]) == formChunk {
				m.chunks = m.chunks[:k+1] // one reset left
			} else {
				m.chunks = append(m.chunks, make([]sweepForm, 0, formChunk))
			}
		}
		c := &m.chunks[len(m.chunks)-1]
		*c = append(*c, sf)
		m.n++
		var off int
		if offs != nil {
			off = int(offs[i])
		} else {
			off = m.anchor(sf.text)
		}
		w := window(sf.text, off)
		m.index.add(w, int32(off))
		m.setBit(w)
	}
}

// anchor returns where form f's window should lie: at the window with
// the fewest forms anchored at it. Which window a form has changes only
// how fast it is found, never what is found.
func (m *matcher) anchor(f string) int {
	best := 0
	bestN := m.index.count(window(f, 0))
	for off := 1; off <= len(f)-anchorLen && off < maxAnchorTries && bestN > 0; off++ {
		if n := m.index.count(window(f, off)); n < bestN {
			best, bestN = off, n
		}
	}
	return best
}

// anchorTable maps a window to the forms anchored at it: an open-addressed
// table of chain heads, the chains threaded through per-form arrays (a Go
// map of slices cost an allocation a form and most of the learning time).
// What a lookup reads together lies together: a slot's key, head and
// count, a form's link and offset (the tables of a long session outgrow
// the caches, and each array was a miss of its own).
type anchorTable struct {
	slots   []anchorSlot
	used    int
	links   []formLink
	windows []uint64 // per form: its window
}

type anchorSlot struct {
	key   uint64 // window+1; 0 is empty
	head  int32  // the last form anchored at the window
	count int32
}

// formLink is a form's place in its window's chain.
type formLink struct {
	next int32 // the previous form with the same window, or -1
	off  int32 // where its window lies in it
}

func (t *anchorTable) slot(w uint64) int {
	mask := len(t.slots) - 1
	i := int((w*hashMul)>>32) & mask
	for t.slots[i].key != 0 && t.slots[i].key != w+1 {
		i = (i + 1) & mask
	}
	return i
}

func (t *anchorTable) count(w uint64) int {
	if len(t.slots) == 0 {
		return 0
	}
	return int(t.slots[t.slot(w)].count)
}

// head is the last form anchored at w, or -1.
func (t *anchorTable) head(w uint64) int32 {
	if len(t.slots) == 0 {
		return -1
	}
	sl := &t.slots[t.slot(w)]
	if sl.key == 0 {
		return -1
	}
	return sl.head
}

// add anchors the next form (index len(t.links)) at w, off bytes into it.
func (t *anchorTable) add(w uint64, off int32) {
	if 2*(t.used+1) > len(t.slots) {
		old := t.slots
		t.slots, t.used = make([]anchorSlot, max(1024, 2*len(old))), 0
		for _, sl := range old {
			if sl.key != 0 {
				t.slots[t.slot(sl.key-1)] = sl
				t.used++
			}
		}
	}
	form := int32(len(t.links))
	sl := &t.slots[t.slot(w)]
	if sl.key == 0 {
		sl.key, sl.head = w+1, -1
		t.used++
	}
	t.links = append(t.links, formLink{next: sl.head, off: off})
	t.windows = append(t.windows, w)
	sl.head = form
	sl.count++
}

// candidates calls fn for every occurrence in s of every form, in no
// particular order, until fn returns false.
func (m *matcher) candidates(s string, fn func(start, end, form int) bool) { candidates(m, s, fn) }

func candidates[T text](m *matcher, s T, fn func(start, end, form int) bool) {
	if len(s) < anchorLen {
		return
	}
	shift := 64 - m.logWords
	words := m.words
	w := window(s, 0) << 8 // the loop shifts it into place
	for i := 0; i+anchorLen <= len(s); i++ {
		w = w>>8 | uint64(s[i+anchorLen-1])<<(8*(anchorLen-1))
		h := w * hashMul
		if mask := uint64(1)<<(h&63) | 1<<((h>>6)&63); words[h>>shift]&mask != mask {
			continue
		}
		if !chain(m, s, i, w, 0, fn) {
			return
		}
	}
}

// candidates2 is candidates over m and m2 in one pass over s, m2's forms
// numbered after m's.
func candidates2(m, m2 *matcher, s string, fn func(start, end, form int) bool) {
	if len(s) < anchorLen {
		return
	}
	shift, shift2 := 64-m.logWords, 64-m2.logWords
	words, words2 := m.words, m2.words
	w := window(s, 0) << 8
	for i := 0; i+anchorLen <= len(s); i++ {
		w = w>>8 | uint64(s[i+anchorLen-1])<<(8*(anchorLen-1))
		h := w * hashMul
		mask := uint64(1)<<(h&63) | 1<<((h>>6)&63)
		if words[h>>shift]&mask == mask && !chain(m, s, i, w, 0, fn) {
			return
		}
		if words2[h>>shift2]&mask == mask && !chain(m2, s, i, w, m.n, fn) {
			return
		}
	}
}

// chain calls fn for the forms anchored at window w that occur in s with
// that window at i, numbered from base; false when fn said stop.
func chain[T text](m *matcher, s T, i int, w uint64, base int, fn func(start, end, form int) bool) bool {
	for fi := m.index.head(w & windowMask); fi >= 0; fi = m.index.links[fi].next {
		f := m.form(int(fi)).text
		start := i - int(m.index.links[fi].off)
		if start >= 0 && start+len(f) <= len(s) && string(s[start:start+len(f)]) == f {
			if !fn(start, start+len(f), base+int(fi)) {
				return false
			}
		}
	}
	return true
}

// find calls fn for the known forms in s from left to right, the longest
// at each position (the first learned among equals), none overlapping.
func (m *matcher) find(s string, fn func(start, end int, value string)) {
	var c []match
	m.candidates(s, func(start, end, form int) bool {
		c = append(c, match{start, end, form})
		return true
	})
	pick(c, func(start, end, form int) { fn(start, end, m.form(form).value) })
}

// pick calls fn for the matches in c from left to right, the longest at
// each position (the first learned among equals), none overlapping.
func pick(c []match, fn func(start, end, form int)) {
	if len(c) == 0 {
		return
	}
	slices.SortFunc(c, func(x, y match) int {
		if x.start != y.start {
			return x.start - y.start
		}
		if x.end != y.end {
			return y.end - x.end
		}
		return x.form - y.form
	})
	next := 0
	for _, h := range c {
		if h.start >= next {
			fn(h.start, h.end, h.form)
			next = h.end
		}
	}
}

func anyForm[T text](m *matcher, s T, ok func(*sweepForm) bool) bool {
	found := false
	candidates(m, s, func(_, _, form int) bool {
		found = ok(m.form(form))
		return !found
	})
	return found
}

// placeholderSpans returns where placeholders are in s, as
// placeholder.FindAll does, without its regular expression: the check of
// every written entry meets a placeholder in most of its secret values.
func placeholderSpans(s string) [][]int {
	var out [][]int
	for i := 0; ; {
		p := strings.Index(s[i:], placeholder.Prefix)
		if p < 0 {
			return out
		}
		p += i
		if end := placeholderEnd(s, p); end >= 0 {
			out = append(out, []int{p, end})
			i = end
		} else {
			i = p + 1
		}
	}
}

// containsPlaceholder is placeholder.Contains.
func containsPlaceholder(s string) bool {
	for i := 0; ; {
		p := strings.Index(s[i:], placeholder.Prefix)
		if p < 0 {
			return false
		}
		if placeholderEnd(s, i+p) >= 0 {
			return true
		}
		i += p + 1
	}
}

// placeholderEnd returns the end of the placeholder at s[i:], which
// starts with placeholder.Prefix, or -1: a class of [a-z0-9]+, a dash and
// 8 letters a–p (or, as earlier versions wrote, 8 lower-case hex digits).
func placeholderEnd(s string, i int) int {
	j := i + len(placeholder.Prefix)
	k := j
	for k < len(s) && (s[k] >= 'a' && s[k] <= 'z' || s[k] >= '0' && s[k] <= '9') {
		k++
	}
	if k == j || k+9 > len(s) || s[k] != '-' {
		return -1
	}
	letters, hex := true, true
	for _, c := range []byte(s[k+1 : k+9]) {
		letters = letters && c >= 'a' && c <= 'p'
		hex = hex && (c >= '0' && c <= '9' || c >= 'a' && c <= 'f')
	}
	if !letters && !hex {
		return -1
	}
	return k + 9
}
