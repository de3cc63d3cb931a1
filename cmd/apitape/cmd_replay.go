package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apitape/apitape/convert"
	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/correlate"
	"github.com/apitape/apitape/internal/credential"
	"github.com/apitape/apitape/internal/english"
	"github.com/apitape/apitape/replay"
)

const replayUsage = `Usage:
    apitape replay [FILE|-] --target URL [flags]

Re-sends the recorded calls of a HAR file (or stdin) to a server and compares
its answers with the recorded ones: status, Content-Type, Location, which
cookies are set, and bodies field by field (JSON), line by line (text) or by
hash (binary). What always differs between two servers is cancelled:
timestamps, uuids, tokens, absolute links (the recorded origin becomes the
target's), and ids the server creates (compared modulo the mapping).

Correlation: a call that uses what an earlier answer produced (a new
cluster's id, a login's token or cookie) is sent with the value the target
answered, read where the recording's answer held it (the analysis that
'apitape inspect' prints); values it does not cover are learned where a
recorded and a live answer differ under an id-like key.

Exit status: 0 no regressions, 1 regressions, 2 usage or input error (also
missing variables and refused mutations: nothing is sent), 3 target
unreachable (no call could connect).

Target:
    -t, --target URL          send to scheme://host[:port][/prefix] (required)
        --header 'NAME: VAL'  set a header on every call, replacing the recorded
                              one (repeatable); $VAR and ${VAR} in VAL come from
                              the environment; 'NAME:' removes the header
        --allow-mutations     send POST, PUT, PATCH, DELETE to a target that is
                              not loopback (127.0.0.0/8, ::1, localhost)
        --insecure            do not verify the target's TLS certificate
        --dry-run             print what would be sent (method, URL, header
                              names, never values) and send nothing

Correlation:
        --no-correlate        send requests as recorded: no value from an
                              answer goes into a later call except --var ones
                              (learned ids still compare as equal)
        --var NAME=SOURCE@CALL
                              take one more value from an answer (repeatable):
                              SOURCE is a JSON path (.data[0].id), header:NAME
                              or cookie:NAME; CALL is the entry index of the
                              call whose answer holds it, e.g. CLUSTER_ID=.id@3
        --no-var NAME         send the value apitape inspect lists as NAME as
                              recorded (repeatable)
        --auth 'NAME: VALUE'  replace the recorded browser session (cookies,
                              CSRF headers, browser User-Agent) in every call
                              with this API credential header ($VAR from the
                              environment) and leave out the login, e.g.
                              --auth 'Authorization: Bearer $RANCHER_TOKEN'
        With the default selection, calls that are not API calls but whose
        answers give the selected ones a value (the login page that set the
        session cookie) are replayed too; a note says which.

Pacing:
    -c, --concurrency N       calls at once (default 1); a state-changing call
                              waits for all before it and all after wait for
                              it; a call waits for the answers it takes
                              values from
        --rate R              at most R requests per second
        --timeout D           per request, body included (default 30s)

Comparison:
        --ignore RULE         ignore differences (repeatable): a JSON path
                              ($.data[*].uuid, **.created), header:NAME, or
                              re:REGEX that both values match
        --noise-runs N        send each call that changes nothing N more times
                              (to --baseline, else the target) and ignore every
                              field that differs between those answers
        --baseline URL        known-good server for --noise-runs
        --compare-header NAME also compare this response header (repeatable);
                              '*' compares every recorded header
        --slowdown D          report calls answered D slower than recorded
        --no-builtin-rules    compare without the built-in noise rules
        --fail-on KIND        which differences fail: status (status codes
                              only), body (status codes and bodies) or any
                              (also headers and slowdowns; the default)

Report:
        --report FORMAT       text (default), json, junit or html; default from
                              the -o extension (.json, .xml, .html)
    -o, --output FILE         write the report here (mode 0600)
    -v, --verbose             text report: list every ignored field

` + selectionUsage + `
Redaction placeholders (REDACTED-<class>-<id>) are replaced by the values of
APITAPE_SECRET_<CLASS>_<ID>; every missing variable is listed before anything
is sent. Values that stand for secrets never appear in a report.

Examples:
    apitape replay session.har --target http://127.0.0.1:8080
    apitape replay session.har --target https://staging.example --method GET
    apitape replay session.har -t https://staging.example --allow-mutations \
        --header 'Authorization: Bearer $STAGING_TOKEN' --report html -o report.html
    apitape replay session.har -t http://127.0.0.1:8080 --noise-runs 2 \
        --ignore '$.data[*].lastSeen' --report junit -o replay.xml
    apitape redact raw.har | apitape replay - -t http://127.0.0.1:8080 --dry-run
    apitape replay session.har -t http://127.0.0.1:8080 --var POOL_ID=.data[0].id@7
`

