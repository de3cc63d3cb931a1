package replay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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

func TestNoiseRunsFindRandomField(t *testing.T) {
	entries := func() []*har.Entry {
		srv := httptest.NewServer(replaytest.NewFake(replaytest.FakeOptions{Nonce: true}))
		defer srv.Close()
		e, err := replaytest.RecordSession(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}()
	without := runAgainst(t, entries, replaytest.FakeOptions{Nonce: true})
	if without.Summary.Failed != len(entries) {
		t.Fatalf("without noise runs every call should differ in $.nonce: %+v", without.Summary)
	}
	with := runAgainst(t, entries, replaytest.FakeOptions{Nonce: true}, replay.WithNoiseRuns(1))
	t.Log("\n" + textReport(t, with))
	if with.Regressed() {
		t.Fatalf("noise runs did not cancel $.nonce: %+v", with.Summary)
	}
	found := false
	for _, ic := range with.Summary.Ignored {
		found = found || ic.Path == "$.nonce" && ic.Rule == replay.RuleNoise && ic.Count == len(entries)
	}
	if !found {
		t.Errorf("ignored %+v: want $.nonce by %s on every call", with.Summary.Ignored, replay.RuleNoise)
	}
	// A real change still shows through the noise.
	renamed := runAgainst(t, entries, replaytest.FakeOptions{Nonce: true, RenameVersion: true}, replay.WithNoiseRuns(1))
	if renamed.Summary.Failed != 4 {
		t.Errorf("renamed field hidden by noise runs: %+v", renamed.Summary)
	}
}

// TestActionsAliasAndHeaderRemoval replays without the X-Api-Action-Links
// header the recording had: the server answers actions instead of
// actionLinks, which is the same thing.
func TestActionsAliasAndHeaderRemoval(t *testing.T) {
	entries := recordFake(t)
	res := runAgainst(t, entries, replaytest.FakeOptions{}, replay.WithHeader("X-Api-Action-Links", ""))
	if res.Regressed() {
		t.Fatalf("actions vs actionLinks reported: %s", textReport(t, res))
	}
}

func TestUnreachableStopsEarly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close()
	var entries []*har.Entry
	for i := 0; i < 12; i++ {
		e := recordFake(t)[4]
		entries = append(entries, e)
	}
	r, _ := replay.New(down)
	res, err := r.Run(context.Background(), entries)
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	if !s.Unreachable || s.Errors != 5 || s.Skipped != 7 {
		t.Errorf("summary %+v: want 5 connection errors, the rest skipped, unreachable", s)
	}
	if c := res.Calls[11]; c.Outcome != replay.Skipped || !strings.Contains(c.Skipped, "target unreachable") {
		t.Errorf("last call: %+v", c)
	}
}

func TestInterrupted(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	entries := recordFake(t)
	ctx, cancel := context.WithCancel(context.Background())
	r, _ := replay.New(srv.URL, replay.WithProgress(func(p replay.Progress) {}))
	time.AfterFunc(100*time.Millisecond, cancel)
	res, err := r.Run(ctx, entries)
	if !errors.Is(err, context.Canceled) || res == nil || !res.Interrupted {
		t.Fatalf("err %v, result %v", err, res)
	}
	if res.Calls[0].Outcome != replay.Error || res.Calls[len(res.Calls)-1].Skipped != "interrupted" {
		t.Errorf("calls: %+v %+v", res.Calls[0], res.Calls[len(res.Calls)-1])
	}
}

