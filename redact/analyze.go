package redact

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/apitape/apitape/internal/credential"
	"github.com/apitape/apitape/internal/placeholder"
)

// The analyzer walks one string at a time, in layers: a HAR field holds a
// URL, the URL a query, the query a percent-encoded value, the value a
// base64 blob, the blob JSON… Each layer decodes, asks the layers below for
// edits on the decoded text, and maps them back onto its own encoded text
// (escMap) or, where that is impossible (base64), re-encodes it whole. The
// first rule to claim a span wins, in this order: name rules, token
// detectors, keyword rules, decoded layers, the known-value sweep.

// maxDepth bounds decoding layers (base64 inside JSON inside base64 …).
const maxDepth = 6

// maxStructured is the largest text parsed as YAML; larger texts get the
// token detectors and the sweep only.
const maxStructured = 4 << 20

type pathElem struct {
	qual  string // a qualifier such as "header"; idx unused
	key   string // the key, or with named the qualifier's name ("Authorization")
	idx   int    // >= 0 for an array index
	named bool
}

type analyzer struct {
	free  []*editSet // edit sets to reuse: most strings need none
	m     *memos     // nil: none
	ar    *jarena    // the entry's parse trees (nil: from the heap)
	p     *policy
	ks    *keystore
	ov    *overlay  // stands for ks in an analysis beside others (see overlay.go)
	fns   *boundFns // its methods as values (see bound)
	learn bool      // remember secrets for the sweep (false while verifying)
	entry int
	path  []pathElem
	depth int
	// wholeJSON: the last textValue walked its whole text as JSON (see
	// analyzeSwept).
	wholeJSON bool
	// gated: analysing free text, where only values that look secret
	// count (looksSecret).
	gated bool
	recs  []Record
	warns []Record
	// sweeps and hits count sweeps run and redactions attempted (see
	// effects).
	sweeps, hits int
}

// set returns an empty edit set; give it back with done.
func (a *analyzer) set() *editSet { return reuse(&a.free) }

// reuse takes the last of free, or a new T.
func reuse[T any](free *[]*T) *T {
	if n := len(*free); n > 0 {
		x := (*free)[n-1]
		*free = (*free)[:n-1]
		return x
	}
	return new(T)
}

func (a *analyzer) done(es *editSet) {
	clear(es.e)
	es.e = es.e[:0]
	a.free = append(a.free, es)
}

func (a *analyzer) pushKey(k string) { a.path = append(a.path, pathElem{key: k, idx: -1}) }
func (a *analyzer) pushIdx(i int)    { a.path = append(a.path, pathElem{idx: i}) }
func (a *analyzer) pushQ(q string)   { a.path = append(a.path, pathElem{qual: q, idx: -1}) }

// pushQN pushes the qualifier "kind name" without building the string:
// most are never rendered, as most values hold no secret.
func (a *analyzer) pushQN(kind, name string) {
	a.path = append(a.path, pathElem{qual: kind, key: name, idx: -1, named: true})
}
func (a *analyzer) pop() { a.path = a.path[:len(a.path)-1] }

// location renders the path: a JSON pointer, then bracketed qualifiers for
// the layers inside the string, each with its own pointer:
// /response/content/text [base64] [json /token].
func (a *analyzer) location() string {
	var b strings.Builder
	b.Grow(96) // one allocation for a usual path
	open, fresh := false, false
	for _, e := range a.path {
		if e.qual != "" {
			if open {
				b.WriteByte(']')
			}
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteByte('[')
			b.WriteString(e.qual)
			if e.named {
				b.WriteByte(' ')
				b.WriteString(e.key)
			}
			open, fresh = true, true
			continue
		}
		if fresh {
			b.WriteByte(' ')
			fresh = false
		}
		b.WriteByte('/')
		switch {
		case e.idx >= 0:
			b.WriteString(strconv.Itoa(e.idx))
		case a.secretKey(e.key):
			b.WriteString("(secret)") // a map keyed by tokens must not put one in the report
		default:
			b.WriteString(strings.ReplaceAll(strings.ReplaceAll(e.key, "~", "~0"), "/", "~1"))
		}
	}
	if open {
		b.WriteByte(']')
	}
	return b.String()
}

// secretKey reports a JSON key that is itself a secret: a token shape, a
// value known to be secret, or a long random string.
func (a *analyzer) secretKey(k string) bool {
	if len(k) < minSweep {
		return false
	}
	if a.known(k) {
		return true
	}
	return len(k) >= minDetect && (len(a.p.detect(k)) > 0 || randomLooking(k, 24, 4.0))
}

// keyPath returns the normalised keys of the innermost structured layer,
// for dotted-path rules.
func (a *analyzer) keyPath() []string {
	var out []string
	for _, e := range a.path {
		switch {
		case e.qual != "":
			out = out[:0]
		case e.idx < 0:
			out = append(out, normName(e.key))
		}
	}
	return out
}

// hit redacts s[start:end], whose secret value is value (the span may be an
// encoded form of it), unless the span is already claimed.
func (a *analyzer) hit(es *editSet, start, end int, value, rule, class string) bool {
	a.hits++
	if !es.free(start, end) || value == "" {
		return false
	}
	if a.gated && byName(rule) && !looksSecret(value, class) {
		return false
	}
	ph := a.placeholder(value, class, a.learn)
	if a.learn && a.firstDecode(value) {
		// A base64 secret's plaintext is a secret too: sweep its echoes.
		if dec, ok := decodeBase64Text(value); ok && len(dec) >= minSweep {
			a.placeholder(dec, class, true)
		}
	}
	a.recs = append(a.recs, Record{
		Entry: a.entry, Location: a.location(), Rule: rule, Class: placeholderClass(ph),
		Placeholder: ph, Length: len(value),
	})
	return es.add(edit{start: start, end: end, text: ph, recs: []int32{int32(len(a.recs) - 1)}})
}

