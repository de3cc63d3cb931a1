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
//   - vars: no code, the correlation model (see below) for people to check.
//
// # Correlation
//
// A session that creates a cluster and then edits it sends, in the second
// call, an id the first call's answer produced. Package correlate finds
// these values; the bash script and the Go program take each from the live
// answer that produces it (jq -er in bash, encoding/json in Go) and send it
// wherever the recording had it, percent-encoded where the recording was,
// so they provision again and again on a fresh server. A call whose
// answer lacks a value stops the run: "apitape: call 3 (POST /v3/cluster)
// produced no .id for CLUSTER_ID". curl commands keep the recorded values
// (paste-ready, as the recording sent them) and say in comments which
// value came from which answer; values the analysis marks secret (a
// login's token) become variables there, never written out.
// [Options.NoCorrelate] turns detection off; [Options.Vars] adds values it
// missed.
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
// Entries are read one at a time, on a goroutine of their own. With
// correlation every call is built before the first is written (see
// [Convert]). bash and Go output is spooled (in memory up to a few MiB,
// then in a temporary file) because their first lines list the
// environment variables the calls need, which are known only at the end.
// [ConvertTo] writes several formats from one reading, call by call.
package convert

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	cred "github.com/apitape/apitape/internal/credential"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/correlate"
	"github.com/apitape/apitape/internal/selection"
)

// Options configure a conversion.
type Options struct {
	// Format is "curl", "bash", "go" or "vars" (see [Formats]).
	Format string
	// Name is the input's name for errors and the generated header
	// ("-" for standard input).
	Name string
	// Selection chooses the entries; the zero value keeps API calls only.
	Selection selection.Filter
	// BaseURL, when set, replaces the recorded scheme, host and port of
	// every call (path and query bytes are kept). A path in it is a prefix.
	BaseURL string
	// Exact keeps every recorded header and value byte for byte: no noise
	// dropped, no credential turned into a variable.
	Exact bool
	// Redact, when set, rewrites each entry's raw JSON before conversion
	// (the redact stage plugs in here); index is the entry's index.
	Redact func(index int, raw []byte) ([]byte, error)
	// NoCorrelate turns off the detection of values that later calls take
	// from earlier answers; Vars still apply.
	NoCorrelate bool
	// Vars are values the user declares (--var NAME=SOURCE@CALL) that the
	// analysis missed.
	Vars []correlate.Manual
	// NoVar are found variables to send as recorded (--no-var NAME).
	NoVar []string
	// Auth replaces the recorded browser session with one API credential
	// header (--auth).
	Auth *Auth
	// AddProducers adds to the selected calls every call the selection
	// left out whose answer produces a value they send (the page that set
	// the session cookie, the one that carried the CSRF token): the
	// default selection's behaviour. It needs correlation.
	AddProducers bool
}

// Stats describe a finished conversion.
type Stats struct {
	Entries   int // entries read
	Converted int // calls written
	Skipped   int // entries left out by the selection
	// WebSockets and other entries that were selected but cannot be
	// converted; each gets a comment in the output.
	Unconvertible int
	// Unsendable counts the selected entries whose URL cannot be sent
	// (relative, javascript:, no host; also in Unconvertible), and
	// UnsendableFirst says which and why for the first few ("entry 3:
	// request.url: relative URL cannot be sent").
	Unsendable      int
	UnsendableFirst []string
	// Env are the environment variables the output needs.
	Env []string
	// Chained are the values later calls take from earlier answers, by
	// name, in the order the calls produce them.
	Chained []string
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
		{"vars", "the values later calls take from earlier answers, and where (no code)"},
		{"python", "one Python script using requests: BASE_URL, checks"},
		{"httpie", "one bash script of HTTPie (http) commands, like bash"},
		{"fetch", "one Node (18 or later) ES module using the global fetch"},
		{"locust", "a locustfile: each simulated user runs the calls with values of its own"},
	}
}

// Format is an output format.
type Format struct {
	Name        string
	Description string
}

// ErrUnknownFormat is returned for a Format that Formats does not list.
var ErrUnknownFormat = errors.New("unknown format")

// VarError is a problem with a declared variable (Options.Vars): a name
// the output uses, an entry that is not selected, a source that holds no
// value. Its message names the variable, never a value.
type VarError struct{ Err error }

