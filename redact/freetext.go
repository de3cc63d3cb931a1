package redact

import (
	"encoding/base64"
	"slices"
	"strings"

	"github.com/apitape/apitape/internal/credential"
)

// Free text: HTML and JavaScript bodies, error messages, bodies that are
// not valid JSON, and the scripts `scan` reads. There is no structure to
// go by, so besides the token detectors this looks for URLs, for
// `name: value` / `name=value` / `"name": "value"` next to secret-like
// names (gitleaks' generic rule, with a keyword prefilter), and decodes
// base64 runs to look inside them.

func (a *analyzer) freeText(s string, es *editSet) {
	defer func(g bool) { a.gated = g }(a.gated)
	a.gated = true
	// Names first, as everywhere: a token after "Authorization:" is
	// reported (and classed) as that header's.
	a.urlsInText(s, es)
	a.htmlFields(s, es)
	a.xmlElements(s, es)
	a.assignments(s, es)
	a.passwordArguments(s, es)
	a.formParts(s, es)
	a.tokens(s, es, "token")
	a.base64Runs(s, es)
	a.otherSpellings(s, es)
}

// urlTerminator ends a URL found in text.
func urlTerminator(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '"', '\'', '<', '>', '\\', '`', '{', '}', '|', '^', ')', ']':
		return true
	}
	return false
}

// urlsInText redacts URLs with a scheme, and paths with a query.
func (a *analyzer) urlsInText(s string, es *editSet) {
	covered := 0
	for from := 0; ; {
		i := strings.Index(s[from:], "://")
		if i < 0 {
			break
		}
		i += from
		start := i
		for start > 0 && (isAlnum[s[start-1]] || s[start-1] == '+' || s[start-1] == '.' || s[start-1] == '-') {
			start--
		}
		end := i + 3
		for end < len(s) && !urlTerminator(s[end]) {
			end++
		}
		from = end
		if start == i || end == i+3 {
			continue
		}
		a.urlAt(s, start, end, es)
		covered = end
	}
	for from := 0; ; {
		i := strings.IndexByte(s[from:], '?')
		if i < 0 {
			return
		}
		i += from
		from = i + 1
		start := i
		for start > 0 && !urlTerminator(s[start-1]) {
			start--
		}
		if start < covered && strings.Contains(s[start:i], "://") || s[start] != '/' {
			continue
		}
		end := i + 1
		for end < len(s) && !urlTerminator(s[end]) {
			end++
		}
		if end-i < 3 {
			continue
		}
		a.urlAt(s, start, end, es)
		from = end
	}
}

func (a *analyzer) urlAt(s string, lo, hi int, es *editSet) {
	inner := &editSet{}
	a.url(s[lo:hi], inner)
	es.addAll(inner, lo)
}

// keywords prefilter the assignment rule (lower case).
var keywords = []string{"pass", "pwd", "secret", "token", "key", "auth", "csrf", "xsrf", "cookie", "sess", "credential", "sig", "jwt", "ticket", "assertion", "kubeconfig", "r_sess", "r_oidc"}

func isIdentByte(c byte) bool { return isAlnum[c] || c == '_' || c == '-' || c == '.' }

// asciiLower lower-cases ASCII letters only, keeping byte offsets.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// assignments finds names that say "secret" followed by a value.
func (a *analyzer) assignments(s string, es *editSet) {
	if !strings.ContainsAny(s, ":=,") {
		return
	}
	if a.p.kwRun != nil {
		for _, n := range kwRunNames(s, a.p.kwRun) {
			a.assignment(s, n.ns, n.ne, es)
		}
		return
	}
	for _, n := range kwIndexNames(s, a.p.textKeywords()) {
		a.assignment(s, n.ns, n.ne, es)
	}
}

// nameSpan is a name in free text that holds a keyword.
type nameSpan struct{ ns, ne int }

