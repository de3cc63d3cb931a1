// Command apitape turns what a person does in a web UI into API calls they
// can keep, share, script and re-run: capture them as HAR, redact the
// secrets, convert them to curl, bash or Go, and replay them against another
// server with a noise-aware diff.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// version is set by the linker (-ldflags "-X main.version=…"); otherwise the
// module version from the build info is used.
var version = ""

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// versionText is what `apitape version` prints: the version, the commit it
// was built from (with its time, and whether the tree had uncommitted
// changes) and the Go toolchain, all from the build info Go embeds.
func versionText(bi *debug.BuildInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apitape %s\n", versionString())
	if bi == nil {
		b.WriteString("revision unknown (no build information)\n")
		return b.String()
	}
	vcs := map[string]string{}
	for _, s := range bi.Settings {
		vcs[s.Key] = s.Value
	}
	if rev := vcs["vcs.revision"]; rev != "" {
		fmt.Fprintf(&b, "revision %s", rev)
		if t := vcs["vcs.time"]; t != "" {
			fmt.Fprintf(&b, " (%s)", t)
		}
		if vcs["vcs.modified"] == "true" {
			b.WriteString(", with uncommitted changes")
		}
		b.WriteByte('\n')
	} else {
		b.WriteString("revision unknown (built without version control information)\n")
	}
	fmt.Fprintf(&b, "built with %s\n", bi.GoVersion)
	return b.String()
}

func buildInfo() *debug.BuildInfo {
	bi, _ := debug.ReadBuildInfo()
	return bi
}

// streams is what a command may read and write; tests give it buffers.
type streams struct {
	in     io.Reader
	out    io.Writer
	err    io.Writer
	errTTY bool // stderr is a terminal (TERM not dumb): progress lines and colour allowed
	outTTY bool
	getenv func(string) string
	// flagSpy, when set, receives the flag set a command is about to parse
	// and the command stops there (shell completion reads the flags so).
	flagSpy func(*pflag.FlagSet)
}

// command is one subcommand. run parses its own flags from args.
type command struct {
	name    string
	summary string
	usage   string
	run     func(ctx context.Context, st *streams, args []string) error
}

func commands() []*command {
	return []*command{
		{name: "capture", summary: "record a UI's API calls as HAR (browser or proxy)", usage: captureUsage, run: runCapture},
		{name: "redact", summary: "replace secrets in a HAR with stable placeholders", usage: redactUsage, run: runRedact},
		{name: "scan", summary: "find secrets left in HAR files and scripts", usage: scanUsage, run: runScan},
		{name: "convert", summary: "turn recorded calls into curl, bash, Go, Python, HTTPie, fetch or a Locust load test", usage: convertUsage, run: runConvert},
		{name: "inspect", summary: "show the values later calls take from earlier answers", usage: inspectUsage, run: runInspect},
		{name: "replay", summary: "re-send recorded calls to a server and diff the answers", usage: replayUsage, run: runReplay},
		{name: "ca", summary: "manage the certificate authority of capture proxy", usage: caUsage, run: runCA},
		{name: "demo", summary: "try apitape end to end on a built-in Rancher-like server", usage: demoUsage, run: runDemo},
		{name: "version", summary: "print apitape's version", usage: versionUsage, run: runVersion},
		{name: "completion", summary: "print a shell completion script (bash, zsh, fish)", usage: completionUsage, run: runCompletion},
	}
}

