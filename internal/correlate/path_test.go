package correlate

import (
	"bytes"
	"encoding/json"
	"errors"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apitape/apitape/internal/testtool"
)

func TestParsePath(t *testing.T) {
	tests := []struct {
		in, want string // want "" means an error
		reason   string
	}{
		{".", ".", "the whole document"},
		{"$", ".", "JSONPath's root"},
		{".id", ".id", "a member"},
		{"$.data[0].id", ".data[0].id", "JSONPath prefix dropped"},
		{".data[-1].id", ".data[-1].id", "negative index counts from the end, as in jq"},
		{`.["a b"]`, `.["a b"]`, "any member name as a JSON string"},
		{`.x["a.b"][2]`, `.x["a.b"][2]`, "quoted member after a name"},
		{`.["plain"]`, ".plain", "canonical form uses the short syntax when it can"},
		{`.["if"]`, `.["if"]`, "jq keywords stay quoted"},
		{`.[0]`, `.[0]`, "index of the root"},
		{`$[0]`, `.[0]`, "JSONPath index of the root"},
		{`.["\u00e9t\u00e9"]`, `.["été"]`, "escapes decoded, written back as UTF-8"},
		{`.["<&>"]`, `.["<&>"]`, "no HTML escaping"},
		{"._a1", "._a1", "identifiers may start with _"},
		{"", "", "empty"},
		{"id", "", "must start with a dot"},
		{".if", "", "a jq keyword after a dot is a jq syntax error"},
		{"..id", "", "recursive descent is not supported"},
		{".a.", "", "trailing dot"},
		{".a.[0]", "", "jq 1.6 rejects .a.[0]"},
		{".a[01]", "", "leading zero"},
		{".a[-0]", "", "minus zero"},
		{".a[x]", "", "not an index"},
		{".a[1234567890]", "", "index too large"},
		{`.["x`, "", "unterminated string"},
		{`.["x"`, "", "missing ]"},
		{".a[*]", "", "wildcards are not supported"},
		{"$x", "", "after $ comes . or ["},
		{"$.", "", "$. alone"},
		{".1a", "", "identifiers do not start with a digit"},
	}
	for _, tt := range tests {
		p, err := ParsePath(tt.in)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("ParsePath(%q) = %q, want an error (%s)", tt.in, p, tt.reason)
		case tt.want != "" && err != nil:
			t.Errorf("ParsePath(%q): %v (%s)", tt.in, err, tt.reason)
		case tt.want != "" && p.String() != tt.want:
			t.Errorf("ParsePath(%q) = %q, want %q (%s)", tt.in, p, tt.want, tt.reason)
		}
	}
}

// extractCases are shared by the Go table and the jq comparison.
var extractCases = []struct {
	doc, path string
	want      string
	ok        bool
}{
	{`{"id":"c-q7x2m"}`, ".id", "c-q7x2m", true},
	{`{"data":[{"id":"a-1"},{"id":"b-2"}]}`, ".data[1].id", "b-2", true},
	{`{"data":[{"id":"a-1"},{"id":"b-2"}]}`, ".data[-1].id", "b-2", true},
	{`{"data":[{"id":"a-1"}]}`, ".data[5].id", "", false},
	{`{"data":[{"id":"a-1"}]}`, ".data[-5].id", "", false},
	{`{"id":null}`, ".id", "", false},
	{`{"ok":true}`, ".ok", "", false},
	{`{"ok":false}`, ".ok", "", false},
	{`{"n":1741944413000}`, ".n", "1741944413000", true},
	{`{"n":-42}`, ".n", "-42", true},
	{`{"o":{"a":1}}`, ".o", "", false},
	{`{"a":[1]}`, ".a", "", false},
	{`{"a":"x"}`, ".a.b", "", false},
	{`{"a":"x"}`, ".a[0]", "", false},
	{`[1,2]`, ".a", "", false},
	{`{"a":1}`, ".[0]", "", false},
	{`{"a b":"v-1","if":"v-2","é":"v-3"}`, `.["a b"]`, "v-1", true},
	{`{"a b":"v-1","if":"v-2","é":"v-3"}`, `.["if"]`, "v-2", true},
	{`{"a b":"v-1","if":"v-2","é":"v-3"}`, `.["é"]`, "v-3", true},
	{`{"s":"line\nbreak \"q\" \u00e9"}`, ".s", "line\nbreak \"q\" é", true},
	{`"whole"`, ".", "whole", true},
	{`{"a":{"b":{"c":"deep-1"}}}`, ".a.b.c", "deep-1", true},
	{`{"id":"a","id":"b"}`, ".id", "b", true},
	{`{"a":null}`, ".a.b", "", false},
	{`not json`, ".a", "", false},
}