// The keystore, or the overlay standing for it.

func (a *analyzer) known(v string) bool {
	if a.ov != nil {
		return a.ov.has(v)
	}
	_, ok := a.ks.vals[v]
	return ok
}

func (a *analyzer) placeholder(value, class string, learn bool) string {
	if a.ov != nil {
		return a.ov.placeholder(value, class, learn)
	}
	return a.ks.placeholder(value, class, learn)
}

func (a *analyzer) firstDecode(value string) bool {
	if a.ov != nil {
		return a.ov.firstDecode(value)
	}
	return a.ks.firstDecode(value)
}

func (a *analyzer) ksSweep(s string, fn func(start, end int, value, class string)) {
	if a.ov != nil {
		a.ov.sweep(s, fn)
		return
	}
	a.ks.sweep(s, fn)
}

func placeholderClass(ph string) string {
	s := strings.TrimPrefix(ph, placeholder.Prefix)
	if i := strings.IndexByte(s, '-'); i >= 0 {
		return s[:i]
	}
	return s
}

func (a *analyzer) warn(msg string) {
	a.warns = append(a.warns, Record{Entry: a.entry, Location: a.location(), Rule: msg})
}

// leaf analyses one JSON string node of doc with fn, then sweeps it, and
// adds the resulting edits (re-escaped for JSON) to es. A nil fn keeps the
// value untouched (--keep).
func (a *analyzer) leaf(doc string, n *jnode, es *editSet, fn func(s string, es *editSet)) {
	if fn == nil || n.kind != '"' {
		return
	}
	js := n.str(doc)
	inner := a.set()
	a.analyzeSwept(js.s, inner, fn)
	a.addDecoded(es, inner, js, int(n.start)+1, int(n.end-n.start)-2, jsonEscaped)
	a.done(inner)
}

// analyzeSwept runs fn over s and then the known-value sweep, unless fn
// walked s as a JSON document: then every string value was swept where it
// stands, and a sweep of the whole text could only hit member names,
// which are structure, not values.
func (a *analyzer) analyzeSwept(s string, es *editSet, fn func(string, *editSet)) {
	a.wholeJSON = false
	fn(s, es)
	if !a.wholeJSON {
		a.sweep(s, es)
	}
	a.wholeJSON = false
}

// keyLeaf is leaf for the value of a key (the hot path of JSON bodies:
// no closure per value).
func (a *analyzer) keyLeaf(doc string, n *jnode, es *editSet, key string, secretData bool) {
	mode, class, rule := a.keyMode(key, secretData)
	if mode == modeKeep || n.kind != '"' {
		return
	}
	js := n.str(doc)
	inner := a.set()
	if mode == modeSecret {
		a.secretValue(js.s, inner, class, rule, false, class != "password" && rule != "secret-data")
		a.sweep(js.s, inner)
	} else {
		a.analyzeSwept(js.s, inner, a.textValue)
	}
	a.addDecoded(es, inner, js, int(n.start)+1, int(n.end-n.start)-2, jsonEscaped)
	a.done(inner)
}

// addDecoded adds edits made on a decoded string back onto its encoded
// form, which starts at off in the outer string and is n bytes long.
func (a *analyzer) addDecoded(es, inner *editSet, js jstring, off, n int, escape func(string) string) {
	if inner.empty() {
		return
	}
	if inner.addMapped(es, js.positions, escape, off) {
		return
	}
	e := inner.whole(js.s, n, escape)
	e.start += off
	e.end += off
	es.add(e)
}

// sweep replaces known secrets (found anywhere earlier) in s.
func (a *analyzer) sweep(s string, es *editSet) {
	a.sweeps++
	a.ksSweep(s, func(start, end int, value, class string) {
		if wordy(value) && (start > 0 && isWordByte(s[start-1]) || end < len(s) && isWordByte(s[end])) {
			return // a password that is a word is not part of a longer word
		}
		if !isPlaceholderAt(s, start, end) {
			a.pushQ("known value")
			a.hit(es, start, end, value, "known-value", class)
			a.pop()
		}
	})
}

// ---- values whose name says they are secret ----

