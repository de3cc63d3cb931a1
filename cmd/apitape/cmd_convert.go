package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/apitape/apitape/convert"
	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/correlate"
	"github.com/apitape/apitape/internal/english"
	"github.com/apitape/apitape/internal/selection"
	"github.com/spf13/pflag"
)

const convertUsage = `Usage:
    apitape convert [FILE|-] --to FORMAT [-o FILE] [flags]
    apitape convert [FILE|-] --to FORMAT,FORMAT… -o DIR [flags]

Turns the recorded calls of a HAR file (or stdin) into curl commands, a bash
script or a Go program that send exactly the recorded bytes: method, raw
path and query, every header in order, and the body byte for byte.

Options:
    -t, --to FORMAT     curl: one paste-ready command per call
                        bash: one script; BASE_URL from the environment, each
                              call checked, answers kept in files
                        go:   one Go program (standard library only)
                        vars: no code: the values later calls take from
                              earlier answers, and where (as apitape inspect)
                        python: one script using requests, like bash
                        httpie: one bash script of HTTPie (http) commands
                        fetch:  one Node (18+) ES module using the global
                                fetch; also pasteable in a browser console
                        locust: a locustfile; each simulated user runs the
                                calls with values of its own (APITAPE_UNIQUE
                                for typed values that must differ per user)
                        Several formats, comma-separated, are made from one
                        reading of the input, into the directory -o names
    -o, --output FILE   write here instead of stdout (bash, python and
                        httpie: mode 0700, the others 0600); with several
                        formats, a directory (made if missing) that gets
                        NAME.curl, NAME.sh, NAME.go, NAME.vars, NAME.py,
                        NAME.httpie.sh, NAME.mjs and NAME.locustfile.py,
                        NAME being the input's name without .har or
                        .har.gz ("session" for stdin or a pipe)
        --base-url URL  send every call to this scheme://host[:port][/prefix]
                        instead of the recorded one (path and query kept)
        --exact         send the recorded bytes: every header and value as it
                        is, no value taken from an answer (implies
                        --no-correlate and --no-redact); default: credentials
                        (Cookie, Authorization, CSRF headers) become
                        environment variables (COOKIE, AUTHORIZATION,
                        CSRF_TOKEN; RANCHER_TOKEN for a Rancher session) and
                        browser-only headers (sec-fetch-*, referer, cache
                        validators, …) are dropped
        --auth 'NAME: VALUE'
                        replace the recorded browser session (its cookies,
                        CSRF headers and browser User-Agent) in every call
                        with this API credential header; $VAR in VALUE is an
                        environment variable the output asks for, e.g.
                        --auth 'Authorization: Bearer $RANCHER_TOKEN'
        --no-redact     do not run the redaction stage first (by default,
                        secrets become APITAPE_SECRET_… variables; --exact
                        implies --no-redact)
        --gitleaks-config FILE
                        the redaction stage's token rules from this gitleaks
                        config instead of gitleaks' defaults (default:
                        .gitleaks.toml in the current folder, if there is one)
        --no-correlate  send recorded ids as they are instead of taking each
                        from the answer that produced it
        --var NAME=SOURCE@CALL
                        take one more value from an answer (repeatable):
                        SOURCE is a JSON path (.data[0].id), header:NAME or
                        cookie:NAME; CALL is the entry index of the call whose
                        answer holds it, e.g. --var CLUSTER_ID=.id@3
        --no-var NAME   send the value apitape inspect lists as NAME as
                        recorded instead of taking it from an answer
                        (repeatable)

Correlation: a call that uses what an earlier answer produced (a new
cluster's id, a login's token) takes it from that answer when the bash
script or Go program runs (jq in bash), so the output provisions again on
a fresh server; a call whose answer lacks the value stops the run with a
message naming it. curl commands keep the recorded values, with comments
saying where each came from (secret ones become variables). A value the
client sent before any answer held it (typed into a form) stays as
recorded. With the default selection, calls that are not API calls (a
login page that set the session cookie) are sent too when the selected
calls take a value from their answers; the header says which.

` + selectionUsage + `
Redaction placeholders (REDACTED-<class>-<id>) always become variables
named APITAPE_SECRET_<CLASS>_<ID>. WebSocket entries are listed as comments.

Examples:
    apitape convert session.har --to curl
    apitape convert session.har --to bash -o provision.sh
    BASE_URL=https://staging.example COOKIE='R_SESS=…' ./provision.sh
    apitape convert session.har --to bash --auth 'Authorization: Bearer $RANCHER_TOKEN' -o provision.sh
    apitape convert session.har --to bash --no-var KUBERNETES_VERSION
    apitape convert session.har --to vars
    apitape convert session.har --to bash --var POOL_ID=.data[0].id@7
    apitape convert session.har --to go -o main.go --base-url http://127.0.0.1:8080
    apitape convert session.har --to curl,bash,go -o out/    # out/session.curl, .sh, .go
    apitape convert session.har --to python,locust -o out/   # out/session.py, .locustfile.py
    apitape redact session.har | apitape convert - --to curl --method POST,PUT
    apitape convert session.har --to curl --entries 3 --exact
`

