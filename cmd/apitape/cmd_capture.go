package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/apitape/apitape/capture"
	"github.com/apitape/apitape/capture/proxy"
	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/atomicfile"
	"github.com/apitape/apitape/internal/ca"
	"github.com/apitape/apitape/internal/english"
	"github.com/apitape/apitape/internal/selection"
	"github.com/apitape/apitape/redact"
)

const captureUsage = `Usage:
    apitape capture proxy -o FILE [flags]         record the calls any client sends through a proxy
    apitape capture browser URL -o FILE [flags]   record the calls a web UI makes in Chromium

Run 'apitape capture proxy --help' or 'apitape capture browser --help' for flags.
`

const captureProxyUsage = `Usage:
    apitape capture proxy -o FILE [flags]

Runs an HTTP proxy that forwards every call and records it as HAR. HTTPS is
decrypted with apitape's certificate authority, created on first use ('apitape
ca init' shows how to make a client trust it). Clients and servers get each
other's bytes as sent; HTTP/2 is spoken when both sides offer it. Each call is
written to FILE as soon as it completes, redacted first, so FILE is valid HAR
at every moment and a crash loses nothing already recorded. Stop with Ctrl-C
(or SIGTERM): FILE is then redacted again with every secret the session
revealed, which catches a secret that an answer showed before a request used
it; after a kill -9, run 'apitape redact' on FILE before sharing it.

Flags:
    -o, --output FILE        the HAR file to write (required; replaced if it exists)
        --listen ADDR        where to listen (default 127.0.0.1:8080; port 0 picks
                             a free one). Another address than loopback must be
                             written out, e.g. 0.0.0.0:8080, and lets anyone who
                             can reach it use the proxy
        --ca-dir DIR         the CA's directory (default ~/.config/apitape/ca)
        --max-body SIZE      keep at most SIZE of each body, e.g. 512KiB, 10MiB
                             (default 10MiB); longer bodies are forwarded whole
                             and recorded cut, marked "_truncated"; 0 keeps none
        --no-redact          write secrets as they are (default: redact each call
                             before it reaches the disk, with the token rules
                             of .gitleaks.toml in the current folder if there
                             is one)
        --insecure-upstream  do not verify the servers' certificates

` + selectionUsage + `
Everything is forwarded; the selection only decides what is written
(--entries counts calls in the order they finish).

Examples:
    apitape capture proxy -o session.har
    curl --proxy http://127.0.0.1:8080 --cacert "$(apitape ca path)" https://api.example/v1/clusters
    HTTPS_PROXY=http://127.0.0.1:8080 SSL_CERT_FILE="$(apitape ca path)" ./my-go-client
    apitape capture proxy --listen 127.0.0.1:0 --host api.example --method POST,PUT -o writes.har
`

func runCapture(ctx context.Context, st *streams, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(st.err, captureUsage)
		return &exitError{code: 2}
	}
	switch args[0] {
	case "proxy":
		return usageFor("capture proxy", runCaptureProxy(ctx, st, args[1:]))
	case "browser":
		return usageFor("capture browser", runCaptureBrowser(ctx, st, args[1:]))
	case "-h", "--help", "help":
		fmt.Fprint(st.out, captureUsage)
		return nil
	}
	return usageErrorf("unknown capture mode %q: want proxy or browser", args[0])
}

// newCaptureRedactor builds the redaction step applied to every entry
// before it is written. One Redactor serves the whole capture, so a secret
// seen in one call is also found where later calls echo it. It uses the
// user's key, as redact and convert do, so that a secret gets the same
// placeholder in a capture as in a later redact or convert run.
func newCaptureRedactor() (*redact.Redactor, capture.RedactFunc, error) {
	// The user's token shapes too, as redact, scan and convert find them.
	rules, err := loadRules("", "")
	if err != nil {
		return nil, nil, err
	}
	return newEntryRedactor(rules)
}

// newEntryRedactor redacts one entry at a time with the user's key
// (redact.LoadUserKey; without one, a per-run key) and rules.
func newEntryRedactor(rules *redact.Rules) (*redact.Redactor, capture.RedactFunc, error) {
	key, _ := redact.LoadUserKey()
	r, err := redact.New(redact.Options{Key: key, Rules: rules})
	if err != nil {
		return nil, nil, err
	}
	return r, func(index int, raw []byte) ([]byte, error) {
		out, _, err := r.Entry(index, raw)
		return out, err
	}, nil
}