// goOnlyCases differ in jq by design: jq reads a stream of documents.
var goOnlyCases = []struct{ doc, path string }{
	{`{"a":"x"} {"a":"y"}`, ".a"},
}

func TestExtract(t *testing.T) {
	for _, tt := range extractCases {
		got, ok := Extract([]byte(tt.doc), tt.path)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Extract(%s, %s) = %q, %v; want %q, %v", tt.doc, tt.path, got, ok, tt.want, tt.ok)
		}
	}
	for _, tt := range goOnlyCases {
		if got, ok := Extract([]byte(tt.doc), tt.path); ok {
			t.Errorf("Extract(%s, %s) = %q, want no value", tt.doc, tt.path, got)
		}
	}
	if _, ok := Extract([]byte(`{"a":1}`), "a"); ok {
		t.Error("Extract with an invalid path succeeded")
	}
}

// TestExtractMatchesJQ runs real jq (`jq -er FILTER`, as bash emitters
// will) on every case: a source's filter must read what Extract reads, and
// the bare path must be valid jq.
func TestExtractMatchesJQ(t *testing.T) {
	jq, err := exec.LookPath("jq")
	if err != nil {
		testtool.Missing(t, "jq not installed")
	}
	run := func(filter, doc string) (string, bool) {
		cmd := exec.Command(jq, "-er", filter)
		cmd.Stdin = strings.NewReader(doc)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("jq: %v", err)
		}
		if exit != nil && exit.ExitCode() > 5 {
			t.Errorf("jq %s: %s", filter, stderr.String()) // 3 is a compile error: the syntax is wrong
		}
		return strings.TrimSuffix(string(out), "\n"), err == nil
	}
	for _, tt := range extractCases {
		p, err := ParsePath(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		run(p.String(), tt.doc) // syntax check
		filter := Source{Kind: KindJSON, Path: p.String()}.JQ()
		got, ok := run(filter, tt.doc)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("jq -er '%s' on %s = %q, %v; Extract says %q, %v", filter, tt.doc, got, ok, tt.want, tt.ok)
		}
	}
	src := Source{Kind: KindJSON, Path: ".links.self", Part: PartLastSegment}
	for _, u := range []string{"https://h/v3/clusters/c-q7x2m", "https://h/v3/clusters/c-q7x2m/?x=1#f", "c-q7x2m", "/a/b-1#x/y"} {
		doc, _ := json.Marshal(map[string]any{"links": map[string]string{"self": u}})
		got, _ := run(src.JQ(), string(doc))
		if want := LastSegment(u); got != want {
			t.Errorf("jq '%s' on %q = %q, LastSegment = %q", src.JQ(), u, got, want)
		}
	}
}