// secretValue redacts a value that is secret because of its name: only
// the secret part when a detector can tell (a token's name, a JWT's claims
// and a PEM key's armour stay), else all of it but a leading auth scheme.
func (a *analyzer) secretValue(s string, es *editSet, class, rule string, auth, ref bool) {
	lo, hi := 0, len(s)
	for lo < hi && isSpaceByte(s[lo]) {
		lo++
	}
	for hi > lo && isSpaceByte(s[hi-1]) {
		hi--
	}
	if lo == hi || isSafe(s[lo:hi]) {
		return
	}
	if auth || hasScheme(s[lo:hi]) {
		if scheme, n := authScheme(s[lo:hi]); n > 0 {
			lo += n
			if lo == hi {
				return
			}
			switch lower(scheme) {
			case "basic":
				a.basic(s, lo, hi, es)
				return
			case "bearer":
				if class == "auth" {
					class = "bearer"
				}
			}
		}
	}
	if class == "auth" {
		class = "secret"
	}
	if class == "signature" {
		// A webhook signature names its algorithm (X-Hub-Signature-256:
		// sha256=<hex>): only the digest is secret.
		if alg, _, ok := strings.Cut(s[lo:hi], "="); ok && (alg == "sha1" || alg == "sha256" || alg == "sha512") {
			if lo += len(alg) + 1; lo == hi {
				return
			}
		}
	}
	if hits := a.p.detect(s[lo:hi]); len(hits) > 0 {
		for _, h := range hits {
			c := class
			if h.own {
				c = h.class
			}
			a.hit(es, lo+h.start, lo+h.end, s[lo+h.start:lo+h.end], h.rule, c)
		}
		return
	}
	v := s[lo:hi]
	if trivialValue(v) || ref && refShape.MatchString(v) {
		return
	}
	if rule != "secret-data" && isLink(v) {
		// A link under a credential-sounding name (Rancher's
		// createTypes.cloudCredential, actionLinks.changepassword) points
		// at a resource or an action; it is not the secret. Its query and userinfo are
		// still analysed as any URL is.
		a.textValue(s, es)
		return
	}
	a.hit(es, lo, hi, v, rule, class)
}

// isLink reports an absolute http(s) or ws(s) URL without userinfo.
func isLink(v string) bool {
	l := lower(v)
	if !strings.HasPrefix(l, "http://") && !strings.HasPrefix(l, "https://") && !strings.HasPrefix(l, "ws://") && !strings.HasPrefix(l, "wss://") {
		return false
	}
	u, err := url.Parse(v)
	return err == nil && u.User == nil && u.Host != ""
}

// basic redacts Basic credentials: the whole base64 goes (its plaintext and
// password are remembered for the sweep); the user name is reported.
func (a *analyzer) basic(s string, lo, hi int, es *editSet) {
	if end := lo + b64Run(s[lo:hi]); end > lo {
		hi = end // what follows the base64 is not part of it
	}
	cred := s[lo:hi]
	dec, ok := decodeBase64(cred)
	colon := strings.IndexByte(dec, ':')
	if ok && colon > 0 && printable(dec) {
		if colon == len(dec)-1 {
			return // a user and no password: nothing secret
		}
		if a.learn {
			a.placeholder(dec, "basic", true)
			if pw := dec[colon+1:]; pw != "" {
				a.placeholder(pw, "basic", true)
			}
		}
		a.pushQN("basic user", safeName(dec[:colon]))
		a.hit(es, lo, hi, cred, "basic-auth", "basic")
		a.pop()
		return
	}
	a.hit(es, lo, hi, cred, "basic-auth", "basic")
}

// safeName keeps a user name for the report unless it looks secret itself.
func safeName(u string) string {
	if len(u) > 64 || len(basePolicy.detect(u)) > 0 {
		return "(hidden)"
	}
	return u
}

// basePolicy is the built-in rules alone.
var basePolicy = newPolicy(nil, nil, false)

// b64Run is the length of the base64 (with padding) at the start of s.
func b64Run(s string) int {
	i := 0
	for i < len(s) && isB64[s[i]] {
		i++
	}
	for i < len(s) && s[i] == '=' {
		i++
	}
	return i
}

var schemes = []string{"bearer", "basic", "token", "digest", "negotiate", "ntlm", "dpop", "awsv4", "aws4-hmac-sha256", "hoba", "mutual", "apikey", "sso-key", "key", "jwt", "oauth"}

// authScheme returns a leading HTTP auth scheme and the length of it plus
// the spaces after it.
func authScheme(s string) (string, int) {
	sp := strings.IndexAny(s, " \t")
	if sp <= 0 {
		return "", 0
	}
	w := s[:sp]
	for _, sc := range schemes {
		if strings.EqualFold(w, sc) {
			n := sp
			for n < len(s) && (s[n] == ' ' || s[n] == '\t') {
				n++
			}
			return w, n
		}
	}
	return "", 0
}

func hasScheme(s string) bool { _, n := authScheme(s); return n > 0 }

// isSafe reports a value that is already a placeholder or refers to one
// (generated scripts: ${APITAPE_SECRET_…}, s.env["…"], os.Getenv("…")).
// Only whole references count: a "${" inside a password is not one.
func isSafe(v string) bool {
	return containsPlaceholder(v) || strings.Contains(v, placeholder.EnvPrefix) ||
		strings.ContainsAny(v, "$(") && envRef.MatchString(v)
}

var envRef = newLazyRegexp(`\$\{[A-Za-z_][A-Za-z0-9_]*\}|s\.env\["[A-Za-z0-9_]+"\]|os\.(?:Getenv|LookupEnv)\("[A-Za-z0-9_]+"\)|s\.(?:var|line|v|uri)\(["'][A-Za-z0-9_]+["']\)`)