// kwIndexNames finds each keyword's occurrences in the lower-cased text
// and widens them to the identifier around them: the names assignment
// looks at, in the order it looks at them (by keyword, then by place).
// Each name once.
func kwIndexNames(s string, kws []string) []nameSpan {
	ls := asciiLower(s)
	var names []nameSpan
	seen := map[int]bool{}
	for _, kw := range kws {
		for from := 0; ; {
			i := strings.Index(ls[from:], kw)
			if i < 0 {
				break
			}
			i += from
			from = i + len(kw)
			ns, ne := i, i+len(kw)
			for ns > 0 && isIdentByte(s[ns-1]) {
				ns--
			}
			for ne < len(s) && isIdentByte(s[ne]) {
				ne++
			}
			ns = trimNameStart(s, ns, ne)
			if seen[ns] {
				continue
			}
			seen[ns] = true
			names = append(names, nameSpan{ns, ne})
		}
	}
	return names
}

// trimNameStart skips the dashes and dots before a name, not those of a
// command-line flag's "--".
func trimNameStart(s string, ns, ne int) int {
	for ns < ne && (s[ns] == '-' || s[ns] == '.') && !strings.HasPrefix(s[ns:], "--") {
		ns++
	}
	return ns
}

// indexedKeyword is a keyword and its index in policy.kw.
type indexedKeyword struct {
	kw string
	at int
}

// runKeywordSet is policy.kw for kwRunNames.
type runKeywordSet struct {
	kws   []indexedKeyword
	pairs [1 << 16 / 64]uint64 // the keywords' first two bytes (pairKey)
}

// kwRunNames finds the names of kwIndexNames that a separator follows, in
// the same order, with one scan of the text's identifiers instead of one
// search a keyword. It holds when every keyword is made of identifier
// bytes: then an occurrence lies inside one identifier, that identifier is
// the name, and a name is first found by the lowest keyword it holds.
// A keyword that holds an earlier one finds no name of its own, so kws
// leaves it out. Names that no separator follows are left out, as
// assignment does nothing with them (TestKwRunNames, FuzzKwRunNames).
func kwRunNames(s string, set *runKeywordSet) []nameSpan {
	type found struct {
		nameSpan
		kw int
	}
	var names []found
	for i := 0; i < len(s); {
		if !isIdentByte(s[i]) {
			i++
			continue
		}
		rs := i
		for i < len(s) && isIdentByte(s[i]) {
			i++
		}
		if i-rs < 2 || !sepFollows(s, i) {
			continue
		}
		best := -1
		for j := rs; j+1 < i; j++ {
			p := uint16(lowerTable[s[j]])<<8 | uint16(lowerTable[s[j+1]])
			if set.pairs[p>>6]&(1<<(p&63)) == 0 {
				continue
			}
			for _, k := range set.kws {
				if best >= 0 && k.at >= best {
					break
				}
				if hasLowerPrefix(s[j:i], k.kw) {
					best = k.at
					break
				}
			}
		}
		if best >= 0 {
			names = append(names, found{nameSpan{trimNameStart(s, rs, i), i}, best})
		}
	}
	slices.SortStableFunc(names, func(x, y found) int { return x.kw - y.kw })
	out := make([]nameSpan, len(names))
	for i, n := range names {
		out[i] = n.nameSpan
	}
	return out
}

// hasLowerPrefix reports whether s, its ASCII letters lower-cased (as
// asciiLower does), begins with prefix.
func hasLowerPrefix(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if lowerTable[s[i]] != prefix[i] {
			return false
		}
	}
	return true
}

// sepFollows reports whether the separator of an assignment can follow a
// name that ends at ne: an optional quote (escaped or not), blanks, then
// ':', '=' or ','. assignment returns at once without one.
func sepFollows(s string, ne int) bool {
	j := ne
	if j+1 < len(s) && s[j] == '\\' && (s[j+1] == '"' || s[j+1] == '\'') {
		j += 2
	} else if j < len(s) && (s[j] == '"' || s[j] == '\'') {
		j++
	}
	for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
		j++
	}
	return j < len(s) && (s[j] == ':' || s[j] == '=' || s[j] == ',')
}

// textKeywords are the prefilter words plus the names from a rules file.
func (p *policy) textKeywords() []string { return p.kw }

