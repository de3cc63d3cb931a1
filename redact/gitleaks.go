package redact

import (
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/pelletier/go-toml/v2"
)

//go:generate go test -run ^TestGitleaksTable$ -update

// Vendor token shapes come from gitleaks' maintained rule set (its default
// config, or the user's own .gitleaks.toml), so that apitape agrees with
// the scanner a CI already runs. The rules run over string values only,
// after apitape's own structural analysis has decoded them: keywords as a
// prefilter, then the regex, the secret group, the entropy floor and the
// allowlists, as gitleaks' detector applies them. Rules that judge by a
// name next to a value (generic-api-key) are left to apitape's own
// name rules, which know JSON, form and header structure.

// gitleaksRule is one rule. The default rules are compiled when a string
// first holds one of their keywords: compiling all of them would cost
// every apitape process tens of milliseconds.
type gitleaksRule struct {
	*ruleSrc
	class string

	once       sync.Once
	re         *regexp.Regexp // nil when anchored runs the rule
	anchored   *anchoredRegexp
	allowLists []*allowlist
	compileOK  bool
	// wholeMatch: the rule names no secret group and its first group is
	// repeated, so the group gitleaks reports is a fragment of the
	// credential (microsoft-teams-webhook's "([a-z0-9]{4}-){3}"); the
	// whole match is replaced.
	wholeMatch bool
}

// compile compiles the rule once; a rule that does not compile is left out.
func (r *gitleaksRule) compile() bool {
	r.once.Do(func() {
		defer func() { recover() }()
		if r.anchor != nil {
			r.anchored = &anchoredRegexp{re: regexp.MustCompile(r.anchor.pattern), anchorSrc: r.anchor}
		} else {
			r.re = regexp.MustCompile(r.regex)
		}
		r.allowLists = compileAllowlists(r.allow, false)
		r.wholeMatch = r.group == 0 && firstGroupRepeated(r.regex)
		r.compileOK = true
	})
	return r.compileOK
}

// firstGroupRepeated reports whether expr's first capturing group sits
// under a repetition.
func firstGroupRepeated(expr string) bool {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return false
	}
	var walk func(re *syntax.Regexp, repeated bool) (found, rep bool)
	walk = func(re *syntax.Regexp, repeated bool) (bool, bool) {
		switch re.Op {
		case syntax.OpCapture:
			return true, repeated
		case syntax.OpStar, syntax.OpPlus:
			repeated = true
		case syntax.OpRepeat:
			repeated = repeated || re.Max != 1
		}
		for _, sub := range re.Sub {
			if found, rep := walk(sub, repeated); found {
				return true, rep
			}
		}
		return false, false
	}
	_, rep := walk(re, false)
	return rep
}

// findAll is the rule's regexp's FindAllStringSubmatchIndex(t, -1).
func (r *gitleaksRule) findAll(t string) [][]int {
	if r.anchored != nil {
		return r.anchored.findAll(t)
	}
	return r.re.FindAllStringSubmatchIndex(t, -1)
}

// tomlConfig is the part of a gitleaks config that applies to values.
type tomlConfig struct {
	Extend struct {
		Path          string   `toml:"path"`
		UseDefault    bool     `toml:"useDefault"`
		DisabledRules []string `toml:"disabledRules"`
	} `toml:"extend"`
	Allowlist  *tomlAllowlist  `toml:"allowlist"`
	Allowlists []tomlAllowlist `toml:"allowlists"`
	Rules      []struct {
		ID          string          `toml:"id"`
		Regex       string          `toml:"regex"`
		SecretGroup int             `toml:"secretGroup"`
		Entropy     float64         `toml:"entropy"`
		Keywords    []string        `toml:"keywords"`
		Allowlists  []tomlAllowlist `toml:"allowlists"`
		Required    []any           `toml:"required"`
	} `toml:"rules"`
}

type tomlAllowlist struct {
	Condition   string   `toml:"condition"`
	RegexTarget string   `toml:"regexTarget"`
	Regexes     []string `toml:"regexes"`
	StopWords   []string `toml:"stopwords"`
	Paths       []string `toml:"paths"`
	Commits     []string `toml:"commits"`
	TargetRules []string `toml:"targetRules"`
}

// allowlist is a gitleaks allowlist as it applies to a value: its paths
// and commits never match one, so only whether it has them counts (an
// "and" allowlist with them never allows a value).
type allowlist struct {
	and       bool
	target    string // "match", "line", or the secret
	regexes   []*regexp.Regexp
	stopWords []string // lower case
	fileOnly  bool     // has paths or commits
}

