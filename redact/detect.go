package redact

import (
	"encoding/base64"
	"iter"
	"math"
	"slices"
	"strings"
)

// Token detectors: shapes that are secrets wherever they appear, found in
// every string after it is decoded. Each looks for a literal prefix first
// (fast, and gitleaks-style keywords keep false positives down), then checks
// the shape, then the characters on both sides so that a token is never cut
// out of a longer word or a base64 blob.

// hit is a secret found in a string: s[start:end].
type hit struct {
	start, end int
	rule       string
	class      string
	// own: the class names the token kind (awskey, jwtsig…) and wins over
	// the class of the field it was found in.
	own bool
}

type prefixDetector struct {
	prefixes []string
	re       *lazyRegexp // anchored at the prefix; group 1, if any, is the secret
	rule     string
	class    string
	maxLen   int
	fixed    bool // the token has a fixed length: the next character must not extend it
	bit      int  // prefixes[j] is bit bit+j of prefixMask and of its first
}

// prefixPairs lists the first two bytes of every detector's prefixes and
// the prefixMask bits of the prefixes that start so; prefixSeen is the
// same as a bitmap, for the scan.
var (
	prefixPairs []prefixPair
	prefixSeen  [1 << 10]uint64
)

type prefixPair struct {
	pair     uint16
	prefixes []prefixBit
}

type prefixBit struct {
	prefix string
	bit    int
}

func init() {
	bit := 0
	for _, d := range prefixDetectors {
		d.bit = bit
		for _, pre := range d.prefixes {
			p := uint16(pre[0])<<8 | uint16(pre[1])
			j := slices.IndexFunc(prefixPairs, func(pp prefixPair) bool { return pp.pair == p })
			if j < 0 {
				prefixPairs = append(prefixPairs, prefixPair{pair: p})
				j = len(prefixPairs) - 1
			}
			prefixPairs[j].prefixes = append(prefixPairs[j].prefixes, prefixBit{pre, bit})
			prefixSeen[p>>6] |= 1 << (p & 63)
			bit++
		}
	}
	if bit > 64 {
		panic("redact: more than 64 detector prefixes")
	}
}

// prefixMask returns the bits of the prefixes that occur in s, and sets
// first to where each first occurs: one pass over s, which looks further
// only where a prefix's first two bytes are, is cheaper than a search for
// each of the fifty prefixes, and most prefixes are absent.
func prefixMask(s string, first *[64]int) uint64 {
	var m uint64
	for i := 0; i+1 < len(s); i++ {
		p := uint16(s[i])<<8 | uint16(s[i+1])
		if prefixSeen[p>>6]&(1<<(p&63)) == 0 {
			continue
		}
		for _, pp := range prefixPairs {
			if pp.pair != p {
				continue
			}
			for _, pb := range pp.prefixes {
				if m&(1<<pb.bit) == 0 && strings.HasPrefix(s[i:], pb.prefix) {
					m |= 1 << pb.bit
					first[pb.bit] = i
				}
			}
		}
	}
	return m
}