func runConvert(ctx context.Context, st *streams, args []string) error {
	fs := newFlagSet("convert")
	to := fs.StringP("to", "t", "", "output format: curl, bash, go, vars, python, httpie, fetch or locust")
	outPath := fs.StringP("output", "o", "", "output file (default stdout)")
	baseURL := fs.String("base-url", "", "send the calls to this base URL")
	exact := fs.Bool("exact", false, "keep every recorded header and value")
	auth := fs.String("auth", "", "replace the browser session with this header: 'NAME: VALUE'")
	cf := addConvertFlags(fs)
	if err := parseInputFlags(st, fs, convertUsage, args); err != nil {
		return err
	}
	// Every argument is checked before any file is opened.
	var names []string
	for _, f := range convert.Formats() {
		names = append(names, f.Name)
	}
	if *to == "" {
		return usageErrorf("--to is required: %s", strings.Join(names, ", "))
	}
	formats := strings.Split(*to, ",")
	for i, f := range formats {
		switch {
		case f == "":
			return usageErrorf("--to %q: an empty format in the list", *to)
		case !slices.Contains(names, f):
			return usageErrorf("--to %q: want %s", f, strings.Join(names, ", "))
		case slices.Contains(formats[:i], f):
			return usageErrorf("--to %q: %s is listed twice", *to, f)
		}
	}
	if len(formats) > 1 && (*outPath == "" || *outPath == "-") {
		return usageErrorf("--to %s makes several files: -o DIR is required", *to)
	}
	opts := convert.Options{Exact: *exact}
	if *auth != "" {
		a, err := convert.ParseAuth(*auth)
		if err != nil {
			return usageErrorf("--auth: %v", err)
		}
		if a.Literal() {
			// The value is never shown: it is the credential.
			warningf(st, "--auth %s: the value names no $VARIABLE, so the credential is written into the output as it is; put a variable in it (e.g. 'Authorization: Bearer $RANCHER_TOKEN') and set it when running the output", a.Name)
		}
		opts.Auth = &a
	}
	if *baseURL != "" {
		if err := checkScheme("--base-url", *baseURL); err != nil {
			return err
		}
		if _, err := convert.CheckBaseURL(*baseURL); err != nil {
			return usageErrorf("--base-url: %v", err)
		}
		opts.BaseURL = *baseURL
	}
	if err := cf.apply(&opts); err != nil {
		return err
	}
	if len(formats) == 1 {
		return convertFile(ctx, st, "convert", fs.Arg(0), []outputFile{{formats[0], *outPath}}, opts)
	}
	base := "session"
	// A pipe (<(zcat …), /dev/stdin) is named as stdin is, not "63".
	if in := fs.Arg(0); in != "" && in != "-" {
		if fi, err := os.Stat(in); err != nil || fi.Mode().IsRegular() {
			name := strings.TrimSuffix(filepath.Base(in), ".gz")
			base = strings.TrimSuffix(name, filepath.Ext(name))
		}
	}
	var outs []outputFile
	for _, f := range formats {
		outs = append(outs, outputFile{f, filepath.Join(*outPath, base+formatExt[f])})
	}
	return convertFile(ctx, st, "convert", fs.Arg(0), outs, opts)
}