// compileAllowlists compiles allowlists; checkPaths also compiles their
// path regexes, only to report a mistake in a user's config.
func compileAllowlists(src []tomlAllowlist, checkPaths bool) []*allowlist {
	var out []*allowlist
	for _, a := range src {
		al := &allowlist{and: strings.EqualFold(a.Condition, "and"), target: a.RegexTarget,
			fileOnly: len(a.Paths)+len(a.Commits) > 0}
		for _, re := range a.Regexes {
			al.regexes = append(al.regexes, regexp.MustCompile(re))
		}
		if checkPaths {
			for _, p := range a.Paths {
				regexp.MustCompile(p)
			}
		}
		for _, w := range a.StopWords {
			al.stopWords = append(al.stopWords, strings.ToLower(w))
		}
		out = append(out, al)
	}
	return out
}

// regexAllowed is gitleaks' Allowlist.RegexAllowed: an empty match does
// not count.
func (a *allowlist) regexAllowed(s string) bool {
	if s == "" {
		return false
	}
	for _, re := range a.regexes {
		if re.FindString(s) != "" {
			return true
		}
	}
	return false
}

// hasStopWord is gitleaks' Allowlist.ContainsStopWord.
func (a *allowlist) hasStopWord(s string) bool {
	if s == "" || len(a.stopWords) == 0 {
		return false
	}
	s = strings.ToLower(s)
	for _, w := range a.stopWords {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// ruleSrc is a rule as a config states it, with what regexNeeds and
// anchorOf find in its regex (generated into the default table; a user's
// rules are analysed when the config is read).
type ruleSrc struct {
	id, regex string
	group     int
	entropy   float64
	keywords  []string // none: the rule always runs
	allow     []tomlAllowlist
	composite bool
	// needs and needsFold are literals every match contains (needsFold:
	// ASCII lower case, in any case): a text without one cannot match, and
	// the rule is neither compiled nor run on it.
	needs, needsFold []string
	anchor           *anchorSrc
}

// maxExtend bounds [extend] chains, as gitleaks does.
const maxExtend = 2

// readGitleaks reads a gitleaks config and what it extends ([extend]
// useDefault or path, with disabledRules): its rules in order, a rule of
// the config overriding the same rule of the one it extends, and its
// global allowlists. dir resolves a relative extend path.
func readGitleaks(text, name, dir string, depth int) ([]ruleSrc, []tomlAllowlist, error) {
	var c tomlConfig
	if err := toml.Unmarshal([]byte(text), &c); err != nil {
		return nil, nil, fmt.Errorf("%s: %v", name, oneLineErr(err))
	}
	var rules []ruleSrc
	var global []tomlAllowlist
	if c.Extend.UseDefault || c.Extend.Path != "" {
		if depth >= maxExtend {
			return nil, nil, fmt.Errorf("%s: [extend] nests more than %d configs", name, maxExtend)
		}
		var err error
		if c.Extend.UseDefault {
			rules, global = slices.Clone(defaultGitleaksRules[:]), slices.Clone(defaultGitleaksGlobal)
		} else {
			p := c.Extend.Path
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			data, rerr := os.ReadFile(p)
			if rerr != nil {
				return nil, nil, fmt.Errorf("%s: [extend] %s: %w", name, c.Extend.Path, unwrapPath(rerr))
			}
			rules, global, err = readGitleaks(string(data), p, filepath.Dir(p), depth+1)
		}
		if err != nil {
			return nil, nil, err
		}
		rules = slices.DeleteFunc(rules, func(r ruleSrc) bool { return slices.Contains(c.Extend.DisabledRules, r.id) })
	}
	all := c.Allowlists
	if c.Allowlist != nil {
		all = append(all, *c.Allowlist)
	}
	byRule := map[string][]tomlAllowlist{}
	for _, a := range all {
		if len(a.TargetRules) == 0 {
			global = append(global, a)
		}
		for _, id := range a.TargetRules {
			byRule[id] = append(byRule[id], a)
		}
	}
	for _, r := range c.Rules {
		src := ruleSrc{id: r.ID, regex: r.Regex, group: r.SecretGroup, entropy: r.Entropy, keywords: r.Keywords, allow: r.Allowlists, composite: len(r.Required) > 0}
		i := slices.IndexFunc(rules, func(b ruleSrc) bool { return b.id == r.ID })
		if i < 0 {
			rules = append(rules, src)
			continue
		}
		base := rules[i] // what the extended config says, unless this one says otherwise
		if src.regex == "" {
			src.regex, src.needs, src.needsFold, src.anchor = base.regex, base.needs, base.needsFold, base.anchor
		}
		if src.group == 0 {
			src.group = base.group
		}
		if src.entropy == 0 {
			src.entropy = base.entropy
		}
		src.keywords = append(slices.Clip(base.keywords), src.keywords...)
		src.allow = append(slices.Clip(base.allow), src.allow...)
		rules[i] = src
	}
	for i := range rules {
		rules[i].allow = append(slices.Clip(rules[i].allow), byRule[rules[i].id]...)
	}
	return rules, global, nil
}

// buildGitleaks makes a rule set, whose rules point into rules. eager
// compiles every rule now (a user's config: a mistake is reported at
// once, and what regexNeeds and anchorOf find is filled in); otherwise
// each rule compiles on first use (the generated default set).
func buildGitleaks(rules []ruleSrc, global []tomlAllowlist, eager bool, name string) (set *gitleaksSet, err error) {
	defer func() {
		if r := recover(); r != nil {
			set, err = nil, fmt.Errorf("%s: invalid gitleaks config: %v", name, r)
		}
	}()
	set = &gitleaksSet{rules: make([]*gitleaksRule, 0, len(rules)), globalSrc: global}
	nkw := 0
	for _, r := range rules {
		nkw += len(r.keywords)
	}
	set.kws = make([]kwRef, 0, nkw)
	all := make([]gitleaksRule, len(rules)) // one allocation, not one a rule
	if eager {
		set.globalList = compileAllowlists(global, true)
	}
	for i := range rules {
		r := &rules[i]
		if r.regex == "" || r.composite || skippedRules[r.id] {
			continue // path-only and composite rules need files and lines, not values
		}
		g := &all[i]
		g.ruleSrc, g.class = r, ruleClass(r.id)
		if eager { // a mistake is reported now
			regexp.MustCompile(r.regex)
			compileAllowlists(r.allow, true)
			if r.anchor == nil { // the user's own rule, or one that runs unanchored
				r.needs, r.needsFold = regexNeeds(r.regex)
				r.anchor = anchorOf(r.regex)
			}
			g.compile()
		}
		set.add(g)
	}
	set.index()
	return set, nil
}

// gitleaksSet is a whole rule set with its keyword prefilter.
type gitleaksSet struct {
	rules []*gitleaksRule
	// globalSrc compiles to globalList when a rule first finds something.
	globalSrc  []tomlAllowlist
	globalOnce sync.Once
	globalList []*allowlist
	always     []int // rules without keywords
	// kws are the keywords sorted by their first two bytes (lower case).
	// pairs has a bit for each pair that starts one: a position whose pair
	// is absent starts no keyword. The pairs present are numbered in
	// order (rank counts the bits in the words of pairs before each), and
	// kws[start[n]:start[n+1]] are those starting with pair number n.
	kws   []kwRef
	start []uint32
	pairs [1 << 10]uint64
	rank  [1 << 10]uint16
}

type kwRef struct {
	kw    string
	rule  int
	ascii bool
}

// at reports whether the keyword is at s[i:], in any case. For an ASCII
// keyword, strings.EqualFold is a byte-wise comparison: a non-ASCII rune
// that folds to an ASCII letter (ſ, K) is longer than it, so the text
// would run out first.
func (k *kwRef) at(s string, i int) bool {
	if len(s)-i < len(k.kw) {
		return false
	}
	if !k.ascii {
		return strings.EqualFold(s[i:i+len(k.kw)], k.kw)
	}
	for j := 0; j < len(k.kw); j++ {
		if lowerTable[s[i+j]] != k.kw[j] {
			return false
		}
	}
	return true
}

// skippedRules are default rules apitape's own name rules replace.
// A JWT's header and claims are kept on purpose (apitape's own JWT rule
// takes its signature).
var skippedRules = map[string]bool{"generic-api-key": true, "jwt": true}

// add adds a rule and indexes its keywords.
func (set *gitleaksSet) add(r *gitleaksRule) {
	i := len(set.rules)
	set.rules = append(set.rules, r)
	if len(r.keywords) == 0 {
		set.always = append(set.always, i)
	}
	for _, kw := range r.keywords {
		kw = strings.ToLower(kw)
		if len(kw) < 2 {
			set.always = append(set.always, i)
			continue
		}
		p := pairKey(kw[0], kw[1])
		ascii := !strings.ContainsFunc(kw, func(r rune) bool { return r >= utf8.RuneSelf })
		set.kws = append(set.kws, kwRef{kw, i, ascii})
		set.pairs[p>>6&(1<<10-1)] |= 1 << (p & 63)
	}
}

// index sorts the keywords by pair (a counting sort, so a pair's
// keywords stay in the order they were added), once every rule is added.
func (set *gitleaksSet) index() {
	n := set.rankPairs()
	set.start = make([]uint32, n+1)
	for _, k := range set.kws {
		set.start[set.pairNumber(pairKey(k.kw[0], k.kw[1]))+1]++
	}
	for p := 1; p < len(set.start); p++ {
		set.start[p] += set.start[p-1]
	}
	next := slices.Clone(set.start[:n])
	sorted := make([]kwRef, len(set.kws))
	for _, k := range set.kws {
		p := set.pairNumber(pairKey(k.kw[0], k.kw[1]))
		sorted[next[p]] = k
		next[p]++
	}
	set.kws = sorted
}

// rankPairs fills rank from pairs, and returns the number of pairs.
func (set *gitleaksSet) rankPairs() uint16 {
	n := uint16(0)
	for w, word := range set.pairs {
		set.rank[w] = n
		n += uint16(bits.OnesCount64(word))
	}
	return n
}

func init() {
	defaultGitleaksSet.rankPairs() // a microsecond; generated, it was a page of numbers
}

// pairNumber numbers a pair present in pairs.
func (set *gitleaksSet) pairNumber(p uint16) int {
	w, b := p>>6&(1<<10-1), p&63
	return int(set.rank[w]) + bits.OnesCount64(set.pairs[w]&(1<<b-1))
}

func pairKey(a, b byte) uint16 { return uint16(lowerByte(a))<<8 | uint16(lowerByte(b)) }

// lowerTable is lowerByte as a table, for the keyword scan.
var lowerTable = func() (t [256]byte) {
	for c := range t {
		t[c] = lowerByte(byte(c))
	}
	return t
}()

func lowerByte(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// ruleClass makes a placeholder class from a rule id: the letters of its
// first word (openai-api-key → openai, 1password-… → password), as a
// placeholder with digits looks like a key to secret scanners (see
// placeholder.Make).
func ruleClass(id string) string {
	w, _, _ := strings.Cut(strings.ToLower(id), "-")
	if len(w) > 0 && len(w) <= 20 && !strings.ContainsFunc(w, func(r rune) bool { return r < 'a' || r > 'z' }) {
		return w // most ids: no copy
	}
	var b strings.Builder
	for i := 0; i < len(w) && b.Len() < 20; i++ {
		if c := w[i]; c >= 'a' && c <= 'z' {
			b.WriteByte(c)
		}
	}
	if b.Len() == 0 {
		return "token"
	}
	return b.String()
}

// defaultGitleaks is gitleaks' default rule set, generated from its
// config with its keyword index (gitleaks_default.go): parsing its 100 KB
// of TOML in every process cost more than the redaction of a small HAR,
// and even building the index from the table was a tenth of it.
func defaultGitleaks() (*gitleaksSet, error) { return &defaultGitleaksSet, nil }

// global is the set's global allowlists.
func (g *gitleaksSet) global() []*allowlist {
	g.globalOnce.Do(func() {
		if g.globalList == nil {
			g.globalList = compileAllowlists(g.globalSrc, false)
		}
	})
	return g.globalList
}

// LoadGitleaksConfig reads a gitleaks config (TOML) whose rules replace
// gitleaks' default ones in r, as they would for gitleaks itself
// ([extend] useDefault = true keeps the defaults too). Rules that only
// apply to files (path rules, composite rules) and the ones apitape's own
// rules replace (generic-api-key, jwt) are left out.
func (r *Rules) LoadGitleaksConfig(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	rules, global, err := readGitleaks(string(data), path, filepath.Dir(path), 0)
	if err != nil {
		return err
	}
	set, err := buildGitleaks(rules, global, true, path)
	if err != nil {
		return err
	}
	r.gitleaks = set
	return nil
}

// find adds what the rules find in s to hits, leaving out any that
// overlap a hit of apitape's own detectors (a JWT keeps its claims).
func (g *gitleaksSet) find(s string, hits []hit) []hit {
	if g == nil || len(s) < 8 {
		return hits
	}
	// Where each rule's keywords are: a long text (a script, a page) is
	// searched only around them, since gitleaks' regexes scan slowly. Most
	// strings hold no keyword, so the table stays empty and costs nothing.
	var at []ruleAt
	lastLine, seen := -1, 0 // the last '\n' in s[:seen]
	for i := g.nextPair(s, 0); i >= 0; i = g.nextPair(s, i+1) {
		if nl := strings.LastIndexByte(s[seen:i+1], '\n'); nl >= 0 {
			lastLine = seen + nl
		}
		seen = i + 1
		n := g.pairNumber(pairKey(s[i], s[i+1]))
		for _, k := range g.kws[g.start[n]:g.start[n+1]] {
			if k.at(s, i) {
				j := ruleIndex(at, k.rule)
				if j < 0 {
					at = append(at, ruleAt{rule: k.rule})
					j = len(at) - 1
				}
				if ps := at[j].ps; len(ps) == 0 || ps[len(ps)-1] <= lastLine {
					at[j].ps = append(ps, i) // one per line is enough
				}
			}
		}
	}
	own := len(hits)
	slices.SortFunc(at, func(a, b ruleAt) int { return a.rule - b.rule })
	for _, ra := range at {
		r := g.rules[ra.rule]
		if len(s) <= windowText {
			hits = r.find(g, s, 0, len(s), hits, own)
			continue
		}
		for _, w := range windows(s, ra.ps) {
			hits = r.find(g, s, w[0], w[1], hits, own)
		}
	}
	for _, i := range g.always {
		if ruleIndex(at, i) < 0 {
			hits = g.rules[i].find(g, s, 0, len(s), hits, own)
		}
	}
	return hits
}

// nextPair returns the first i from from on where a keyword's first two
// bytes are, or -1: the scan every string of a HAR goes through, kept to
// a loop of its own so that it stays in registers.
func (g *gitleaksSet) nextPair(s string, from int) int {
	pairs := &g.pairs
	for i := from; i+1 < len(s); i++ {
		p := uint16(lowerTable[s[i]])<<8 | uint16(lowerTable[s[i+1]]) // pairKey
		if pairs[p>>6]&(1<<(p&63)) != 0 {
			return i
		}
	}
	return -1
}

// ruleAt is where one rule's keywords are in a text.
type ruleAt struct {
	rule int
	ps   []int
}

func ruleIndex(at []ruleAt, rule int) int {
	for j := range at {
		if at[j].rule == rule {
			return j
		}
	}
	return -1
}

// windowText is the longest text searched whole; longer ones are searched
// from the start of the line of each keyword to a few lines after it (a
// curl command's headers follow it on continuation lines).
const (
	windowText  = 4096
	windowLines = 6
	windowBytes = 4096
)

// windows returns the merged spans of s around keyword positions ps
// (ascending).
func windows(s string, ps []int) [][2]int {
	var out [][2]int
	for _, p := range ps {
		lo := strings.LastIndexByte(s[max(0, p-windowBytes):p], '\n') + 1 + max(0, p-windowBytes)
		if lo == max(0, p-windowBytes) && p-windowBytes > 0 {
			lo = p - windowBytes
		}
		hi := p
		for n := 0; n <= windowLines && hi < len(s) && hi-p < windowBytes; n++ {
			nl := strings.IndexByte(s[hi:], '\n')
			if nl < 0 {
				hi = len(s)
				break
			}
			hi += nl + 1
		}
		hi = min(hi, p+windowBytes, len(s))
		if len(out) > 0 && lo <= out[len(out)-1][1] {
			out[len(out)-1][1] = max(out[len(out)-1][1], hi)
			continue
		}
		out = append(out, [2]int{lo, hi})
	}
	return out
}

// find adds the rule's findings in s[lo:hi] (offsets in s).
func (r *gitleaksRule) find(g *gitleaksSet, s string, lo, hi int, hits []hit, own int) []hit {
	if !r.mayMatch(s[lo:hi]) || !r.compile() {
		return hits
	}
	for _, m := range r.findAll(s[lo:hi]) {
		for k := range m {
			if m[k] >= 0 {
				m[k] += lo
			}
		}
		a, b := m[0], m[1]
		for b > a && s[b-1] == '\n' {
			b--
		}
		match := s[a:b]
		if r.group > 0 && 2*r.group+1 < len(m) && m[2*r.group] >= 0 {
			a, b = m[2*r.group], m[2*r.group+1]
		} else if r.group == 0 {
			for k := 2; k+1 < len(m); k += 2 {
				if m[k] >= 0 && m[k+1] > m[k] {
					a, b = m[k], m[k+1]
					break
				}
			}
		}
		secret := s[a:b]
		if secret == "" || r.entropy != 0 && entropy(secret) <= r.entropy {
			continue
		}
		if allowed(g.global(), secret, match, s) || allowed(r.allowLists, secret, match, s) {
			continue
		}
		if r.wholeMatch {
			a, b = m[0], m[0]+len(match)
			secret = match
		}
		// Skip what is already redacted, and the literal part of a value
		// whose credential continues in a variable ('Bearer <jwt claims>.'"${APITAPE_SECRET_…}").
		if isPlaceholderAt(s, a, b) || isSafe(secret) || isSafe(match) || concatRef(s, b) || overlaps(hits[:own], a, b) {
			continue
		}
		hits = append(hits, hit{a, b, "gitleaks:" + r.id, r.class, true})
	}
	return hits
}

func overlaps(hits []hit, a, b int) bool {
	for _, h := range hits {
		if h.start < b && a < h.end {
			return true
		}
	}
	return false
}

// allowed applies gitleaks allowlists to a finding (paths and commits do
// not apply to a HAR's values).
func allowed(lists []*allowlist, secret, match, line string) bool {
	for _, a := range lists {
		target := secret
		switch a.target {
		case "match":
			target = match
		case "line":
			target = line
		}
		re := len(a.regexes) > 0 && a.regexAllowed(target)
		sw := a.hasStopWord(secret)
		if a.and {
			if len(a.regexes)+len(a.stopWords) > 0 && (len(a.regexes) == 0 || re) && (len(a.stopWords) == 0 || sw) && !a.fileOnly {
				return true
			}
			continue
		}
		if re || sw {
			return true
		}
	}
	return false
}

// mayMatch reports whether s holds every literal a match needs.
func (r *gitleaksRule) mayMatch(s string) bool {
	for _, n := range r.needs {
		if !strings.Contains(s, n) {
			return false
		}
	}
	for _, n := range r.needsFold {
		if !containsFoldASCII(s, n) {
			return false
		}
	}
	return true
}

// containsFoldASCII reports whether s contains sub (lower-case ASCII) in
// any ASCII case.
func containsFoldASCII(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		j := 0
		for j < len(sub) && lowerByte(s[i+j]) == sub[j] {
			j++
		}
		if j == len(sub) {
			return true
		}
	}
	return false
}

// minNeed is the shortest literal worth checking for.
const minNeed = 2

// regexNeeds finds literals (of minNeed bytes or more) that every match of
// expr contains: needs in that case, needsFold (ASCII, lower case) in any
// case. They prefilter gitleaks' rules, most of which hold a literal
// besides their keywords: kubernetes-secret-yaml, the costliest to
// compile, is triggered by every "secret" but needs "data:" too. Only
// ASCII literals count, and a case-insensitive one is cut at k and s,
// whose case-folds include non-ASCII runes (K, ſ).
func regexNeeds(expr string) (needs, needsFold []string) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, nil
	}
	req, whole, exact := literalsOf(re)
	if exact {
		req = append(req, whole)
	}
	for _, l := range req {
		if !l.fold {
			if len(l.s) >= minNeed && !slices.Contains(needs, l.s) {
				needs = append(needs, l.s)
			}
			continue
		}
		for _, part := range strings.FieldsFunc(l.s, func(r rune) bool { return r == 'k' || r == 's' }) {
			if len(part) >= minNeed && !slices.Contains(needsFold, part) {
				needsFold = append(needsFold, part)
			}
		}
	}
	return needs, needsFold
}

