package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/apitape/apitape/internal/english"
	"github.com/apitape/apitape/redact"
)

const redactUsage = `Usage:
    apitape redact [FILE|-] [-o FILE] [flags]

Replaces every secret in a HAR file (or stdin) with a placeholder,
REDACTED-<class>-<8 letters>, and changes no other byte: credentials in headers,
cookies and Set-Cookie, URLs (userinfo, query, token path segments),
request and response bodies (JSON, forms, multipart, YAML such as
kubeconfigs, base64 and gzip, deflate, br, zstd), WebSocket frames and
custom fields; tokens by shape (Rancher, JWT signatures, private keys, AWS,
Basic credentials, and every vendor shape in gitleaks' rules); and every
echo of a secret found anywhere, in any spelling. Only string values
change, never member names, numbers or structure.

A placeholder is a keyed hash of the value: equal values get equal
placeholders, so the CSRF cookie still matches the X-Api-Csrf header and a
redacted session replays once its secrets are given as APITAPE_SECRET_…
variables. The non-secret part of a value stays: "Bearer ", a Rancher
token's name, a JWT's header and claims, PEM armour.

The result is checked again before it is written: if anything secret is
left (a name kept with --keep, say), nothing is written and the command
fails, unless --allow-residual.

Options:
    -o, --output FILE      write the redacted HAR here (mode 0600) instead of stdout
        --report FILE|-    write a JSON report of each redaction: entry,
                           location, rule, class, placeholder, length (never
                           the value); "-" is stdout (then use -o)
        --rules FILE       more names and patterns to redact, names to keep
                           (YAML or JSON, see below)
        --key-file FILE    the placeholders' key: the same key gives the same
                           placeholders across runs and files; the file is
                           created (mode 0600) with a random key if missing
                           (default: $APITAPE_KEY_FILE, else
                           ~/.config/apitape/redact.key, the key convert uses)
        --keep NAME        never redact this header, cookie, parameter or key
                           by its name (repeatable); the check still reports it
        --strict           replace whole JWTs, not only their signatures
        --allow-residual   write the output even when the check finds secrets
        --allow-uninspected
                           write the output even when a body cannot be
                           inspected (invalid base64, a compressed body that
                           does not inflate within 64 MiB); by default that
                           fails, naming the entry and field
        --gitleaks-config FILE
                           token rules from this gitleaks config instead of
                           gitleaks' defaults (default: .gitleaks.toml in
                           the current folder, if there is one)

Rules file (YAML or JSON; names are literal and case-insensitive):
    headers: [X-Vendor-Session]
    cookies: ["U88+6Et^x"]
    query:   [sig]
    json:    [vendorSecret, spec.vendor.apiKey]   # keys or dotted key paths
    keep:    [spCert]
    patterns:
      - {name: vendor-token, regex: 'vnd_[A-Za-z0-9]{32}', class: vendor}

content.size (and a bodySize that counted the same text) follows the
redacted text; headersSize and compressed bodySizes stay as recorded.

Examples:
    apitape redact session.har -o shared.har
    apitape redact session.har --report - -o shared.har | jq '.summary'
    apitape capture proxy -o - | apitape redact > shared.har
    apitape redact --key-file team.key a.har -o a.shared.har
    apitape redact --rules vendor.yaml --keep X-Debug-Id session.har -o shared.har
    apitape redact session.har | apitape convert - --to bash -o provision.sh
`