func (e *VarError) Error() string { return e.Err.Error() }
func (e *VarError) Unwrap() error { return e.Err }

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
	// chained are the correlated values the calls take from earlier
	// answers, in producing order; uri: some are sent percent-encoded.
	chained []taken
	uri     bool
	// hostCase: some call spells its Host header otherwise than "Host",
	// which the Go output sends with a client of its own.
	hostCase bool
	// added are the calls the selection left out that are sent because
	// later calls take values from their answers ("N (METHOD path)");
	// loginsLeft the logins --auth makes needless.
	added      []string
	loginsLeft []string
	// labels are the producing calls' labels, by entry index; envFrom
	// says where each environment variable first appears.
	labels  map[int]string
	envFrom map[string]envPlace
	auth    *Auth
}

func (s *session) use(v value) {
	for _, p := range v {
		if p.Env != "" && !slices.Contains(s.env, p.Env) {
			s.env = append(s.env, p.Env)
		}
		if p.Var != nil && p.Enc == correlate.EncodedURL {
			s.uri = true
		}
	}
}

// originOr is the base URL's default: the session's origin, if it has one.
func originOr(s *session) string {
	if s.origin == "" {
		return "http://localhost"
	}
	return s.origin
}

// sortEnv orders variables for the reader: the session credentials in a
// fixed order, then redaction placeholders by name.
func sortEnv(env []string) {
	first := []string{EnvCookie, EnvAuthorization, EnvCSRF, EnvRancherToken}
	rank := func(name string) int {
		if i := slices.Index(first, name); i >= 0 {
			return i
		}
		return len(first)
	}
	slices.SortStableFunc(env, func(a, b string) int {
		return cmp.Or(rank(a)-rank(b), strings.Compare(a, b))
	})
}

func newEmitter(opts Options) (emitter, error) {
	switch opts.Format {
	case "curl":
		return &curlEmitter{skipComment: "#", exact: opts.Exact}, nil
	case "bash":
		return &bashEmitter{skipComment: "#"}, nil
	case "go":
		return &goEmitter{"\t//"}, nil
	case "vars":
		return nil, nil
	case "python":
		return &pythonEmitter{skipComment: "    #"}, nil
	case "httpie":
		return &httpieEmitter{"#"}, nil
	case "fetch":
		return &fetchEmitter{"//"}, nil
	case "locust":
		return &pythonEmitter{skipComment: "    #", locust: true}, nil
	}
	return nil, fmt.Errorf("%w %q: want curl, bash, go, vars, python, httpie, fetch or locust", ErrUnknownFormat, opts.Format)
}

// Convert reads entries from r and writes them to w in opts.Format. Errors
// about the input are *har.Error values naming the entry and the field;
// errors about Options.Vars are *VarError values.
//
// Correlation needs every selected entry before the first call is
// written, so unless it is off (NoCorrelate and no Vars) the input is
// read once for the analysis, which keeps only the values and tokens it
// needs, while the calls are held (in memory up to a bound, then the
// entries in a temporary file of mode 0600 that is removed at once) for
// the pass that writes the output. Memory stays bounded by the number of
// distinct values, not by the size of the input.
func Convert(r *har.Reader, w io.Writer, opts Options) (Stats, error) {
	return ConvertTo(r, []Output{{opts.Format, w}}, opts)
}

// Output is one format of a conversion and where it goes.
type Output struct {
	Format string
	W      io.Writer
}