// literal is a string a match contains; fold: in any ASCII case (then
// held in lower case).
type literal struct {
	s    string
	fold bool
}

// literalsOf returns the literals every match of re contains, and, when
// exact, the one literal that re matches (modulo case) and nothing else.
// Zero-width assertions match the empty literal: the text on both sides
// of one is adjacent.
func literalsOf(re *syntax.Regexp) (req []literal, whole literal, exact bool) {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return nil, literal{}, true
	case syntax.OpLiteral:
		s := string(re.Rune)
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				return nil, literal{}, false
			}
		}
		if re.Flags&syntax.FoldCase != 0 {
			return nil, literal{strings.ToLower(s), true}, true
		}
		return nil, literal{s, false}, true
	case syntax.OpCapture:
		return literalsOf(re.Sub[0])
	case syntax.OpPlus, syntax.OpRepeat:
		if re.Op == syntax.OpRepeat && re.Min < 1 {
			return nil, literal{}, false
		}
		req, whole, exact := literalsOf(re.Sub[0])
		if exact && re.Op == syntax.OpRepeat && re.Max == 1 {
			return req, whole, true
		}
		if exact {
			req = append(req, whole)
		}
		return req, literal{}, false
	case syntax.OpConcat:
		exact = true
		for _, sub := range re.Sub {
			r, w, ex := literalsOf(sub)
			req = append(req, r...)
			if !ex {
				if whole.s != "" {
					req = append(req, whole)
				}
				whole, exact = literal{}, false
				continue
			}
			if w.s == "" {
				continue
			}
			if whole.s == "" {
				whole = w
				continue
			}
			if whole.fold != w.fold { // in any case is the weaker claim
				whole.s, w.s = strings.ToLower(whole.s), strings.ToLower(w.s)
			}
			whole = literal{whole.s + w.s, whole.fold || w.fold}
		}
		if !exact {
			if whole.s != "" {
				req = append(req, whole)
			}
			return req, literal{}, false
		}
		return req, whole, true
	case syntax.OpAlternate:
		// What every branch needs.
		for i, sub := range re.Sub {
			r, w, ex := literalsOf(sub)
			if ex {
				r = append(r, w)
			}
			if i == 0 {
				req = r
				continue
			}
			req = slices.DeleteFunc(req, func(l literal) bool { return !slices.Contains(r, l) })
		}
		return req, literal{}, false
	}
	return nil, literal{}, false
}

