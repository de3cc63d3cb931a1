package replay

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/apitape/apitape/internal/credential"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/correlate"
	"github.com/apitape/apitape/internal/selection"
)

// FailOn says which differences make a call fail (and the replay exit 1).
type FailOn string

// FailOn values. Transport errors always fail.
const (
	FailStatus FailOn = "status" // only status codes
	FailBody   FailOn = "body"   // status codes and bodies
	FailAny    FailOn = "any"    // also headers and slowdowns
)

// Runner replays recorded calls against a target and compares the answers.
// Configure it with options; it is not reusable across concurrent Runs.
type Runner struct {
	target         *targetURL
	baseline       *targetURL
	client         *http.Client
	concurrency    int
	rate           float64
	timeout        time.Duration
	headers        []headerTemplate
	rules          []Rule
	builtin        bool
	noiseRuns      int
	correlation    correlate.Options
	heuristicOnly  bool // tests: no model, the heuristic's values carried (replay before package correlate)
	allowMutations bool
	getenv         func(string) string
	progress       func(Progress)
	failOn         FailOn
	compareHeaders []string
	maxBody        int64
	slowdown       time.Duration
	source         string
}

// Option configures a [Runner].
type Option func(*Runner) error

// Progress is reported after every call.
type Progress struct {
	Done, Total, Failed int
}

// New returns a Runner for target, an http or https URL whose scheme, host,
// port and optional path prefix replace the recorded ones.
func New(target string, opts ...Option) (*Runner, error) {
	t, err := parseTarget(target)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	r := &Runner{
		target:         t,
		concurrency:    1,
		timeout:        30 * time.Second,
		builtin:        true,
		getenv:         os.Getenv,
		failOn:         FailAny,
		compareHeaders: defaultCompareHeaders,
		maxBody:        64 << 20,
	}
	for _, o := range opts {
		if err := o(r); err != nil {
			return nil, err
		}
	}
	if r.client == nil {
		r.client = NewClient(false, r.concurrency*(1+r.noiseRuns))
	}
	return r, nil
}

// WithClient sends through c. Redirects are never followed (each hop is
// its own recorded entry) and c's cookie jar is not used (cookies are sent
// as recorded), whatever c says.
func WithClient(c *http.Client) Option {
	return func(r *Runner) error {
		cc := *c
		cc.CheckRedirect = noRedirect
		cc.Jar = nil
		r.client = &cc
		return nil
	}
}

// WithConcurrency runs up to n independent calls at once (default 1).
func WithConcurrency(n int) Option {
	return func(r *Runner) error {
		if n < 1 {
			return fmt.Errorf("concurrency must be at least 1")
		}
		r.concurrency = n
		return nil
	}
}

// WithRate caps requests per second over all calls (0: no cap).
func WithRate(perSecond float64) Option {
	return func(r *Runner) error {
		if perSecond < 0 {
			return fmt.Errorf("rate must not be negative")
		}
		r.rate = perSecond
		return nil
	}
}

// WithTimeout bounds each request, body included (default 30s).
func WithTimeout(d time.Duration) Option {
	return func(r *Runner) error {
		if d <= 0 {
			return fmt.Errorf("timeout must be positive")
		}
		r.timeout = d
		return nil
	}
}

// WithHeader sets a request header on every call, replacing the recorded
// ones of that name; an empty value removes it. $VAR and ${VAR} in value
// are expanded from the environment ($$ is a dollar sign), and the expanded
// values are kept out of every report.
func WithHeader(name, value string) Option {
	return func(r *Runner) error {
		if !validHeaderName(name) {
			return fmt.Errorf("header %s: not a valid header name", namePrefix(name))
		}
		r.headers = append(r.headers, headerTemplate{name: http.CanonicalHeaderKey(name), value: value})
		return nil
	}
}

// WithIgnore adds ignore rules (see [ParseRule]).
func WithIgnore(rules ...Rule) Option {
	return func(r *Runner) error { r.rules = append(r.rules, rules...); return nil }
}