// ConvertTo is Convert into several formats at once (opts.Format is not
// used): the input is read, analysed and turned into calls once, and each
// output is the same as Convert would write for its format alone.
func ConvertTo(r *har.Reader, outs []Output, opts Options) (Stats, error) {
	var st Stats
	if opts.Exact {
		// The recorded bytes: nothing taken from live answers but what
		// --var declares.
		opts.NoCorrelate = true
	}
	if len(outs) == 0 {
		return st, fmt.Errorf("%w: no output format", ErrUnknownFormat)
	}
	ems := make([]emitter, len(outs))
	vars := false
	for i, o := range outs {
		em, err := newEmitter(Options{Format: o.Format, Exact: opts.Exact})
		if err != nil {
			return st, err
		}
		ems[i] = em
		vars = vars || em == nil
	}
	b := &builder{exact: opts.Exact, auth: opts.Auth, redacted: opts.Redact != nil, csrf: map[string]bool{}}
	if opts.BaseURL != "" {
		base, err := CheckBaseURL(opts.BaseURL)
		if err != nil {
			return st, err
		}
		b.baseURL = base
	}
	name := cmp.Or(opts.Name, "-")
	sess := &session{name: name, exact: opts.Exact, labels: map[int]string{}, envFrom: map[string]envPlace{}, auth: opts.Auth}
	correlating := vars || !opts.NoCorrelate || len(opts.Vars) > 0
	hs := &harSource{r: r, name: name, redact: opts.Redact, sel: opts.Selection, st: &st,
		extras: opts.AddProducers && correlating}
	defer hs.close()
	var src source = hs
	var cor *correlation
	if correlating {
		var err error
		cor, err = analyze(src, b, name, opts)
		if err != nil {
			return st, err
		}
		defer cor.close()
		for _, t := range cor.chained {
			st.Chained = append(st.Chained, t.v.Name)
		}
		src = cor.source(name)
		sess.chained = cor.chained
	}

	// Each output's body goes straight out, or to a spool when its head
	// needs the whole session (the variables the calls use).
	type sink struct {
		em   emitter
		out  *bufio.Writer
		body *bufio.Writer
		sp   *spool
	}
	var sinks []*sink
	for i, em := range ems {
		if em == nil {
			continue
		}
		k := &sink{em: em, out: bufio.NewWriterSize(outs[i].W, 64<<10)}
		k.body = k.out
		if em.spooled() {
			k.sp = &spool{}
			defer k.sp.close()
			k.body = bufio.NewWriterSize(k.sp, 64<<10)
		} else {
			em.head(k.out, sess)
		}
		sinks = append(sinks, k)
	}
	var rw rewriter
	if cor != nil {
		rw = cor.rewrite
	}
	// prepare completes a call for writing and notes what it needs.
	prepare := func(it item) (*call, error) {
		c := it.call
		if c == nil {
			var err error
			entryRW := rw
			if cor != nil && !cor.model.HasUses(it.index) {
				entryRW = nil // each field is literal
			}
			c, err = b.build(it.index, it.entry, entryRW)
			if err != nil {
				return nil, entryError(name, it.index, err)
			}
		}
		if cor != nil {
			c.produces = cor.produced(it.index)
		}
		c.label = c.method + " " + c.path.label()
		if opts.Auth != nil && len(c.produces) == 0 && c.sendsPassword() {
			// The browser's login: --auth's credential replaces the
			// session it opened, and the password is not needed.
			sess.loginsLeft = append(sess.loginsLeft, strconv.Itoa(c.index)+" ("+c.label+")")
			st.Skipped++
			return nil, nil
		}
		if len(c.produces) > 0 {
			sess.labels[c.index] = c.label
		}
		if it.extra {
			sess.added = append(sess.added, strconv.Itoa(c.index)+" ("+c.label+")")
			if b.baseURL == "" {
				c.base = c.origin == b.origin // built before the origin was known
			}
		}
		if !c.has("Cookie") && !c.has("Authorization") {
			st.NoCredentials++
		}
		c.values(sess.use)
		sess.hostCase = sess.hostCase || slices.ContainsFunc(c.headers, header.spelt)
		sess.noteEnv(c)
		sess.calls++
		return c, nil
	}
	for len(sinks) > 0 {
		it, err := src.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, err
		}
		if it.extra && (cor == nil || !cor.needed[it.index]) {
			st.Skipped++
			continue
		}
		if it.entry == nil && it.call == nil {
			st.Unconvertible++
			st.noteUnsendable(it)
			for _, k := range sinks {
				k.em.skip(k.body, it.index, it.reason)
			}
			continue
		}
		c, err := prepare(it)
		if err != nil {
			return st, err
		}
		if c == nil {
			continue // a login --auth replaces
		}
		for _, k := range sinks {
			if err := k.em.call(k.body, c); err != nil {
				return st, entryError(name, it.index, err)
			}
		}
	}
	sess.origin = b.origin
	sortEnv(sess.env)
	if b.baseURL != "" {
		sess.origin = b.baseURL
	}
	for _, k := range sinks {
		if k.sp != nil {
			if err := k.body.Flush(); err != nil {
				return st, err
			}
			k.em.head(k.out, sess)
			r, err := k.sp.reader()
			if err == nil {
				_, err = io.Copy(k.out, r)
			}
			if err != nil {
				return st, err
			}
		}
		k.em.tail(k.out, sess)
		if err := k.out.Flush(); err != nil {
			return st, err
		}
	}
	st.Converted = sess.calls
	st.Env = sess.env
	if len(sinks) == 0 {
		st.Converted = 0
	}
	for i, em := range ems {
		if em == nil {
			if err := cor.write(outs[i].W); err != nil {
				return st, err
			}
		}
	}
	return st, nil
}

