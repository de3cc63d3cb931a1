package main

// Messages follow one rule (after age): "apitape: error: …" then optional
// "apitape: hint: …" lines; lower case, no final period, never a secret
// value. Usage errors exit 2, failures exit 1.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/apitape/apitape/internal/atomicfile"
	"github.com/apitape/apitape/internal/selection"
	"github.com/apitape/apitape/internal/textenc"
	"github.com/spf13/pflag"
)

func errorf(st *streams, format string, args ...any) {
	fmt.Fprintf(st.err, "apitape: error: %s\n", oneLine(fmt.Sprintf(format, args...)))
}

func warningf(st *streams, format string, args ...any) {
	fmt.Fprintf(st.err, "apitape: warning: %s\n", oneLine(fmt.Sprintf(format, args...)))
}

func hintf(st *streams, format string, args ...any) {
	fmt.Fprintf(st.err, "apitape: hint: %s\n", oneLine(fmt.Sprintf(format, args...)))
}

// oneLine keeps a message on one line whatever an error wrapped.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// usageError is a mistake in the command line: exit 2 and point at --help.
type usageError struct {
	cmd   string
	err   error
	hints []string // before the one pointing at --help
}

func (e *usageError) Error() string { return e.err.Error() }

func usageErrorf(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

// exitError ends the command with a given code; err (optional) is printed.
// Used where the exit code itself is the answer (scan findings, replay
// regressions, an unreachable target).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

// hintedError is a failure with advice on what to do about it.
type hintedError struct {
	err   error
	hints []string
}

func (e *hintedError) Error() string { return e.err.Error() }
func (e *hintedError) Unwrap() error { return e.err }

func withHint(err error, hints ...string) error { return &hintedError{err: err, hints: hints} }

var errHelpShown = errors.New("help shown")

// newFlagSet returns a pflag set that reports errors instead of exiting.
func newFlagSet(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SetInterspersed(true)
	fs.SortFlags = false
	return fs
}

// parseFlags parses args; --help prints usage to stdout and stops the
// command with exit 0, and a bad flag becomes a usage error.
func parseFlags(st *streams, fs *pflag.FlagSet, usage string, args []string) error {
	if st.flagSpy != nil {
		st.flagSpy(fs)
		return errHelpShown
	}
	help := fs.BoolP("help", "h", false, "show this help")
	err := fs.Parse(args)
	if *help || errors.Is(err, pflag.ErrHelp) {
		fmt.Fprint(st.out, usage)
		return errHelpShown
	}
	if err != nil {
		ue := &usageError{cmd: fs.Name(), err: err}
		if name, ok := strings.CutPrefix(err.Error(), "unknown flag: --"); ok {
			var flags []string
			fs.VisitAll(func(f *pflag.Flag) {
				if !f.Hidden {
					flags = append(flags, f.Name)
				}
			})
			if near := closest(name, flags); len(near) > 0 {
				ue.hints = append(ue.hints, "did you mean --"+strings.Join(near, " or --")+"?")
			}
		}
		return ue
	}
	return nil
}

// parseInputFlags is parseFlags for a command that reads one file or
// stdin.
func parseInputFlags(st *streams, fs *pflag.FlagSet, usage string, args []string) error {
	if err := parseFlags(st, fs, usage, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usageErrorf("%s takes one input file, got %d", fs.Name(), fs.NArg())
	}
	return nil
}

// usageFor wraps a usage error so that its hint names the command.
func usageFor(cmd string, err error) error {
	var ue *usageError
	if errors.As(err, &ue) && ue.cmd == "" {
		ue.cmd = cmd
	}
	return err
}

// openInput opens a file argument, or standard input for "" and "-", for
// a command that reads a HAR. The returned name is what errors should
// call it. What people's tools make of a HAR is undone (textenc: UTF-16
// from PowerShell's >, gzip); a regular file in UTF-8 is returned as the
// *os.File itself.
func openInput(st *streams, arg string) (io.ReadCloser, string, error) {
	rc, name, err := openRaw(st, arg)
	if err != nil {
		return nil, name, err
	}
	f, isFile := rc.(*os.File)
	if isFile {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			// Read without moving the offset: the file stays as it was.
			var head [2]byte
			if n, _ := f.ReadAt(head[:], 0); textenc.Sniff(head[:n]) == textenc.Plain {
				return f, name, nil
			}
		}
	}
	br, _, err := textenc.Decode(bufio.NewReaderSize(rc, 64<<10))
	if err != nil {
		rc.Close()
		return nil, name, fmt.Errorf("%s: %v", name, err)
	}
	if !isFile {
		return io.NopCloser(br), name, nil
	}
	return &decodedInput{Reader: br, file: f}, name, nil
}