func (p *policy) computeKeywords() {
	kw := append([]string(nil), keywords...)
	kw = append(kw, credential.ExactHeaders()...)
	for _, set := range []nameSet{p.headers, p.cookies, p.query, p.keys} {
		for n := range set.exact {
			if n != "" {
				kw = append(kw, lower(n))
			}
		}
		for _, path := range set.paths {
			kw = append(kw, path[len(path)-1])
		}
	}
	p.kw = kw
	p.kwRun = runKeywords(kw)
}

// runKeywords is kw for kwRunNames, or nil when a keyword is shorter than
// two bytes or not made of identifier bytes.
func runKeywords(kw []string) *runKeywordSet {
	set := &runKeywordSet{}
next:
	for i, k := range kw {
		if len(k) < 2 {
			return nil
		}
		for j := 0; j < len(k); j++ {
			if !isIdentByte(k[j]) {
				return nil
			}
		}
		for _, earlier := range set.kws {
			if strings.Contains(k, earlier.kw) {
				continue next
			}
		}
		set.kws = append(set.kws, indexedKeyword{k, i})
		p := uint16(k[0])<<8 | uint16(k[1])
		set.pairs[p>>6] |= 1 << (p & 63)
	}
	return set
}

// assignment looks at the name s[ns:ne] and, when a separator and a value
// follow, decides by the name's kind whether the value is secret.
func (a *analyzer) assignment(s string, ns, ne int, es *editSet) {
	name := strings.TrimLeft(s[ns:ne], "-")
	if name == "" {
		return
	}
	j := ne
	nameQuoted := false
	if j+1 < len(s) && s[j] == '\\' && (s[j+1] == '"' || s[j+1] == '\'') {
		j += 2
		nameQuoted = true
	} else if j < len(s) && (s[j] == '"' || s[j] == '\'') {
		j++
		nameQuoted = true
	}
	sepAt := j
	for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
		j++
	}
	if j >= len(s) {
		return
	}
	// tight: name=value with nothing around the '=' (shell, .env, ini
	// and command-line flags), where an unquoted value is a literal.
	tight := j == sepAt && !nameQuoted
	var sep byte
	switch {
	case strings.HasPrefix(s[j:], ":="), strings.HasPrefix(s[j:], "=>"):
		sep = s[j]
		j += 2
	case s[j] == ':' || s[j] == '=':
		sep = s[j]
		j++
	case s[j] == ',' && nameQuoted:
		sep = ','
		j++
	default:
		return
	}
	valAt := j
	for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
		j++
	}
	tight = tight && sep == '=' && j == valAt && s[valAt-1] == '='
	if concatRef(s, j) {
		return // name=" + variable: no literal value
	}
	var quote byte
	escapedQuote := false
	if j+1 < len(s) && s[j] == '\\' && (s[j+1] == '"' || s[j+1] == '\'') {
		quote, escapedQuote = s[j+1], true
		j += 2
	} else if j < len(s) && (s[j] == '"' || s[j] == '\'' || s[j] == '`') {
		quote = s[j]
		j++
	}
	if sep == ',' && quote == 0 {
		return
	}
	hr, isHeader := a.p.exactHeader(name)
	isHeader = isHeader && sep != '=' && hr.kind != hdrPlain
	if sep == ',' && !isHeader {
		return // "Name", "value" is how code sets headers; other names are not assignments
	}
	vlo, vhi := j, j
	switch {
	case quote != 0:
		for vhi < len(s) && s[vhi] != '\n' {
			if escapedQuote && s[vhi] == '\\' && vhi+1 < len(s) && s[vhi+1] == quote {
				break
			}
			if !escapedQuote && s[vhi] == quote && (vhi == vlo || s[vhi-1] != '\\') {
				break
			}
			vhi++
		}
	case isHeader:
		// To the end of the line, or of the quotes the header is in
		// (curl -H 'Name: value').
		var enclosing byte
		if ns > 0 && (s[ns-1] == '\'' || s[ns-1] == '"') {
			enclosing = s[ns-1]
		}
		for vhi < len(s) && s[vhi] != '\n' && s[vhi] != '\r' && (enclosing == 0 || s[vhi] != enclosing || s[vhi-1] == '\\') {
			vhi++
		}
	default:
		for vhi < len(s) && !valueTerminator(s[vhi]) {
			vhi++
		}
	}
	if vhi <= vlo {
		return
	}
	if sep == ',' { // "Name", "value" must not be "key", "otherkey": …
		k := vhi + 1
		if escapedQuote {
			k++
		}
		for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
			k++
		}
		if k < len(s) && s[k] == ':' {
			return
		}
	}
	after := vhi
	if quote != 0 && after < len(s) {
		after++
	}
	if concatRef(s, after) {
		return // the rest of the value comes from a variable: "Bearer x:"+os.Getenv(…)
	}
	if m := concatAt.FindStringIndex(s[vlo:vhi]); m != nil {
		vhi = vlo + m[0] // only the literal part before "` + s.env[…]"
	}
	v := s[vlo:vhi]
	prev := byte(0)
	if ns > 0 {
		prev = s[ns-1]
	}
	inner := &editSet{}
	switch {
	case a.p.kept(name):
		return
	case isHeader:
		a.pushQN("header", name)
		switch hr.kind {
		case hdrAuth, hdrSecret:
			a.secretValue(v, inner, hr.class, "header:"+lower(name), hr.kind == hdrAuth, false)
		case hdrCookie:
			a.cookieHeader(v, inner)
		case hdrSetCookie:
			a.setCookie(v, inner)
		}
		a.pop()
	case sep == '=' && (prev == '?' || prev == '&' && (ns < 2 || s[ns-2] != '&')) && !strings.Contains(name, "."):
		if fn := a.paramFn(name, authishPath(s[max(0, ns-256):ns]), true); fn != nil {
			a.pushQN("param", name)
			a.encoded(s, vlo, vhi, true, inner, fn)
			a.pop()
			es.addAll(inner, 0)
			return
		}
	case sep == '=' && a.p.cookieByName(name):
		a.pushQN("cookie", name)
		a.encoded(s, vlo, vhi, false, inner, a.cookieFn(name))
		a.pop()
		es.addAll(inner, 0)
		return
	default:
		class, ok := a.key(name, nil)
		if !ok || !freeTextSecret(v, class, quote != 0) && !(quote == 0 && tight && literalPassword(v, class)) {
			return
		}
		a.pushQN("key", name)
		a.secretValue(v, inner, class, "key:"+name, false, class != "password")
		a.pop()
	}
	es.addAll(inner, vlo)
}

