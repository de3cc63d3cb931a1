package replay

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/apitape/apitape/internal/placeholder"
	"github.com/apitape/apitape/replay/internal/jsondiff"
)

// Rule declares some differences noise. Build one with [ParseRule]; the
// built-in rules ([BuiltinRules]) are always on unless [WithoutBuiltinRules].
type Rule struct {
	Name   string // how reports name it: the rule's text, or a built-in name
	path   *jsondiff.Pattern
	header string // canonical header name
	value  *regexp.Regexp
	// valueFn is a built-in value rule: it sees the path and both values.
	valueFn func(p jsondiff.Path, rec, live any) bool
}

// ParseRule parses an --ignore rule:
//
//	$.data[*].uuid, **.created   a JSON path pattern (see jsondiff.Pattern)
//	header:X-Request-Id          a response header
//	re:^c-[a-z0-9]{5}$           values that both match the regular expression
func ParseRule(s string) (Rule, error) {
	switch {
	case strings.HasPrefix(s, "header:"):
		name := strings.TrimSpace(strings.TrimPrefix(s, "header:"))
		if name == "" || !validHeaderName(name) {
			return Rule{}, fmt.Errorf("ignore rule %q: not a header name", s)
		}
		return Rule{Name: s, header: textproto.CanonicalMIMEHeaderKey(name)}, nil
	case strings.HasPrefix(s, "re:"):
		re, err := regexp.Compile(strings.TrimPrefix(s, "re:"))
		if err != nil {
			return Rule{}, fmt.Errorf("ignore rule %q: %v", s, err)
		}
		return Rule{Name: s, value: re}, nil
	}
	p, err := jsondiff.ParsePattern(s)
	if err != nil {
		return Rule{}, fmt.Errorf("ignore rule: %v (or use header:NAME, re:REGEX)", err)
	}
	return Rule{Name: s, path: p}, nil
}

func validHeaderName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return s != ""
}

// Built-in rule names, as reports show them.
const (
	RuleTimestamp = "timestamp"        // both values RFC 3339 date-times
	RuleEpochMS   = "timestamp-ms"     // numeric fields named *TS (Rancher's createdTS)
	RuleUUID      = "uuid"             // both values UUIDs
	RuleRancher   = "rancher-volatile" // created, creatorId, uuid, removed, lastUpdateTime, …
	RuleVersion   = "resource-version" // resourceVersion, steve's revision, metadata.uid
	RuleState     = "rancher-state"    // state, transitioning, transitioningMessage
	RuleToken     = "token"            // token fields and token-shaped values
	RuleRedacted  = "redacted"         // the recorded value holds a redaction placeholder
	RuleHeader    = "volatile-header"  // Date, Expires, ETag, Content-Length, request ids, …
	RuleCSRF      = "csrf-cookie"      // Set-Cookie: CSRF=…
	RuleNoise     = "noise-runs"       // differed between runs against the baseline
)

func pathRule(name string, patterns ...string) []Rule {
	out := make([]Rule, len(patterns))
	for i, s := range patterns {
		p, err := jsondiff.ParsePattern(s)
		if err != nil {
			panic(err)
		}
		out[i] = Rule{Name: name, path: p}
	}
	return out
}

