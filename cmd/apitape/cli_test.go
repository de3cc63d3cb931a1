package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apitape/apitape/internal/testtool"
	"github.com/rogpeppe/go-internal/testscript"
)

// ciNeed answers a tool condition such as [curl]: under CI=true a missing
// tool is an error, so a script cannot skip what CI installs.
func ciNeed(tool string, ok bool) (bool, error) {
	if !ok && testtool.InCI() {
		return false, fmt.Errorf("CI=true but %s is not installed (.ci/run installs it)", tool)
	}
	return ok, nil
}

func init() {
	// filetype PATH TYPE: PATH itself (not what a link names) is a regular
	// file, symlink, fifo, chardev or dir.
	scriptCmds["filetype"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 2 {
			ts.Fatalf("usage: filetype path regular|symlink|fifo|chardev|dir")
		}
		fi, err := os.Lstat(ts.MkAbs(args[0]))
		ts.Check(err)
		names := map[fs.FileMode]string{
			0:                                 "regular",
			fs.ModeSymlink:                    "symlink",
			fs.ModeNamedPipe:                  "fifo",
			fs.ModeDevice | fs.ModeCharDevice: "chardev",
			fs.ModeDir:                        "dir",
		}
		got, ok := names[fi.Mode().Type()]
		if !ok {
			got = fi.Mode().Type().String()
		}
		if got != args[1] {
			ts.Fatalf("%s is a %s, want %s", args[0], got, args[1])
		}
	}
	// fileperm PATH MODE: the permission bits, in octal.
	scriptCmds["fileperm"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 2 {
			ts.Fatalf("usage: fileperm path 0600")
		}
		fi, err := os.Stat(ts.MkAbs(args[0]))
		ts.Check(err)
		if got := "0" + strconv.FormatUint(uint64(fi.Mode().Perm()), 8); got != args[1] {
			ts.Fatalf("%s has mode %s, want %s", args[0], got, args[1])
		}
	}
}

func TestClosest(t *testing.T) {
	names := []string{"capture", "redact", "scan", "convert", "inspect", "replay", "ca", "demo", "version", "completion", "help"}
	tests := []struct {
		in     string
		want   string
		reason string
	}{
		{"replya", "replay", "two letters swapped"},
		{"reply", "replay", "a letter missing"},
		{"redcat", "redact", "swapped in the middle"},
		{"conv", "convert", "a prefix"},
		{"comp", "completion", "a prefix"},
		{"CONVERT", "convert", "case"},
		{"scna", "scan", "short word, one swap"},
		{"cs", "ca", "two letters, one off"},
		{"kubectl", "", "nothing near"},
		{"x", "", "one letter is no guess"},
		{"verison", "version", "swap"},
		{"captur", "capture", "a letter missing at the end"},
	}
	for _, tt := range tests {
		if got := strings.Join(closest(tt.in, names), " "); got != tt.want {
			t.Errorf("closest(%q) = %q, want %q (%s)", tt.in, got, tt.want, tt.reason)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"kitten", "sitting", 3},
		{"replay", "replya", 1}, {"ab", "ba", 1}, {"ca", "abc", 3}, {"héllo", "hello", 1},
	} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := editDistance(tt.b, tt.a); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d (not symmetric)", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestVersionText(t *testing.T) {
	bi := func(settings ...string) *debug.BuildInfo {
		b := &debug.BuildInfo{GoVersion: "go1.26.8"}
		for i := 0; i < len(settings); i += 2 {
			b.Settings = append(b.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return b
	}
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"clean", bi("vcs.revision", "0123abcd", "vcs.time", "2026-12-06T12:00:00Z", "vcs.modified", "false"),
			"revision 0123abcd (2026-12-06T12:00:00Z)\nbuilt with go1.26.8\n"},
		{"modified", bi("vcs.revision", "0123abcd", "vcs.modified", "true"),
			"revision 0123abcd, with uncommitted changes\nbuilt with go1.26.8\n"},
		{"no vcs", bi(), "revision unknown (built without version control information)\nbuilt with go1.26.8\n"},
		{"no build info", nil, "revision unknown (no build information)\n"},
	}
	for _, tt := range tests {
		got := versionText(tt.bi)
		if want := "apitape " + versionString() + "\n" + tt.want; got != want {
			t.Errorf("%s: got\n%s\nwant\n%s", tt.name, got, want)
		}
	}
}