// anchoredRegexp runs a regexp every match of which starts with one of a
// few literals (after an optional \b), as most of gitleaks' vendor rules
// do (\b(hvs\.…|s\.…)): a match can only start where one of them is, so
// the regexp runs anchored there instead of over the whole text, which
// Go's regexp scans at some 30 ns a byte. It finds what the regexp's
// FindAllStringSubmatchIndex finds (TestGitleaksAnchored,
// FuzzGitleaksAnchored): leftmost-first, the first candidate with a
// match is the leftmost match, and non-empty matches never overlap.
type anchoredRegexp struct {
	re *regexp.Regexp // anchorSrc.pattern
	*anchorSrc
}

// anchorSrc is what anchorOf finds in a regexp. It is generated into the
// default table: printing a parsed regexp, as anchorOf does, costs ten
// times what compiling it does.
type anchorSrc struct {
	pattern string    // ^(?:the regexp without its \b, or its lead)
	lits    []literal // a fold literal: ASCII lower case, no k or s
	wordB   bool      // a match starts at a word boundary
	maxLen  int       // bytes in a match at most; -1: unbounded
	// lead: a match starts with up to leadMax runes of this class (rune
	// ranges, never holding utf8.RuneError), as few as it can, then the
	// pattern.
	lead    []rune
	leadMax int
}