// reRedact redacts the finished capture file again with everything the
// session taught r. Each call was redacted as it completed, with what was
// known then, so a secret that an answer revealed before any request used
// it (a token in a login answer, say) is still in clear in that answer;
// now it is known.
//
// It settles the signal watcher first: this pass makes steady progress on
// a large file and may take longer than the grace a stop gets; a second
// Ctrl-C still ends it, leaving the file as written. A failure is a
// warning: the file as written stays, every call in it redacted with what
// was known when it completed.
func reRedact(logst *streams, r *redact.Redactor, path string) {
	settle()
	err := capture.Rewrite(path, func(in io.ReadSeeker, out io.Writer) error {
		_, err := r.Stream(in, out, redact.StreamOptions{Name: path})
		return err
	})
	if err != nil && !errors.Is(err, capture.ErrNotRegular) {
		warningf(logst, "%s: redacting the whole file again with every secret learned failed, so an answer may hold a secret first seen later: %v", path, err)
	}
}

// onProxyListening, when set (by tests), learns the address the proxy
// listens on.
var onProxyListening func(addr string)

type captureProxyConfig struct {
	listen   string
	output   string
	caDir    string
	maxBody  int64
	redact   bool
	insecure bool
	sel      selection.Filter
}

func runCaptureProxy(ctx context.Context, st *streams, args []string) error {
	fs := newFlagSet("capture proxy")
	cfg := captureProxyConfig{}
	fs.StringVarP(&cfg.output, "output", "o", "", "the HAR file to write")
	fs.StringVar(&cfg.listen, "listen", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&cfg.caDir, "ca-dir", "", "the CA's directory")
	maxBody := fs.String("max-body", "10MiB", "keep at most this much of each body")
	noRedact := fs.Bool("no-redact", false, "do not redact")
	fs.BoolVar(&cfg.insecure, "insecure-upstream", false, "do not verify servers' certificates")
	selFlags := addSelectionFlags(fs)
	if err := parseFlags(st, fs, captureProxyUsage, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("capture proxy takes no arguments, got %q", fs.Arg(0))
	}
	switch cfg.output {
	case "":
		return usageErrorf("-o FILE is required: where to write the HAR")
	case "-":
		return usageErrorf("-o -: a capture is written as it happens and needs a file, not stdout")
	}
	n, err := parseSize(*maxBody)
	if err != nil {
		return usageErrorf("--max-body: %v", err)
	}
	cfg.maxBody = n
	host, _, err := net.SplitHostPort(cfg.listen)
	if err != nil {
		return usageErrorf("--listen %q: want host:port, e.g. 127.0.0.1:8080", cfg.listen)
	}
	if host == "" {
		return usageErrorf("--listen %q listens on every address; write 0.0.0.0%s if that is what you mean", cfg.listen, cfg.listen)
	}
	if cfg.sel, err = selFlags.selection(); err != nil {
		return err
	}
	cfg.redact = !*noRedact
	if cfg.caDir == "" {
		if cfg.caDir, err = ca.DefaultDir(); err != nil {
			return withHint(err, "pass --ca-dir DIR")
		}
	}
	return captureProxy(ctx, st, cfg)
}