// TestVersionOfBuiltBinary builds apitape as a user would and checks that
// `apitape version` names the commit it was built from. Go stamps the
// revision only when the module root is in a git repository with a .git
// folder (a linked worktree, whose .git is a file, gets none): then the
// binary must say it has none.
func TestVersionOfBuiltBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds apitape")
	}
	gobin := testtool.Need(t, "go")
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "apitape")
	// -buildvcs on the command line wins over a GOFLAGS=-buildvcs=false.
	build := exec.Command(gobin, "build", "-buildvcs=auto", "-o", bin, "./cmd/apitape")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("apitape version: %v", err)
	}
	t.Logf("apitape version:\n%s", out)
	fi, err := os.Stat(filepath.Join(root, ".git"))
	if err != nil || !fi.IsDir() {
		if !strings.Contains(string(out), "\nrevision unknown (built without version control information)\n") {
			t.Errorf("no .git folder at %s, yet the output names a revision", root)
		}
		return
	}
	git := testtool.Need(t, "git")
	head, err := exec.Command(git, "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "\nrevision " + strings.TrimSpace(string(head)) + " ("; !strings.Contains(string(out), want) {
		t.Errorf("version output lacks %q", want)
	}
}

// TestCompletionTable: every subcommand completion offers is one its command
// accepts, and the table carries the flags the commands really parse.
func TestCompletionTable(t *testing.T) {
	for cmd, subs := range subcommands {
		for _, sub := range subs {
			var out, errb strings.Builder
			st := &streams{in: strings.NewReader(""), out: &out, err: &errb, getenv: func(string) string { return "" }}
			if code := run(context.Background(), st, []string{cmd, sub, "--help"}); code != 0 {
				t.Errorf("apitape %s %s --help: exit %d: %s", cmd, sub, code, errb.String())
			}
		}
	}
	want := map[string][]string{
		"replay":          {"--target", "-t", "--allow-mutations", "--dry-run", "--output", "-o"},
		"capture browser": {"--output", "-o", "--steps", "--headless"},
		"capture proxy":   {"--listen", "--max-body"},
		"ca export":       {"--der", "--ca-dir"},
		"demo":            {"--dir", "--bundled"},
		"demo serve":      {"--listen", "--variant"},
		"convert":         {"--to", "--base-url", "--exact"},
	}
	got := map[string][]string{}
	for _, c := range completionTable() {
		got[strings.Join(c.path, " ")] = flagWords(c, false)
	}
	for cmd, flags := range want {
		for _, f := range flags {
			if !slices.Contains(got[cmd], f) {
				t.Errorf("completion of %q lacks %s (has %v)", cmd, f, got[cmd])
			}
		}
	}
}

func TestCheckScheme(t *testing.T) {
	tests := []struct {
		raw   string
		extra []string
		want  string // substring of the error; "" for none
	}{
		{raw: "http://127.0.0.1:8080"},
		{raw: "HTTPS://rancher.example/prefix"},
		{raw: "rancher.example:8443", want: "has no scheme: add http:// or https:// (for example https://rancher.example:8443)"},
		{raw: "127.0.0.1:8080", want: "(for example http://127.0.0.1:8080)"},
		{raw: "localhost", want: "(for example http://localhost)"},
		{raw: "[::1]:8080", want: "(for example http://[::1]:8080)"},
		{raw: "//rancher.example", want: "(for example https://rancher.example)"},
		{raw: "://rancher.example", want: "(for example https://rancher.example)"},
		{raw: "https:rancher.example", want: "(for example https://rancher.example)"},
		{raw: "rancher.example/a://b", want: "has no scheme"},
		{raw: "ftp://x"}, // the place's own check says which schemes it takes
		{raw: "", want: "is empty"},
		{raw: "about:blank", extra: []string{"about", "file"}},
		{raw: "file:///tmp/x.html", extra: []string{"about", "file"}},
		{raw: "about:blank", want: "has no scheme"},
	}
	for _, tt := range tests {
		err := checkScheme("--target", tt.raw, tt.extra...)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("checkScheme(%q): %v", tt.raw, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("checkScheme(%q) = %v, want %q", tt.raw, err, tt.want)
		}
		var ue *usageError
		if err != nil && !errors.As(err, &ue) {
			t.Errorf("checkScheme(%q): %v is not a usage error (exit 2)", tt.raw, err)
		}
	}
}