// concatAt is a quoted literal ending and a variable joined to it.
var concatAt = newLazyRegexp("[`'\"]\\s*(?:\\+\\s*(?:s\\.env\\[|env\\[|os\\.Getenv|os\\.LookupEnv|s\\.(?:var|line|v|uri)\\()|,\\s*s\\.(?:v|uri)\\()")

// concatRef reports a reference to a secret's variable at s[i:], after
// the quotes and operators that join strings in shell, Go, Python and
// JavaScript (the fetch output's s.body joins its parts with ", "): the
// value before it is only the literal part of a longer value. s.var,
// s.line, s.v and s.uri are how the Python, Locust and fetch outputs read
// a variable.
func concatRef(s string, i int) bool {
	j := i
	for n := 0; i < len(s) && n < 6 && strings.IndexByte("'\"`+ \t", s[i]) >= 0; n++ {
		i++
	}
	rest := s[i:min(len(s), i+40)]
	for _, p := range []string{"${", "$APITAPE_", "s.env[", "env[", "os.Getenv(", "os.LookupEnv(", "s.var(", "s.line(", "s.v(", "s.uri("} {
		if strings.HasPrefix(rest, p) {
			return true
		}
	}
	// A comma joins only the fetch body's parts: a JSON array's next
	// element ("--password=x", "${HOME}") is no part of the value.
	for n := 0; j < len(s) && n < 6 && strings.IndexByte("'\"`, \t", s[j]) >= 0; n++ {
		j++
	}
	rest = s[j:min(len(s), j+8)]
	return strings.HasPrefix(rest, "s.v(") || strings.HasPrefix(rest, "s.uri(")
}