// openRaw opens a file argument, or standard input for "" and "-", as it
// is (scan decodes what it reads itself: redact.OpenText).
func openRaw(st *streams, arg string) (io.ReadCloser, string, error) {
	if arg == "" || arg == "-" {
		return io.NopCloser(st.in), "-", nil
	}
	f, err := os.Open(arg)
	if err != nil {
		return nil, arg, fmt.Errorf("%s: %w", arg, unwrapPathError(err))
	}
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		f.Close()
		return nil, arg, fmt.Errorf("%s: is a directory, not a file", arg)
	}
	return f, arg, nil
}

// decodedInput is an input read through a decoder, or a pipe read
// through a buffer: not the file itself, which refuseInputAsOutput still
// compares with the output.
type decodedInput struct {
	io.Reader
	file *os.File
}

func (d *decodedInput) Close() error { return d.file.Close() }

func (d *decodedInput) inputInfo() os.FileInfo {
	fi, _ := d.file.Stat()
	return fi
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// output is where a command writes its result: stdout, or a file that is
// written atomically so a failure never leaves half of it.
type output struct {
	io.Writer
	file *atomicfile.File
}

// createOutput opens path for writing ("" and "-" mean stdout). perm is the
// file's mode; use 0o600 for anything that may hold secrets.
func createOutput(st *streams, path string, perm os.FileMode) (*output, error) {
	if path == "" || path == "-" {
		return &output{Writer: st.out}, nil
	}
	f, err := atomicfile.Create(path, perm)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, unwrapPathError(err))
	}
	return &output{Writer: f, file: f}, nil
}

// refuseInputAsOutput is the usage error for an output path that names the
// input file (through a link too): the output would replace the recording.
func refuseInputAsOutput(flag string, in io.Reader, inName, outPath string) error {
	var ifi os.FileInfo
	switch in := in.(type) {
	case *os.File:
		ifi, _ = in.Stat()
	case interface{ inputInfo() os.FileInfo }: // decoded or spooled
		ifi = in.inputInfo()
	}
	if ifi == nil || outPath == "" || outPath == "-" {
		return nil
	}
	ofi, err := os.Stat(outPath)
	if err == nil && ifi.Mode().IsRegular() && os.SameFile(ifi, ofi) {
		return usageErrorf("%s %s is the input file: the output would replace %s", flag, outPath, inName)
	}
	return nil
}

// commit finishes the output; call abort (deferred) to discard on failure.
func (o *output) commit() error {
	if o.file == nil {
		return nil
	}
	return o.file.Commit()
}

func (o *output) abort() {
	if o.file != nil {
		o.file.Abort()
	}
}

// selectionFlags are the entry filters shared by every command that reads
// or records a HAR.
type selectionFlags struct {
	match    string
	methods  []string
	hosts    []string
	statuses string
	entries  string
	all      bool
}

func addSelectionFlags(fs *pflag.FlagSet) *selectionFlags {
	s := new(selectionFlags)
	fs.StringVar(&s.match, "match", "", "only calls whose URL matches this regular expression")
	fs.StringSliceVar(&s.methods, "method", nil, "only these HTTP methods (repeatable, comma-separated)")
	fs.StringSliceVar(&s.hosts, "host", nil, "only these hosts, host or host:port (repeatable)")
	fs.StringVar(&s.statuses, "status", "", "only these response statuses: 200,4xx,500-599")
	fs.StringVar(&s.entries, "entries", "", "only these entry indexes (0-based): 3,5-7,10-")
	fs.BoolVar(&s.all, "all", false, "keep every entry: documents, assets and preflights too (default: API calls only)")
	return s
}