var reportFormats = []string{"text", "json", "junit", "html"}

func runReplay(ctx context.Context, st *streams, args []string) error {
	fs := newFlagSet("replay")
	target := fs.StringP("target", "t", "", "target URL")
	headers := fs.StringArray("header", nil, "request header 'Name: value'")
	allowMutations := fs.Bool("allow-mutations", false, "send state-changing calls to a non-loopback target")
	insecure := fs.Bool("insecure", false, "do not verify TLS certificates")
	dryRun := fs.Bool("dry-run", false, "print what would be sent")
	concurrency := fs.IntP("concurrency", "c", 1, "calls at once")
	rate := fs.Float64("rate", 0, "requests per second")
	timeout := fs.Duration("timeout", 30*time.Second, "per request")
	ignores := fs.StringArray("ignore", nil, "ignore rule")
	noiseRuns := fs.Int("noise-runs", 0, "noise runs")
	baseline := fs.String("baseline", "", "baseline URL")
	compareHeaders := fs.StringArray("compare-header", nil, "response header to compare")
	slowdown := fs.Duration("slowdown", 0, "latency regression threshold")
	noBuiltin := fs.Bool("no-builtin-rules", false, "no built-in noise rules")
	failOn := fs.String("fail-on", "any", "status, body or any")
	report := fs.String("report", "", "text, json, junit or html")
	outPath := fs.StringP("output", "o", "", "report file")
	verbose := fs.BoolP("verbose", "v", false, "list every ignored field")
	noCorrelate := fs.Bool("no-correlate", false, "send requests as recorded")
	vars := fs.StringArray("var", nil, "take one more value from an answer: NAME=SOURCE@CALL (repeatable)")
	noVars := fs.StringArray("no-var", nil, "send this found value as recorded (repeatable)")
	auth := fs.String("auth", "", "replace the browser session with this header: 'NAME: VALUE'")
	sel := addSelectionFlags(fs)
	if err := parseInputFlags(st, fs, replayUsage, args); err != nil {
		return err
	}

	// Every argument is checked before the input is opened.
	if *target == "" {
		return usageErrorf("--target is required: the server to replay against, e.g. http://127.0.0.1:8080")
	}
	if err := checkScheme("--target", *target); err != nil {
		return err
	}
	if err := checkScheme("--baseline", *baseline); *baseline != "" && err != nil {
		return err
	}
	format := *report
	if format == "" {
		format = replayFormatFromExt(*outPath)
	}
	if !slices.Contains(reportFormats, format) {
		return usageErrorf("--report %q: want %s", format, strings.Join(reportFormats, ", "))
	}
	if *baseline != "" && *noiseRuns == 0 {
		return usageErrorf("--baseline is only used by --noise-runs")
	}
	opts := []replay.Option{
		replay.WithConcurrency(*concurrency),
		replay.WithRate(*rate),
		replay.WithTimeout(*timeout),
		replay.WithNoiseRuns(*noiseRuns),
		replay.WithFailOn(replay.FailOn(*failOn)),
		replay.WithAllowMutations(*allowMutations),
		replay.WithEnv(st.getenv),
		replay.WithSlowdown(*slowdown),
		replay.WithClient(replay.NewClient(*insecure, *concurrency*(1+*noiseRuns))),
	}
	if *slowdown < 0 {
		return usageErrorf("--slowdown must not be negative")
	}
	if *baseline != "" {
		opts = append(opts, replay.WithBaseline(*baseline))
	}
	if *noBuiltin {
		opts = append(opts, replay.WithoutBuiltinRules())
	}
	if len(*compareHeaders) > 0 {
		opts = append(opts, replay.WithCompareHeaders(*compareHeaders...))
	}
	for i, h := range *headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" {
			// Not quoted: a mistyped 'Authorization=Bearer …' holds a token.
			return usageErrorf("--header number %d: want 'Name: value'", i+1)
		}
		opts = append(opts, replay.WithHeader(strings.TrimSpace(name), strings.TrimSpace(value)))
	}
	for _, s := range *ignores {
		rule, err := replay.ParseRule(s)
		if err != nil {
			return usageErrorf("--ignore: %v", err)
		}
		opts = append(opts, replay.WithIgnore(rule))
	}
	if *auth != "" {
		a, err := convert.ParseAuth(*auth)
		if err != nil {
			return usageErrorf("--auth: %v", err)
		}
		// The browser session goes: cookies, CSRF headers, the browser's
		// User-Agent (which would ask for the CSRF check).
		for _, h := range append([]string{"Cookie", "User-Agent"}, credential.CSRFHeaders()...) {
			if !strings.EqualFold(h, a.Name) {
				opts = append(opts, replay.WithHeader(h, ""))
			}
		}
		opts = append(opts, replay.WithHeader(a.Name, a.Value))
	}
	extra, err := parseVars(*vars, *noVars)
	if err != nil {
		return err
	}
	corr := correlate.Options{Disabled: *noCorrelate, NoVar: *noVars, Extra: extra}
	opts = append(opts, replay.WithCorrelation(corr))
	selection, err := sel.selection()
	if err != nil {
		return err
	}

	name := fs.Arg(0)
	if name == "" {
		name = "-"
	}
	opts = append(opts, replay.WithSource(name))
	var prog *replayProgress
	if st.errTTY && !*dryRun {
		prog = &replayProgress{w: st.err}
		opts = append(opts, replay.WithProgress(prog.update))
	}
	r, err := replay.New(*target, opts...)
	if err != nil {
		return usageErrorf("%v", err)
	}
	in, name, err := openInput(st, fs.Arg(0))
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	defer in.Close()
	if err := refuseInputAsOutput("-o", in, name, *outPath); err != nil {
		return err
	}
	hr := har.NewReader(convertCtxReader{ctx, in}, name)
	if addProducers, dropLogins := defaultSelection(selection) && !*noCorrelate, *auth != ""; addProducers || dropLogins {
		// The default selection adds the calls whose answers produce what
		// the API calls send (the page that set the session cookie), and
		// --auth leaves the browser's login out: both need every entry,
		// which replay holds anyway.
		data, err := io.ReadAll(convertCtxReader{ctx, in})
		if err != nil {
			return replayInputError(ctx, err)
		}
		if addProducers {
			sel, added, err := replay.AddProducers(data, name, selection, corr)
			if err != nil {
				return replayInputError(ctx, err)
			}
			if len(added) > 0 {
				fmt.Fprintf(st.err, "apitape: note: also replays %s: later calls take values from their answers\n", oneLine(strings.Join(added, ", ")))
				selection = sel
			}
		}
		if dropLogins {
			sel, left, err := replay.LeaveOutLogins(data, name, selection)
			if err != nil {
				return replayInputError(ctx, err)
			}
			if len(left) > 0 {
				fmt.Fprintf(st.err, "apitape: note: leaves out the login --auth replaces: %s\n", oneLine(strings.Join(left, ", ")))
				selection = sel
			}
		}
		hr = har.NewReader(bytes.NewReader(data), name)
	}

	out, err := createOutput(st, *outPath, 0o600)
	if err != nil {
		return err
	}
	defer out.abort()

	if *dryRun {
		plan, err := r.PlanReader(hr, &selection)
		if err != nil {
			return replayInputError(ctx, err)
		}
		if err := replay.WriteDryRun(out, plan); err != nil {
			return err
		}
		warnUnsendableCalls(st, name, plan.Calls, func(c replay.PlannedCall) (int, string) { return c.Index, c.Skipped })
		if err := out.commit(); err != nil {
			return fmt.Errorf("%s: %w", *outPath, unwrapPathError(err))
		}
		if plan.Problems != nil {
			replayPreflight(st, plan.Problems, true)
			return &exitError{code: 2}
		}
		return nil
	}

	res, err := r.RunReader(ctx, hr, &selection)
	prog.clear()
	var pe *replay.PreflightError
	switch {
	case errors.As(err, &pe):
		replayPreflight(st, pe, false)
		return &exitError{code: 2}
	case res == nil && err != nil:
		return replayInputError(ctx, err)
	}
	if err := writeReplayReport(out, format, res, st, *outPath == "" && st.outTTY, *verbose); err != nil {
		return err
	}
	warnUnsendableCalls(st, name, res.Calls, func(c *replay.Call) (int, string) { return c.Index, c.Skipped })
	if err := out.commit(); err != nil {
		return fmt.Errorf("%s: %w", *outPath, unwrapPathError(err))
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	s := res.Summary
	switch {
	case s.Calls == 0:
		warningf(st, "%s: no calls to replay", name)
		if !selection.All {
			hintf(st, "only API calls are kept by default; use --all to keep every entry")
		}
		return nil
	case s.Unreachable:
		errorf(st, "target unreachable: no call could connect to %s", *target)
		if kind, msg := replayFirstError(res); kind == "tls" {
			hintf(st, "the TLS handshake failed (%s); --insecure skips certificate verification", msg)
		} else {
			hintf(st, "is the server running, and is the URL right? (%s)", msg)
		}
		return &exitError{code: 3}
	case res.Regressed():
		msg := fmt.Sprintf("%d of %d calls regressed", s.Failed+s.Errors, s.Calls-s.Skipped)
		if s.Affected > 0 {
			msg += fmt.Sprintf(" (%d after an earlier failure)", s.Affected)
		}
		return &exitError{code: 1, err: errors.New(msg)}
	}
	return nil
}

