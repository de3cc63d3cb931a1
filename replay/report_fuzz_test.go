package replay

import (
	"encoding/json"
	"html"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzPathHTML: the HTML of a field path is the path, escaped, with only
// <wbr> added.
func FuzzPathHTML(f *testing.F) {
	for _, s := range []string{"$.a.b[3]", "header:Set-Cookie[x]", `$["<script>"]`, "&amp;", "/a/b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		out := string(pathHTML(p))
		bare := strings.ReplaceAll(out, "<wbr>", "")
		if strings.ContainsAny(bare, "<>\"'") {
			t.Fatalf("pathHTML(%q) = %q: unescaped markup", p, out)
		}
		// html/template writes NUL, and each byte of invalid UTF-8, as U+FFFD.
		var w strings.Builder
		for _, r := range p {
			if r == 0 {
				r = utf8.RuneError
			}
			w.WriteRune(r)
		}
		want := w.String()
		if got := html.UnescapeString(bare); got != want {
			t.Fatalf("pathHTML(%q) reads back as %q", p, got)
		}
	})
}

// FuzzRowMember: a body row as jsondiff writes it, "key": "value", reads
// back as the key and value; anything else never panics.
func FuzzRowMember(f *testing.F) {
	for _, s := range []string{"token", `a"b`, "ü\u2028", ""} {
		f.Add(s, s+"x")
	}
	f.Fuzz(func(t *testing.T, k, v string) {
		rowMember(k + v) // arbitrary text: no panic
		kq, _ := json.Marshal(k)
		vq, _ := json.Marshal(v)
		line := string(kq) + ": " + string(vq) + ","
		var wk, wv string // what JSON made of them (invalid UTF-8 replaced)
		json.Unmarshal(kq, &wk)
		json.Unmarshal(vq, &wv)
		gk, gv, ok := rowMember(line)
		if !ok || gk != wk || gv != wv {
			t.Fatalf("rowMember(%q) = %q, %q, %v", line, gk, gv, ok)
		}
	})
}
