// Package convert turns recorded HTTP calls into curl commands, a bash
// provisioning script or a Go program that send exactly the recorded bytes:
// the same method, the same raw path and query (no re-encoding), every
// recorded header in order with its case and repetitions, and the body byte
// for byte, whatever it holds (quotes, $VAR, backticks, CRLF, NUL, invalid
// UTF-8, megabytes). Nothing the recording lacked is added: curl's own
// Accept, User-Agent, Content-Type and Expect headers are suppressed, Go's
// User-Agent and Accept-Encoding too.
//
// # Formats
//
//   - curl: one paste-ready command per call.
//   - bash: one script for the whole session; BASE_URL from the environment,
//     every call checked, every answer kept in a file for later calls.
//   - go: one `package main` program using only the standard library.
//
// # Credentials
//
// By default browser session credentials (Cookie, Authorization and CSRF
// headers) become environment variables (COOKIE, AUTHORIZATION,
// CSRF_TOKEN); a Rancher session (an R_SESS cookie) becomes
// `Authorization: Bearer $RANCHER_TOKEN`; redaction placeholders become
// APITAPE_SECRET_… variables; browser-only noise headers (sec-fetch-*,
// referer, cache validators, …) are dropped. [Options.Exact] keeps every
// recorded header and value as it is (placeholders still become variables,
// since they are not the recorded values). Hop-by-hop and HTTP/2
// pseudo-headers are never sent: no client can send them as recorded.
//
// # Streaming
//
// Entries are read one at a time. curl output is written as it goes; bash
// and Go output is spooled (in memory up to a few MiB, then in a temporary
// file) because their first lines list the environment variables the calls
// need, which are known only at the end.
package convert

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/apitape/apitape/har"
)

// Options configure a conversion.
type Options struct {
	// Format is "curl", "bash" or "go" (see [Formats]).
	Format string
	// Name is the input's name for errors and the generated header
	// ("-" for standard input).
	Name string
	// Selection chooses the entries; the zero value keeps API calls only.
	Selection har.Selection
	// BaseURL, when set, replaces the recorded scheme, host and port of
	// every call (path and query bytes are kept). A path in it is a prefix.
	BaseURL string
	// Exact keeps every recorded header and value byte for byte: no noise
	// dropped, no credential turned into a variable.
	Exact bool
	// Redact, when set, rewrites each entry's raw JSON before conversion
	// (the redact stage plugs in here); index is the entry's index.
	Redact func(index int, raw []byte) ([]byte, error)
}

// Stats describe a finished conversion.
type Stats struct {
	Entries   int // entries read
	Converted int // calls written
	Skipped   int // entries left out by the selection
	// WebSockets and other entries that were selected but cannot be
	// converted; each gets a comment in the output.
	Unconvertible int
	// Env are the environment variables the output needs.
	Env []string
	// NoCredentials counts calls that carry no Cookie or Authorization
	// header: a sanitized HAR (Chrome 130 and later strips them) replays
	// anonymously unless the user adds them.
	NoCredentials int
}

// Formats lists the output formats with a one-line description each.
func Formats() []Format {
	return []Format{
		{"curl", "one paste-ready curl command per call"},
		{"bash", "one bash script for the session: BASE_URL, checks, answers kept in files"},
		{"go", "one Go program (standard library only)"},
	}
}

// Format is an output format.
type Format struct {
	Name        string
	Description string
}

// ErrUnknownFormat is returned for a Format that Formats does not list.
var ErrUnknownFormat = errors.New("unknown format")

// emitter writes one format. call and skip append to the body; head and
// tail are written around it once every call has been seen.
type emitter interface {
	call(w *bufio.Writer, c *call) error
	skip(w *bufio.Writer, index int, reason string)
	head(w *bufio.Writer, s *session)
	tail(w *bufio.Writer, s *session)
	spooled() bool // head needs the whole session: spool the body
}

// session is what the head and tail of an output need to know.
type session struct {
	name   string
	origin string // the base URL's default
	env    []string
	calls  int
	exact  bool
}

func (s *session) use(v value) {
	for _, p := range v {
		if p.Env != "" && !slices.Contains(s.env, p.Env) {
			s.env = append(s.env, p.Env)
		}
	}
}

