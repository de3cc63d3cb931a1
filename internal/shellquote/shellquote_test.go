package shellquote

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"mvdan.cc/sh/v3/syntax"

	"github.com/apitape/apitape/internal/testtool"
)

func TestQuote(t *testing.T) {
	tests := []struct {
		in, want, reason string
	}{
		{"", "''", "an empty argument must still be an argument"},
		{"abc", "abc", "plain words need no quotes"},
		{"-H", "-H", "flags stay readable"},
		{"https://h.example/a.b,c=1%2F@x+y", "https://h.example/a.b,c=1%2F@x+y", "URL characters that the shell ignores"},
		{"https://h.example/?x=1", "'https://h.example/?x=1'", "? is a glob character"},
		{"a b", "'a b'", "space splits words"},
		{"it's", `'it'\''s'`, "a quote closes, escapes and reopens"},
		{"$HOME `id` $(id) \\ \" ! ; | & < > * ? ~ # { } [ ]", `'$HOME ` + "`id`" + ` $(id) \ " ! ; | & < > * ? ~ # { } [ ]'`, "single quotes stop every expansion"},
		{"a\nb\tc", "'a\nb\tc'", "newlines and tabs stay literal inside single quotes"},
		{"a\r\nb", `'a'$'\r\n''b'`, "CR only in a $'…' segment"},
		{"\x01\x7f", `$'\x01\x7f'`, "control characters and DEL as hex escapes"},
		{"\xff\xfe", `$'\xff\xfe'`, "bytes that are not UTF-8"},
		{"caf\u00e9 \u65e5\u672c", "'caf\u00e9 \u65e5\u672c'", "printable Unicode stays literal"},
		{"\u0085x", `$'\xc2\x85''x'`, "C1 controls are escaped"},
		{"${x}\x1b", `'${x}'$'\x1b'`, "${…} never shares a $'…' segment"},
	}
	for _, tt := range tests {
		if got := Quote(tt.in); got != tt.want {
			t.Errorf("Quote(%q) = %s, want %s (%s)", tt.in, got, tt.want, tt.reason)
		}
	}
}

func TestQuotePanicsOnNUL(t *testing.T) {
	if CanQuote("a\x00b") || !CanQuote("ab") {
		t.Fatal("CanQuote wrong")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Quote accepted a NUL byte")
		}
	}()
	Quote("a\x00b")
}

// nasty are strings that have broken shell quoting somewhere.
var nasty = []string{
	"", "'", "''", `"`, `\`, `\'`, "'\\''", "$HOME", "${HOME}", "$(touch pwned)", "`touch pwned`",
	"$((1+1))", "!!", "!$", "a!b", "%s%d%%", `\n\x41\0`, ";touch pwned", "|touch pwned", "&& touch pwned",
	"<pwned", ">pwned", "a\nb", "\n", "\r\n", "trailing\n\n", "\t", "\x01\x02\x1b[31m", "\x7f", "\xff",
	"\xc3", "caf\u00e9", "\u0085", "\u2028", "\ufeff", "{a,b}", "[a-z]*", "~root", "#comment", "-n", "-e",
	"@/etc/hostname", "$'x'", `$"x"`, "x=$(id)", "${x:-$(touch pwned)}", "\\\n", "'$(touch pwned)'",
	"\"$(touch pwned)\"", "'\"'\"'", strings.Repeat("'", 100), "a'b\x01c'd",
}

// FuzzQuote checks with a real bash that a quoted word comes back
// byte for byte and runs nothing.
func FuzzQuote(f *testing.F) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		testtool.Missing(f, "bash not found")
	}
	for _, s := range nasty {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !CanQuote(s) {
			return
		}
		q := Quote(s)
		// One word for a real parser, too.
		file, err := syntax.NewParser().Parse(strings.NewReader("printf %s "+q+"\n"), "")
		if err != nil {
			t.Fatalf("Quote(%q) = %s does not parse: %v", s, q, err)
		}
		if n := len(file.Stmts); n != 1 {
			t.Fatalf("Quote(%q) = %s parses as %d statements", s, q, n)
		}
		if call, ok := file.Stmts[0].Cmd.(*syntax.CallExpr); !ok || len(call.Args) != 3 {
			t.Fatalf("Quote(%q) = %s is not one word", s, q)
		}
		dir := t.TempDir()
		// -H turns history expansion on, as an interactive paste would have it.
		cmd := exec.Command(bash, "--norc", "--noprofile", "-H", "-c", "set -H; printf %s "+q)
		cmd.Dir = dir
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "LC_ALL=C.UTF-8"}
		var out, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("bash failed on %s: %v: %s", q, err, stderr.String())
		}
		if out.String() != s {
			t.Fatalf("bash read %s as %q, want %q", q, out.String(), s)
		}
		if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) > 0 {
			t.Fatalf("bash ran a command from %s: created %v", q, left)
		}
	})
}