// TestTLS: certificates are verified unless asked not to; over HTTP/2 the
// recorded path is sent as is too.
func TestTLS(t *testing.T) {
	var gotPath string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath = r.RequestURI + " " + r.Proto
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{}`))
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	e := &har.Entry{Request: har.Request{Method: "GET", URL: "https://api.test/a%2Fb?x=%20"}, Response: har.Response{Status: 200}}
	e.Response.Content.Text = har.String("{}")
	r, _ := replay.New(srv.URL)
	res, err := r.Run(context.Background(), []*har.Entry{e})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Calls[0]; c.Error == nil || c.Error.Kind != "tls" || !res.Summary.Unreachable {
		t.Errorf("self-signed certificate accepted: %+v %+v", c, res.Summary)
	}
	r, _ = replay.New(srv.URL, replay.WithClient(replay.NewClient(true, 1)))
	res, err = r.Run(context.Background(), []*har.Entry{e})
	if err != nil || res.Regressed() {
		t.Fatalf("with insecure: %v %+v", err, res.Calls[0])
	}
	if gotPath != "/a%2Fb?x=%20 HTTP/2.0" {
		t.Errorf("server saw %q", gotPath)
	}
}

func TestHeaders(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
		h.Set("X-Api-Schemas", "http://"+r.Host+"/v3/schemas")
		h.Set("X-Custom", "new")
		h.Set("X-Request-Id", "r-2")
		h.Set("Location", "http://"+r.Host+"/v3/clusters/c-live1")
		h.Add("Set-Cookie", "CSRF=zzz; Path=/")
		h.Add("Set-Cookie", "OTHER=1")
		w.WriteHeader(201)
		w.Write([]byte(`{"id":"c-live1"}`))
	}))
	defer srv.Close()
	e := &har.Entry{Request: har.Request{Method: "POST", URL: "https://rancher.test/v3/clusters"}, Response: har.Response{Status: 201}}
	for _, h := range [][2]string{
		{"content-type", "application/json"}, {"date", "Fri, 14 Mar 2025 09:26:53 GMT"}, {"x-api-schemas", "https://rancher.test/v3/schemas"},
		{"x-custom", "old"}, {"x-request-id", "r-1"}, {"location", "https://rancher.test/v3/clusters/c-rec01"},
		{"set-cookie", "R_SESS=token-abcde:xyz; Path=/"}, {"set-cookie", "CSRF=aaa; Path=/"},
	} {
		e.Response.Headers = append(e.Response.Headers, har.NameValue{Name: h[0], Value: h[1]})
	}
	e.Response.Content.Text = har.String(`{"id":"c-rec01"}`)
	run := func(opts ...replay.Option) (diffs, ignored []string) {
		r, _ := replay.New(srv.URL, append(opts, replay.WithAllowMutations(true))...)
		res, err := r.Run(context.Background(), []*har.Entry{e})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range res.Calls[0].Differences {
			diffs = append(diffs, d.Path+" "+d.Change)
		}
		for _, ig := range res.Calls[0].Ignored {
			ignored = append(ignored, ig.Path+" "+ig.Rule)
		}
		return diffs, ignored
	}
	// Default: Content-Type (charset only on one side: same), Location
	// (modulo origin and the mapped id), which cookies are set.
	diffs, ignored := run()
	want := []string{"header:Set-Cookie[R_SESS] missing", "header:Set-Cookie[OTHER] extra"}
	if strings.Join(diffs, ";") != strings.Join(want, ";") {
		t.Errorf("default headers: %v, want %v", diffs, want)
	}
	if len(ignored) != 0 {
		t.Errorf("ignored %v", ignored)
	}
	// Every recorded header: volatile ones ignored by rule, links rewritten.
	diffs, ignored = run(replay.WithCompareHeaders("*"), replay.WithIgnore(mustRule(t, "header:Set-Cookie")))
	if strings.Join(diffs, ";") != "header:X-Custom changed" {
		t.Errorf("all headers: %v", diffs)
	}
	want = []string{"header:Set-Cookie[R_SESS] header:Set-Cookie", "header:Set-Cookie[OTHER] header:Set-Cookie", "header:Date volatile-header", "header:X-Request-Id volatile-header"}
	if strings.Join(ignored, ";") != strings.Join(want, ";") {
		t.Errorf("ignored %v, want %v", ignored, want)
	}
}

func TestMultilineStringDiff(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"config":"apiVersion: v1\nkind: Config\nserver: \"https://b\"\ntoken: \"kubeconfig-user-x9y8z:` + strings.Repeat("b", 54) + `\"\n"}`))
	}))
	defer srv.Close()
	e := &har.Entry{Request: har.Request{Method: "GET", URL: "https://r.test/kc"}, Response: har.Response{Status: 200}}
	e.Response.Content.Text = har.String(`{"config":"apiVersion: v1\nkind: Config\nserver: \"https://a\"\ntoken: \"kubeconfig-user-b8n4k:` + strings.Repeat("a", 54) + `\"\n"}`)
	r, _ := replay.New(srv.URL)
	res, _ := r.Run(context.Background(), []*har.Entry{e})
	d := res.Calls[0].Differences
	if len(d) != 1 || !strings.Contains(d[0].Diff, "-server: \"https://a\"\n+server: \"https://b\"\n") || strings.Contains(d[0].Diff, "token: \"kubeconfig") {
		t.Errorf("differences %+v: want a line diff of the server line, tokens masked", d)
	}
	if !strings.Contains(textReport(t, res), "    $.config: changed\n") {
		t.Errorf("text report:\n%s", textReport(t, res))
	}
}
