package redact

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Rules extend the built-in rules without a new release: more names to
// redact, names to keep, and token patterns. A rules file is YAML or JSON:
//
//	headers: [X-Vendor-Session]        # header values to redact
//	cookies: ["U88+6Et^x"]             # cookie names, matched literally
//	query:   [sig]                     # query and form parameters
//	json:    [vendorSecret, spec.vendor.apiKey]  # keys, or dotted key paths
//	keep:    [spCert]                  # names never redacted by name
//	patterns:
//	  - name: vendor-token
//	    regex: 'vnd_[A-Za-z0-9]{32}'   # a capture group narrows the secret
//	    class: vendor
//
// Names are literal and case-insensitive; keys and parameters also ignore
// '_', '-' and '.' inside a segment.
type Rules struct {
	Headers  []string   `yaml:"headers" json:"headers"`
	Cookies  []string   `yaml:"cookies" json:"cookies"`
	Query    []string   `yaml:"query" json:"query"`
	JSON     []string   `yaml:"json" json:"json"`
	Keep     []string   `yaml:"keep" json:"keep"`
	Patterns []*Pattern `yaml:"patterns" json:"patterns"`

	gitleaks *gitleaksSet // a user's gitleaks config (LoadGitleaksConfig); nil: gitleaks' defaults
}

// Pattern is a user token detector.
type Pattern struct {
	Name  string `yaml:"name" json:"name"`
	Regex string `yaml:"regex" json:"regex"`
	Class string `yaml:"class" json:"class"`
	re    *regexp.Regexp
}

var classShape = newLazyRegexp(`^[a-z0-9]{1,20}$`)

// LoadRules reads a rules file (YAML or JSON).
func LoadRules(path string) (*Rules, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	return ParseRules(data, path)
}

// ParseRules parses rules from YAML or JSON text; name is used in errors.
func ParseRules(data []byte, name string) (*Rules, error) {
	r := new(Rules)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(r); err != nil && !errors.Is(err, io.EOF) { // empty file: no rules
		return nil, fmt.Errorf("%s: %v", name, oneLineErr(err))
	}
	for i, p := range r.Patterns {
		if p == nil || p.Regex == "" {
			return nil, fmt.Errorf("%s: patterns[%d]: regex is empty", name, i)
		}
		re, err := regexp.Compile(p.Regex)
		if err != nil {
			return nil, fmt.Errorf("%s: patterns[%d]: %v", name, i, err)
		}
		if re.NumSubexp() > 1 {
			return nil, fmt.Errorf("%s: patterns[%d]: at most one capture group (the secret)", name, i)
		}
		p.re = re
		if p.Class == "" {
			p.Class = "custom"
		}
		if !classShape.MatchString(p.Class) {
			return nil, fmt.Errorf("%s: patterns[%d]: class must be 1-20 lower-case letters or digits", name, i)
		}
		if p.Name == "" {
			p.Name = fmt.Sprintf("pattern-%d", i)
		}
	}
	return r, nil
}

func oneLineErr(err error) string {
	return string(bytes.Join(bytes.Fields([]byte(err.Error())), []byte(" ")))
}

// lazyRegexp is a regexp compiled on first use. Most processes never take
// most of the package's paths, and compiling every regexp at start cost
// each of them (apitape --version included) about a millisecond: the
// bounded repeats of the token shapes ({36,255}) compile to large programs.
type lazyRegexp struct {
	once sync.Once
	expr string
	re   *regexp.Regexp
}

// lazyRegexps are all of them, for a test that compiles each.
var lazyRegexps []*lazyRegexp

func newLazyRegexp(expr string) *lazyRegexp {
	l := &lazyRegexp{expr: expr}
	lazyRegexps = append(lazyRegexps, l)
	return l
}

func (l *lazyRegexp) get() *regexp.Regexp {
	l.once.Do(func() { l.re = regexp.MustCompile(l.expr) })
	return l.re
}

func (l *lazyRegexp) MatchString(s string) bool { return l.get().MatchString(s) }

func (l *lazyRegexp) FindStringIndex(s string) []int { return l.get().FindStringIndex(s) }

func (l *lazyRegexp) FindStringSubmatchIndex(s string) []int {
	return l.get().FindStringSubmatchIndex(s)
}

func (l *lazyRegexp) ReplaceAllString(src, repl string) string {
	return l.get().ReplaceAllString(src, repl)
}