// item is one selected entry: a call to convert, or (entry nil) one that
// cannot be, for the reason given.
type item struct {
	index  int
	entry  *har.Entry
	reason string
	call   *call // built by the first pass; nil: build it
	size   int   // the entry's size in the input
	// extra: the selection left it out; it is sent only when a selected
	// call takes a value from its answer (Options.AddProducers).
	extra bool
}

// source gives the selected entries in order; io.EOF at the end.
type source interface {
	next() (item, error)
}

// harSource reads the input, redacts, selects and counts. Reading and
// decoding run on their own goroutine, a few batches ahead of the
// conversion: on two cores that halves the time, and the batches are
// bounded in entries and bytes, so memory still does not grow with the
// input.
type harSource struct {
	r      *har.Reader
	name   string
	redact func(int, []byte) ([]byte, error)
	sel    selection.Filter
	st     *Stats
	extras bool // yield the entries the selection leaves out, marked extra

	batches chan *batch
	stop    chan struct{}
	cur     *batch
}

// A batch is what the reading goroutine hands over at once; entries and
// skipped count what it read, for Stats.
type batch struct {
	items            []item
	entries, skipped int
	err              error
}

const (
	batchEntries = 64
	batchBytes   = 4 << 20
)

func (h *harSource) start() {
	h.batches = make(chan *batch, 2)
	h.stop = make(chan struct{})
	go func() {
		defer close(h.batches)
		for {
			b := h.read()
			select {
			case h.batches <- b:
			case <-h.stop:
				return
			}
			if b.err != nil {
				return
			}
		}
	}()
}

// read fills one batch; it runs on the reading goroutine.
func (h *harSource) read() *batch {
	b := &batch{}
	size := 0
	for len(b.items) < batchEntries && size < batchBytes {
		e, err := next(h.r, h.name, h.redact)
		if err != nil {
			b.err = err
			return b
		}
		b.entries++
		size += len(h.r.Raw())
		index := h.r.Index()
		if !h.sel.Keep(index, e) {
			if h.extras && e.Response.Status != 0 && skipReason(e) == "" {
				// Counted as skipped by the second pass unless needed.
				b.items = append(b.items, item{index: index, entry: e, size: len(h.r.Raw()), extra: true})
				continue
			}
			b.skipped++
			continue
		}
		if reason := skipReason(e); reason != "" {
			b.items = append(b.items, item{index: index, reason: reason})
			continue
		}
		b.items = append(b.items, item{index: index, entry: e, size: len(h.r.Raw())})
	}
	return b
}

func (h *harSource) next() (item, error) {
	if h.batches == nil {
		h.start()
	}
	for h.cur == nil || len(h.cur.items) == 0 {
		if h.cur != nil && h.cur.err != nil {
			return item{}, h.cur.err
		}
		b, ok := <-h.batches
		if !ok {
			return item{}, io.EOF
		}
		h.st.Entries += b.entries
		h.st.Skipped += b.skipped
		h.cur = b
	}
	it := h.cur.items[0]
	h.cur.items = h.cur.items[1:]
	return it, nil
}

// close stops the reading goroutine and waits for it: the reader and the
// redaction hook are the caller's again.
func (h *harSource) close() {
	if h.batches == nil {
		return
	}
	close(h.stop)
	for range h.batches {
	}
}