// freeTextSecret is the gate for a value next to a secret-like key in
// free text, where code says `credentials: "omit"` and
// `this.token = t.token`: a quoted password counts whatever it looks like;
// anything else must look random and not like an identifier.
func freeTextSecret(v, class string, quoted bool) bool {
	if winEnvRef.MatchString(v) {
		return false
	}
	if class == "password" && quoted {
		return !trivialValue(v)
	}
	if identShape.MatchString(v) && entropy(v) < 4 && !randomLetters(v) {
		return false
	}
	if class == "password" {
		return randomLooking(v, 8, 3.0)
	}
	return randomLooking(v, 12, 3.0)
}

// literalPassword is the gate for an unquoted password in name=value
// form (password=…, export DB_PASSWORD=…, --password=…): the shell and
// .env files assign literals so, and code that assigns a variable
// (password=e.password, password=getPassword()) has an identifier there.
// References ($PASSWORD, %PASSWORD%, {{ .pw }}), paths and templates are
// not the password.
func literalPassword(v, class string) bool {
	if class != "password" || len(v) < 8 || trivialValue(v) || isSafe(v) {
		return false
	}
	switch v[0] {
	case '$', '%', '{', '<', '/', '~', '.', '@', '*':
		return false
	}
	return (!identShape.MatchString(v) || randomLetters(v)) && strings.ContainsFunc(v, func(r rune) bool { return r < 128 && isAlnum[r] })
}

// winEnvRef is a Windows variable reference (%DB_PASSWORD%).
var winEnvRef = newLazyRegexp(`^%[A-Za-z_][A-Za-z0-9_]*%$`)

func valueTerminator(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', ',', ';', '&', '"', '\'', '<', '>', '(', ')', '{', '}', '[', ']', '\\', '`', '|':
		return true
	}
	return false
}

// exactHeader returns the rule of a header named in the built-in list or a
// rules file (not the suffix rules: in free text "token: x" is a key).
func (p *policy) exactHeader(name string) (headerRule, bool) {
	l := lower(name)
	if _, ok := headerShapes[l]; ok || credential.ExactHeader(l) || credential.NotCredentialHeader(l) || p.headers.exact[l] {
		return p.header(name), true
	}
	return headerRule{}, false
}

// cookieByName reports Rancher's credential cookies and rules-file cookies
// (the contains-rules are too loose for free text).
func (p *policy) cookieByName(name string) bool {
	return credential.ExactCookie(name) || p.cookies.exact[lower(name)]
}

// base64Runs decodes long base64 runs that hold text and looks inside:
// Basic credentials, a token in a JSON document, a kubeconfig.
func (a *analyzer) base64Runs(s string, es *editSet) {
	if a.depth >= maxDepth-1 || len(s) < 20 {
		return
	}
	for i, j := range eachRun(s, &isB64, 20) {
		k := j
		for k < len(s) && k-j < 2 && s[k] == '=' {
			k++
		}
		if es.free(i, k) {
			a.base64Run(s, i, k, es)
		}
	}
}

func (a *analyzer) base64Run(s string, lo, hi int, es *editSet) {
	run := s[lo:hi]
	dec, ok := decodeBase64(run)
	if !ok || len(dec) < 8 || !printable(dec) {
		return
	}
	inner := &editSet{}
	a.pushQ("base64")
	a.textValue(dec, inner)
	a.sweep(dec, inner)
	a.pop()
	if inner.empty() {
		return
	}
	enc := base64.RawStdEncoding
	if strings.ContainsAny(run, "-_") {
		enc = base64.RawURLEncoding
	}
	padded := strings.HasSuffix(run, "=")
	e := inner.whole(dec, hi-lo, func(t string) string {
		out := enc.EncodeToString([]byte(t))
		if padded {
			for len(out)%4 != 0 {
				out += "="
			}
		}
		return out
	})
	e.start += lo
	e.end += lo
	es.add(e)
}

