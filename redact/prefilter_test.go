package redact

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// kwRunNamesRef is what kwRunNames must find: the names of kwIndexNames
// that a separator follows, in kwIndexNames' order.
func kwRunNamesRef(s string, kws []string) []nameSpan {
	var out []nameSpan
	for _, n := range kwIndexNames(s, kws) {
		if sepFollows(s, n.ne) {
			out = append(out, n)
		}
	}
	return out
}

// checkKwRunNames compares kwRunNames with the search a keyword it
// replaces, and checks that assignment does nothing with a name that no
// separator follows (the names kwRunNames leaves out).
func checkKwRunNames(t *testing.T, p *policy, s string) {
	t.Helper()
	run := runKeywords(p.kw)
	if run == nil {
		return
	}
	got, want := kwRunNames(s, run), kwRunNamesRef(s, p.kw)
	if !slices.Equal(got, want) {
		t.Fatalf("kwRunNames(%q) = %v, want %v", s, got, want)
	}
	r := &Redactor{}
	for _, n := range kwIndexNames(s, p.kw) {
		if sepFollows(s, n.ne) {
			continue
		}
		a := &analyzer{p: p, m: r.memoFor(p)}
		es := &editSet{}
		a.assignment(s, n.ns, n.ne, es)
		if !es.empty() || len(a.recs) > 0 || len(a.warns) > 0 {
			t.Fatalf("assignment acted on %q in %q with no separator after it", s[n.ns:n.ne], s)
		}
	}
}

var kwRunSeeds = []string{
	`password=hunter2x; token: "abc"`,
	`{"X-Api-Key": "k1", "apiKey":"v", 'authorization' : 'Bearer x'}`,
	`--password=x -.token=y .secret: z ---key=1`,
	`\"csrfToken\":\"abc\", Set-Cookie: a=b`,
	`SESSIONID=abc&pass_word=x?sig=1&&jwt=2`,
	`my-x-api-key-header = 1, token`,
	"tok\ten key\t:\tv pass'='x' authorization,\"x\"",
	`keyless key keys: 1 KEY=2 Key:3`,
}

func TestKwRunNames(t *testing.T) {
	p := newPolicy(nil, nil, false)
	if p.kwRun == nil {
		t.Fatal("the built-in keywords are not all identifier bytes")
	}
	for _, s := range kwRunSeeds {
		checkKwRunNames(t, p, s)
	}
	// A rules file's name that holds no identifier byte falls back to the
	// search a keyword.
	if runKeywords([]string{"token", "x y"}) != nil || runKeywords([]string{""}) != nil {
		t.Error("runKeywords accepted a keyword kwRunNames cannot find")
	}
	if got := runKeywords([]string{"key", "auth", "x-api-key", "authorization", "pwd", "key"}); len(got) != 3 || got[2] != (indexedKeyword{"pwd", 4}) {
		t.Errorf("runKeywords kept %v", got)
	}
}

func FuzzKwRunNames(f *testing.F) {
	for _, s := range kwRunSeeds {
		f.Add(s, "")
	}
	f.Add(`my_Secret_Thing = "v"`, "Secret")
	f.Add(`x-custom-auth: v`, "x-custom-auth")
	p := newPolicy(nil, nil, false)
	f.Fuzz(func(t *testing.T, s, extra string) {
		q := p
		if extra != "" {
			q = newPolicy(&Rules{Headers: []string{extra}, JSON: []string{extra}}, nil, false)
		}
		checkKwRunNames(t, q, s)
	})
}

// FuzzDropBlanks: dropBlanks is the strings.Map it replaced for valid
// UTF-8; for other text both keep a byte that is not base64, so that
// base64Body fails to decode either.
func FuzzDropBlanks(f *testing.F) {
	for _, s := range []string{"", "aGVsbG8=", "aGVs\r\nbG8=", " a b\tc\n", "\xff a", "é\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := dropBlanks(s)
		want := strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
				return -1
			}
			return r
		}, s)
		if got == want {
			return
		}
		if utf8.ValidString(s) {
			t.Fatalf("dropBlanks(%q) = %q, want %q", s, got, want)
		}
		for _, x := range []string{got, want} {
			if _, err := base64.StdEncoding.DecodeString(x); err == nil {
				t.Fatalf("%q decodes", x)
			}
			if _, ok := decodeBase64(x); ok {
				t.Fatalf("%q decodes", x)
			}
		}
	})
}