// maxAnchorLits bounds the literals searched for.
const maxAnchorLits = 8

// anchorOf returns how to run expr anchored, or nil if its matches do
// not all start with a literal.
func anchorOf(expr string) *anchorSrc {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	body, wordB := re, false
	if re.Op == syntax.OpConcat && len(re.Sub) >= 2 && re.Sub[0].Op == syntax.OpWordBoundary {
		body, wordB = &syntax.Regexp{Op: syntax.OpConcat, Flags: re.Flags, Sub: re.Sub[1:]}, true
	}
	src := &anchorSrc{wordB: wordB}
	if src.lits = firstLiterals(body); len(src.lits) == 0 && !wordB && body.Op == syntax.OpConcat && len(body.Sub) >= 2 {
		// gitleaks' generic shape, (?i)[\w.-]{0,50}?(?:twitter)…: a lazy
		// run of a class, then the rest from a literal on. The rest runs
		// anchored at the literal, and the match starts where the run
		// before it does.
		lead, rest := body.Sub[0], body.Sub[1]
		if len(body.Sub) > 2 {
			rest = &syntax.Regexp{Op: syntax.OpConcat, Flags: body.Flags, Sub: body.Sub[1:]}
		}
		if lead.Op == syntax.OpRepeat && lead.Min == 0 && lead.Max >= 0 && lead.Flags&syntax.NonGreedy != 0 &&
			lead.Sub[0].Op == syntax.OpCharClass && !inClass(lead.Sub[0].Rune, utf8.RuneError) {
			src.lits, src.lead, src.leadMax = firstLiterals(rest), lead.Sub[0].Rune, lead.Max
			body = rest
		}
	}
	if len(src.lits) == 0 {
		return nil
	}
	src.maxLen = maxBytes(body)
	src.pattern = `^(?:` + body.String() + `)`
	if anchored, err := regexp.Compile(src.pattern); err != nil || anchored.NumSubexp() != re.MaxCap() {
		return nil
	}
	return src
}