// captureProxy runs the proxy until ctx ends (Ctrl-C, SIGTERM) or writing
// fails.
func captureProxy(ctx context.Context, st *streams, cfg captureProxyConfig) error {
	authority, created, err := ca.LoadOrCreate(cfg.caDir)
	if err != nil {
		return withHint(err, "'apitape ca init --ca-dir DIR' creates a CA elsewhere")
	}
	errw := &lineWriter{w: st.err, tty: st.errTTY}
	logst := &streams{err: errw}
	if created {
		fmt.Fprintf(errw, "apitape: created a certificate authority in %s\n", authority.Dir)
		hintf(logst, "run 'apitape ca init' to see how to make clients trust it")
	}
	var redactFn capture.RedactFunc
	var redactor *redact.Redactor
	if cfg.redact {
		if redactor, redactFn, err = newCaptureRedactor(); err != nil {
			return err
		}
	} else {
		warningf(logst, "--no-redact: %s will hold cookies, tokens and passwords as they were sent", cfg.output)
	}

	l, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return withHint(fmt.Errorf("--listen %s: the address is in use", cfg.listen), "pick another port, or port 0 for any free one: --listen 127.0.0.1:0")
		}
		return fmt.Errorf("--listen %s: %w", cfg.listen, unwrapOpError(err))
	}
	defer l.Close()
	// Say the address as the user wrote it, with the port actually taken
	// (0.0.0.0 would otherwise show as [::]).
	host, _, _ := net.SplitHostPort(cfg.listen)
	addr := net.JoinHostPort(host, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	if !isLoopback(l.Addr()) {
		warningf(logst, "listening on %s: anyone who can reach this address can use the proxy, and what they send is recorded", addr)
	}

	out, err := openCaptureOutput(cfg.output)
	if err != nil {
		return err
	}
	defer out.close()
	app, err := har.CreateAppender(out.path, har.NewLog(versionString()))
	if err != nil {
		return fmt.Errorf("%s: %w", cfg.output, unwrapPathError(err))
	}
	sink := capture.NewSink(app, capture.Options{Selection: cfg.sel, Redact: redactFn})

	fatal := make(chan error, 1)
	var redactWarnings int
	var warnMu sync.Mutex
	record := func(e *har.Entry) {
		err := sink.Add(e)
		switch {
		case err == nil:
		case sink.Err() != nil:
			select {
			case fatal <- err:
			default:
			}
		default:
			warnMu.Lock()
			redactWarnings++
			if redactWarnings <= 5 {
				warningf(logst, "%v", err)
			}
			warnMu.Unlock()
		}
	}
	// The proxy holds up to --max-body of every body in flight; without a
	// limit the collector lets the heap grow to twice that.
	if st.getenv("GOMEMLIMIT") == "" {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(proxy.MemoryLimit))
	}
	maxBody := cfg.maxBody
	if maxBody == 0 {
		maxBody = -1 // keep nothing
	}
	p, err := proxy.New(proxy.Options{
		CACert:           authority.Cert,
		CAKey:            authority.Signer(),
		MaxBody:          maxBody,
		InsecureUpstream: cfg.insecure,
		Record:           record,
		Logf:             func(format string, args ...any) { warningf(logst, format, args...) },
		Hintf:            func(format string, args ...any) { hintf(logst, format, args...) },
	})
	if err != nil {
		app.Close()
		return err
	}

	fmt.Fprintf(errw, "apitape: proxy listening on %s\n", addr)
	hintf(logst, "curl --proxy http://%s --cacert %s URL; stop with Ctrl-C", addr, authority.CertPath())
	if onProxyListening != nil {
		onProxyListening(addr)
	}
	stopProgress := func() {}
	if st.errTTY {
		stopProgress = sink.Progress(errw.progress(), "apitape: ", 200*time.Millisecond)
	}

	served := make(chan error, 1)
	go func() { served <- p.Serve(l) }()
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-fatal:
	case runErr = <-served:
		if runErr != nil {
			runErr = fmt.Errorf("proxy: %w", runErr)
		}
	}
	// Let calls in flight finish for a moment; those still running after
	// that are cut and recorded with an _error.
	closeCtx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	closeErr := p.Close(closeCtx)
	cancel()
	stopProgress()
	if err := app.Close(); err != nil && runErr == nil {
		runErr = fmt.Errorf("%s: %w", cfg.output, err)
	}
	if runErr == nil {
		runErr = sink.Err()
	}
	if runErr == nil && redactor != nil && sink.Recorded() > 0 {
		reRedact(logst, redactor, out.path)
	}
	if err := out.finish(); err != nil && runErr == nil {
		runErr = err
	}
	if closeErr != nil && runErr == nil {
		warningf(logst, "%v", closeErr)
	}
	if redactWarnings > 5 {
		warningf(logst, "not recorded: %s could not be redacted", english.Count(redactWarnings, "call", ""))
	}
	fmt.Fprintf(errw, "apitape: %s to %s\n", sink.Summary(), cfg.output)
	return runErr
}

func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

func unwrapOpError(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		return oe.Err
	}
	return err
}

