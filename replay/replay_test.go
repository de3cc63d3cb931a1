package replay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/replay"
	"github.com/apitape/apitape/replay/replaytest"
)

// recordFake records the standard session against a fresh fake server.
func recordFake(t *testing.T) []*har.Entry {
	t.Helper()
	srv := httptest.NewServer(replaytest.NewFake(replaytest.FakeOptions{}))
	defer srv.Close()
	entries, err := replaytest.RecordSession(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func runAgainst(t *testing.T, entries []*har.Entry, opts replaytest.FakeOptions, ropts ...replay.Option) *replay.Result {
	t.Helper()
	srv := httptest.NewServer(replaytest.NewFake(opts))
	t.Cleanup(srv.Close)
	r, err := replay.New(srv.URL, ropts...)
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Run(context.Background(), entries)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func textReport(t *testing.T, res *replay.Result) string {
	t.Helper()
	var b bytes.Buffer
	if err := replay.WriteText(&b, res); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestFreshServerHasNoRegressions(t *testing.T) {
	entries := recordFake(t)
	res := runAgainst(t, entries, replaytest.FakeOptions{})
	report := textReport(t, res)
	t.Log("\n" + report)
	if res.Regressed() || res.Summary.Passed != len(entries) {
		t.Fatalf("want every call to pass against a fresh server, got %+v", res.Summary)
	}
	// The created cluster's id and the session token were learned.
	var ids, tokens int
	for _, p := range res.Mapped {
		switch {
		case strings.HasPrefix(p.Recorded, "c-"):
			ids++
		case strings.HasPrefix(p.Recorded, "token-"):
			tokens++
		}
	}
	if ids == 0 || tokens == 0 {
		t.Errorf("mapped %+v: want the cluster id and the token", res.Mapped)
	}
	// Ids, uuids, timestamps and links all differed, and were ignored or
	// mapped, by name.
	rules := map[string]bool{}
	for _, ic := range res.Summary.Ignored {
		rules[ic.Rule] = true
	}
	for _, want := range []string{replay.RuleRancher} {
		if !rules[want] {
			t.Errorf("rule %s ignored nothing; summary %+v", want, res.Summary.Ignored)
		}
	}
}

func TestRenamedFieldIsReported(t *testing.T) {
	entries := recordFake(t)
	res := runAgainst(t, entries, replaytest.FakeOptions{RenameVersion: true})
	t.Log("\n" + textReport(t, res))
	if !res.Regressed() {
		t.Fatal("renamed field not reported")
	}
	for _, c := range res.Calls {
		for _, d := range c.Differences {
			if !strings.Contains(d.Path, "kubernetesVersion") && !strings.Contains(d.Path, "k8sVersion") {
				t.Errorf("call %d: unexpected difference %s %s", c.Index, d.Path, d.Change)
			}
		}
	}
	// Every call whose answer holds a cluster (create, edit, get, list) shows it.
	for _, c := range res.Calls[1:] {
		if len(c.Differences) != 2 {
			t.Errorf("call %d %s %s: %d differences, want missing kubernetesVersion and extra k8sVersion", c.Index, c.Method, c.Path, len(c.Differences))
		}
	}
}

func TestStatusChangeIsReported(t *testing.T) {
	entries := recordFake(t)
	res := runAgainst(t, entries, replaytest.FakeOptions{CreateStatus: 200})
	t.Log("\n" + textReport(t, res))
	var got []string
	for _, c := range res.Calls {
		for _, d := range c.Differences {
			got = append(got, d.Path)
			if c.Index != 1 {
				t.Errorf("difference on call %d: %+v", c.Index, d)
			}
		}
	}
	if len(got) != 1 || got[0] != "status" {
		t.Errorf("differences %v, want only status on call 1", got)
	}
}

func TestJSONReportShape(t *testing.T) {
	entries := recordFake(t)
	res := runAgainst(t, entries, replaytest.FakeOptions{RenameVersion: true}, replay.WithSource("session.har"))
	var b bytes.Buffer
	if err := replay.WriteJSON(&b, res); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Schema  string
		Summary struct{ Calls, Failed, Regressions int }
		Calls   []struct {
			Index       int
			Outcome     string
			Differences []map[string]any
			Ignored     []struct{ Path, Rule string }
		}
		Mapped []struct{ Recorded, Live string }
	}
	dec := json.NewDecoder(&b)
	dec.DisallowUnknownFields()
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != replay.SchemaVersion || doc.Summary.Calls != 5 || doc.Summary.Failed != 4 {
		t.Errorf("doc = %+v", doc)
	}
	d := doc.Calls[1].Differences
	if len(d) != 2 {
		t.Fatalf("differences %v", d)
	}
	// missing: recorded only; extra: live only.
	for _, x := range d {
		_, hasRec := x["recorded"]
		_, hasLive := x["live"]
		switch x["change"] {
		case "missing":
			if !hasRec || hasLive {
				t.Errorf("missing difference %v", x)
			}
		case "extra":
			if hasRec || !hasLive {
				t.Errorf("extra difference %v", x)
			}
		}
	}
}