const selectionUsage = `Selection (default: API calls only, i.e. XHR/fetch/WebSocket that got an
answer; no assets, documents, CORS preflights or browser-internal URLs):
        --match REGEX       only calls whose URL matches
        --method M[,M]      only these methods
        --host H[,H]        only these hosts (host or host:port)
        --status LIST       only these statuses: 200,4xx,500-599
        --entries LIST      only these entry indexes, 0-based: 3,5-7,10-
        --all               keep every entry
`

func (s *selectionFlags) selection() (selection.Filter, error) {
	sel := selection.Filter{Methods: s.methods, Hosts: s.hosts, All: s.all}
	for _, h := range s.hosts {
		// A URL names no host a call has: it would match nothing, silently.
		if strings.ContainsAny(h, "/?#@") || h == "" {
			return sel, usageErrorf("--host %q: want a host or host:port, not a URL (rancher.example, 127.0.0.1:8080)", h)
		}
	}
	if s.match != "" {
		re, err := regexp.Compile(s.match)
		if err != nil {
			return sel, usageErrorf("--match: %v", err)
		}
		sel.Match = re
	}
	if s.statuses != "" {
		r, err := selection.ParseStatusRanges(s.statuses)
		if err != nil {
			return sel, usageErrorf("--status: %v", err)
		}
		sel.Statuses = r
	}
	if s.entries != "" {
		r, err := selection.ParseIndexRanges(s.entries)
		if err != nil {
			return sel, usageErrorf("--entries: %v", err)
		}
		sel.Entries = r
		// Naming entries by index is an explicit choice: don't let the
		// API-calls-only default hide them.
		sel.All = true
	}
	return sel, nil
}

// checkScheme is the first check of every URL a user types (--target,
// --baseline, --base-url, capture browser's URL): one without a scheme,
// such as rancher.example:8443 or 127.0.0.1:8080, gets "add http:// or
// https://" instead of what url.Parse says about it ("first path segment
// in URL cannot contain colon"). what names the flag or argument; extra
// are schemes besides http and https that the place accepts without "//"
// (about:blank, file:). A URL with a scheme passes: which schemes are
// accepted is for the place's own, fuller check.
func checkScheme(what, raw string, extra ...string) error {
	scheme, rest, ok := strings.Cut(raw, "://")
	if ok && scheme != "" && !strings.ContainsAny(scheme, "/?#@:") {
		return nil // which schemes fit is the caller's own check
	}
	for _, s := range extra {
		if len(raw) > len(s) && strings.EqualFold(raw[:len(s)+1], s+":") {
			return nil
		}
	}
	if raw == "" {
		return usageErrorf("%s is empty: want an http:// or https:// URL", what)
	}
	host := strings.TrimPrefix(raw, "//")
	if ok {
		host = rest // "://host": the scheme itself is missing
	}
	for _, s := range []string{"https:", "http:"} {
		if len(host) > len(s) && strings.EqualFold(host[:len(s)], s) {
			host = strings.TrimLeft(host[len(s):], "/") // https:/host, http:host
			break
		}
	}
	example := "https://"
	if h := strings.ToLower(host); strings.HasPrefix(h, "localhost") || strings.HasPrefix(h, "127.") || strings.HasPrefix(h, "[::1]") {
		example = "http://" // loopback servers rarely have a certificate
	}
	return usageErrorf("%s %q has no scheme: add http:// or https:// (for example %s%s)", what, hidePassword(raw), example, hidePassword(host))
}

// hidePassword replaces the password of a URL's user info ("admin:pw@host")
// with "…": a usage error must not print it back.
func hidePassword(s string) string {
	end := strings.IndexAny(s, "/?#")
	if end < 0 {
		end = len(s)
	}
	at := strings.LastIndexByte(s[:end], '@')
	if at < 0 {
		return s
	}
	user, _, hasPW := strings.Cut(s[:at], ":")
	if !hasPW {
		return s
	}
	return user + ":…" + s[at:]
}