// sortEnv orders variables for the reader: the session credentials in a
// fixed order, then redaction placeholders by name.
func sortEnv(env []string) {
	rank := func(name string) int {
		switch name {
		case EnvCookie:
			return 0
		case EnvAuthorization:
			return 1
		case EnvCSRF:
			return 2
		case EnvRancherToken:
			return 3
		}
		return 4
	}
	slices.SortStableFunc(env, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
}

func newEmitter(format string) (emitter, error) {
	switch format {
	case "curl":
		return &curlEmitter{}, nil
	case "bash":
		return &bashEmitter{}, nil
	case "go":
		return &goEmitter{}, nil
	}
	return nil, fmt.Errorf("%w %q: want curl, bash or go", ErrUnknownFormat, format)
}

// Convert reads entries from r and writes them to w in opts.Format. Errors
// about the input are *har.Error values naming the entry and the field.
func Convert(r *har.Reader, w io.Writer, opts Options) (Stats, error) {
	var st Stats
	em, err := newEmitter(opts.Format)
	if err != nil {
		return st, err
	}
	b := &builder{exact: opts.Exact}
	if opts.BaseURL != "" {
		base, err := CheckBaseURL(opts.BaseURL)
		if err != nil {
			return st, err
		}
		b.baseURL = base
	}
	name := opts.Name
	if name == "" {
		name = "-"
	}
	sess := &session{name: name, exact: opts.Exact}

	out := bufio.NewWriterSize(w, 64<<10)
	body := out
	var sp *spool
	if em.spooled() {
		sp = &spool{}
		defer sp.close()
		body = bufio.NewWriterSize(sp, 64<<10)
	} else {
		em.head(out, sess)
	}
	sel := opts.Selection
	for {
		e, err := next(r, name, opts.Redact)
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, err
		}
		st.Entries++
		index := r.Index()
		if !sel.Keep(index, e) {
			st.Skipped++
			continue
		}
		if reason := skipReason(e); reason != "" {
			st.Unconvertible++
			em.skip(body, index, reason)
			continue
		}
		c, err := b.build(index, e)
		if err != nil {
			return st, entryError(name, index, err)
		}
		if !c.has("Cookie") && !c.has("Authorization") {
			st.NoCredentials++
		}
		sess.use(c.target)
		for _, h := range c.headers {
			sess.use(h.value)
		}
		sess.use(c.body)
		sess.calls++
		if err := em.call(body, c); err != nil {
			return st, entryError(name, index, err)
		}
	}
	sess.origin = b.origin
	sortEnv(sess.env)
	if b.baseURL != "" {
		sess.origin = b.baseURL
	}
	if sp != nil {
		if err := body.Flush(); err != nil {
			return st, err
		}
		em.head(out, sess)
		if err := sp.copyTo(out); err != nil {
			return st, err
		}
	}
	em.tail(out, sess)
	st.Converted = sess.calls
	st.Env = sess.env
	return st, out.Flush()
}

// next reads the next entry, through the redaction hook when there is one.
func next(r *har.Reader, name string, redact func(int, []byte) ([]byte, error)) (*har.Entry, error) {
	if redact == nil {
		return r.Next()
	}
	raw, err := r.NextRaw()
	if err != nil {
		return nil, err
	}
	raw, err = redact(r.Index(), raw)
	if err != nil {
		return nil, entryError(name, r.Index(), err)
	}
	e, err := har.ParseEntry(raw)
	if err != nil {
		var he *har.Error
		if errors.As(err, &he) {
			he.File, he.Entry = name, r.Index()
		}
		return nil, err
	}
	return e, nil
}

func entryError(name string, index int, err error) error {
	var he *har.Error
	if errors.As(err, &he) {
		return err
	}
	var fe *fieldError
	if errors.As(err, &fe) {
		return &har.Error{File: name, Entry: index, Field: fe.field, Offset: -1, Msg: fe.msg}
	}
	return &har.Error{File: name, Entry: index, Offset: -1, Msg: err.Error()}
}

// CheckBaseURL validates a --base-url and returns it without a trailing
// slash.
func CheckBaseURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("base URL %q: want http(s)://host[:port][/prefix]", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("base URL %q: no query, fragment or user info", s)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f || strings.IndexByte("\"'\\`<>{}|^$", c) >= 0 {
			return "", fmt.Errorf("base URL %q: contains %q", s, c)
		}
	}
	return strings.TrimRight(s, "/"), nil
}

// spool holds the body of a bash or Go output until its head can be
// written: in memory up to spoolMemory bytes, then in a temporary file, so
// a huge session converts in bounded memory.
type spool struct {
	mem  []byte
	file *os.File
}

const spoolMemory = 8 << 20

func (s *spool) Write(p []byte) (int, error) {
	if s.file == nil && len(s.mem)+len(p) <= spoolMemory {
		s.mem = append(s.mem, p...)
		return len(p), nil
	}
	if s.file == nil {
		f, err := os.CreateTemp("", "apitape-convert-*")
		if err != nil {
			return 0, err
		}
		os.Remove(f.Name()) // gone when closed, whatever happens
		s.file = f
		if _, err := f.Write(s.mem); err != nil {
			return 0, err
		}
		s.mem = nil
	}
	return s.file.Write(p)
}

func (s *spool) copyTo(w io.Writer) error {
	if s.file == nil {
		_, err := w.Write(s.mem)
		return err
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err := io.Copy(w, s.file)
	return err
}

func (s *spool) close() {
	if s.file != nil {
		s.file.Close()
	}
}
