package redact

import (
	"strings"
	"testing"
	"unsafe"
)

// TestJSONBodyValidity: a JSON body is checked for validity once, by the
// walk itself; an invalid one still gets its warning, a valid one none,
// small or larger than what an entry's arena keeps.
func TestJSONBodyValidity(t *testing.T) {
	const warning = "body is not valid JSON"
	for _, tc := range []struct {
		name, text string
		warn       bool
	}{
		{"valid", `{"a":"b","n":[1,2,3]}`, false},
		{"valid large", bigJSON(maxArenaDoc+4096, "x"), false},
		{"truncated", `{"a":"b","n":[1,2`, true},
		{"truncated large", bigJSON(maxArenaDoc+4096, "x")[:maxArenaDoc+100], true},
		{"not json", `hello there`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, recs := redactString(t, newTestRedactor(t, Options{}), harOf(ent{text: tc.text}.json()))
			got := false
			for _, r := range recs {
				got = got || strings.Contains(r.Rule, warning)
			}
			if got != tc.warn {
				t.Errorf("warning %q: %v, want %v (records %v)", warning, got, tc.warn, recs)
			}
		})
	}
}

// TestArenaReuse: trees parsed into a reused arena equal trees parsed
// on the heap, including after a larger document and a syntax error used
// it, so nothing of one entry's trees shows in the next's.
func TestArenaReuse(t *testing.T) {
	docs := []string{sessionEntry(1), bigJSON(64<<10, "y"), `{"a":[1,{"b":`, sessionEntry(2), `{"x\u0041":[[],{}],"y":"z"}`, sessionEntry(3)}
	ar := new(jarena)
	for i, doc := range docs {
		got, gerr := parseJSONIn(doc, ar)
		want, werr := parseJSON(doc)
		if (gerr == nil) != (werr == nil) || !sameTree(&got, &want) {
			t.Errorf("doc %d: the arena's tree differs from the heap's", i)
		}
		ar.reset()
	}
}

// sameTree compares two trees node by node: a node holds a pointer to its
// first child only, which reflect.DeepEqual would follow no further.
func sameTree(a, b *jnode) bool {
	x, y := *a, *b
	x.first, y.first = nil, nil
	if x != y {
		return false
	}
	ak, bk := a.kids(), b.kids()
	for i := range ak {
		if !sameTree(&ak[i], &bk[i]) {
			return false
		}
	}
	return true
}

func TestUnhex(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := -1
		switch {
		case c >= '0' && c <= '9':
			want = c - '0'
		case c >= 'a' && c <= 'f':
			want = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			want = c - 'A' + 10
		}
		if got := unhex(byte(c)); got != want {
			t.Errorf("unhex(%#x) = %d, want %d", c, got, want)
		}
	}
}

// BenchmarkParseJSON measures the span reader alone: a session entry and
// a 1 MiB JSON body.
func BenchmarkParseJSON(b *testing.B) {
	for _, tc := range []struct{ name, doc string }{{"entry", sessionEntry(7)}, {"1MiB", bigJSON(1<<20, "x")}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.doc)))
			b.ReportAllocs()
			ar := new(jarena)
			for b.Loop() {
				if _, err := parseJSONIn(tc.doc, ar); err != nil {
					b.Fatal(err)
				}
				ar.reset()
			}
		})
	}
}

// TestNodeSize: a large body has a node for every dozen bytes or so, and
// the tree's size decides how much memory its redaction takes.
func TestNodeSize(t *testing.T) {
	if s := unsafe.Sizeof(jnode{}); s > 32 {
		t.Errorf("a jnode takes %d bytes, want at most 32", s)
	}
}
