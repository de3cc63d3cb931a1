package redact

import (
	"encoding/base64"
	"regexp"
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
	if runKeywords([]string{"token", "x y"}) != nil || runKeywords([]string{""}) != nil || runKeywords([]string{"k"}) != nil {
		t.Error("runKeywords accepted a keyword kwRunNames cannot find")
	}
	if got := runKeywords([]string{"key", "auth", "x-api-key", "authorization", "pwd", "key"}).kws; len(got) != 3 || got[2] != (indexedKeyword{"pwd", 4}) {
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

// naiveRuns is what eachRun must yield: every longest run of class
// bytes at least min long, found by looking at every byte.
func naiveRuns(s string, class *[256]bool, min int) [][2]int {
	var out [][2]int
	for i := 0; i < len(s); {
		if !class[s[i]] {
			i++
			continue
		}
		j := i
		for j < len(s) && class[s[j]] {
			j++
		}
		if j-i >= min {
			out = append(out, [2]int{i, j})
		}
		i = j
	}
	return out
}

// rancherKeysRef is rancherKeys as it looked at every byte.
func rancherKeysRef(s string, hits []hit) []hit {
	run := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && isRancher[s[i]] {
			run++
			continue
		}
		if run == rancherKeyLen && (i == len(s) || !isAlnum[s[i]]) {
			a := i - run
			if a == 0 || !isAlnum[s[a-1]] {
				hits = append(hits, hit{a, i, "rancher-token", "token", false})
			}
		}
		run = 0
	}
	return hits
}

func checkEachRun(t *testing.T, s string) {
	t.Helper()
	for _, c := range []struct {
		class *[256]bool
		min   int
	}{{&isRancher, rancherKeyLen}, {&isHex, 2 * minSweep}, {&isB64, 20}, {&isAlnum, 1}, {&isHex, 2}} {
		var got [][2]int
		for i, j := range eachRun(s, c.class, c.min) {
			got = append(got, [2]int{i, j})
		}
		if want := naiveRuns(s, c.class, c.min); !slices.Equal(got, want) {
			t.Fatalf("eachRun(%q, min %d) = %v, want %v", s, c.min, got, want)
		}
	}
	if got, want := rancherKeys(s, nil), rancherKeysRef(s, nil); !slices.Equal(got, want) {
		t.Fatalf("rancherKeys(%q) = %v, want %v", s, got, want)
	}
}

var runSeeds = []string{
	"",
	"abc",
	strings.Repeat("a1", 27),
	"x " + strings.Repeat("b", 54) + " y",
	"X" + strings.Repeat("c", 54),
	strings.Repeat("d", 55) + "," + strings.Repeat("e", 54),
	"deadbeefcafe0123 zz 0123456789abcdefABCDEF=",
	"aGVsbG8gd29ybGQgaGVsbG8gd29ybGQ==;YWJj",
	strings.Repeat("ab ", 30) + strings.Repeat("f", 53) + "-" + strings.Repeat("0", 54),
}

func FuzzEachRun(f *testing.F) {
	for _, s := range runSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkEachRun(t, s)
		// Long runs are rare in random bytes: try them stretched.
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			b.WriteString(strings.Repeat(s[i:i+1], int(s[i])%60))
		}
		checkEachRun(t, b.String())
	})
}

// FuzzPrefixMask: a prefix's bit is set exactly when the prefix occurs,
// and first is where it first does, so that find, which starts its search
// there, finds what a search of the whole text finds.
func FuzzPrefixMask(f *testing.F) {
	for _, s := range []string{"", "key-", "xx AKIA ghp_ key-0123 keykey-", "Basic basic BASIC ", "hooks.slack.com/ho", "AccountKey=SharedAccessKey=Signature="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var first [64]int
		m := prefixMask(s, &first)
		for _, d := range prefixDetectors {
			for j, pre := range d.prefixes {
				bit := d.bit + j
				i := strings.Index(s, pre)
				if (m&(1<<bit) != 0) != (i >= 0) {
					t.Fatalf("%q in %q: bit %v, Index %d", pre, s, m&(1<<bit) != 0, i)
				}
				if i >= 0 && first[bit] != i {
					t.Fatalf("%q in %q: first %d, Index %d", pre, s, first[bit], i)
				}
			}
		}
	})
}

var (
	hexShapeRef     = regexp.MustCompile(`^[0-9a-fA-F]+$`)
	numberShapeRef  = regexp.MustCompile(`^[-+]?[0-9][0-9.,:eE+-]*$`)
	k8sNameShapeRef = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
)

// notSecretShapeRef is notSecretShape as it was, all regexps.
func notSecretShapeRef(v string) bool {
	switch {
	case uuidShape.MatchString(v), traceShape.MatchString(v), digestShape.MatchString(v),
		integrityShape.MatchString(v), numberShapeRef.MatchString(v):
		return true
	case hexShapeRef.MatchString(v):
		switch len(v) {
		case 32, 40, 64, 96, 128:
			return true
		}
	case len(v) <= 63 && k8sNameShapeRef.MatchString(v) && strings.Contains(v, "-"):
		return true
	}
	return false
}

func checkShapes(t *testing.T, v string) {
	t.Helper()
	for _, c := range []struct {
		name string
		got  bool
		re   *regexp.Regexp
	}{{"isHexString", isHexString(v), hexShapeRef}, {"isNumberShape", isNumberShape(v), numberShapeRef}, {"isK8sName", isK8sName(v), k8sNameShapeRef}} {
		if want := c.re.MatchString(v); c.got != want {
			t.Fatalf("%s(%q) = %v, the regexp says %v", c.name, v, c.got, want)
		}
	}
	if got, want := notSecretShape(v), notSecretShapeRef(v); got != want {
		t.Fatalf("notSecretShape(%q) = %v, want %v", v, got, want)
	}
}

var shapeSeeds = []string{
	"", "-", "+1", "-+1", "1e-5,3:4", "1a", "deadbeef", "DEADBEEF0123456789abcdef01234567",
	"a", "a-b", "a-", "-a", "a.b-c", "a..b", ".a", "a.", "cattle-cluster-agent-7d9f8b6c4-x2kqp", "Ab-c",
	"123e4567-e89b-12d3-a456-426614174000", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
	"sha256:" + strings.Repeat("a", 64), "img@sha1:" + strings.Repeat("0", 40), "sha384-abc+/=", "sha512-",
}

func FuzzShapes(f *testing.F) {
	for _, v := range shapeSeeds {
		f.Add(v)
	}
	f.Fuzz(checkShapes)
}

// FuzzIndexTag: indexTag finds what a search of the lower-cased text
// finds.
func FuzzIndexTag(f *testing.F) {
	for _, s := range []string{"", "<", "a<INPUT x", "<Meta <input", "<inpu<input>", "x < y <META"} {
		f.Add(s, 0)
	}
	f.Fuzz(func(t *testing.T, s string, from int) {
		if from < 0 || from > len(s) {
			from = 0
		}
		for _, tag := range []string{"<input", "<meta"} {
			want := strings.Index(asciiLower(s)[from:], tag)
			if want >= 0 {
				want += from
			}
			if got := indexTag(s, from, tag); got != want {
				t.Fatalf("indexTag(%q, %d, %q) = %d, want %d", s, from, tag, got, want)
			}
		}
	})
}