// next reads the next entry, through the redaction hook when there is
// one.
func next(r *har.Reader, name string, redact func(int, []byte) ([]byte, error)) (*har.Entry, error) {
	if redact == nil {
		return r.Next()
	}
	// Only the redacted text is decoded: decoding the input too was a
	// third of the reading goroutine's time besides redaction. When
	// anything fails, the input's own error (file, entry, field, offset)
	// comes first, as if it had been decoded.
	raw, err := r.NextRaw()
	if err != nil {
		return nil, err
	}
	out, rerr := redact(r.Index(), raw)
	if rerr != nil {
		if err := inputError(r, name, raw); err != nil {
			return nil, err
		}
		return nil, entryError(name, r.Index(), rerr)
	}
	e, err := har.ParseEntry(out)
	if err != nil {
		if ierr := inputError(r, name, raw); ierr != nil {
			return nil, ierr
		}
		var he *har.Error
		if errors.As(err, &he) {
			he.File, he.Entry = name, r.Index()
		}
		return nil, err
	}
	return e, nil
}

// inputError is the error reading the entry r last returned, raw, gives,
// if any: that of har.Reader.Next.
func inputError(r *har.Reader, name string, raw []byte) error {
	_, err := har.ParseEntry(raw)
	var he *har.Error
	if errors.As(err, &he) {
		he.File, he.Entry = name, r.Index()
		if he.Offset >= 0 {
			he.Offset += r.EntryError("", "").Offset // from the entry's start to the file's
		}
	}
	return err
}

func entryError(name string, index int, err error) error {
	var he *har.Error
	if errors.As(err, &he) {
		if he.File == "" {
			he.File = name // the redaction stage does not know it
		}
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
		return "", fmt.Errorf("base URL %q: want http(s)://host[:port][/prefix]", cred.MaskURL(s))
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("base URL %q: no query, fragment or user info", cred.MaskURL(s))
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f || strings.ContainsRune("\"'\\`<>{}|^$", r) }); i >= 0 {
		return "", fmt.Errorf("base URL %q: contains %q", cred.MaskURL(s), s[i])
	}
	return strings.TrimRight(s, "/"), nil
}

// spool holds the body of a bash or Go output until its head can be
// written: in memory up to spoolMemory bytes, then in a temporary file, so
// a huge session converts in bounded memory.
type spool struct {
	// mem is in chunks, so that growing it never copies what it holds.
	mem  [][]byte
	size int
	file *os.File
}

const (
	spoolMemory = 8 << 20
	spoolChunk  = 256 << 10
)

func (s *spool) Write(p []byte) (int, error) {
	if s.file == nil && s.size+len(p) <= spoolMemory {
		n := len(p)
		for len(p) > 0 {
			last := len(s.mem) - 1
			if last < 0 || len(s.mem[last]) == cap(s.mem[last]) {
				s.mem = append(s.mem, make([]byte, 0, spoolChunk))
				last++
			}
			k := min(len(p), cap(s.mem[last])-len(s.mem[last]))
			s.mem[last] = append(s.mem[last], p[:k]...)
			p = p[k:]
		}
		s.size += n
		return n, nil
	}
	if s.file == nil {
		f, err := os.CreateTemp("", "apitape-convert-*")
		if err != nil {
			return 0, err
		}
		os.Remove(f.Name()) // gone when closed, whatever happens
		s.file = f
		for _, chunk := range s.mem {
			if _, err := f.Write(chunk); err != nil {
				return 0, err
			}
		}
		s.mem = nil
	}
	return s.file.Write(p)
}

// reader rewinds the spool for reading; writing is over.
func (s *spool) reader() (io.Reader, error) {
	if s.file == nil {
		rs := make([]io.Reader, len(s.mem))
		for i, chunk := range s.mem {
			rs[i] = bytes.NewReader(chunk)
		}
		return io.MultiReader(rs...), nil
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return s.file, nil
}

func (s *spool) close() {
	if s.file != nil {
		s.file.Close()
	}
}

// maxUnsendable bounds Stats.UnsendableFirst.
const maxUnsendable = 10

func (st *Stats) noteUnsendable(it item) {
	if !strings.HasPrefix(it.reason, unsendable) {
		return
	}
	st.Unsendable++
	if len(st.UnsendableFirst) < maxUnsendable {
		st.UnsendableFirst = append(st.UnsendableFirst, fmt.Sprintf("entry %d: %s", it.index, it.reason))
	}
}