// formParts finds multipart form fields quoted in scripts, where the
// blank line between a part's headers and its value is written as escapes
// (curl --data-raw $'…\r\n\r\n…', Go "\r\n"): name="password", a
// blank line, the value.
func (a *analyzer) formParts(s string, es *editSet) {
	if !strings.Contains(s, "form-data") {
		return
	}
	for from := 0; ; {
		i := strings.Index(s[from:], "name=")
		if i < 0 {
			return
		}
		i += from
		from = i + 5
		j := i + 5
		esc := strings.HasPrefix(s[j:], `\"`)
		switch {
		case esc:
			j += 2
		case j < len(s) && s[j] == '"':
			j++
		default:
			continue
		}
		end := strings.IndexAny(s[j:], "\"\\\n")
		if end < 0 {
			return
		}
		name := s[j : j+end]
		j += end + 1
		if esc {
			j++
		}
		if !strings.Contains(s[max(0, i-80):i], "form-data") || j >= len(s) || s[j] == ';' {
			continue // not a part's own name, or a file part (detectors cover it)
		}
		breaks := 0
		for n := 0; j < len(s) && n < 40; n++ {
			switch {
			case strings.HasPrefix(s[j:], `\r`), strings.HasPrefix(s[j:], `\n`):
				if s[j+1] == 'n' {
					breaks++
				}
				j += 2
				continue
			case s[j] == '\n':
				breaks++
			case strings.IndexByte("\r'$\"+ `", s[j]) >= 0:
			default:
				n = 40
				continue
			}
			j++
		}
		if breaks < 2 || concatRef(s, j) {
			continue
		}
		vend := j
		for vend < len(s) && strings.IndexByte("'\"\\`\r\n", s[vend]) < 0 {
			vend++
		}
		if vend == j || concatRef(s, vend) {
			continue
		}
		class, ok := a.key(name, nil)
		if !ok {
			class, ok = a.p.queryParam(name, false)
		}
		if !ok || a.p.kept(name) {
			continue
		}
		inner := &editSet{}
		a.pushQN("part", name)
		a.secretValue(s[j:vend], inner, class, "part:"+lower(name), false, false)
		a.pop()
		es.addAll(inner, j)
	}
}

// passwordCalls are the usual ways code passes a password as an argument:
// Go's SetBasicAuth(user, password), a Python requests or httpx auth
// tuple or BasicAuth(user, password), and PowerShell's
// ConvertTo-SecureString "password" -AsPlainText. Group 1 is the literal.
var passwordCalls = []struct {
	needs []string // one of them
	re    *lazyRegexp
}{
	{[]string{"SetBasicAuth("}, newLazyRegexp(`SetBasicAuth\(\s*"[^"\n]*"\s*,\s*"([^"\n]+)"\s*\)`)},
	{[]string{"auth=(", "auth = (", "BasicAuth("}, newLazyRegexp(`(?:\bauth\s*=\s*\(|BasicAuth\()\s*(?:"[^"\n]*"|'[^'\n]*')\s*,\s*(?:"([^"\n]+)"|'([^'\n]+)')\s*\)`)},
	{[]string{"-AsPlainText", "-asplaintext", "-ASPLAINTEXT"}, newLazyRegexp(`(?i)ConvertTo-SecureString\s+(?:-String\s+)?(?:"([^"\n]+)"|'([^'\n]+)')\s+-AsPlainText`)},
}

// passwordArguments redacts the literal password of a passwordCalls call.
func (a *analyzer) passwordArguments(s string, es *editSet) {
	for _, pc := range passwordCalls {
		if !slices.ContainsFunc(pc.needs, func(n string) bool { return strings.Contains(s, n) }) {
			continue
		}
		for _, m := range pc.re.get().FindAllStringSubmatchIndex(s, -1) {
			for k := 2; k+1 < len(m); k += 2 {
				lo, hi := m[k], m[k+1]
				if lo < 0 || !freeTextSecret(s[lo:hi], "password", true) || isSafe(s[lo:hi]) {
					continue
				}
				inner := &editSet{}
				a.pushQN("key", "password")
				a.secretValue(s[lo:hi], inner, "password", "code:password-argument", false, false)
				a.pop()
				es.addAll(inner, lo)
			}
		}
	}
}