// WithoutBuiltinRules turns the built-in noise rules off.
func WithoutBuiltinRules() Option {
	return func(r *Runner) error { r.builtin = false; return nil }
}

// WithNoiseRuns replays every non-mutating call n more times against the
// baseline (the target itself unless [WithBaseline]) right after the real
// call, and treats fields that differ between those answers as noise.
func WithNoiseRuns(n int) Option {
	return func(r *Runner) error {
		if n < 0 {
			return fmt.Errorf("noise runs must not be negative")
		}
		r.noiseRuns = n
		return nil
	}
}

// WithBaseline names a known-good server for noise runs. Calls that change
// state are sent to it once too, so that its state keeps in step.
func WithBaseline(baseline string) Option {
	return func(r *Runner) error {
		t, err := parseTarget(baseline)
		if err != nil {
			return fmt.Errorf("baseline: %w", err)
		}
		r.baseline = t
		return nil
	}
}

// WithAllowMutations allows POST, PUT, PATCH and DELETE against a target
// that is not loopback.
func WithAllowMutations(allow bool) Option {
	return func(r *Runner) error { r.allowMutations = allow; return nil }
}

// WithEnv sets how placeholders and $VAR in headers are looked up (default
// os.Getenv); an empty value counts as unset.
func WithEnv(getenv func(string) string) Option {
	return func(r *Runner) error { r.getenv = getenv; return nil }
}

// WithProgress calls fn after every call (from several goroutines, one at
// a time).
func WithProgress(fn func(Progress)) Option {
	return func(r *Runner) error { r.progress = fn; return nil }
}

// WithFailOn sets which differences fail a call (default FailAny).
func WithFailOn(f FailOn) Option {
	return func(r *Runner) error {
		switch f {
		case FailStatus, FailBody, FailAny:
			r.failOn = f
			return nil
		}
		return fmt.Errorf("fail-on %q: want status, body or any", f)
	}
}

// namePrefix quotes a header name up to its first invalid byte: a name
// that is really a header line ("Bearer …") would otherwise put the
// credential in the error.
func namePrefix(name string) string {
	for i := 0; i < len(name); i++ {
		if !validHeaderName(name[i : i+1]) {
			return fmt.Sprintf("%q (then %q)", name[:i], name[i])
		}
	}
	return strconv.Quote(name)
}

// WithCompareHeaders adds response headers to compare besides Content-Type,
// Location and Set-Cookie names; "*" compares every recorded header (the
// volatile ones such as Date are then ignored by rule).
func WithCompareHeaders(names ...string) Option {
	return func(r *Runner) error {
		for _, n := range names {
			if n != "*" && !validHeaderName(n) {
				return fmt.Errorf("compare header %s: not a valid header name", namePrefix(n))
			}
		}
		r.compareHeaders = append(append([]string(nil), defaultCompareHeaders...), canonicalHeaders(names)...)
		return nil
	}
}

// WithSlowdown reports a call whose live answer took longer than the
// recorded one by more than d (0, the default: latency is not compared).
func WithSlowdown(d time.Duration) Option {
	return func(r *Runner) error { r.slowdown = d; return nil }
}

// WithSource names the recording in reports.
func WithSource(name string) Option {
	return func(r *Runner) error { r.source = name; return nil }
}

