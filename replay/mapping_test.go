package replay

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/apitape/apitape/replay/internal/jsondiff"
)

func learn(m *valueMap, rec, live string) bool {
	r, _ := jsondiff.Decode([]byte(rec))
	l, _ := jsondiff.Decode([]byte(live))
	res := jsondiff.Compare(r, l, &jsondiff.Options{Normalize: m.Apply})
	return m.Learn(&exchange{Call: 1, Changes: res.Changes})
}

func TestValueMapLearns(t *testing.T) {
	tests := []struct {
		name, rec, live string
		want            string // learned pairs "rec=live" joined by ","
		reason          string
	}{
		{"id", `{"id":"c-q7x2m"}`, `{"id":"c-h8k2p"}`, "c-q7x2m=c-h8k2p", "a created object's id"},
		{"reference", `{"clusterId":"c-q7x2m","nodePoolIds":["np-1a2b3"]}`, `{"clusterId":"c-h8k2p","nodePoolIds":["np-9z8y7"]}`, "c-q7x2m=c-h8k2p,np-1a2b3=np-9z8y7", "*Id fields and arrays of ids"},
		{"token", `{"token":"token-abcde:xyz0123456789"}`, `{"token":"token-fghij:abc9876543210"}`, "token-abcde:xyz0123456789=token-fghij:abc9876543210", "a session token"},
		{"not id key", `{"kubernetesVersion":"v1.17.4-rancher1-3"}`, `{"kubernetesVersion":"v1.18.0-rancher1-1"}`, "", "a changed version is a regression, not a mapping"},
		{"plain word", `{"name":"alpha"}`, `{"name":"gamma"}`, "", "names without digit or separator are words"},
		{"url", `{"id":"https://a.test/x-1"}`, `{"id":"https://b.test/x-2"}`, "", "URLs are rewritten by origin, not mapped"},
		{"timestamp", `{"id":"2025-03-14T09:26:53Z"}`, `{"id":"2026-03-14T09:26:53Z"}`, "", "dates are not ids"},
		{"short", `{"id":"a-1"}`, `{"id":"b-2"}`, "", "shorter than 5"},
		{"keyed list", `{"data":[{"name":"lab","id":"c-aaaaa"}]}`, `{"data":[{"name":"lab","id":"c-bbbbb"}]}`, "c-aaaaa=c-bbbbb", "ids in a collection matched by name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newValueMap()
			learn(m, tt.rec, tt.live)
			var got []string
			for _, p := range m.Pairs() {
				got = append(got, p.Recorded+"="+p.Live)
			}
			if strings.Join(got, ",") != tt.want {
				t.Errorf("learned %v, want %q (%s)", got, tt.want, tt.reason)
			}
		})
	}
}

func TestValueMapApply(t *testing.T) {
	m := newValueMap()
	learn(m, `{"id":"c-q7x2m","token":"token-abcde:s3cr3t"}`, `{"id":"c-h8k2p","token":"token-fghij:n3wv4l"}`)
	tests := []struct{ in, want, reason string }{
		{"/v3/clusters/c-q7x2m?action=x", "/v3/clusters/c-h8k2p?action=x", "in a path"},
		{`{"clusterId":"c-q7x2m"}`, `{"clusterId":"c-h8k2p"}`, "in a JSON body"},
		{"c-q7x2m:np-1", "c-h8k2p:np-1", "before a colon"},
		{"xc-q7x2m", "xc-q7x2m", "not part of a longer word"},
		{"c-q7x2mz", "c-q7x2mz", "not part of a longer word (after)"},
		{"Bearer token-abcde:s3cr3t", "Bearer token-fghij:n3wv4l", "the whole token, longest match first"},
		{"R_SESS=token-abcde%3As3cr3t", "R_SESS=token-fghij%3An3wv4l", "URL-encoded form"},
		{"nothing here", "nothing here", "untouched"},
	}
	for _, tt := range tests {
		if got := m.Apply(tt.in); got != tt.want {
			t.Errorf("Apply(%q) = %q, want %q (%s)", tt.in, got, tt.want, tt.reason)
		}
	}
	// First answer wins.
	learn(m, `{"id":"c-q7x2m"}`, `{"id":"c-zzzzz"}`)
	if got := m.Apply("c-q7x2m"); got != "c-h8k2p" {
		t.Errorf("relearned: %q", got)
	}
}

// TestValueMapOverride: pairs put with override (the correlation model's)
// replace what the heuristic learned for the same recorded value, in
// every encoded form, and are never replaced by it; a secret stays one.
func TestValueMapOverride(t *testing.T) {
	heuristic := Pair{Recorded: "c-q7x2m:np-1a2b3", Live: "c-h8k2p:np-aaaaa", Call: 1, Where: "$.id", Secret: true}
	model := Pair{Recorded: "c-q7x2m:np-1a2b3", Live: "c-h8k2p:np-bbbbb", Call: 3, Where: "$.id", Var: "NODE_POOL_ID"}
	for _, tt := range []struct {
		name  string
		order []Pair
	}{
		{"heuristic first", []Pair{heuristic, model}},
		{"model first", []Pair{model, heuristic}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := newValueMap()
			for _, p := range tt.order {
				m.put([]Pair{p}, p.Var != "")
			}
			for in, want := range map[string]string{
				"/pools/c-q7x2m:np-1a2b3":       "/pools/c-h8k2p:np-bbbbb",
				"?id=c-q7x2m%3Anp-1a2b3":        "?id=c-h8k2p%3Anp-bbbbb",
				`{"poolId":"c-q7x2m:np-1a2b3"}`: `{"poolId":"c-h8k2p:np-bbbbb"}`,
			} {
				if got := m.Apply(in); got != want {
					t.Errorf("Apply(%q) = %q, want %q", in, got, want)
				}
			}
			pairs := m.Pairs()
			if len(pairs) != 1 || pairs[0].Var != "NODE_POOL_ID" || pairs[0].Live != model.Live || !pairs[0].Secret {
				t.Errorf("pairs %+v: want the model's, secret", pairs)
			}
		})
	}
}