// BuiltinRules returns the rules for values that differ on every run of
// any server (timestamps, uuids, tokens) and for Rancher's bookkeeping
// fields (rancher-api.md §11). Server-chosen ids are not ignored: they are
// mapped (see [valueMap]) and compared modulo the mapping.
func BuiltinRules() []Rule {
	var rules []Rule
	rules = append(rules, pathRule(RuleRancher,
		"**.created", "**.createdTS", "**.uuid", "**.creatorId", "**.removed", "**.removedTS",
		"**.lastUpdateTime", "**.lastTransitionTime", "**.lastHeartbeatTime", "**.lastProbeTime",
		`**["field.cattle.io/creatorId"]`, `**["lifecycle.cattle.io/create.*"]`,
		"**.metadata.creationTimestamp", "**.metadata.managedFields")...)
	rules = append(rules, pathRule(RuleVersion,
		"**.resourceVersion", "$.revision", "**.metadata.uid", "**.metadata.generation")...)
	rules = append(rules, pathRule(RuleState,
		"$.state", "$.transitioning", "$.transitioningMessage", "$.metadata.state",
		"$.data[*].state", "$.data[*].transitioning", "$.data[*].transitioningMessage", "$.data[*].metadata.state")...)
	rules = append(rules, pathRule(RuleToken, "**.token", "**.*Token", "**.password", "**.secretKey")...)
	rules = append(rules,
		Rule{Name: RuleRedacted, valueFn: redactedEqual},
		Rule{Name: RuleTimestamp, valueFn: func(_ jsondiff.Path, a, b any) bool { return isTimestamp(a) && isTimestamp(b) }},
		Rule{Name: RuleEpochMS, valueFn: epochMS},
		Rule{Name: RuleUUID, valueFn: func(_ jsondiff.Path, a, b any) bool { return isUUID(a) && isUUID(b) }},
		Rule{Name: RuleToken, valueFn: tokenEqual},
	)
	return rules
}

// volatileHeaders differ between any two responses; they are compared
// only when asked for (--compare-header), and then ignored by rule.
var volatileHeaders = map[string]bool{
	"Date": true, "Expires": true, "Last-Modified": true, "Etag": true, "Age": true,
	"Content-Length": true, "Transfer-Encoding": true, "Connection": true, "Keep-Alive": true,
	"Content-Encoding": true, "Server-Timing": true, "X-Request-Id": true, "X-Correlation-Id": true,
	"X-Trace-Id": true, "Traceparent": true, "Tracestate": true, "Cf-Ray": true, "Report-To": true,
	"Nel": true, "Alt-Svc": true, "Via": true, "X-Runtime": true, "X-Response-Time": true,
}

// isTimestamp matches RFC 3339 date-times without a regular expression:
// it runs on every differing string.
func isTimestamp(v any) bool {
	s, ok := v.(string)
	if !ok || len(s) < 20 || len(s) > 40 {
		return false
	}
	digits := func(i, n int) bool {
		for j := i; j < i+n; j++ {
			if s[j] < '0' || s[j] > '9' {
				return false
			}
		}
		return true
	}
	if !digits(0, 4) || s[4] != '-' || !digits(5, 2) || s[7] != '-' || !digits(8, 2) ||
		(s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(11, 2) || s[13] != ':' || !digits(14, 2) ||
		s[16] != ':' || !digits(17, 2) {
		return false
	}
	rest := s[19:]
	if rest[0] == '.' {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 1 {
			return false
		}
		rest = rest[i:]
	}
	switch {
	case rest == "Z" || rest == "z":
		return true
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		return rest[1] >= '0' && rest[1] <= '9' && rest[2] >= '0' && rest[2] <= '9' && rest[4] >= '0' && rest[4] <= '9' && rest[5] >= '0' && rest[5] <= '9'
	}
	return false
}

func isUUID(v any) bool {
	s, ok := v.(string)
	if !ok || len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// epochMS ignores numbers in fields named like Rancher's createdTS.
func epochMS(p jsondiff.Path, a, b any) bool {
	k := p.Last()
	if !strings.HasSuffix(k, "TS") || len(k) < 3 {
		return false
	}
	_, na := a.(json.Number)
	_, nb := b.(json.Number)
	return na && nb
}

// tokenShapes are credentials as Rancher and common APIs write them inside
// longer strings (kubeconfigs, registration commands, Authorization
// values): Rancher tokens, JWTs, bearer values, PEM blocks and long base64
// runs (certificate and key data), which are new on every call.
var tokenShapes = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`[a-z][a-z0-9-]*-[a-z0-9]{5}:[a-z0-9]{40,}` +
		`|eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*` +
		`|(?i:bearer) [A-Za-z0-9._~+/=:-]{16,}` +
		`|-----BEGIN [A-Z ]+-----[\s\S]*?-----END [A-Z ]+-----` +
		`|[A-Za-z0-9+/]{100,}={0,2}`)
})

const tokenMask = "‹token›"