func runRedact(ctx context.Context, st *streams, args []string) error {
	fs := newFlagSet("redact")
	outPath := fs.StringP("output", "o", "", "output file (default stdout)")
	reportPath := fs.String("report", "", "JSON report file, or - for stdout")
	rulesPath := fs.String("rules", "", "rules file (YAML or JSON)")
	keyPath := fs.String("key-file", "", "placeholder key file")
	keep := fs.StringArray("keep", nil, "name never to redact (repeatable)")
	strict := fs.Bool("strict", false, "replace whole JWTs")
	allowResidual := fs.Bool("allow-residual", false, "write even if secrets are left")
	allowUninspected := fs.Bool("allow-uninspected", false, "write even if a body cannot be inspected")
	gitleaksPath := fs.String("gitleaks-config", "", "gitleaks config (TOML)")
	if err := parseInputFlags(st, fs, redactUsage, args); err != nil {
		return err
	}
	toStdout := *outPath == "" || *outPath == "-"
	if *reportPath == "-" && toStdout {
		return usageErrorf("--report - and the redacted HAR cannot both go to stdout: add -o FILE")
	}
	if *reportPath != "" && *reportPath != "-" && !toStdout && sameOutputFile(*reportPath, *outPath) {
		return usageErrorf("--report %s and -o %s name the same file", *reportPath, *outPath)
	}
	for _, k := range *keep {
		if strings.TrimSpace(k) == "" {
			return usageErrorf("--keep: empty name")
		}
	}
	in := fs.Arg(0)

	opts := redact.Options{Keep: *keep, Strict: *strict}
	rules, err := loadRules(*rulesPath, *gitleaksPath)
	if err != nil {
		return err
	}
	opts.Rules = rules
	// The user's key by default, as convert uses it: equal values get
	// equal placeholders across runs, so scripts regenerated from a
	// redacted file name the same variables.
	switch {
	case *keyPath != "":
		key, err := redact.LoadKey(*keyPath)
		if err != nil {
			return err
		}
		opts.Key = key
	default:
		key, err := redact.LoadUserKey()
		if err != nil {
			// A key file that is there but broken is an error; no place
			// for one (no home directory) only costs stable placeholders.
			if p, perr := redact.UserKeyFile(); perr == nil {
				if _, serr := os.Stat(p); serr == nil {
					return err
				}
			}
			warningf(st, "no per-user key (%v): placeholders will differ between runs; use --key-file", err)
		}
		opts.Key = key
	}
	r, err := redact.New(opts)
	if err != nil {
		return err
	}

	src, name, err := seekableInput(st, in)
	if err != nil {
		return err
	}
	defer src.Close()

	// The HAR goes to an atomic file, or to a private spool that is copied
	// to stdout only once the check has passed: a failed redaction leaves
	// nothing behind either way.
	var dst io.Writer
	var out *output
	var spool *os.File
	if toStdout {
		spool, err = os.CreateTemp("", "apitape-redact-out-*")
		if err != nil {
			return err
		}
		os.Remove(spool.Name()) // see redact.Stream's spool
		defer func() {
			spool.Close()
			os.Remove(spool.Name())
		}()
		dst = spool
	} else {
		out, err = createOutput(st, *outPath, 0o600)
		if err != nil {
			return err
		}
		defer out.abort()
		dst = out
	}
	var rep *report
	var ro *output
	if *reportPath != "" {
		if err := refuseInputAsOutput("--report", src, name, *reportPath); err != nil {
			return err
		}
		if ro, err = createOutput(st, *reportPath, 0o600); err != nil {
			return err
		}
		defer ro.abort()
		rep = newReport(ro, name)
	}

	meter := newMeter(st, "redact", true)
	defer meter.Stop()
	var inBytes int64
	var uninspected []redact.Record
	// Reading stops at Ctrl-C: redact reads its input twice, and a huge
	// one must not run on to the end and be written after all.
	srcCtx := struct {
		io.Reader
		io.Seeker
	}{convertCtxReader{ctx, src}, src}
	sum, err := r.Stream(srcCtx, dst, redact.StreamOptions{Name: name, OnRecord: func(rec redact.Record) {
		if rep != nil {
			rep.record(rec)
		}
		if rec.NotInspected() {
			uninspected = append(uninspected, rec)
		}
	}, Progress: func(pass, entries int, n int64) {
		if pass == 1 {
			inBytes = n
		} else {
			meter.Stage("pass 2 of 2")
		}
		meter.Set(int64(entries), n)
	}})
	meter.Stop()
	if cerr := ctx.Err(); cerr != nil {
		return cerr // nothing is written: the outputs are aborted
	}
	if err != nil {
		return err
	}
	if rep != nil {
		// The report is written even when the check fails: it says what
		// was redacted and what is left, never a value.
		if err := rep.finish(sum); err != nil {
			return err
		}
		if err := ro.commit(); err != nil {
			return err
		}
	}
	if len(uninspected) > 0 && !*allowUninspected {
		for i, rec := range uninspected {
			if i == maxWarningLines {
				errorf(st, "%s: and %d more bodies that could not be inspected", name, len(uninspected)-i)
				break
			}
			errorf(st, "%s: entry %d: %s: %s", name, rec.Entry, rec.Location, rec.Rule)
		}
		hintf(st, "nothing was written: a body that cannot be inspected may hide a secret")
		hintf(st, "use --allow-uninspected to write the output anyway")
		return &exitError{code: 1}
	}
	printWarnings(st, rep, sum)
	if len(sum.Residual) > 0 {
		say := errorf
		if *allowResidual {
			say = warningf
		}
		for _, f := range sum.Residual {
			say(st, "%s: still secret after redaction", f)
		}
		if !*allowResidual {
			if len(*keep) > 0 {
				hintf(st, "nothing was written; a name kept with --keep is still reported here")
			} else {
				hintf(st, "nothing was written; redaction missed these: please report the rule and location (never the value)")
			}
			hintf(st, "use --allow-residual to write the output anyway")
			return &exitError{code: 1}
		}
	}
	if toStdout {
		if _, err := spool.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if _, err := io.Copy(st.out, spool); err != nil {
			return err
		}
	} else if err := out.commit(); err != nil {
		return err
	}
	if st.errTTY {
		fmt.Fprintf(st.err, "apitape: redacted %s in %s%s\n", english.Count(sum.Redactions, "value", ""), english.Count(sum.Entries, "entry", "entries"), classList(sum.Classes))
	}
	meter.Done(int64(sum.Entries), inBytes)
	return nil
}

