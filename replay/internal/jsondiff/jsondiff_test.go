package jsondiff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustDecode(t testing.TB, s string) any {
	t.Helper()
	v, err := Decode([]byte(s))
	if err != nil {
		t.Fatalf("Decode(%s): %v", s, err)
	}
	return v
}

// summary renders changes and ignored differences one per line, for tables.
func summary(r *Result) []string {
	var out []string
	for _, c := range r.Changes {
		out = append(out, fmt.Sprintf("%s %s %s -> %s", c.Kind, c.Path, js(c.Recorded, c.Kind == Extra), js(c.Live, c.Kind == Missing)))
	}
	for _, ig := range r.Ignored {
		out = append(out, fmt.Sprintf("ignored %s (%s)", ig.Path, ig.Rule))
	}
	return out
}

func js(v any, absent bool) string {
	if absent {
		return "∅"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func TestCompare(t *testing.T) {
	rancherOrigin := strings.NewReplacer("https://rancher.test", "http://127.0.0.1:9", "c-q7x2m", "c-h8k2p")
	tests := []struct {
		name, reason string
		rec, live    string
		opts         Options
		want         []string
	}{
		{
			name: "equal", reason: "key order does not matter",
			rec: `{"a":1,"b":[1,2],"c":{"d":null}}`, live: `{"c":{"d":null},"b":[1,2],"a":1}`,
		},
		{
			name: "numbers", reason: "1.0 and 1 are the same number; large integers are not rounded",
			rec: `{"a":1.0,"ts":1741944413000123}`, live: `{"a":1,"ts":1741944413000124}`,
			want: []string{`changed $.ts 1741944413000123 -> 1741944413000124`},
		},
		{
			name: "missing and extra", reason: "a renamed field is one missing and one extra key",
			rec: `{"cfg":{"kubernetesVersion":"v1"}}`, live: `{"cfg":{"k8sVersion":"v1"}}`,
			want: []string{`extra $.cfg.k8sVersion ∅ -> "v1"`, `missing $.cfg.kubernetesVersion "v1" -> ∅`},
		},
		{
			name: "type change", reason: "object replaced by a string is one change",
			rec: `{"a":{"b":1}}`, live: `{"a":"x"}`,
			want: []string{`changed $.a {"b":1} -> "x"`},
		},
		{
			name: "array by index", reason: "plain arrays compare by position",
			rec: `[1,2,3]`, live: `[1,5]`,
			want: []string{`changed $[1] 2 -> 5`, `missing $[2] 3 -> ∅`},
		},
		{
			name: "array matched by name", reason: "collections sorted by random id come back in another order",
			rec:  `{"data":[{"id":"c-aaaaa","name":"lab","v":1},{"id":"c-bbbbb","name":"prod","v":2}]}`,
			live: `{"data":[{"id":"c-zzzzz","name":"prod","v":2},{"id":"c-yyyyy","name":"lab","v":3}]}`,
			want: []string{
				`changed $.data[name=lab].id "c-aaaaa" -> "c-yyyyy"`,
				`changed $.data[name=lab].v 1 -> 3`,
				`changed $.data[name=prod].id "c-bbbbb" -> "c-zzzzz"`,
			},
		},
		{
			name: "array matched by id", reason: "names repeat, ids are unique",
			rec:  `[{"id":1,"name":"x","v":1},{"id":2,"name":"x","v":2}]`,
			live: `[{"id":2,"name":"x","v":2},{"id":1,"name":"x","v":9}]`,
			want: []string{`changed $[id=1].v 1 -> 9`},
		},
		{
			name: "missing element", reason: "an element not found by its key is missing, a new one extra",
			rec: `[{"name":"a"},{"name":"b"}]`, live: `[{"name":"b"},{"name":"c"}]`,
			want: []string{`missing $[name=a] {"name":"a"} -> ∅`, `extra $[name=c] ∅ -> {"name":"c"}`},
		},
		{
			name: "normalize", reason: "recorded origin and ids are rewritten before comparing, also in keys of elements",
			rec:  `{"links":{"self":"https://rancher.test/v3/clusters/c-q7x2m"},"data":[{"id":"c-q7x2m"},{"id":"local"}]}`,
			live: `{"links":{"self":"http://127.0.0.1:9/v3/clusters/c-h8k2p"},"data":[{"id":"local"},{"id":"c-h8k2p"}]}`,
			opts: Options{Normalize: rancherOrigin.Replace},
		},
		{
			name: "aliases", reason: "actions and actionLinks are the same map under two names",
			rec: `{"actionLinks":{"x":"u"}}`, live: `{"actions":{"x":"u"}}`,
			opts: Options{Aliases: map[string]string{"actions": "actionLinks", "actionLinks": "actions"}},
		},
		{
			name: "alias differs", reason: "the alias is followed, then compared",
			rec: `{"actionLinks":{"x":"u"}}`, live: `{"actions":{"x":"v"}}`,
			opts: Options{Aliases: map[string]string{"actions": "actionLinks", "actionLinks": "actions"}},
			want: []string{`changed $.actionLinks.x "u" -> "v"`},
		},
		{
			name: "ignore by path", reason: "a pattern covers everything below it",
			rec: `{"meta":{"created":"a","x":{"y":1}},"keep":1}`, live: `{"meta":{"created":"b","x":{"y":2}},"keep":2}`,
			opts: Options{IgnorePath: ignoreWith(t, "**.created", "$.meta.x")},
			want: []string{`changed $.keep 1 -> 2`, `ignored $.meta.created (rule)`, `ignored $.meta.x.y (rule)`},
		},
		{
			name: "ignore by value", reason: "value rules see both values",
			rec: `{"t":"2025-03-14T09:26:53Z","n":"x"}`, live: `{"t":"2026-01-01T00:00:00Z","n":"y"}`,
			opts: Options{IgnoreValue: func(p Path, a, b any) string {
				re := regexp.MustCompile(`^\d{4}-\d\d-\d\dT`)
				sa, _ := a.(string)
				sb, _ := b.(string)
				if re.MatchString(sa) && re.MatchString(sb) {
					return "timestamp"
				}
				return ""
			}},
			want: []string{`changed $.n "x" -> "y"`, `ignored $.t (timestamp)`},
		},
		{
			name: "odd keys", reason: "keys that are not identifiers are quoted in paths",
			rec: `{"a.b/c":1,"":2}`, live: `{"a.b/c":2,"":3}`,
			want: []string{`changed $[""] 2 -> 3`, `changed $["a.b/c"] 1 -> 2`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := summary(Compare(mustDecode(t, tt.rec), mustDecode(t, tt.live), &tt.opts))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s\nCompare() mismatch (-want +got):\n%s", tt.reason, diff)
			}
		})
	}
}

func ignoreWith(t *testing.T, patterns ...string) func(Path) string {
	var ps []*Pattern
	for _, s := range patterns {
		p, err := ParsePattern(s)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	return func(p Path) string {
		for _, pt := range ps {
			if pt.Match(p) {
				return "rule"
			}
		}
		return ""
	}
}

func TestPattern(t *testing.T) {
	path := func(segs ...Seg) Path { return segs }
	k := func(s string) Seg { return Seg{Key: s} }
	el := func(i int) Seg { return Seg{Elem: true, Index: i} }
	byName := func(v string) Seg { return Seg{Elem: true, Field: "name", Value: v, Index: 4} }
	tests := []struct {
		pattern string
		path    Path
		want    bool
		reason  string
	}{
		{"$.a.b", path(k("a"), k("b")), true, "exact"},
		{"$.a.b", path(k("a"), k("b"), k("c")), true, "descendants are covered"},
		{"$.a.b", path(k("a")), false, "an ancestor is not"},
		{"$.data[*].uuid", path(k("data"), el(3), k("uuid")), true, "any index"},
		{"$.data[*].uuid", path(k("data"), byName("lab"), k("uuid")), true, "any keyed element"},
		{"$.data[3]", path(k("data"), el(3)), true, "index"},
		{"$.data[4]", path(k("data"), byName("lab")), true, "index of a keyed element is its recorded index"},
		{"$.data[name=lab].x", path(k("data"), byName("lab"), k("x")), true, "element by field"},
		{"$.data[name=l*]", path(k("data"), byName("lab")), true, "glob value"},
		{"$.data[name=prod]", path(k("data"), byName("lab")), false, "other element"},
		{"**.created", path(k("data"), el(0), k("created")), true, "any depth"},
		{"**.created", path(k("created")), true, "depth zero"},
		{"$..created", path(k("x"), k("created")), true, "JSONPath recursive descent"},
		{"**.created", path(k("createdTS")), false, "whole key"},
		{"**.*TS", path(k("a"), k("createdTS")), true, "glob key"},
		{`$.annotations["field.cattle.io/creatorId"]`, path(k("annotations"), k("field.cattle.io/creatorId")), true, "quoted key"},
		{`**["lifecycle.cattle.io/create.*"]`, path(k("annotations"), k("lifecycle.cattle.io/create.x")), true, "quoted glob"},
		{"$.*", path(k("x")), true, "any key"},
		{"$.*", path(el(0)), false, "* is for keys, [*] for elements"},
		{"$", path(k("x")), true, "root covers all"},
		{"**", path(), true, "** alone"},
	}
	for _, tt := range tests {
		p, err := ParsePattern(tt.pattern)
		if err != nil {
			t.Errorf("ParsePattern(%q): %v", tt.pattern, err)
			continue
		}
		if got := p.Match(tt.path); got != tt.want {
			t.Errorf("%q.Match(%s) = %v, want %v (%s)", tt.pattern, tt.path, got, tt.want, tt.reason)
		}
	}
	for _, bad := range []string{"created", ".a", "$.", "$.a[", "$[x]", `$["a]`, "$..", "$a"} {
		if _, err := ParsePattern(bad); err == nil {
			t.Errorf("ParsePattern(%q) succeeded, want error", bad)
		}
	}
}

func TestRows(t *testing.T) {
	rec := mustDecode(t, `{"data":[{"name":"a","v":1},{"name":"b","v":2}],"created":"x","gone":{"k":1}}`)
	live := mustDecode(t, `{"data":[{"name":"b","v":2},{"name":"a","v":3}],"created":"y","new":true}`)
	r := Compare(rec, live, &Options{Rows: true, IgnorePath: ignoreWith(t, "$.created")})
	var got []string
	for _, row := range r.Rows {
		got = append(got, fmt.Sprintf("%d %d|%s|%s|%s", row.Op, row.Depth, row.Left, row.Right, row.Note))
	}
	want := []string{
		"0 0|{|{|",
		`4 1|"created": "x"|"created": "y"|rule`,
		`0 1|"data": [|"data": [|`,
		"0 2|{|{|",
		`0 3|"name": "a"|"name": "a"|`,
		`1 3|"v": 1|"v": 3|`,
		"0 2|}|}|",
		"0 2|{|{|",
		`0 3|"name": "b"|"name": "b"|`,
		`0 3|"v": 2|"v": 2|`,
		"0 2|}|}|",
		"0 1|]|]|",
		`2 1|"gone": {||`,
		`2 2|"k": 1||`,
		`2 1|}||`,
		`3 1||"new": true|`,
		"0 0|}|}|",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows mismatch (-want +got):\n%s", diff)
	}
}

func TestDecode(t *testing.T) {
	for _, bad := range []string{``, `{`, `{} {}`, `[1,]`, `nul`} {
		if _, err := Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%q) succeeded", bad)
		}
	}
	if _, err := Decode([]byte(" {\"a\":[1,2]} \n")); err != nil {
		t.Errorf("Decode with spaces: %v", err)
	}
}