// maskTokens replaces credentials inside s; it is also what keeps them out
// of text diffs in reports.
func maskTokens(s string) string {
	if len(s) < 16 {
		return s
	}
	return tokenShapes().ReplaceAllString(s, tokenMask)
}

func tokenEqual(_ jsondiff.Path, a, b any) bool {
	sa, ok1 := a.(string)
	sb, ok2 := b.(string)
	if !ok1 || !ok2 {
		return false
	}
	ma, mb := maskTokens(sa), maskTokens(sb)
	return (ma != sa || mb != sb) && ma == mb
}

// redactedEqual: a recorded string with placeholders matches a live string
// where each placeholder stands for any non-empty text.
func redactedEqual(_ jsondiff.Path, a, b any) bool {
	sa, ok1 := a.(string)
	sb, ok2 := b.(string)
	if !ok1 || !ok2 || !placeholder.Contains(sa) {
		return false
	}
	var re strings.Builder
	re.WriteString(`^`)
	for _, part := range placeholder.Split(sa) {
		if part.Env != "" {
			re.WriteString(`(?s:.+?)`)
		} else {
			re.WriteString(regexp.QuoteMeta(part.Text))
		}
	}
	re.WriteString(`$`)
	if ok, _ := regexp.MatchString(re.String(), sb); ok {
		return true
	}
	// A document inside a string (a kubeconfig's YAML) also holds secrets
	// the recording never had as placeholders, such as per-server
	// certificates: put a token-shaped stand-in where each placeholder was
	// and compare both sides with every token masked.
	var filled strings.Builder
	for _, part := range placeholder.Split(sa) {
		if part.Env != "" {
			filled.WriteString(placeholderStandIn)
		} else {
			filled.WriteString(part.Text)
		}
	}
	return maskTokens(filled.String()) == maskTokens(sb)
}

// placeholderStandIn is masked by tokenShapes both alone (a long base64
// run) and after a Rancher token's name (name-xxxxx:<40 or more>).
var placeholderStandIn = strings.Repeat("b", 120)

// ruleSet is the compiled view of all rules for one comparison.
type ruleSet struct {
	paths   []Rule
	values  []Rule
	headers map[string]string // canonical name → rule
}

func newRuleSet(rules []Rule) *ruleSet {
	rs := &ruleSet{headers: map[string]string{}}
	for _, r := range rules {
		switch {
		case r.path != nil:
			rs.paths = append(rs.paths, r)
		case r.header != "":
			rs.headers[r.header] = r.Name
		case r.value != nil || r.valueFn != nil:
			rs.values = append(rs.values, r)
		}
	}
	return rs
}

func (rs *ruleSet) ignorePath(p jsondiff.Path) string {
	for _, r := range rs.paths {
		if r.path.Match(p) {
			return r.Name
		}
	}
	return ""
}

func (rs *ruleSet) ignoreValue(p jsondiff.Path, rec, live any) string {
	for _, r := range rs.values {
		if r.valueFn != nil {
			if r.valueFn(p, rec, live) {
				return r.Name
			}
			continue
		}
		sa, ok1 := scalarString(rec)
		sb, ok2 := scalarString(live)
		if ok1 && ok2 && r.value.MatchString(sa) && r.value.MatchString(sb) {
			return r.Name
		}
	}
	return ""
}

// maskText applies the value rules to a text body: every match of a user
// regular expression, and every token, is replaced on both sides.
func (rs *ruleSet) maskText(s string) string {
	s = maskTokens(s)
	for _, r := range rs.values {
		if r.value != nil {
			s = r.value.ReplaceAllString(s, "‹"+r.Name+"›")
		}
	}
	return s
}

// ignoreHeader names the rule that ignores a header, or "".
func (rs *ruleSet) ignoreHeader(name string) string {
	if r, ok := rs.headers[name]; ok {
		return r
	}
	if volatileHeaders[name] {
		return RuleHeader
	}
	return ""
}

func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// defaultCompareHeaders are compared on every call: what a client acts on.
var defaultCompareHeaders = []string{"Content-Type", "Location", "Set-Cookie"}

func canonicalHeaders(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, http.CanonicalHeaderKey(n)) // "*" stays "*"
	}
	return out
}