// trivialValue reports values that stand in for a secret rather than being
// one: empty templates, masks, null words, and a Rancher token's name with
// an empty key (what is left of "token-x:"+os.Getenv(…)).
func trivialValue(v string) bool {
	switch lower(v) {
	case "null", "undefined", "none", "nil", "true", "false", "-", "redacted", "[redacted]", "<redacted>", "%s", "%v":
		return true
	}
	if strings.Trim(v, "*•xX.") == "" || !strings.ContainsFunc(v, func(r rune) bool { return r < 128 && isAlnum[r] || r >= 128 }) {
		return true
	}
	if _, n := authScheme(v + " "); n == len(v)+1 {
		return true // a scheme with nothing after it
	}
	if len(v) >= 2 && (v[0] == '{' && v[len(v)-1] == '}' || v[0] == '<' && v[len(v)-1] == '>') && identShape.MatchString(strings.Trim(v, "{}<> ")) {
		return true
	}
	if len(v) > 2 && len(v) <= 48 && v[0] == '<' && v[len(v)-1] == '>' && strings.Trim(v[1:len(v)-1], " _-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" {
		return true // a documentation placeholder: <your password>
	}
	if strings.HasSuffix(v, ":") && isK8sName(v[:len(v)-1]) {
		return true
	}
	// PEM armour with no key between (the key is a variable elsewhere).
	if strings.Contains(v, "-----BEGIN ") {
		rest := pemArmour.ReplaceAllString(v, "")
		rest = strings.NewReplacer(`\n`, "", `\r`, "").Replace(rest)
		return strings.TrimSpace(rest) == ""
	}
	return false
}

var pemArmour = newLazyRegexp(`-----(?:BEGIN|END) [A-Z0-9 ]+-----`)

// ---- values without a secret name ----

// textValueOnce is textValue without the memo.
func (a *analyzer) textValueOnce(s string, es *editSet) {
	walked := false
	defer func() { a.wholeJSON = walked }() // this text's shape, not a nested one's
	if s == "" {
		return
	}
	if a.depth >= maxDepth {
		a.tokens(s, es, "token")
		return
	}
	a.depth++
	defer func() { a.depth-- }()
	t := strings.TrimLeft(s, " \t\r\n")
	switch {
	case t == "":
		return
	case t[0] == '{' || t[0] == '[':
		if a.jsonDoc(s, es) {
			walked = true
			return
		}
	case looksURL(t):
		a.url(s, es)
		return
	case looksYAML(s):
		a.yamlDoc(s, es)
	}
	a.freeText(s, es)
}

// tokens redacts what the token detectors find in s.
func (a *analyzer) tokens(s string, es *editSet, class string) {
	for _, h := range a.p.detect(s) {
		c := class
		if h.own {
			c = h.class
		}
		a.hit(es, h.start, h.end, s[h.start:h.end], h.rule, c)
	}
}

func looksURL(t string) bool {
	l := len(t)
	if l > 8192 || strings.ContainsAny(t, " \n\t\"'<>") {
		return false
	}
	for _, p := range []string{"http://", "https://", "ws://", "wss://"} {
		if len(t) >= len(p) && strings.EqualFold(t[:len(p)], p) {
			return true
		}
	}
	return t[0] == '/' && strings.Contains(t, "?")
}

// ---- JSON ----

// jsonDoc walks s as a JSON document; false when s is not JSON.
func (a *analyzer) jsonDoc(s string, es *editSet) bool {
	var root jnode
	var err error
	if len(s) >= lazyJSON {
		// A large body's tree is never whole: its arrays are walked an
		// element at a time.
		root, err = parseLazy(s)
	} else {
		root, err = parseJSONIn(s, a.ar)
	}
	if err != nil {
		return false
	}
	a.pushQ("json")
	a.walk(s, &root, es, false)
	a.pop()
	return true
}

// walk visits every value of a JSON document. secretData marks the
// contents of a Kubernetes Secret's data/stringData: every string there is
// a secret whatever its key.
func (a *analyzer) walk(doc string, n *jnode, es *editSet, secretData bool) {
	switch n.kind {
	case '{':
		a.object(doc, n, es, secretData, isSecretObject(doc, n))
	case '[':
		n.elems(doc, func(i int, e *jnode) {
			a.pushIdx(i)
			if e.kind == '"' {
				fn := a.textValue
				if secretData {
					fn = a.secretFn("secret", "secret-data", false)
				}
				a.leaf(doc, e, es, fn)
			} else {
				a.walk(doc, e, es, secretData)
			}
			a.pop()
		})
	}
}

// object visits an object's members. isSecret marks a Kubernetes Secret,
// whose data and stringData values are all secret; the items of a
// SecretList are Secrets even without their own kind. An environment
// variable ({"name":"DB_PASSWORD","value":…}) has the secrecy of its name.
func (a *analyzer) object(doc string, n *jnode, es *editSet, secretData, isSecret bool) {
	list := false
	if v, ok := n.memberString(doc, "kind"); ok && v == "SecretList" {
		list = true
	}
	envName, valueKey := a.pairName(doc, n)
	kids := n.kids()
	for i := range kids {
		k := &kids[i]
		key := a.enterMember(doc, k, es)
		sd := secretData || isSecret && (key == "data" || key == "stringData")
		switch {
		case k.kind == '"' && key == valueKey && envName != "":
			a.keyLeaf(doc, k, es, envName, sd)
		case k.kind == '"':
			a.keyLeaf(doc, k, es, key, sd)
		case list && key == "items" && k.kind == '[':
			k.elems(doc, func(x int, it *jnode) {
				a.pushIdx(x)
				if it.kind == '{' {
					a.object(doc, it, es, sd, true)
				} else {
					a.walk(doc, it, es, sd)
				}
				a.pop()
			})
		default:
			a.walk(doc, k, es, sd)
		}
		a.pop()
	}
}

// pairName returns the name of a name/value pair whose name is secret,
// and the member that holds its value: a Kubernetes env list's
// {"name","value"}, a Postman collection's and Consul's {"key","value"},
// AWS's {"Name","Value"} (SSM parameters) and {"Key","Value"}. An object
// with more members than a pair has is a thing with a name ({"name":…} of
// a cluster), not a pair. One look at each member: every object of every
// body comes here.
func (a *analyzer) pairName(doc string, n *jnode) (name, valueKey string) {
	if n.nkids < 2 || n.nkids > 10 {
		return "", ""
	}
	var lowerName, lowerValue, upperName, upperValue *jnode
	for _, k := range n.kids() {
		if k.kind != '"' || k.klen < 3 || k.klen > 5 {
			continue
		}
		switch k.name(doc) {
		case "name", "key":
			if lowerName == nil || k.name(doc) == "name" {
				lowerName = &k
			}
		case "value":
			lowerValue = &k
		case "Name", "Key":
			if upperName == nil || k.name(doc) == "Name" {
				upperName = &k
			}
		case "Value":
			upperValue = &k
		}
	}
	for _, p := range [2][2]*jnode{{lowerName, lowerValue}, {upperName, upperValue}} {
		if p[0] == nil || p[1] == nil {
			continue
		}
		maxMembers := 4 // name, value, valueFrom; Key, Value
		switch p[0].name(doc) {
		case "key": // key, value, type, description, disabled, …
			maxMembers = 8
		case "Name": // Name, Type, Value, Version, ARN, DataType, …
			maxMembers = 10
		}
		if int(n.nkids) > maxMembers {
			continue
		}
		nm := p[0].str(doc).s
		if _, secret := a.key(nm, nil); secret {
			return nm, p[1].name(doc)
		}
	}
	return "", ""
}

// enterMember redacts a member's name and pushes it on the path (the
// caller pops it); it returns the name.
func (a *analyzer) enterMember(doc string, k *jnode, es *editSet) string {
	key := k.name(doc)
	a.keyEdits(doc, k, key, es)
	a.pushKey(key)
	return key
}

// keyEdits redacts a member name that is a secret (a map keyed by
// tokens): token shapes only. The known-value sweep never edits a name: a
// learned value that happens to equal one ("cookies") must not break the
// document's structure.
func (a *analyzer) keyEdits(doc string, k *jnode, key string, es *editSet) {
	if len(key) < minSweep {
		return
	}
	m := a.m
	if m != nil && len(key) <= maxMemoLen {
		if _, clean := m.names.get(key); clean {
			return // names repeat in every entry; the token rules decide alike
		}
	}
	lit, off := k.keyLiteral(doc)
	js := decodeJSONString(lit)
	inner := a.set()
	a.pushQ("member name")
	hits := a.hits
	a.tokens(js.s, inner, "token") // never the sweep: a name is structure
	a.pop()
	if m != nil && a.hits == hits && len(key) <= maxMemoLen {
		m.names.put(key, true)
	}
	a.addDecoded(es, inner, js, off, len(lit), jsonEscaped)
	a.done(inner)
}

// isSecretObject recognises a Kubernetes Secret (kind: Secret) or a steve
// secret resource (type: secret).
func isSecretObject(doc string, n *jnode) bool {
	if v, ok := n.memberString(doc, "kind"); ok && v == "Secret" {
		return true
	}
	v, ok := n.memberString(doc, "type")
	return ok && secretType(v)
}

// secretType reports the type of a Kubernetes Secret (Opaque,
// kubernetes.io/…) or of a steve secret resource ("secret").
func secretType(v string) bool {
	return strings.EqualFold(v, "secret") || v == "Opaque" || strings.HasPrefix(v, "kubernetes.io/") ||
		strings.HasPrefix(v, "bootstrap.kubernetes.io/") || strings.HasPrefix(v, "helm.sh/release")
}

const (
	modeText = iota
	modeSecret
	modeKeep
)

// keyMode decides how the string value of a key is analysed.
func (a *analyzer) keyMode(key string, secretData bool) (mode int, class, rule string) {
	var path []string
	if a.p.needPaths() {
		path = a.keyPath()
	}
	switch {
	case a.p.keptPath(key, path):
		return modeKeep, "", ""
	case secretData:
		return modeSecret, "secret", "secret-data"
	}
	if class, ok := a.key(key, path); ok {
		return modeSecret, class, "key:" + key
	}
	return modeText, "", ""
}

// keyFn returns the analysis for the string value of a key.
func (a *analyzer) keyFn(key string, secretData bool) func(string, *editSet) {
	switch mode, class, rule := a.keyMode(key, secretData); mode {
	case modeKeep:
		return nil
	case modeSecret:
		return func(s string, es *editSet) {
			a.secretValue(s, es, class, rule, false, class != "password" && rule != "secret-data")
		}
	}
	return a.bound().text
}

// boundFns are an analyzer's methods as values, made once: a method
// value handed out allocates every time, and headers, parameters and keys
// hand out several an entry.
type boundFns struct {
	text, cookieHeader, setCookie, url, wsProtocols, tokens func(string, *editSet)
}

func (a *analyzer) bound() *boundFns {
	if a.fns == nil {
		a.fns = &boundFns{text: a.textValue, cookieHeader: a.cookieHeader, setCookie: a.setCookie, url: a.url,
			wsProtocols: a.wsProtocols, tokens: func(s string, es *editSet) { a.tokens(s, es, "token") }}
	}
	return a.fns
}

func (a *analyzer) secretFn(class, rule string, ref bool) func(string, *editSet) {
	return func(s string, es *editSet) { a.secretValue(s, es, class, rule, false, ref) }
}

// ---- URLs, queries and forms ----

// url redacts a URL (or a path with a query): the password in its
// userinfo, tokens in its path, and secret query and fragment parameters.
func (a *analyzer) url(s string, es *editSet) {
	rest := 0
	if i := strings.Index(s, "://"); i > 0 && !strings.ContainsAny(s[:i], "/?#") {
		rest = i + 3
		end := rest + strings.IndexAny(s[rest:], "/?#")
		if end < rest {
			end = len(s)
		}
		if at := strings.LastIndexByte(s[rest:end], '@'); at >= 0 {
			ui := s[rest : rest+at]
			if c := strings.IndexByte(ui, ':'); c >= 0 && c+1 < len(ui) {
				a.pushQ("userinfo password")
				a.encoded(s, rest+c+1, rest+at, false, es, func(v string, in *editSet) {
					a.secretValue(v, in, "password", "url-userinfo", false, false)
				})
				a.pop()
			}
		}
		rest = end
	}
	q := strings.IndexByte(s[rest:], '?')
	h := strings.IndexByte(s[rest:], '#')
	pathEnd := len(s)
	if q >= 0 {
		pathEnd = rest + q
	}
	if h >= 0 && rest+h < pathEnd {
		pathEnd = rest + h
	}
	if rest > 0 {
		// A webhook URL (Slack, Teams) is a credential, and the rules
		// that know it need its host, which the path alone never shows.
		for _, t := range a.p.detect(s[:pathEnd]) {
			if t.own {
				a.hit(es, t.start, t.end, s[t.start:t.end], t.rule, t.class)
			}
		}
	}
	path := s[rest:pathEnd]
	a.encoded(s, rest, pathEnd, false, es, func(v string, in *editSet) {
		a.pathTokens(v, in)
		a.tokens(v, in, "token")
	})
	if q >= 0 && (h < 0 || q < h) {
		qend := len(s)
		if h > q {
			qend = rest + h
		}
		a.query(s, rest+q+1, qend, authishPath(path), false, es)
	}
	if h >= 0 && strings.Contains(s[rest+h:], "=") {
		a.query(s, rest+h+1, len(s), true, false, es)
	}
}

// pathMarkers are path segments whose next segment is a credential: a
// one-time link's token whatever its shape (1), or a token listed by value
// when it looks random (2: /v3/tokens/token-fkx2q names one).
var pathMarkers = map[string]int{
	"reset-password": 1, "resetpassword": 1, "password-reset": 1, "passwordreset": 1, "reset": 1,
	"invite": 1, "invites": 1, "invitation": 1, "invitations": 1, "magic-link": 1, "magiclink": 1,
	"confirm": 1, "verify-email": 1, "activate": 1, "unsubscribe": 1,
	"tokens": 2, "token": 2, "apikeys": 2, "api-keys": 2, "keys": 2,
}

// pathTokens redacts the segment after a marker in pathMarkers.
func (a *analyzer) pathTokens(p string, es *editSet) {
	prev := ""
	for off := 0; off <= len(p); {
		end := strings.IndexByte(p[off:], '/')
		if end < 0 {
			end = len(p)
		} else {
			end += off
		}
		seg := p[off:end]
		switch pathMarkers[lower(prev)] {
		case 1:
			if len(seg) >= 16 && !wordy(seg) && !isSafe(seg) {
				a.hit(es, off, end, seg, "path-token", "token")
			}
		case 2:
			if randomLooking(seg, 16, 3.0) && !isSafe(seg) {
				a.hit(es, off, end, seg, "path-token", "token")
			}
		}
		if len(seg) >= minDetect && es.free(off, end) && entropy(seg) >= 3 && !notSecretShape(seg) {
			// Each segment on its own too: token rules that want the
			// token to end (gitleaks' \b…(?:['"\s;]|$)) do not know '/'.
			inner := a.set()
			a.tokens(seg, inner, "token")
			es.addAll(inner, off)
			a.done(inner)
		}
		prev = seg
		off = end + 1
	}
}

func authishPath(p string) bool { return credential.OAuthPath(p) }

// encoded analyses the percent-encoded s[lo:hi] decoded, with fn, and maps
// the edits back (escaping replacements for a URL).
func (a *analyzer) encoded(s string, lo, hi int, plus bool, es *editSet, fn func(string, *editSet)) {
	if fn == nil { // a name kept with --keep: its value stays as it is
		return
	}
	js := decodePercent(s[lo:hi], plus)
	inner := a.set()
	fn(js.s, inner)
	a.addDecoded(es, inner, js, lo, hi-lo, url.QueryEscape)
	a.done(inner)
}

// query redacts the parameters of a query string or form body s[lo:hi].
// code and state are secret only on an OAuth-looking URL or together.
func (a *analyzer) query(s string, lo, hi int, authish, form bool, es *editSet) {
	q := s[lo:hi]
	if !authish {
		authish = hasParam(q, "code") && hasParam(q, "state")
	}
	for off := 0; off <= len(q); {
		amp := strings.IndexByte(q[off:], '&')
		end := len(q)
		if amp >= 0 {
			end = off + amp
		}
		pair := q[off:end]
		name, vOff := pair, -1
		if eq := strings.IndexByte(pair, '='); eq >= 0 {
			name, vOff = pair[:eq], eq+1
		}
		if vOff >= 0 && vOff < len(pair) {
			dn := decodePercent(name, true).s
			if fn := a.paramFn(dn, authish, form); fn != nil { // nil: kept
				a.pushQN(kindWord(form), dn)
				a.encoded(s, lo+off+vOff, lo+end, true, es, fn)
				a.pop()
			}
		}
		if amp < 0 {
			break
		}
		off = end + 1
	}
}

func kindWord(form bool) string {
	if form {
		return "form"
	}
	return "query"
}

func hasParam(q, name string) bool {
	for pair := range strings.SplitSeq(q, "&") {
		if n, _, _ := strings.Cut(pair, "="); strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// paramFn returns the analysis of a query or form parameter's value.
func (a *analyzer) paramFn(name string, authish, form bool) func(string, *editSet) {
	if a.p.kept(name) {
		return nil
	}
	class, ok := a.p.queryParam(name, authish)
	if !ok && form {
		class, ok = a.key(name, nil)
	}
	if ok {
		return a.secretFn(class, kindWord(form)+":"+lower(name), class != "password" && class != "csrf")
	}
	return a.bound().text
}

// form redacts an application/x-www-form-urlencoded body.
func (a *analyzer) form(s string, es *editSet) {
	a.query(s, 0, len(s), false, true, es)
	a.tokens(s, es, "token")
}

// decodePercent decodes %XX (and '+' as a space in forms), keeping the
// escapes so that edits can be mapped back.
func decodePercent(s string, plus bool) jstring {
	if !strings.ContainsRune(s, '%') && !(plus && strings.ContainsRune(s, '+')) {
		return jstring{s: s}
	}
	b := make([]byte, 0, len(s))
	var m escMap
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && unhex(s[i+1]) >= 0 && unhex(s[i+2]) >= 0:
			m = append(m, esc{d: int32(len(b)), r: int32(i), dl: 1, rl: 3})
			b = append(b, byte(unhex(s[i+1])<<4|unhex(s[i+2])))
			i += 2
		case c == '+' && plus:
			m = append(m, esc{d: int32(len(b)), r: int32(i), dl: 1, rl: 1})
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return jstring{s: string(b), esc: m}
}

// ---- cookies ----

// cookieHeader redacts a Cookie header: name=value pairs split by ';'.
func (a *analyzer) cookieHeader(s string, es *editSet) {
	for off := 0; off <= len(s); {
		semi := strings.IndexByte(s[off:], ';')
		end := len(s)
		if semi >= 0 {
			end = off + semi
		}
		a.cookiePair(s, off, end, es)
		if semi < 0 {
			break
		}
		off = end + 1
	}
}

// setCookie redacts Set-Cookie: only the value of each cookie; its
// attributes stay. Some exporters join several with newlines.
func (a *analyzer) setCookie(s string, es *editSet) {
	for off := 0; off <= len(s); {
		nl := strings.IndexByte(s[off:], '\n')
		end := len(s)
		if nl >= 0 {
			end = off + nl
		}
		pairEnd := end
		if semi := strings.IndexByte(s[off:end], ';'); semi >= 0 {
			pairEnd = off + semi
		}
		a.cookiePair(s, off, pairEnd, es)
		if nl < 0 {
			break
		}
		off = end + 1
	}
}

func (a *analyzer) cookiePair(s string, lo, hi int, es *editSet) {
	eq := strings.IndexByte(s[lo:hi], '=')
	if eq < 0 {
		return
	}
	name := strings.TrimSpace(s[lo : lo+eq])
	vlo, vhi := lo+eq+1, hi
	for vlo < vhi && s[vlo] == ' ' {
		vlo++
	}
	for vhi > vlo && s[vhi-1] == ' ' {
		vhi--
	}
	if vhi-vlo >= 2 && s[vlo] == '"' && s[vhi-1] == '"' {
		vlo, vhi = vlo+1, vhi-1
	}
	if vlo >= vhi {
		return
	}
	a.pushQN("cookie", name)
	a.encoded(s, vlo, vhi, false, es, a.cookieFn(name))
	a.pop()
}

// cookieFn returns the analysis of a cookie's value: secret by name, or
// by looking random (session cookies have many names).
func (a *analyzer) cookieFn(name string) func(string, *editSet) {
	if a.p.kept(name) {
		return nil
	}
	if class, ok := a.p.cookie(name); ok {
		return a.secretFn(class, "cookie:"+name, false)
	}
	return func(v string, es *editSet) {
		if hits := a.p.detect(v); len(hits) > 0 {
			a.tokens(v, es, "cookie")
			return
		}
		if !isSafe(v) && randomLooking(v, 16, 3.0) {
			a.hit(es, 0, len(v), v, "cookie-entropy", "cookie")
		}
	}
}

// ---- headers ----

// headerFn returns the analysis of a header's value.
func (a *analyzer) headerFn(name string) func(string, *editSet) {
	if a.p.kept(name) {
		return nil
	}
	r := a.p.header(name)
	switch r.kind {
	case hdrAuth, hdrSecret:
		rule, auth := "header:"+lower(name), r.kind == hdrAuth
		return func(s string, es *editSet) { a.secretValue(s, es, r.class, rule, auth, false) }
	case hdrCookie:
		return a.bound().cookieHeader
	case hdrSetCookie:
		return a.bound().setCookie
	case hdrURL:
		return a.bound().url
	case hdrKeep:
		return a.bound().tokens
	case hdrWSProtocol:
		return a.bound().wsProtocols
	}
	return a.bound().text
}

// ---- bodies ----

// body analyses a request or response body of the given media type.
func (a *analyzer) body(s, mime string, es *editSet) {
	m := lower(mime)
	switch {
	case strings.Contains(m, "x-www-form-urlencoded"):
		a.form(s, es)
	case strings.Contains(m, "multipart/"):
		b := mimeParam(mime, "boundary")
		if b == "" && strings.HasPrefix(s, "--") {
			if nl := strings.IndexAny(s, "\r\n"); nl > 2 {
				b = s[2:nl]
			}
		}
		if b == "" || !a.multipart(s, b, es) {
			a.textValue(s, es)
		}
	default:
		if !printable(s[:min(len(s), 4096)]) {
			a.tokens(s, es, "token") // binary: token shapes only
			return
		}
		before := len(a.warns)
		a.textValue(s, es)
		// A text textValue walked as JSON is valid: no second parse.
		if strings.Contains(m, "json") && len(a.warns) == before && !a.wholeJSON {
			t := strings.TrimSpace(s)
			if t != "" && (t[0] == '{' || t[0] == '[') {
				if _, err := parseLazy(s); err != nil {
					a.warn("body is not valid JSON; text rules and the sweep only")
				}
			} else if t != "" && !looksURL(t) {
				a.warn("body is not valid JSON; text rules and the sweep only")
			}
		}
	}
}

// mimeParam returns a parameter of a media type (boundary=…).
func mimeParam(mime, name string) string {
	for _, part := range strings.Split(mime, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	return ""
}

// multipart redacts a multipart body part by part: boundaries, CRLFs and
// part headers stay; a part named like a secret is redacted whole, any
// other part is analysed as a body of its own type.
func (a *analyzer) multipart(s, boundary string, es *editSet) bool {
	delim := "--" + boundary
	i := strings.Index(s, delim)
	if i < 0 {
		return false
	}
	for {
		start := i + len(delim)
		if strings.HasPrefix(s[start:], "--") {
			return true
		}
		nl := strings.IndexByte(s[start:], '\n')
		if nl < 0 {
			return true
		}
		hdrStart := start + nl + 1
		next := strings.Index(s[hdrStart:], delim)
		partEnd := len(s)
		if next >= 0 {
			partEnd = hdrStart + next
		}
		bEnd := partEnd
		if next >= 0 {
			if strings.HasSuffix(s[:bEnd], "\r\n") {
				bEnd -= 2
			} else if strings.HasSuffix(s[:bEnd], "\n") {
				bEnd--
			}
		}
		hdrEnd, bodyStart := -1, -1
		if j := strings.Index(s[hdrStart:bEnd], "\r\n\r\n"); j >= 0 {
			hdrEnd, bodyStart = hdrStart+j, hdrStart+j+4
		} else if j := strings.Index(s[hdrStart:bEnd], "\n\n"); j >= 0 {
			hdrEnd, bodyStart = hdrStart+j, hdrStart+j+2
		}
		if hdrEnd >= 0 {
			headers := s[hdrStart:hdrEnd]
			name, ctype := partHeaders(headers)
			a.pushQN("part", name)
			inner := &editSet{}
			body := s[bodyStart:bEnd]
			class, secret := a.key(name, nil)
			if !secret {
				class, secret = a.p.queryParam(name, false)
			}
			switch {
			case a.p.kept(name):
			case secret:
				a.secretValue(body, inner, class, "part:"+lower(name), false, false)
			default:
				a.body(body, ctype, inner)
			}
			es.addAll(inner, bodyStart)
			a.pop()
		}
		if next < 0 {
			return true
		}
		i = partEnd
	}
}

// partHeaders returns a part's form name and content type.
func partHeaders(h string) (name, ctype string) {
	for _, line := range strings.Split(h, "\n") {
		k, v, ok := strings.Cut(strings.TrimRight(line, "\r"), ":")
		if !ok {
			continue
		}
		switch lower(strings.TrimSpace(k)) {
		case "content-disposition":
			name = mimeParam(v, "name")
		case "content-type":
			ctype = strings.TrimSpace(v)
		}
	}
	return name, ctype
}

// k8sBearerProtocol is how Kubernetes clients carry a bearer token in a
// WebSocket handshake, which cannot set Authorization.
const k8sBearerProtocol = "base64url.bearer.authorization.k8s.io."

// wsProtocols redacts the token inside a Sec-WebSocket-Protocol list.
func (a *analyzer) wsProtocols(s string, es *editSet) {
	for off := 0; off < len(s); {
		end := strings.IndexByte(s[off:], ',')
		if end < 0 {
			end = len(s)
		} else {
			end += off
		}
		p := strings.TrimLeft(s[off:end], " \t")
		lo := end - len(p)
		p = strings.TrimRight(p, " \t")
		if len(p) > len(k8sBearerProtocol) && strings.EqualFold(p[:len(k8sBearerProtocol)], k8sBearerProtocol) && !isSafe(p) {
			a.hit(es, lo+len(k8sBearerProtocol), lo+len(p), p[len(k8sBearerProtocol):], "header:sec-websocket-protocol", "bearer")
		}
		off = end + 1
	}
	a.tokens(s, es, "token")
}