// unquoteSingle reads one single-quoted word the way zsh (outside the
// quotes a backslash escapes one character) or fish (also \' and \\
// inside the quotes) does.
func unquoteSingle(q string, fish bool) (string, bool) {
	var b strings.Builder
	in := false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case !in && c == '\'':
			in = true
		case !in && c == '\\' && i+1 < len(q):
			i++
			b.WriteByte(q[i])
		case !in:
			return "", false // an unquoted character
		case c == '\'':
			in = false
		case fish && c == '\\' && i+1 < len(q) && (q[i+1] == '\'' || q[i+1] == '\\'):
			i++
			b.WriteByte(q[i])
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), !in
}

func FuzzCompletionQuotes(f *testing.F) {
	for _, s := range []string{"", "record a UI's API calls", `back\slash`, `\'`, "'", "a\nb", "$(x) `y`"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, ok := unquoteSingle(zshQuote(s), false); !ok || got != s {
			t.Errorf("zshQuote(%q) = %q reads back as %q, %v", s, zshQuote(s), got, ok)
		}
		if got, ok := unquoteSingle(fishQuote(s), true); !ok || got != s {
			t.Errorf("fishQuote(%q) = %q reads back as %q, %v", s, fishQuote(s), got, ok)
		}
	})
}

// TestCompletionQuotesInRealShells: the quoting agrees with zsh and fish
// themselves on awkward words.
func TestCompletionQuotesInRealShells(t *testing.T) {
	words := []string{"record a UI's API calls", `back\slash`, `\'`, "'", "$(x) `y` ${z}", "a;b|c&d", "tab\there"}
	zsh := testtool.Need(t, "zsh")
	fish := testtool.Need(t, "fish")
	for _, w := range words {
		out, err := exec.Command(zsh, "-f", "-c", "print -rn -- "+zshQuote(w)).Output()
		if err != nil || string(out) != w {
			t.Errorf("zsh: %s printed %q, %v; want %q", zshQuote(w), out, err, w)
		}
		out, err = exec.Command(fish, "--no-config", "-c", "printf %s "+fishQuote(w)).Output()
		if err != nil || string(out) != w {
			t.Errorf("fish: %s printed %q, %v; want %q", fishQuote(w), out, err, w)
		}
	}
}

func FuzzCheckScheme(f *testing.F) {
	for _, s := range []string{"rancher.example:8443", "http://x", "://", "https:", "about:blank", "//h", "ftp://x/y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := checkScheme("--target", s, "about", "file")
		var ue *usageError
		if err != nil && !errors.As(err, &ue) {
			t.Fatalf("checkScheme(%q): %v is not a usage error", s, err)
		}
		if err := checkScheme("--target", "https://"+s); err != nil {
			t.Fatalf("checkScheme(https://%q): %v", s, err)
		}
	})
}

func FuzzEditDistance(f *testing.F) {
	f.Add("replay", "replya")
	f.Add("", "x")
	f.Fuzz(func(t *testing.T, a, b string) {
		if len(a) > 64 || len(b) > 64 {
			return
		}
		d := editDistance(a, b)
		if d != editDistance(b, a) || (d == 0) != (string([]rune(a)) == string([]rune(b))) || d > max(len([]rune(a)), len([]rune(b))) {
			t.Fatalf("editDistance(%q, %q) = %d", a, b, d)
		}
		closest(a, []string{b, "replay"})
	})
}