func inClass(class []rune, r rune) bool {
	for i := 0; i+1 < len(class); i += 2 {
		if class[i] <= r && r <= class[i+1] {
			return true
		}
	}
	return false
}

// firstLiterals returns literals one of which starts every match of re,
// or nil. A case-insensitive literal is cut before its first k or s,
// whose case-folds include non-ASCII runes.
func firstLiterals(re *syntax.Regexp) []literal {
	switch re.Op {
	case syntax.OpLiteral:
		s := string(re.Rune)
		fold := re.Flags&syntax.FoldCase != 0
		if fold {
			s = strings.ToLower(s)
			if i := strings.IndexAny(s, "ks"); i >= 0 {
				s = s[:i]
			}
		}
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				s = s[:i]
				break
			}
		}
		if s == "" {
			return nil
		}
		return []literal{{s, fold}}
	case syntax.OpCapture, syntax.OpPlus:
		return firstLiterals(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min < 1 {
			return nil
		}
		return firstLiterals(re.Sub[0])
	case syntax.OpConcat:
		first := firstLiterals(re.Sub[0])
		// A whole literal followed by more literals: their products are
		// longer, so rarer, candidates (A(?:KIA|SIA) is AKIA, ASIA).
		if len(first) != 1 || re.Sub[0].Op != syntax.OpLiteral || len(first[0].s) != len(string(re.Sub[0].Rune)) || len(re.Sub) < 2 {
			return first
		}
		next := firstLiterals(re.Sub[1])
		if len(next) == 0 || len(next) > maxAnchorLits {
			return first
		}
		out := make([]literal, 0, len(next))
		for _, n := range next {
			if n.fold != first[0].fold {
				return first
			}
			out = append(out, literal{first[0].s + n.s, n.fold})
		}
		return out
	case syntax.OpAlternate:
		var out []literal
		for _, sub := range re.Sub {
			lits := firstLiterals(sub)
			if len(lits) == 0 {
				return nil
			}
			out = append(out, lits...)
		}
		if len(out) > maxAnchorLits {
			return nil
		}
		return out
	}
	return nil
}