// warnUnsendableCalls is warnUnsendable for the planned or replayed calls
// (index, why skipped) that were skipped because their URL cannot be sent.
func warnUnsendableCalls[C any](st *streams, name string, calls []C, call func(C) (int, string)) {
	var first []string
	n := 0
	for _, c := range calls {
		index, skipped := call(c)
		if !strings.HasPrefix(skipped, "request.url: ") {
			continue
		}
		n++
		if len(first) < 10 {
			first = append(first, fmt.Sprintf("entry %d: %s", index, skipped))
		}
	}
	warnUnsendable(st, name, first, n, "sent")
}

// inputError maps errors reading the recording: a bad HAR is an input
// error, and so is a --var that does not fit it (exit 2).
func replayInputError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var he *har.Error
	if errors.As(err, &he) {
		return &exitError{code: 2, err: err}
	}
	var ve *replay.VarError
	if errors.As(err, &ve) {
		// correlate says "var NAME: …".
		return usageErrorf("--%v", ve.Err)
	}
	return err
}

func replayPreflight(st *streams, pe *replay.PreflightError, dry bool) {
	sent := "nothing was sent"
	if dry {
		sent = "dry run"
	}
	if len(pe.Missing) > 0 {
		variables := "variables"
		if len(pe.Missing) == 1 {
			variables = "variable"
		}
		errorf(st, "missing environment %s (%s): %s", variables, sent, strings.Join(pe.Missing, ", "))
		hintf(st, "placeholders REDACTED-<class>-<id> take their values from APITAPE_SECRET_<CLASS>_<ID>; --header values from the variables they name")
		hintf(st, "export %s=… and run again", pe.Missing[0])
	}
	if len(pe.Refused) > 0 {
		var calls []string
		for i, c := range pe.Refused {
			if i == 3 {
				calls = append(calls, fmt.Sprintf("… %d more", len(pe.Refused)-3))
				break
			}
			calls = append(calls, fmt.Sprintf("%d %s %s", c.Index, c.Method, c.Path))
		}
		methods := map[string]bool{}
		for _, c := range pe.Refused {
			methods[c.Method] = true
		}
		errorf(st, "refusing to send %s (%s) to %s, which is not loopback (%s): %s",
			english.Count(len(pe.Refused), "state-changing call", ""), strings.Join(slices.Sorted(maps.Keys(methods)), ", "), pe.Target, sent, strings.Join(calls, "; "))
		if methods["GET"] || methods["HEAD"] {
			// A method override (?_method=DELETE) keeps them out of --method GET.
			hintf(st, "add --allow-mutations to send them anyway, or leave them out with --entries or --match")
		} else {
			hintf(st, "add --allow-mutations to send them anyway, or --method GET to replay only the reads")
		}
	}
}