var prefixDetectors = []*prefixDetector{
	{prefixes: []string{"AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "APKA", "A3T"},
		re: newLazyRegexp(`^(?:A3T[A-Z0-9]|A[A-Z]{3})[A-Z2-7]{16}`), rule: "aws-access-key-id", class: "awskey", maxLen: 20, fixed: true},
	{prefixes: []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_"},
		re: newLazyRegexp(`^gh[pousr]_[A-Za-z0-9]{36,255}`), rule: "github-token", class: "github", maxLen: 260},
	{prefixes: []string{"github_pat_"},
		re: newLazyRegexp(`^github_pat_[A-Za-z0-9_]{22,255}`), rule: "github-token", class: "github", maxLen: 270},
	{prefixes: []string{"glpat-", "gldt-", "glrt-", "glptt-", "glft-", "glcbt-", "glsoat-", "gloas-"},
		re: newLazyRegexp(`^gl[a-z]{1,5}-[A-Za-z0-9_-]{20,255}`), rule: "gitlab-token", class: "gitlab", maxLen: 270},
	{prefixes: []string{"xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xoxe-", "xoxo-", "xapp-"},
		re: newLazyRegexp(`^x(?:ox[abeoprs]|app)-[A-Za-z0-9-]{10,255}`), rule: "slack-token", class: "slack", maxLen: 270},
	{prefixes: []string{"hooks.slack.com/"},
		re: newLazyRegexp(`^hooks\.slack\.com/(?:services|workflows|triggers)/([A-Za-z0-9+/_-]{20,255})`), rule: "slack-webhook", class: "slack", maxLen: 300},
	{prefixes: []string{"dop_v1_", "doo_v1_", "dor_v1_"},
		re: newLazyRegexp(`^do[opr]_v1_[a-f0-9]{64}`), rule: "digitalocean-token", class: "digitalocean", maxLen: 71, fixed: true},
	{prefixes: []string{"AIza"},
		re: newLazyRegexp(`^AIza[0-9A-Za-z_-]{35}`), rule: "gcp-api-key", class: "gcp", maxLen: 39, fixed: true},
	{prefixes: []string{"sk_live_", "rk_live_"},
		re: newLazyRegexp(`^[sr]k_live_[0-9A-Za-z]{24,247}`), rule: "stripe-key", class: "stripe", maxLen: 255},
	// AWS SigV4 (Authorization: AWS4-HMAC-SHA256 …, Signature=<64 hex>)
	// and Azure connection strings (AccountKey=, SharedAccessKey=).
	{prefixes: []string{"Signature="},
		re: newLazyRegexp(`^Signature=([0-9a-f]{64})`), rule: "aws-sigv4-signature", class: "signature", maxLen: 74, fixed: true},
	{prefixes: []string{"AccountKey=", "SharedAccessKey="},
		re: newLazyRegexp(`^(?:AccountKey|SharedAccessKey)=([A-Za-z0-9+/]{20,}={0,2})`), rule: "azure-storage-key", class: "azurekey", maxLen: 300},
	// Shapes gitleaks' default rules lack: Docker Hub tokens, and a
	// Mailgun key without "mailgun" next to it.
	{prefixes: []string{"dckr_pat_", "dckr_oat_"},
		re: newLazyRegexp(`^dckr_[po]at_[A-Za-z0-9_-]{27,}`), rule: "dockerhub-token", class: "docker", maxLen: 100},
	{prefixes: []string{"key-"},
		re: newLazyRegexp(`^key-[0-9a-f]{32}`), rule: "mailgun-key", class: "mailgun", maxLen: 36, fixed: true},
	{prefixes: []string{"Basic ", "basic ", "BASIC "},
		re: newLazyRegexp(`^(?i:basic)[ \t]+([A-Za-z0-9+/_-]{8,}={0,2})`), rule: "basic-auth", class: "basic", maxLen: 4096},
}

// rancherAlphabet is wrangler's randomtoken alphabet; a Rancher token's key
// is exactly 54 of these (the part after "token-xxxxx:", also the
// registration token in /v3/import/<key>_<cluster>.yaml and --token <key>).
const rancherAlphabet = "bcdfghjklmnpqrstvwxz2456789"

const rancherKeyLen = 54

var (
	isRancher [256]bool
	isAlnum   [256]bool
	isB64     [256]bool
)

func init() {
	for i := 0; i < len(rancherAlphabet); i++ {
		isRancher[rancherAlphabet[i]] = true
	}
	for c := 0; c < 256; c++ {
		b := byte(c)
		isAlnum[c] = b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
		isB64[c] = isAlnum[c] || b == '+' || b == '/' || b == '-' || b == '_'
	}
}

// minDetect is the shortest string a token detector can match.
const minDetect = 16

// detect finds tokens in s, in order and without overlap.
func (p *policy) detect(s string) []hit {
	if len(s) < minDetect {
		return p.userPatterns(s, nil)
	}
	var hits []hit
	hits = rancherKeys(s, hits)
	hits = jwts(s, p.strict, hits)
	hits = privateKeys(s, hits)
	var first [64]int
	if mask := prefixMask(s, &first); mask != 0 {
		for _, d := range prefixDetectors {
			hits = d.find(s, hits, mask, &first)
		}
	}
	gl := p.gitleaks
	if gl == nil {
		gl, _ = defaultGitleaks() // it reads (TestGitleaksDefaults)
	}
	hits = gl.find(s, hits)
	hits = p.userPatterns(s, hits)
	return sortHits(hits)
}

func (p *policy) userPatterns(s string, hits []hit) []hit {
	for _, pt := range p.patterns {
		for _, m := range pt.re.FindAllStringSubmatchIndex(s, -1) {
			a, b := m[0], m[1]
			if len(m) >= 4 && m[2] >= 0 {
				a, b = m[2], m[3]
			}
			if a < b && !isPlaceholderAt(s, a, b) {
				hits = append(hits, hit{a, b, "pattern:" + pt.Name, pt.Class, true})
			}
		}
	}
	return sortHits(hits)
}

// sortHits orders hits by start and drops any that overlap an earlier one.
func sortHits(h []hit) []hit {
	if len(h) < 2 {
		return h
	}
	for i := 1; i < len(h); i++ { // insertion sort: few hits
		for j := i; j > 0 && (h[j].start < h[j-1].start || h[j].start == h[j-1].start && h[j].end > h[j-1].end); j-- {
			h[j], h[j-1] = h[j-1], h[j]
		}
	}
	out := h[:1]
	for _, x := range h[1:] {
		if x.start >= out[len(out)-1].end {
			out = append(out, x)
		}
	}
	return out
}

func (d *prefixDetector) find(s string, hits []hit, mask uint64, first *[64]int) []hit {
	for j, pre := range d.prefixes {
		if mask&(1<<(d.bit+j)) == 0 {
			continue
		}
		from := first[d.bit+j]
		for {
			i := strings.Index(s[from:], pre)
			if i < 0 {
				break
			}
			i += from
			from = i + 1
			if i > 0 && isAlnum[s[i-1]] {
				continue
			}
			end := i + d.maxLen
			if end > len(s) {
				end = len(s)
			}
			m := d.re.FindStringSubmatchIndex(s[i:end])
			if m == nil {
				continue
			}
			a, b := i+m[0], i+m[1]
			if d.fixed && b < len(s) && isAlnum[s[b]] {
				continue
			}
			if len(m) >= 4 && m[2] >= 0 {
				a, b = i+m[2], i+m[3]
			}
			if d.rule == "basic-auth" && !basicCredentials(s[a:b]) {
				continue
			}
			if isPlaceholderAt(s, a, b) {
				continue
			}
			hits = append(hits, hit{a, b, d.rule, d.class, true})
			from = b
		}
	}
	return hits
}

// basicCredentials reports base64 that decodes to "user:password".
func basicCredentials(b64 string) bool {
	dec, ok := decodeBase64Text(b64)
	return ok && strings.IndexByte(dec, ':') > 0
}

// rancherKeys finds runs of exactly 54 alphabet characters with no letter
// or digit on either side.
func rancherKeys(s string, hits []hit) []hit {
	for i, j := range eachRun(s, &isRancher, rancherKeyLen) {
		// A run that stops at another letter or digit is part of a word.
		if j-i == rancherKeyLen && (j == len(s) || !isAlnum[s[j]]) && (i == 0 || !isAlnum[s[i-1]]) {
			hits = append(hits, hit{i, j, "rancher-token", "token", false})
		}
	}
	return hits
}

// eachRun yields the start and end of each longest run of bytes in class
// that is at least min long, in order. It looks at every min-th byte
// until one is in class, then at that byte's run only: the detectors of
// long runs (Rancher keys, hex and base64) skip most of a page's text.
func eachRun(s string, class *[256]bool, min int) iter.Seq2[int, int] {
	return func(yield func(int, int) bool) {
		// A run of min bytes holds one of the probes: a probe that is out
		// of class, or a run's end, is followed by the next min bytes on.
		for p := min - 1; p < len(s); {
			if !class[s[p]] {
				p += min
				continue
			}
			i, j := p, p+1
			for i > 0 && class[s[i-1]] {
				i--
			}
			for j < len(s) && class[s[j]] {
				j++
			}
			if j-i >= min && !yield(i, j) {
				return
			}
			p = j + min
		}
	}
}

// jwts finds JSON Web Tokens. A JWT's header and claims are not secret
// and are what people need to debug; the signature is the credential. With
// strict, the whole token goes.
func jwts(s string, strict bool, hits []hit) []hit {
	from := 0
	for {
		i := strings.Index(s[from:], "eyJ")
		if i < 0 {
			return hits
		}
		i += from
		from = i + 3
		if i > 0 && (isAlnum[s[i-1]] || s[i-1] == '-' || s[i-1] == '_') {
			continue
		}
		dot1 := b64urlRun(s, i)
		if dot1-i < 10 || dot1 >= len(s) || s[dot1] != '.' {
			continue
		}
		dot2 := b64urlRun(s, dot1+1)
		if dot2-dot1-1 < 2 || dot2 >= len(s) || s[dot2] != '.' {
			continue
		}
		end := b64urlRun(s, dot2+1)
		if strings.HasPrefix(s[dot2+1:], "REDACTED-") {
			// Redacted already: skipped whole, as a token found is, so
			// that its claims (an "eyJ" too) do not start another one and
			// a second redaction changes nothing.
			from = end
			continue
		}
		if end-dot2-1 < 16 {
			continue
		}
		if strict {
			hits = append(hits, hit{i, end, "jwt", "jwt", true})
		} else {
			hits = append(hits, hit{dot2 + 1, end, "jwt", "jwtsig", true})
		}
		from = end
	}
}

func b64urlRun(s string, i int) int {
	for i < len(s) && (isAlnum[s[i]] || s[i] == '-' || s[i] == '_') {
		i++
	}
	return i
}

// privateKeys finds PEM private keys and keeps their BEGIN and END lines;
// certificates (public) never match.
func privateKeys(s string, hits []hit) []hit {
	from := 0
	for {
		i := strings.Index(s[from:], "PRIVATE KEY")
		if i < 0 {
			return hits
		}
		i += from
		from = i + len("PRIVATE KEY")
		begin := strings.LastIndex(s[max(0, i-40):i], "-----BEGIN ")
		if begin < 0 {
			continue
		}
		close := strings.Index(s[from:min(len(s), from+16)], "-----")
		if close < 0 {
			continue
		}
		body := from + close + 5
		endMark := strings.Index(s[body:], "-----END ")
		var bodyEnd int
		if endMark < 0 {
			// Truncated: the key runs as far as key characters do.
			bodyEnd = body
			for bodyEnd < len(s) && (isB64[s[bodyEnd]] || s[bodyEnd] == '=' || isSpaceByte(s[bodyEnd]) || s[bodyEnd] == '\\' || s[bodyEnd] == ':' || s[bodyEnd] == ',') {
				bodyEnd++
			}
		} else {
			bodyEnd = body + endMark
		}
		a, b := trimKeyBody(s, body, bodyEnd)
		from = max(from, bodyEnd)
		if b-a < 8 || isPlaceholderAt(s, a, b) || isSafe(s[a:b]) {
			continue
		}
		hits = append(hits, hit{a, b, "private-key", "privatekey", true})
	}
}

// trimKeyBody leaves the line breaks (real, or \n escapes in source text)
// around a key body in place.
func trimKeyBody(s string, a, b int) (int, int) {
	for a < b {
		switch {
		case isSpaceByte(s[a]):
			a++
		case strings.HasPrefix(s[a:b], `\n`) || strings.HasPrefix(s[a:b], `\r`):
			a += 2
		default:
			goto right
		}
	}
right:
	for a < b {
		switch {
		case isSpaceByte(s[b-1]):
			b--
		case b-a >= 2 && (s[b-2:b] == `\n` || s[b-2:b] == `\r`):
			b -= 2
		default:
			return a, b
		}
	}
	return a, b
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// isPlaceholderAt reports whether s[a:b] is or is inside a placeholder.
func isPlaceholderAt(s string, a, b int) bool {
	lo := max(0, a-40)
	for _, loc := range placeholderSpans(s[lo:min(len(s), b+40)]) {
		if loc[0]+lo <= a && loc[1]+lo >= b || loc[0]+lo < b && loc[1]+lo > a {
			return true
		}
	}
	return false
}

// entropy is the Shannon entropy of s in bits per byte.
func entropy(s string) float64 {
	if s == "" {
		return 0
	}
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	var h float64
	n := float64(len(s))
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

var (
	uuidShape      = newLazyRegexp(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	traceShape     = newLazyRegexp(`^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$`)
	digestShape    = newLazyRegexp(`(?:^|@)(?:sha1|sha256|sha384|sha512|md5):[0-9a-fA-F]{32,128}$`)
	integrityShape = newLazyRegexp(`^sha(?:256|384|512)-[A-Za-z0-9+/]+={0,2}$`)
	identShape     = newLazyRegexp(`^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*(\(\))?$`)
)

// The shapes most values are tested for are loops, not regexps: compiling
// a regexp costs more than a short file's analysis (FuzzShapes compares
// them with the regexps they replace).

// isHexString is ^[0-9a-fA-F]+$.
func isHexString(v string) bool {
	for i := 0; i < len(v); i++ {
		if !isHex[v[i]] {
			return false
		}
	}
	return v != ""
}

// isNumberShape is ^[-+]?[0-9][0-9.,:eE+-]*$.
func isNumberShape(v string) bool {
	i := 0
	if i < len(v) && (v[i] == '-' || v[i] == '+') {
		i++
	}
	if i == len(v) || v[i] < '0' || v[i] > '9' {
		return false
	}
	for i++; i < len(v); i++ {
		if c := v[i]; !(c >= '0' && c <= '9' || c == '.' || c == ',' || c == ':' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			return false
		}
	}
	return true
}

// isK8sName is ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$:
// labels between dots of lower-case letters, digits and dashes, none
// empty, none starting or ending with a dash.
func isK8sName(v string) bool {
	lowerAlnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
	start := 0
	for i := 0; i <= len(v); i++ {
		if i == len(v) || v[i] == '.' {
			if i == start || !lowerAlnum(v[start]) || !lowerAlnum(v[i-1]) {
				return false
			}
			start = i + 1
		} else if !lowerAlnum(v[i]) && v[i] != '-' {
			return false
		}
	}
	return true
}

// notSecretShape holds the shapes of values that look random but are ids,
// hashes, digests and numbers (traps N4–N7, N16): used by the rules that
// decide on entropy, never by name rules.
func notSecretShape(v string) bool {
	switch {
	// Each regexp only where what it needs is there: a length, a ':',
	// a prefix.
	case len(v) == 36 && uuidShape.MatchString(v), len(v) == 55 && traceShape.MatchString(v),
		strings.IndexByte(v, ':') >= 0 && digestShape.MatchString(v),
		strings.HasPrefix(v, "sha") && integrityShape.MatchString(v), isNumberShape(v):
		return true
	case isHexString(v):
		switch len(v) {
		case 32, 40, 64, 96, 128: // md5, sha1, sha256, sha384, sha512
			return true
		}
	case len(v) <= 63 && isK8sName(v) && strings.Contains(v, "-"):
		return true // resource and pod names: cattle-cluster-agent-7d9f8b6c4-x2kqp
	}
	return false
}

// randomLooking is the test for values next to a secret-like name in free
// text and for cookies with ordinary names.
func randomLooking(v string, minLen int, minEntropy float64) bool {
	return len(v) >= minLen && entropy(v) >= minEntropy && !notSecretShape(v)
}

// decodeBase64 decodes standard or URL-safe base64, padded or not.
func decodeBase64(s string) (string, bool) { return decodeBase64If(s, false) }

// decodeBase64Text is decodeBase64 for text only (see printable): most
// values tried are random bytes, which it rejects without allocating.
func decodeBase64Text(s string) (string, bool) {
	return decodeBase64If(s, true)
}

func decodeBase64If(s string, text bool) (string, bool) {
	t := strings.TrimRight(s, "=")
	if len(t)%4 == 1 || t == "" {
		return "", false
	}
	for i := 0; i < len(t); i++ {
		if !isB64[t[i]] {
			return "", false // before anything is allocated
		}
	}
	enc := base64.RawStdEncoding
	if strings.ContainsAny(t, "-_") {
		if strings.ContainsAny(t, "+/") {
			return "", false
		}
		enc = base64.RawURLEncoding
	}
	var small [192]byte
	var srcBuf [256]byte
	buf := small[:]
	if n := enc.DecodedLen(len(t)); n > len(small) {
		buf = make([]byte, n)
	}
	n, err := enc.Decode(buf, append(srcBuf[:0], t...))
	if err != nil || text && !printableBytes(buf[:n]) {
		return "", false
	}
	return string(buf[:n]), true
}

// printableBytes is printable without a copy.
func printableBytes(b []byte) bool { return printable(string(b)) }

// printable reports text: valid UTF-8 with few control characters.
func printable(s string) bool {
	if s == "" {
		return false
	}
	bad, most := 0, len(s)/20
	for _, r := range s {
		if r == 0xFFFD || r < 0x20 && r != '\n' && r != '\r' && r != '\t' || r == 0x7f {
			if bad++; bad > most {
				return false // random bytes: no need to read on
			}
		}
	}
	return true
}