// seekableInput opens the input so that it can be read twice (redaction
// reads a file twice to find the echoes of secrets found late): a regular
// file as it is; stdin, a pipe (<(zcat …)), a device or a decoded file
// spooled to a private temporary file first.
func seekableInput(st *streams, arg string) (io.ReadSeekCloser, string, error) {
	rc, name, err := openInput(st, arg)
	if err != nil {
		return nil, name, err
	}
	if f, ok := rc.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			return f, name, nil
		}
	}
	defer rc.Close()
	tmp, err := os.CreateTemp("", "apitape-redact-in-*") // mode 0600
	if err != nil {
		return nil, name, err
	}
	// Unlinked at once, so that a process ended mid-copy leaves no
	// unredacted input behind.
	os.Remove(tmp.Name())
	f := &removeOnClose{File: tmp}
	if d, ok := rc.(interface{ inputInfo() os.FileInfo }); ok {
		f.origin = d.inputInfo()
	}
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		return nil, name, fmt.Errorf("%s: %w", name, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, name, err
	}
	return f, name, nil
}

// removeOnClose is a private spool of the input; origin is the input
// file's (nil for stdin), for refuseInputAsOutput.
type removeOnClose struct {
	*os.File
	origin os.FileInfo
}

func (f *removeOnClose) inputInfo() os.FileInfo { return f.origin }

func (f *removeOnClose) Close() error {
	err := f.File.Close()
	os.Remove(f.File.Name())
	return err
}

func classList(classes map[string]int) string {
	if len(classes) == 0 {
		return ""
	}
	var parts []string
	for c, n := range classes {
		parts = append(parts, fmt.Sprintf("%s %d", c, n))
	}
	sort.Strings(parts)
	return " (" + strings.Join(parts, ", ") + ")"
}