// maxBytes is the most bytes a match of re can span, or -1.
func maxBytes(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return 0
	case syntax.OpLiteral, syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		if re.Op == syntax.OpLiteral {
			return utf8.UTFMax * len(re.Rune)
		}
		return utf8.UTFMax
	case syntax.OpCapture, syntax.OpQuest:
		return maxBytes(re.Sub[0])
	case syntax.OpRepeat:
		n := maxBytes(re.Sub[0])
		if n < 0 || re.Max < 0 {
			return -1
		}
		return n * re.Max
	case syntax.OpConcat, syntax.OpAlternate:
		total := 0
		for _, sub := range re.Sub {
			n := maxBytes(sub)
			if n < 0 {
				return -1
			}
			if re.Op == syntax.OpConcat {
				total += n
			} else {
				total = max(total, n)
			}
		}
		return total
	}
	return -1 // star, plus
}

// findAll is FindAllStringSubmatchIndex(t, -1) of the whole regexp. The
// literal's occurrences are tried in order, and the first that starts a
// match starts the leftmost one. With a lead, the pattern starts at the
// first occurrence where it matches, and the match where the longest run
// of lead runes before it does: from any earlier start that occurrence is
// out of reach, and so are the later ones; the lead being lazy, the
// pattern starts at the first occurrence it reaches where it matches.
func (a *anchoredRegexp) findAll(t string) [][]int {
	var out [][]int
	var next [maxAnchorLits]int // where each literal is next, from from on
	for k := range a.lits {
		next[k] = -1
	}
	pos := 0  // the next match starts here or after
	from := 0 // where the literals are looked for
	for from < len(t) {
		q := len(t)
		for k, l := range a.lits {
			if next[k] >= 0 && next[k] < from {
				next[k] = -1
			}
			if next[k] < 0 {
				next[k] = len(t)
				if j := indexLiteral(t[from:], l); j >= 0 {
					next[k] = from + j
				}
			}
			q = min(q, next[k])
		}
		if q == len(t) {
			break
		}
		from = q + 1
		m := a.matchAt(t, q)
		if m == nil {
			continue
		}
		if a.lead != nil {
			m[0] = a.leadStart(t, q, pos)
		}
		out = append(out, m)
		pos = m[1]
		from = max(from, pos)
	}
	return out
}

