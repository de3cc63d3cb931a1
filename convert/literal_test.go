package convert

import (
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"testing"
	"unicode/utf8"
)

// FuzzGoString checks that every string becomes a Go literal that a Go
// parser reads back as exactly that string, and that the source stays
// valid UTF-8 (a raw invalid byte is a compile error).
func FuzzGoString(f *testing.F) {
	for _, s := range append(nasty(), "{\n  \"a\": \"b\"\n}", "`", "a`b\n\"", "\r\n\"x\"", "\ufeff\"\n", "\xff\"\n", "\u2028\n\"") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lit := string(appendGoString(nil, s))
		if !utf8.ValidString(lit) {
			t.Fatalf("literal for %q is not valid UTF-8: %s", s, lit)
		}
		expr, err := parser.ParseExpr(lit)
		if err != nil {
			t.Fatalf("literal for %q does not parse: %v: %s", s, err, lit)
		}
		bl, ok := expr.(*ast.BasicLit)
		if !ok || bl.Kind != token.STRING {
			t.Fatalf("literal for %q is a %T", s, expr)
		}
		v := constant.MakeFromLiteral(bl.Value, token.STRING, 0)
		if v.Kind() != constant.String || constant.StringVal(v) != s {
			t.Fatalf("literal %s reads back as %q, want %q", lit, constant.StringVal(v), s)
		}
	})
}

// nasty are strings that have broken quoting somewhere.
func nasty() []string {
	return []string{
		"", "'", `"`, `\`, "$HOME", "$(touch pwned)", "`touch pwned`", "!!", "%s%d", "a\nb", "\r\n", "\x00", "\x01\x1b",
		"\x7f", "\xff", "\xc3", "caf\u00e9", "\u0085", "\u2028", "\ufeff", "日本語", "🚀", "{a,b}", "[a-z]", "\t",
		"REDACTED-cookie-1a2b3c4d", "x REDACTED-bearer-deadbeef y",
	}
}