func replayFirstError(res *replay.Result) (kind, msg string) {
	for _, c := range res.Calls {
		if c.Error != nil {
			return c.Error.Kind, c.Error.Message
		}
	}
	return "", "no answer"
}

func writeReplayReport(w io.Writer, format string, res *replay.Result, st *streams, tty, verbose bool) error {
	switch format {
	case "json":
		return replay.WriteJSON(w, res)
	case "junit":
		return replay.WriteJUnit(w, res)
	case "html":
		return replay.WriteHTML(w, res)
	}
	color := tty && st.getenv("NO_COLOR") == ""
	return replay.WriteText(w, res, replay.Color(color), replay.Verbose(verbose))
}

func replayFormatFromExt(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		return "json"
	case ".xml":
		return "junit"
	case ".html", ".htm":
		return "html"
	}
	return "text"
}

// replayProgress draws "replaying 12/40 (2 differ)" on a terminal's stderr,
// at most ten times a second.
type replayProgress struct {
	mu    sync.Mutex
	w     io.Writer
	last  time.Time
	drawn bool
}

func (p *replayProgress) update(pr replay.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pr.Done < pr.Total && time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.drawn = true
	fmt.Fprintf(p.w, "\r\x1b[Kreplaying %d/%d", pr.Done, pr.Total)
	if pr.Failed > 0 {
		fmt.Fprintf(p.w, " (%d differ)", pr.Failed)
	}
}

func (p *replayProgress) clear() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}