func FuzzPattern(f *testing.F) {
	for _, s := range []string{"$.a.b", "**.created", `$["a.b"][*].c`, "$.data[name=lab].x", "$..x", "$[3]", `$[name="a]b"]`, "**.*TS"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePattern(s)
		if err != nil {
			return
		}
		// A pattern must never panic when matched.
		p.Match(Path{{Key: "a"}, {Elem: true, Index: 1, Field: "name", Value: "x"}, {Key: "created"}})
	})
}

func FuzzCompareSelf(f *testing.F) {
	for _, s := range []string{`{"a":[{"id":1},{"id":2}],"b":"x"}`, `[1,"2",null,true,{"name":"n"}]`, `{"data":[{"name":"a"},{"name":"a"}]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Decode([]byte(s))
		if err != nil {
			return
		}
		// A document is always equal to itself, and rendering never panics.
		if r := Compare(v, v, &Options{Rows: true}); len(r.Changes) > 0 {
			t.Fatalf("document differs from itself: %v", summary(r))
		}
		// Paths of differences against an empty document render and parse back.
		for _, c := range Compare(v, map[string]any{}, nil).Changes {
			if _, err := ParsePattern(c.Path.String()); err != nil {
				t.Fatalf("path %s does not parse as a pattern: %v", c.Path, err)
			}
		}
	})
}

// FuzzDecode checks Decode against encoding/json: the same documents are
// accepted, with the same values.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"a":[1,-2.5e3,"x\u00e9\ud83d\ude00",true,false,null],"b":{}}`, `[]`, `"\ud800"`, `"\udc00\ud800x"`,
		"\"\xff\xfe\"", `{"a":1,"a":2}`, `01`, `1.`, `-`, `1e+`, `"\x"`, " \t\n{ } ", `[1,]`, `{"a" 1}`, `"a` + "\x01" + `"`,
		`123456789012345678901234567890`, `"\/\b\f\n\r\t"`, `{"k":"\ud83d"}`, `"\ud83d\u0041"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Decode(b)
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var want any
		werr := dec.Decode(&want)
		if werr == nil {
			if _, terr := dec.Token(); terr != io.EOF {
				werr = fmt.Errorf("trailing data")
			}
		}
		if (err == nil) != (werr == nil) {
			t.Fatalf("Decode(%q): error %v, encoding/json: %v", b, err, werr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("Decode(%q) = %#v, encoding/json: %#v", b, got, want)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	doc := []byte(`{"actionLinks":{"exportYaml":"https://rancher.test/v3/clusters/c-q7x2m?action=exportYaml"},"annotations":{"field.cattle.io/creatorId":"user-b8n4k"},"baseType":"cluster","conditions":[{"lastUpdateTime":"2025-03-14T09:26:53Z","status":"True","type":"Pending"}],"created":"2025-03-14T09:26:53Z","createdTS":1741944413000,"id":"c-q7x2m","labels":{},"links":{"self":"https://rancher.test/v3/clusters/c-q7x2m"},"name":"lab","rancherKubernetesEngineConfig":{"kubernetesVersion":"v1.30.8-rancher1-1","network":{"mtu":0,"plugin":"canal"}},"state":"active","uuid":"5f0c2b7e-3d41-4a8e-9b7a-2c6f1e0d9a44"}`)
	b.Run("jsondiff", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := Decode(doc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			dec := json.NewDecoder(bytes.NewReader(doc))
			dec.UseNumber()
			var v any
			if err := dec.Decode(&v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