func FuzzValueMapApply(f *testing.F) {
	f.Add("c-q7x2m", "c-h8k2p", "/v3/clusters/c-q7x2m/nodes?x=c-q7x2m")
	f.Add("token-abcde:xyz", "token-fghij:abc", "Bearer token-abcde:xyz")
	f.Fuzz(func(t *testing.T, rec, live, s string) {
		m := newValueMap()
		m.Learn(&exchange{Changes: []jsondiff.Change{{Path: jsondiff.Path{{Key: "id"}}, Kind: jsondiff.Changed, Recorded: rec, Live: live}}})
		out := m.Apply(s)
		// Without a learned value nothing changes; with one, the recorded
		// value never survives as a whole word.
		if len(m.Pairs()) == 0 && out != s {
			t.Fatalf("Apply changed %q to %q with nothing learned", s, out)
		}
		if len(m.Pairs()) > 0 && s == rec && out != live {
			t.Fatalf("Apply(%q) = %q, want %q", s, out, live)
		}
	})
}

func TestParseRule(t *testing.T) {
	tests := []struct {
		in, err string
	}{
		{"$.data[*].uuid", ""},
		{"**.created", ""},
		{"header:X-Request-Id", ""},
		{"re:^c-[a-z0-9]{5}$", ""},
		{"header:", "not a header name"},
		{"header:Bad Name", "not a header name"},
		{"re:(", "missing closing )"},
		{"created", "must start with $"},
		{"$.a[", "missing ]"},
	}
	for _, tt := range tests {
		r, err := ParseRule(tt.in)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("ParseRule(%q): %v", tt.in, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseRule(%q) error %v, want %q", tt.in, err, tt.err)
		case err == nil && r.Name != tt.in:
			t.Errorf("ParseRule(%q).Name = %q", tt.in, r.Name)
		}
	}
}

func FuzzParseRule(f *testing.F) {
	for _, s := range []string{"$.a", "**.b", "header:X", "re:.*", "re:(", `$["x"][name=y]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRule(s)
		if err != nil {
			return
		}
		rs := newRuleSet([]Rule{r})
		rs.ignorePath(jsondiff.Path{{Key: "a"}, {Elem: true, Index: 0}})
		rs.ignoreValue(jsondiff.Path{{Key: "a"}}, "x", "y")
		rs.maskText("some text")
	})
}

func TestBuiltinValueRules(t *testing.T) {
	rs := newRuleSet(BuiltinRules())
	p := func(keys ...string) jsondiff.Path {
		var out jsondiff.Path
		for _, k := range keys {
			out = append(out, jsondiff.Seg{Key: k})
		}
		return out
	}
	tests := []struct {
		path      jsondiff.Path
		rec, live any
		want      string
	}{
		{p("when"), "2025-03-14T09:26:53Z", "2026-01-02T03:04:05.123+01:00", RuleTimestamp},
		{p("when"), "2025-03-14T09:26:53Z", "yesterday", ""},
		{p("x"), "5f0c2b7e-3d41-4a8e-9b7a-2c6f1e0d9a44", "0a0b0c0d-1111-2222-3333-444455556666", RuleUUID},
		{p("x"), "5f0c2b7e-3d41-4a8e-9b7a-2c6f1e0d9a44", "not-a-uuid", ""},
		{p("lastSeenTS"), jsonNumber("1741944413000"), jsonNumber("1741944999000"), RuleEpochMS},
		{p("count"), jsonNumber("1"), jsonNumber("2"), ""},
		{p("config"), "token: \"kubeconfig-user-b8n4k:" + strings.Repeat("a", 54) + "\"", "token: \"kubeconfig-user-x9y8z:" + strings.Repeat("b", 54) + "\"", RuleToken},
		{p("config"), "server: a", "server: b", ""},
		{p("password"), "REDACTED-password-1a2b3c4d", "hunter2", RuleRedacted},
		{p("url"), "https://x/?t=REDACTED-query-1a2b3c4d&a=1", "https://x/?t=abc&a=1", RuleRedacted},
		{p("url"), "https://x/?t=REDACTED-query-1a2b3c4d&a=1", "https://x/?t=abc&a=2", ""},
	}
	for _, tt := range tests {
		if got := rs.ignoreValue(tt.path, tt.rec, tt.live); got != tt.want {
			t.Errorf("ignoreValue(%s, %v, %v) = %q, want %q", tt.path, tt.rec, tt.live, got, tt.want)
		}
	}
	el := jsondiff.Seg{Elem: true, Index: 3}
	for _, tt := range []struct {
		path jsondiff.Path
		want string
	}{
		{p("created"), RuleRancher},
		{jsondiff.Path{{Key: "data"}, el, {Key: "uuid"}}, RuleRancher},
		{p("annotations", "field.cattle.io/creatorId"), RuleRancher},
		{p("metadata", "resourceVersion"), RuleVersion},
		{p("state"), RuleState},
		{jsondiff.Path{{Key: "data"}, el, {Key: "transitioning"}}, RuleState},
		{p("token"), RuleToken},
		{p("data", "accessToken"), RuleToken},
		{p("name"), ""},
		{p("spec", "state"), ""},
	} {
		if got := rs.ignorePath(tt.path); got != tt.want {
			t.Errorf("ignorePath(%s) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func jsonNumber(s string) json.Number { return json.Number(s) }