// lineWriter serialises messages from many goroutines on stderr; on a
// terminal, each message first clears the live progress line, which the
// next tick redraws.
type lineWriter struct {
	mu  sync.Mutex
	w   io.Writer
	tty bool
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tty {
		io.WriteString(l.w, "\r\x1b[K")
	}
	return l.w.Write(p)
}

// progress writes the live line as is.
func (l *lineWriter) progress() io.Writer { return progressWriter{l} }

type progressWriter struct{ l *lineWriter }

func (p progressWriter) Write(b []byte) (int, error) {
	p.l.mu.Lock()
	defer p.l.mu.Unlock()
	return p.l.w.Write(b)
}

// parseSize reads a byte count: a whole number with an optional unit, B,
// KiB, MiB, GiB (powers of 1024, also written K, M, G) or KB, MB, GB
// (powers of 1000); case does not matter.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := len(t) - len(strings.TrimLeft(t, "0123456789"))
	if i == 0 {
		return 0, fmt.Errorf("invalid size %q: want a number with an optional unit, e.g. 512KiB or 10MiB", s)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	units := map[string]int64{
		"": 1, "b": 1,
		"k": 1 << 10, "kib": 1 << 10, "kb": 1e3,
		"m": 1 << 20, "mib": 1 << 20, "mb": 1e6,
		"g": 1 << 30, "gib": 1 << 30, "gb": 1e9,
	}
	mult, ok := units[strings.ToLower(strings.TrimSpace(t[i:]))]
	if !ok {
		return 0, fmt.Errorf("invalid size %q: unknown unit %q (B, KiB, MiB, GiB, KB, MB, GB)", s, strings.TrimSpace(t[i:]))
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("invalid size %q: too large", s)
	}
	return n * mult, nil
}

// captureOutput is where a capture records. A capture appends each call
// over the file's closing brackets and reads the file back when it ends
// (to sort it, to redact it again), which a FIFO, a device or a terminal
// cannot do. For those, -o is opened at once (a FIFO waits for its reader
// there, as a shell redirection does), the calls are recorded into a
// private temporary file, and the finished HAR is copied through at the
// end, so the reader gets whole, redacted HAR and the FIFO stays a FIFO.
type captureOutput struct {
	path  string           // where the recording is written
	name  string           // -o as given, for messages
	dest  *os.File         // the FIFO or device, nil when path is -o itself
	spool string           // the temporary directory holding path
	tmp   *atomicfile.File // path, removed by a forced exit too
}

func openCaptureOutput(name string) (*captureOutput, error) {
	c := &captureOutput{path: name, name: name}
	fi, err := os.Stat(name)
	if err != nil || fi.Mode().IsRegular() || fi.IsDir() {
		return c, nil // created, replaced or refused by the capture itself
	}
	if c.dest, err = os.OpenFile(name, os.O_WRONLY, 0); err != nil {
		return nil, fmt.Errorf("%s: %w", name, unwrapPathError(err))
	}
	if c.spool, err = os.MkdirTemp("", "apitape-capture-"); err != nil {
		c.dest.Close()
		return nil, fmt.Errorf("%s: a temporary file to record into: %w", name, unwrapPathError(err))
	}
	// Made as an atomic file that is never committed, so that a second
	// Ctrl-C, which ends apitape at once, removes it with the others.
	if c.tmp, err = atomicfile.Create(filepath.Join(c.spool, "capture.har"), 0o600); err != nil {
		c.close()
		return nil, fmt.Errorf("%s: a temporary file to record into: %w", name, unwrapPathError(err))
	}
	c.path = c.tmp.Name()
	return c, nil
}

// finish copies the recording through to a FIFO or device and closes it;
// for a file it does nothing.
func (c *captureOutput) finish() error {
	if c.dest == nil {
		return nil
	}
	defer c.close()
	in, err := os.Open(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // the capture failed before it recorded anything
	}
	if err != nil {
		return err
	}
	defer in.Close()
	if _, err := io.Copy(c.dest, in); err != nil {
		return fmt.Errorf("%s: %w", c.name, unwrapPathError(err))
	}
	return nil
}

// close removes the temporary file, which holds what was recorded.
func (c *captureOutput) close() {
	if c.dest != nil {
		if c.tmp != nil {
			c.tmp.Abort()
		}
		c.dest.Close()
		c.dest = nil
		os.RemoveAll(c.spool)
	}
}