// leadStart is the first rune start at or after floor from which only
// lead runes, leadMax at most, come before q.
func (a *anchoredRegexp) leadStart(t string, q, floor int) int {
	p := q
	for n := 0; n < a.leadMax && p > floor; n++ {
		r, w := utf8.DecodeLastRuneInString(t[floor:p])
		if r == utf8.RuneError || !inClass(a.lead, r) {
			break
		}
		p -= w
	}
	return max(p, floor)
}

// matchAt is the regexp's match starting at p, if there is one.
func (a *anchoredRegexp) matchAt(t string, p int) []int {
	if a.wordB && wordByteAt(t, p-1) == wordByteAt(t, p) {
		return nil
	}
	end := len(t)
	if a.maxLen >= 0 && p+a.maxLen+1 < end {
		// A match ends by p+maxLen; the byte after it is still seen by a
		// \b or $ there.
		end = p + a.maxLen + 1
	}
	m := a.re.FindStringSubmatchIndex(t[p:end])
	for k := range m {
		if m[k] >= 0 {
			m[k] += p
		}
	}
	return m
}

// wordByteAt: \b's word characters are ASCII.
func wordByteAt(t string, i int) bool {
	if i < 0 || i >= len(t) {
		return false
	}
	c := t[i]
	return c < 0x80 && syntax.IsWordChar(rune(c))
}

func indexLiteral(t string, l literal) int {
	if !l.fold {
		return strings.Index(t, l.s)
	}
	for i := 0; i+len(l.s) <= len(t); i++ {
		if lowerByte(t[i]) == l.s[0] && containsFoldASCII(t[i:i+len(l.s)], l.s) {
			return i
		}
	}
	return -1
}