// formatExt names the files of a conversion into several formats.
var formatExt = map[string]string{"curl": ".curl", "bash": ".sh", "go": ".go", "vars": ".vars",
	"python": ".py", "httpie": ".httpie.sh", "fetch": ".mjs", "locust": ".locustfile.py"}

// outputFile is one format of a conversion and its file ("" or "-":
// stdout).
type outputFile struct {
	format, path string
}

// perm is the output's mode: a script is meant to be run, and 0700 still
// keeps it private, since --exact output may hold live credentials; the
// others may too: 0600.
func (o outputFile) perm() os.FileMode {
	if o.format == "bash" || o.format == "python" || o.format == "httpie" {
		return 0o700
	}
	return 0o600
}

// convertFlags are the flags convert and inspect share, the selection
// flags last.
type convertFlags struct {
	noRedact    *bool
	gitleaks    *string
	noCorrelate *bool
	vars        *[]string
	noVars      *[]string
	sel         *selectionFlags
}

func addConvertFlags(fs *pflag.FlagSet) *convertFlags {
	return &convertFlags{
		noRedact:    fs.Bool("no-redact", false, "do not redact first"),
		gitleaks:    fs.String("gitleaks-config", "", "gitleaks config (TOML) for the redaction stage"),
		noCorrelate: fs.Bool("no-correlate", false, "send recorded ids as they are"),
		vars:        fs.StringArray("var", nil, "take one more value from an answer: NAME=SOURCE@CALL (repeatable)"),
		noVars:      fs.StringArray("no-var", nil, "send this found value as recorded (repeatable)"),
		sel:         addSelectionFlags(fs),
	}
}

