package correlate

import (
	"strings"
	"testing"

	"github.com/apitape/apitape/har"
	"github.com/google/go-cmp/cmp"
)

// TestAnalyzerStreams: the streaming Analyzer gives Analyze's model
// without going back to the entries. Each entry is wiped right after Add,
// as a converter reading a huge file drops it; the model must not change,
// so nothing read an entry later. (That the analysis does not keep them
// in memory either is what convert's 1 GiB benchmark measures.)
func TestAnalyzerStreams(t *testing.T) {
	es, _ := genSession(301)
	es = append(entries(rancherSession()), es...)
	want, err := Analyze(es, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wantText strings.Builder
	want.Write(&wantText)

	fresh := append(entries(rancherSession()), func() []*har.Entry { e, _ := genSession(301); return e }()...)
	x, err := NewAnalyzer(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range fresh {
		if err := x.Add(i, e); err != nil {
			t.Fatal(err)
		}
		// Rewrite is final for the entry just added: the same parts as
		// the finished model's.
		_, fields := requestFields(e, nil, nil)
		for _, f := range fields {
			if got := x.Rewrite(i, f.where, f.text); countVars(got) != countVars(want.Rewrite(i, f.where, f.text)) {
				t.Fatalf("entry %d %s: %d variables while streaming, %d in the model", i, f.where, countVars(got), countVars(want.Rewrite(i, f.where, f.text)))
			}
		}
		wipe(e)
	}
	got, err := x.Model()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(summary(want), summary(got)); diff != "" {
		t.Errorf("streamed model differs (-Analyze +Analyzer):\n%s", diff)
	}
	var gotText strings.Builder
	got.Write(&gotText)
	if diff := cmp.Diff(wantText.String(), gotText.String()); diff != "" {
		t.Errorf("streamed model prints differently (-Analyze +Analyzer):\n%s", diff)
	}
	if _, err := x.Model(); err == nil {
		t.Error("a second Model call did not fail")
	}
	if err := x.Add(len(fresh), fresh[0]); err == nil {
		t.Error("Add after Model did not fail")
	}
}

// wipe replaces every string of an entry with one of the same length.
func wipe(e *har.Entry) {
	x := func(s string) string { return strings.Repeat("#", len(s)) }
	e.Request.URL = x(e.Request.URL)
	for i := range e.Request.Headers {
		h := &e.Request.Headers[i]
		h.Name, h.Value = x(h.Name), x(h.Value)
	}
	for i := range e.Response.Headers {
		h := &e.Response.Headers[i]
		h.Name, h.Value = x(h.Name), x(h.Value)
	}
	if pd := e.Request.PostData; pd != nil && pd.Text != nil {
		*pd.Text = x(*pd.Text)
	}
	if c := &e.Response.Content; c.Text != nil {
		*c.Text = x(*c.Text)
	}
}

// TestAnalyzerManual: --var checks move to NewAnalyzer (names, reserved
// names) and Model (an entry that never came).
func TestAnalyzerManual(t *testing.T) {
	id := Manual{Name: "X", Source: Source{Kind: KindJSON, Path: ".id"}, Entry: 5}
	if _, err := NewAnalyzer(Options{Extra: []Manual{{Name: "AUTHORIZATION", Source: id.Source}}, Reserved: []string{"AUTHORIZATION"}}); err == nil ||
		err.Error() != "var AUTHORIZATION: the output already uses this name" {
		t.Errorf("reserved name: %v", err)
	}
	x, err := NewAnalyzer(Options{Extra: []Manual{id}})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range entries(rancherSession())[:3] {
		if err := x.Add(i, e); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := x.Model(); err == nil || err.Error() != "var X: entry 5 is not among the selected calls" {
		t.Errorf("missing entry: %v", err)
	}
}

// TestReservedAndJSONString: found variables are named around the
// caller's names, and uses inside JSON strings of a body say so.
func TestReservedAndJSONString(t *testing.T) {
	es := entries([]rec{
		{Method: "POST", URL: h + "/v3/cluster", Body: `{"name":"lab"}`, Status: 201, Resp: clusterResp},
		{Method: "POST", URL: h + "/v3/nodepool", Body: `{"clusterId":"c-q7x2m","n":["c-q7x2m"]}`},
		{Method: "POST", URL: h + "/v3/nodes", Body: `clusterId=c-q7x2m`},
		{Method: "GET", URL: h + "/v3/clusters/c-q7x2m"},
	})
	m, err := Analyze(es, nil, Options{Reserved: []string{"CLUSTER_ID"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Vars) != 1 || m.Vars[0].Name != "CLUSTER_ID_2" {
		t.Fatalf("got %v, want one variable CLUSTER_ID_2", summary(m))
	}
	var inJSON []bool
	for _, u := range m.Vars[0].Uses {
		inJSON = append(inJSON, u.InJSONString)
	}
	if want := []bool{true, true, false, false}; !cmp.Equal(inJSON, want) {
		t.Errorf("InJSONString of the uses = %v, want %v", inJSON, want)
	}
	parts := m.Rewrite(1, WhereBody, `{"clusterId":"c-q7x2m","n":["c-q7x2m"]}`)
	if len(parts) != 5 || !parts[1].InJSONString || parts[1].Var == nil {
		t.Errorf("Rewrite parts = %+v", parts)
	}
}

// FuzzAnalyzeResponse: whatever a response holds, every variable read
// from it reads back with Source.LookupEntry (what emitters and replay
// do), and the model keeps its invariants. The next request carries every
// string the scanner sees in the response, so that each can bind.
func FuzzAnalyzeResponse(f *testing.F) {
	for _, tt := range extractCases {
		f.Add(tt.doc)
	}
	f.Add(clusterResp)
	f.Add(`{"id":"c-q7x2m","id":"c-zzzzz"}`)
	f.Add(`{"id":"c-q7x` + "\x01" + `2m","links":{"self":"/v3/clusters/c-q7x2m/"}}`)
	f.Add(`[{"type":"cluster","id":"c-1234"},{"kind":"Pod","x":[[["deep-123"]]]}]`)
	f.Fuzz(func(t *testing.T, doc string) {
		var sc scanner
		var leaves []string
		sc.leaf = func(value string, path Path, obj int) {
			leaves = append(leaves, value, LastSegment(value))
		}
		sc.run(doc)
		es := entries([]rec{
			{Method: "POST", URL: h + "/v3/things", Body: `{"n":1}`, Status: 201, Resp: doc},
			{Method: "PUT", URL: h + "/x", Body: strings.Join(leaves, "/")},
		})
		m, err := Analyze(es, nil, Options{})
		if err != nil {
			t.Fatal(err)
		}
		checkInvariants(t, es, nil, m)
		for _, v := range m.Vars {
			if got, ok := v.Source.LookupEntry(&es[0].Response); !ok || got != v.Value {
				t.Errorf("%s: %s reads back %q, %v; the model says %q", v.Name, v.Source, got, ok, v.Value)
			}
		}
	})
}