func main() {
	ctx, stop := signalContext()
	st := newStreams(os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	code := run(ctx, st, os.Args[1:])
	stop()
	os.Exit(code)
}

// newStreams wires a process's standard files. A stream counts as a
// terminal (colour, progress lines redrawn with \r and ESC[K) only when it
// is one and TERM is not "dumb": a dumb terminal (Emacs shell, some CI
// consoles) shows escape sequences as junk, so it gets plain text, as
// NO_COLOR asks for colour alone.
func newStreams(in io.Reader, out, errf *os.File, getenv func(string) string) *streams {
	ansi := getenv("TERM") != "dumb"
	return &streams{
		in:     in,
		out:    out,
		err:    errf,
		errTTY: ansi && term.IsTerminal(int(errf.Fd())),
		outTTY: ansi && term.IsTerminal(int(out.Fd())),
		getenv: getenv,
	}
}

const mainUsage = `apitape turns what you do in a web UI into API calls you can keep, share,
script and re-run.

Usage:
    apitape <command> [flags] [arguments]

Commands:
%s
Pipelines (every stage reads a file or stdin and writes a file or stdout):
    apitape capture browser https://rancher.example -o session.har
    apitape redact session.har | apitape convert --to bash -o provision.sh
    apitape replay session.har --target https://staging.example

Run 'apitape <command> --help' for a command's flags and examples.
Exit codes: 0 success, 1 failure (or secrets found, regressions), 2 usage error,
3 replay target unreachable.
`

func printMainUsage(w io.Writer) {
	var b strings.Builder
	for _, c := range commands() {
		fmt.Fprintf(&b, "    %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, mainUsage, b.String())
}

// run executes one invocation and returns the process exit code.
func run(ctx context.Context, st *streams, args []string) (code int) {
	defer func() {
		// A bug must not print a stack trace at the user; say what happened
		// in one line and exit like any other failure.
		if r := recover(); r != nil {
			errorf(st, "internal error: %v", r)
			code = 1
		}
	}()
	if len(args) == 0 {
		printMainUsage(st.err)
		return 2
	}
	name := args[0]
	switch name {
	case "help", "-h", "--help":
		if len(args) > 1 {
			for _, c := range commands() {
				if c.name == args[1] {
					fmt.Fprint(st.out, c.usage)
					return 0
				}
			}
			unknownCommand(st, args[1])
			return 2
		}
		printMainUsage(st.out)
		return 0
	case "-v", "--version":
		fmt.Fprint(st.out, versionText(buildInfo()))
		return 0
	}
	for _, c := range commands() {
		if c.name == name {
			// A usage error's hint names the command unless a subcommand
			// already named itself.
			return exitCode(st, usageFor(c.name, c.run(ctx, st, args[1:])))
		}
	}
	unknownCommand(st, name)
	return 2
}

// unknownCommand says so, with the closest command names when there are
// any ("did you mean").
func unknownCommand(st *streams, name string) {
	errorf(st, "unknown command %q", name)
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	if near := closest(name, append(names, "help")); len(near) > 0 {
		hintf(st, "did you mean %s?", strings.Join(near, " or "))
	}
	hintf(st, "run 'apitape help' for the list of commands")
}

// closest returns the candidates nearest to s by edit distance, when they
// are near enough to be a typo: at most a third of the longer word (at
// least 1) apart, or s is a prefix of them.
func closest(s string, candidates []string) []string {
	best, out := -1, []string(nil)
	for _, c := range candidates {
		d := editDistance(strings.ToLower(s), c)
		if len(s) >= 2 && strings.HasPrefix(c, strings.ToLower(s)) {
			d = 1
		}
		if d > max(1, max(len(s), len(c))/3) {
			continue
		}
		switch {
		case best < 0 || d < best:
			best, out = d, []string{c}
		case d == best:
			out = append(out, c)
		}
	}
	return out
}

// editDistance is the optimal string alignment distance (Levenshtein plus
// swapping two adjacent letters, the commonest typo) between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

const versionUsage = `Usage:
    apitape version

Prints apitape's version, the commit it was built from and the Go version.
`

func runVersion(ctx context.Context, st *streams, args []string) error {
	fs := newFlagSet("version")
	if err := parseFlags(st, fs, versionUsage, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("version takes no arguments, got %q", fs.Arg(0))
	}
	fmt.Fprint(st.out, versionText(buildInfo()))
	return nil
}

// exitCode prints err the apitape way and maps it to an exit code.
func exitCode(st *streams, err error) int {
	if err == nil {
		return 0
	}
	var ue *usageError
	var ee *exitError
	var he *hintedError
	switch {
	case errors.Is(err, errHelpShown):
		return 0
	case errors.As(err, &ee):
		if ee.err != nil {
			errorf(st, "%v", ee.err)
		}
		return ee.code
	case errors.As(err, &ue):
		errorf(st, "%v", ue.err)
		for _, h := range ue.hints {
			hintf(st, "%s", h)
		}
		hintf(st, "run 'apitape %s --help' for usage", ue.cmd)
		return 2
	case errors.As(err, &he):
		errorf(st, "%v", he.err)
		for _, h := range he.hints {
			hintf(st, "%s", h)
		}
		return 1
	case errors.Is(err, context.Canceled):
		errorf(st, "interrupted")
		return 1
	}
	errorf(st, "%v", err)
	return 1
}