// parseVars checks the --no-var names (variable names) and parses the
// --var declarations, for convert, inspect and replay.
func parseVars(vars, noVars []string) ([]correlate.Manual, error) {
	for _, n := range noVars {
		if n == "" || strings.Trim(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != "" || n[0] >= '0' && n[0] <= '9' {
			return nil, usageErrorf("--no-var %q: want a variable name as apitape inspect shows it (CLUSTER_ID)", n)
		}
	}
	var out []correlate.Manual
	for _, s := range vars {
		m, err := correlate.ParseManual(s)
		if err != nil {
			return nil, usageErrorf("--var %q: %v", s, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// defaultSelection reports a selection no flag narrowed or widened: then
// the calls that produce what the API calls send are added.
func defaultSelection(s selection.Filter) bool {
	return s.Match == nil && len(s.Methods) == 0 && len(s.Hosts) == 0 && len(s.Statuses) == 0 && len(s.Entries) == 0 && !s.All
}

// apply sets the options the flags choose; a bad --var or selection is a
// usage error.
func (cf *convertFlags) apply(opts *convert.Options) error {
	vars, err := parseVars(*cf.vars, *cf.noVars)
	if err != nil {
		return err
	}
	opts.NoCorrelate = *cf.noCorrelate
	opts.Vars = vars
	opts.NoVar = *cf.noVars
	redacting := !*cf.noRedact && !opts.Exact
	if *cf.gitleaks != "" && !redacting {
		return usageErrorf("--gitleaks-config is for the redaction stage, which --no-redact and --exact turn off")
	}
	if redacting {
		// The same token rules as redact and scan: the user's
		// .gitleaks.toml, or the file named.
		rules, err := loadRules("", *cf.gitleaks)
		if err != nil {
			return err
		}
		opts.Redact = newConvertRedactor(rules)
	}
	s, err := cf.sel.selection()
	if err != nil {
		return err
	}
	opts.Selection = s
	opts.AddProducers = defaultSelection(s)
	return nil
}

// convertFile runs one conversion from a file or stdin to a file or
// stdout, for convert and inspect.
func convertFile(ctx context.Context, st *streams, cmd, inPath string, files []outputFile, opts convert.Options) error {
	in, name, err := openInput(st, inPath)
	if err != nil {
		return err
	}
	defer in.Close()
	opts.Name = name
	if len(files) > 1 {
		dir := filepath.Dir(files[0].path)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("%s: %w", dir, unwrapPathError(err))
		}
	}
	// Every file is written in full or not at all.
	var outs []convert.Output
	var made []*output
	defer func() {
		for _, o := range made {
			o.abort()
		}
	}()
	for _, f := range files {
		if err := refuseInputAsOutput("-o", in, name, f.path); err != nil {
			return err
		}
	}
	for _, f := range files {
		out, err := createOutput(st, f.path, f.perm())
		if err != nil {
			return err
		}
		made = append(made, out)
		outs = append(outs, convert.Output{Format: f.format, W: out})
	}
	meter := newMeter(st, cmd, opts.Redact != nil)
	defer meter.Stop()
	if redact := opts.Redact; redact != nil {
		opts.Redact = func(index int, raw []byte) ([]byte, error) {
			meter.Add(1, 0)
			return redact(index, raw)
		}
	}
	r := har.NewReader(meter.Reader(convertCtxReader{ctx, in}), name)
	stats, err := convert.ConvertTo(r, outs, opts)
	meter.Stop()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ve *convert.VarError
		if errors.As(err, &ve) {
			// The input is fine; the --var does not fit it. correlate
			// says "var NAME: …".
			return usageErrorf("--%v", ve.Err)
		}
		return err
	}
	for i, out := range made {
		if err := out.commit(); err != nil {
			return fmt.Errorf("%s: %w", files[i].path, unwrapPathError(err))
		}
	}
	meter.Done(int64(stats.Entries), -1)
	warnUnsendable(st, name, stats.UnsendableFirst, stats.Unsendable, "converted")
	// --to vars (inspect) converts no call: it says so only when the
	// selection left none.
	inspecting := len(files) == 1 && files[0].format == "vars"
	if !inspecting && stats.Converted == 0 || inspecting && stats.Skipped == stats.Entries && stats.Entries > 0 {
		unsent := ""
		if stats.Unsendable > 0 {
			unsent = fmt.Sprintf(", %d with a URL that cannot be sent", stats.Unsendable)
		}
		if n := stats.Unconvertible - stats.Unsendable; n > 0 {
			unsent += fmt.Sprintf(", %s listed as comments", english.Count(n, "WebSocket or other call", ""))
		}
		what := "converted"
		if inspecting {
			what = "selected"
		}
		warningf(st, "%s: no calls %s (%s read, %d left out by the selection%s)", name, what, english.Count(stats.Entries, "entry", "entries"), stats.Skipped, unsent)
		// --all helps only when the default selection left something
		// out; a user's own filters did it themselves.
		switch {
		case stats.Skipped > 0 && defaultSelection(opts.Selection):
			hintf(st, "only API calls are kept by default; use --all to keep every entry")
		case stats.Skipped > 0 && !opts.Selection.All:
			hintf(st, "the selection flags (--host, --method, --status, --match, --entries) left out every call")
		}
	}
	if inspecting {
		return nil
	}
	if !opts.Exact && opts.Auth == nil && stats.NoCredentials > 0 && stats.NoCredentials == stats.Converted {
		warningf(st, "%s: no call carries a Cookie or Authorization header; the output sends them without credentials", name)
		hintf(st, "browsers export sanitized HAR files by default (Chrome 130 and later): export with sensitive data, or add the headers yourself")
	}
	return nil
}

// warnUnsendable names the selected entries whose URL cannot be sent
// (the first of them) and counts them all: they are left out, never
// silently.
func warnUnsendable(st *streams, name string, first []string, n int, verb string) {
	if n == 0 {
		return
	}
	for _, s := range first {
		warningf(st, "%s: %s", name, s)
	}
	if n > len(first) {
		warningf(st, "%s: and %d more", name, n-len(first))
	}
	warningf(st, "%s: %s not %s: their URL cannot be sent", name, english.Count(n, "selected call", ""), verb)
}

// convertCtxReader stops reading when the command is interrupted, so a
// huge input does not keep converting after Ctrl-C.
type convertCtxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c convertCtxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