func TestSourceLookup(t *testing.T) {
	h := map[string][]string{
		"Location":   {"/v3/clusters/c-q7x2m?x=1"},
		"Set-Cookie": {"CSRF=aaaa; Path=/", "R_SESS=token-x:y; Secure\nCSRF=bbbb"},
	}
	tests := []struct {
		src  Source
		want string
		ok   bool
	}{
		{Source{Kind: KindHeader, Path: "location", Part: PartLastSegment}, "c-q7x2m", true},
		{Source{Kind: KindHeader, Path: "Location"}, "/v3/clusters/c-q7x2m?x=1", true},
		{Source{Kind: KindCookie, Path: "CSRF"}, "bbbb", true},
		{Source{Kind: KindCookie, Path: "R_SESS"}, "token-x:y", true},
		{Source{Kind: KindCookie, Path: "nope"}, "", false},
		{Source{Kind: KindJSON, Path: ".id"}, "c-1", true},
		{Source{Kind: "other", Path: ".id"}, "", false},
	}
	for _, tt := range tests {
		got, ok := tt.src.Lookup(h, []byte(`{"id":"c-1"}`))
		if got != tt.want || ok != tt.ok {
			t.Errorf("%v.Lookup = %q, %v; want %q, %v", tt.src, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzPath(f *testing.F) {
	for _, tt := range extractCases {
		f.Add(tt.path, tt.doc)
	}
	f.Add(`$["a\"b"][3]`, `{"a\"b":[0,1,2,"x-1234"]}`)
	f.Add(`.["\ud83d\ude00"]`, `{"😀":"smile-1"}`)
	f.Fuzz(func(t *testing.T, path, doc string) {
		p, err := ParsePath(path)
		got, ok := Extract([]byte(doc), path)
		if err != nil {
			if ok {
				t.Fatalf("Extract succeeded with invalid path %q", path)
			}
			return
		}
		canon := p.String()
		q, err := ParsePath(canon)
		if err != nil {
			t.Fatalf("canonical %q of %q does not parse: %v", canon, path, err)
		}
		if !reflect.DeepEqual(p, q) && !(len(p) == 0 && len(q) == 0) {
			t.Fatalf("round trip %q → %q changed the path: %#v vs %#v", path, canon, p, q)
		}
		if q.String() != canon {
			t.Fatalf("canonical form not stable: %q → %q", canon, q.String())
		}
		if got2, ok2 := Extract([]byte(doc), canon); got2 != got || ok2 != ok {
			t.Fatalf("Extract differs between %q and %q", path, canon)
		}
	})
}

// FuzzScanner checks the fast scanner against encoding/json: it accepts
// every valid document, and each value it reports is what Extract reads
// at its path (when no object repeats a member, where the last wins).
func FuzzScanner(f *testing.F) {
	for _, tt := range extractCases {
		f.Add(tt.doc)
	}
	f.Add(clusterResp)
	f.Add(`{"a":"\xff\xfe-1234"}`)
	f.Add(`[{"type":"cluster","id":"c-1234"},{"kind":"Pod","x":[[["deep-123"]]]}]`)
	f.Fuzz(func(t *testing.T, doc string) {
		var sc scanner
		type leaf struct{ value, path string }
		var leaves []leaf
		sc.leaf = func(value string, path Path, obj int) {
			leaves = append(leaves, leaf{value, path.String()})
			if obj >= 0 {
				sc.typeOf(obj)
			}
		}
		ok := sc.run(doc)
		if json.Valid([]byte(doc)) && !ok {
			t.Fatalf("scanner rejects valid JSON %q", doc)
		}
		// The scanner is lenient (control characters in strings, bad
		// escapes); Analyze verifies what it keeps. On valid JSON it agrees.
		if !ok || !json.Valid([]byte(doc)) || hasRepeatedMember(doc) {
			return
		}
		for _, l := range leaves {
			if got, found := Extract([]byte(doc), l.path); !found || got != l.value {
				t.Fatalf("scanner saw %q at %s, Extract gives %q, %v", l.value, l.path, got, found)
			}
		}
	})
}

func hasRepeatedMember(doc string) bool {
	dec := json.NewDecoder(strings.NewReader(doc))
	type frame struct {
		obj       bool
		seen      map[string]bool
		expectKey bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		top := (*frame)(nil)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				if top != nil && top.obj {
					top.expectKey = true
				}
				stack = append(stack, &frame{obj: v == '{', seen: map[string]bool{}, expectKey: v == '{'})
			default:
				stack = stack[:len(stack)-1]
			}
		case string:
			if top != nil && top.obj && top.expectKey {
				if top.seen[v] {
					return true
				}
				top.seen[v] = true
				top.expectKey = false
				continue
			}
			if top != nil && top.obj {
				top.expectKey = true
			}
		default:
			if top != nil && top.obj {
				top.expectKey = true
			}
		}
	}
}

func TestEscapeURI(t *testing.T) {
	for in, want := range map[string]string{
		"c-q7x2m:np-8hv4t": "c-q7x2m%3Anp-8hv4t",
		"a b/c~d.e_f":      "a%20b%2Fc~d.e_f",
		"é":                "%C3%A9",
		"":                 "",
	} {
		if got := EscapeURI(in); got != want {
			t.Errorf("EscapeURI(%q) = %q, want %q", in, got, want)
		}
		if !utf8.ValidString(in) {
			t.Fatal("bad case")
		}
	}
}