// NewClient returns the client a Runner uses by default: TLS verified
// unless insecure, no redirects followed, no transparent decompression
// (Accept-Encoding is sent as recorded, filtered to what can be decoded),
// and enough idle connections per host for the concurrency.
func NewClient(insecure bool, conns int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableCompression = true
	tr.MaxIdleConns = max(100, conns*2)
	tr.MaxIdleConnsPerHost = max(2, conns)
	if insecure {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // the user asked: --insecure
	}
	return &http.Client{Transport: tr, CheckRedirect: noRedirect}
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Run replays entries (their indexes in the slice are the call numbers).
// Calls that cannot be replayed (CORS preflights, WebSockets) are skipped.
// The error is non-nil only when nothing could be sent (a missing
// environment variable, a refused mutation: *PreflightError) or when ctx
// ended; the Result then holds what was done.
func (r *Runner) Run(ctx context.Context, entries []*har.Entry) (*Result, error) {
	return r.run(ctx, itemsOf(entries))
}

func itemsOf(entries []*har.Entry) []item {
	items := make([]item, len(entries))
	for i, e := range entries {
		items[i] = item{index: i, entry: e}
	}
	return items
}

// RunReader reads every entry of a HAR, keeps those sel selects (with
// their index in the file as call number) and replays them. Entries must
// all be read first: nothing may be sent before every call has been
// checked.
func (r *Runner) RunReader(ctx context.Context, hr *har.Reader, sel *selection.Filter) (*Result, error) {
	items, err := readItems(hr, sel)
	if err != nil {
		return nil, err
	}
	return r.run(ctx, items)
}

// ReadEntries reads the selected entries of a HAR with their indexes.
func readItems(hr *har.Reader, sel *selection.Filter) ([]item, error) {
	var items []item
	for {
		e, err := hr.Next()
		if errors.Is(err, io.EOF) {
			return items, nil
		}
		if err != nil {
			return nil, err
		}
		if sel != nil && !sel.Keep(hr.Index(), e) {
			continue
		}
		// Refused before anything is sent, as convert does.
		if !har.ValidMethod(e.Request.Method) {
			return nil, hr.EntryError("request.method", "not a valid HTTP method")
		}
		if err := checkHeaders(hr, e); err != nil {
			return nil, err
		}
		items = append(items, item{index: hr.Index(), entry: e})
	}
}

// checkHeaders refuses a request header HTTP cannot carry, as convert
// does, instead of failing that call after the ones before it were sent.
// The name is not quoted: it may hold anything, a secret too.
func checkHeaders(hr *har.Reader, e *har.Entry) error {
	for i, nv := range e.Request.Headers {
		if nv.Name == "" || nv.Name[0] == ':' || hopByHop[http.CanonicalHeaderKey(nv.Name)] {
			continue // skipped when the request is built
		}
		// A header name is a token, as a method is.
		if !har.ValidMethod(nv.Name) {
			return hr.EntryError(fmt.Sprintf("request.headers[%d].name", i), "not a valid header name")
		}
		for j := 0; j < len(nv.Value); j++ {
			if c := nv.Value[j]; (c < ' ' && c != '\t') || c == 0x7f {
				return hr.EntryError(fmt.Sprintf("request.headers[%d].value", i), "contains a line break or control character, which HTTP cannot send")
			}
		}
	}
	return nil
}

type item struct {
	index int
	entry *har.Entry
}

// targetURL is a parsed --target or --baseline.
type targetURL struct {
	raw    string
	scheme string
	host   string // host[:port]
	prefix string // path prefix without trailing slash
}

func (t *targetURL) origin() string { return t.scheme + "://" + t.host }

func parseTarget(s string) (*targetURL, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	scheme = strings.ToLower(scheme)
	if !ok || (scheme != "http" && scheme != "https") {
		return nil, fmt.Errorf("%q: want an http:// or https:// URL", credential.MaskURL(s))
	}
	host, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		host, path = rest[:i], rest[i:]
	}
	if strings.ContainsAny(host, "?#@ ") || strings.ContainsAny(path, "?# ") {
		// Not quoted whole: the credentials, query or fragment refused
		// here are often a password or a token.
		shown := credential.MaskURL(s)
		if i := strings.IndexByte(shown, '#'); i >= 0 {
			shown = shown[:i+1] + "‹hidden›"
		}
		return nil, fmt.Errorf("%q: want scheme://host[:port][/prefix] without query, fragment or credentials", shown)
	}
	if host == "" {
		return nil, fmt.Errorf("%q: missing host", credential.MaskURL(s))
	}
	return &targetURL{raw: s, scheme: scheme, host: strings.ToLower(host), prefix: strings.TrimRight(path, "/")}, nil
}