// maxWarningLines bounds the "could not inspect" lines on stderr; the
// report has them all.
const maxWarningLines = 10

func printWarnings(st *streams, rep *report, sum redact.Summary) {
	if sum.Warnings == 0 {
		return
	}
	if rep == nil || len(rep.warnings) == 0 {
		warningf(st, "%s could not be inspected; --report lists them", english.Count(sum.Warnings, "value", ""))
		return
	}
	for i, w := range rep.warnings {
		if i == maxWarningLines {
			warningf(st, "and %d more in the report", len(rep.warnings)-i)
			break
		}
		warningf(st, "entry %d: %s: %s", w.Entry, w.Location, w.Rule)
	}
}

// report writes the --report JSON as redactions happen, so a large file's
// report does not have to fit in memory.
type report struct {
	out      *bufio.Writer // a record at a time: 30,000 writes for a session of 10,000 calls unbuffered
	n        int
	warnings []redact.Record
	err      error
}

func newReport(w io.Writer, name string) *report {
	r := &report{out: bufio.NewWriterSize(w, 64<<10)}
	fn, _ := json.Marshal(name)
	_, r.err = fmt.Fprintf(r.out, "{\n  \"file\": %s,\n  \"redactions\": [", fn)
	return r
}

func (r *report) record(rec redact.Record) {
	if rec.Placeholder == "" {
		r.warnings = append(r.warnings, rec)
		return
	}
	b, _ := json.Marshal(rec)
	sep := ","
	if r.n == 0 {
		sep = ""
	}
	r.n++
	if r.err == nil {
		_, r.err = fmt.Fprintf(r.out, "%s\n    %s", sep, b)
	}
}

func (r *report) finish(sum redact.Summary) error {
	if r.n > 0 {
		fmt.Fprint(r.out, "\n  ")
	}
	warnings := r.warnings
	if warnings == nil {
		warnings = []redact.Record{}
	}
	w, _ := json.Marshal(warnings)
	residual := sum.Residual
	if residual == nil {
		residual = []redact.Finding{}
	}
	res, _ := json.Marshal(residual)
	s, _ := json.Marshal(struct {
		Entries    int            `json:"entries"`
		Redactions int            `json:"redactions"`
		Classes    map[string]int `json:"classes"`
		Warnings   int            `json:"warnings"`
	}{sum.Entries, sum.Redactions, sum.Classes, sum.Warnings})
	if r.err == nil {
		_, r.err = fmt.Fprintf(r.out, "],\n  \"warnings\": %s,\n  \"residual\": %s,\n  \"summary\": %s\n}\n", w, res, s)
	}
	if r.err == nil {
		r.err = r.out.Flush()
	}
	if r.err != nil {
		return fmt.Errorf("report: %w", r.err)
	}
	return nil
}

// newConvertRedactor is the redaction stage convert runs first unless
// --no-redact or --exact is given (a script is made to be committed and
// shared, so by default no secret reaches it): one Redactor per
// conversion, so that a secret found in one entry is also removed from the
// entries after it. It uses the user's key so that a regenerated script
// names the same variables. rules (from loadRules) add the user's token
// shapes, as redact and scan use them.
func newConvertRedactor(rules *redact.Rules) func(index int, raw []byte) ([]byte, error) {
	_, entry, err := newEntryRedactor(rules)
	if err != nil {
		return func(int, []byte) ([]byte, error) { return nil, err }
	}
	return entry
}

// sameOutputFile reports whether two output paths name one regular file:
// the same path, or two names of a file that is there.
func sameOutputFile(a, b string) bool {
	fa, ea := os.Stat(a)
	fb, eb := os.Stat(b)
	if ea == nil && eb == nil {
		return fa.Mode().IsRegular() && os.SameFile(fa, fb)
	}
	aa, ea := filepath.Abs(a)
	bb, eb := filepath.Abs(b)
	return ea == nil && eb == nil && aa == bb
}
