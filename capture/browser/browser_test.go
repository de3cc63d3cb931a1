package browser

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/chromium"
	"github.com/apitape/apitape/internal/selection"
	"github.com/apitape/apitape/internal/testtool"
)

// needBrowser skips when no Chromium is installed. CI installs it, so there
// the browser tests always run.
func needBrowser(t testing.TB) {
	t.Helper()
	if !chromium.Available() {
		testtool.Missing(t, "no Chromium or Chrome installed (set APITAPE_BROWSER or install chromium)")
	}
}

// record runs a headless recording of pageURL with the given steps file
// text and returns the HAR it wrote.
func record(t testing.TB, pageURL, steps string, sel selection.Filter) (*har.File, Result) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "rec.har")
	o := Options{URL: pageURL, Headless: true, Output: out, Selection: sel, StepsFile: "steps.yaml", Timeout: 60 * time.Second}
	if steps != "" {
		s, err := ParseSteps("steps.yaml", []byte(steps))
		if err != nil {
			t.Fatal(err)
		}
		o.Steps = s
	}
	res, err := Record(context.Background(), o)
	if err != nil {
		t.Fatalf("Record: %v", err)
	}
	return readHAR(t, out), res
}

func readHAR(t testing.TB, path string) *har.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := har.ReadAll(f, path)
	if err != nil {
		t.Fatalf("the recording is not a valid HAR: %v", err)
	}
	return h
}

func path(e *har.Entry) string {
	u, err := url.Parse(e.Request.URL)
	if err != nil {
		return e.Request.URL
	}
	return u.Path
}

func extraString(f har.Fields, name string) string {
	raw, ok := f.Get(name)
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return string(raw)
	}
	return s
}

// TestCompleteness records the busy page and checks the HAR against the
// server's log of what it received and answered: every call is there, once,
// with its full request and response body. Any loss fails.
func TestCompleteness(t *testing.T) {
	needBrowser(t)
	p := newBusyPage(t)
	h, res := record(t, p.URL, "- wait: '#finished'\n  timeout: 40s\n", selection.Filter{})
	t.Logf("recorded %d entries, wrote %d (%s)", res.Seen, res.Written, res.Stopped)

	entries := h.Log.Entries
	byCall := map[string][]*har.Entry{}
	for _, e := range entries {
		k := e.Request.Method + " " + path(e)
		byCall[k] = append(byCall[k], e)
	}
	take := func(k string) *har.Entry {
		es := byCall[k]
		if len(es) == 0 {
			return nil
		}
		byCall[k] = es[1:]
		return es[0]
	}

	served := p.log()
	if want := busySmall + busyBig + redirectHop + 1 + 4; len(served) != want {
		t.Fatalf("the page made %d API calls, want %d: the fixture is broken", len(served), want)
	}
	for _, s := range served {
		k := s.method + " " + s.path
		e := take(k)
		if e == nil {
			t.Errorf("%s: answered by the server, missing from the HAR", k)
			continue
		}
		if e.Response.Status != s.status {
			t.Errorf("%s: status %d, server sent %d", k, e.Response.Status, s.status)
		}
		if e.ResourceType() != "fetch" {
			t.Errorf("%s: _resourceType %q, want fetch", k, e.ResourceType())
		}
		if got := e.Request.Body(); !bytes.Equal(got, s.reqBody) {
			t.Errorf("%s: request body of %d bytes, server received %d", k, len(got), len(s.reqBody))
		}
		body, ok, err := e.Response.Content.Bytes()
		switch {
		case s.status == 302:
			if ok || extraString(e.Response.Content.Extra, "_bodyUnavailable") == "" {
				t.Errorf("%s: a redirect must say its body is unavailable, not claim one", k)
			}
		case err != nil || !ok:
			t.Errorf("%s: no response body (%s)", k, extraString(e.Response.Content.Extra, "_bodyUnavailable"))
		case !bytes.Equal(body, s.respBody):
			t.Errorf("%s: response body of %d bytes, server sent %d", k, len(body), len(s.respBody))
		}
		if _, ok := e.Extra.Get("_initiator"); !ok {
			t.Errorf("%s: no _initiator", k)
		}
		if extraString(e.Extra, "_priority") == "" {
			t.Errorf("%s: no _priority", k)
		}
	}

	// The page's fetch that the service worker answered: the server saw
	// the worker's own fetch (matched above), the page saw this one.
	if e := take("GET /api/sw/echo"); e == nil {
		t.Errorf("the page's fetch answered by the service worker is missing")
	} else {
		if v, _ := e.Response.Extra.Get("_fetchedViaServiceWorker"); string(v) != "true" {
			t.Errorf("/api/sw/echo: _fetchedViaServiceWorker = %s, want true", v)
		}
		if b, ok, _ := e.Response.Content.Bytes(); !ok || !strings.Contains(string(b), "service worker") {
			t.Errorf("/api/sw/echo: body %q (content %s)", b, mustJSON(e.Response.Content))
		}
	}

	// The redirect chain is one entry per hop, in order.
	var hops []string
	for _, e := range entries {
		if strings.HasPrefix(path(e), "/api/redirect/") || path(e) == "/api/final" {
			hops = append(hops, fmt.Sprintf("%s %d %s", path(e), e.Response.Status, e.Response.RedirectURL))
		}
	}
	if want := "/api/redirect/3 302 /api/redirect/2|/api/redirect/2 302 /api/redirect/1|/api/redirect/1 302 /api/final|/api/final 200 "; strings.Join(hops, "|") != want {
		t.Errorf("redirect chain:\n got %s\nwant %s", strings.Join(hops, "|"), want)
	}

	checkSocket(t, take("GET /ws"))

	// The two pages are kept by default, as every navigation is.
	for _, k := range []string{"GET /", "GET /done"} {
		if e := take(k); e == nil || e.ResourceType() != "document" {
			t.Errorf("%s: the document is missing", k)
		}
	}
	for k, es := range byCall {
		for _, e := range es {
			t.Errorf("unexpected entry %s (%s): static assets must be left out by default", k, e.ResourceType())
		}
	}
	for i, e := range entries {
		checkTimings(t, i, e)
	}

	comparePerformance(t, p, entries)
}

func checkSocket(t *testing.T, e *har.Entry) {
	t.Helper()
	if e == nil {
		t.Errorf("the WebSocket is missing")
		return
	}
	if e.ResourceType() != "websocket" || e.Response.Status != 101 {
		t.Errorf("WebSocket: type %q status %d", e.ResourceType(), e.Response.Status)
	}
	raw, _ := e.Extra.Get("_webSocketMessages")
	var msgs []wsMessage
	if err := json.Unmarshal(raw, &msgs); err != nil {
		t.Fatalf("_webSocketMessages: %v", err)
	}
	var got []string
	for _, m := range msgs {
		if m.Time < 1e9 {
			t.Errorf("WebSocket message time %v is not a Unix time in seconds", m.Time)
		}
		got = append(got, fmt.Sprintf("%s %d %s", m.Type, m.Opcode, m.Data))
	}
	sort.Strings(got) // sends and receives interleave differently from run to run
	bin := func(b ...byte) string { return base64.StdEncoding.EncodeToString(b) }
	want := []string{"receive 1 echo:hello", "receive 1 welcome", "receive 2 " + bin(3, 2, 1), "send 1 hello", "send 2 " + bin(1, 2, 3)}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("WebSocket messages:\n got %q\nwant %q", got, want)
	}
}

func checkTimings(t *testing.T, i int, e *har.Entry) {
	t.Helper()
	tm := e.Timings
	if tm.Send < 0 || tm.Wait < 0 || tm.Receive < 0 || e.Time < 0 {
		t.Errorf("entry %d (%s): negative timings %+v time %v", i, e.Request.URL, tm, e.Time)
	}
	if _, err := time.Parse(time.RFC3339Nano, e.StartedDateTime); err != nil {
		t.Errorf("entry %d: startedDateTime %q: %v", i, e.StartedDateTime, err)
	}
}

// comparePerformance checks the HAR against Chrome's own account of the
// page's requests: the Resource Timing entries the page posted to
// /api/report just before it navigated away. Every fetch the page made is
// there with its URL, final status and decoded body size.
//
// Known differences, by design: Resource Timing has one entry for a
// redirected fetch (under the first URL, with the final status and body),
// where the HAR has one entry per hop; it does not list WebSockets, the
// fetches a service worker makes on its own (the HAR has /api/swnet/*), or
// the report itself, which was sent after it was taken.
func comparePerformance(t *testing.T, p *busyPage, entries []*har.Entry) {
	t.Helper()
	var perf []struct {
		URL    string `json:"url"`
		Type   string `json:"type"`
		Status int    `json:"status"`
		Size   int    `json:"size"`
	}
	if err := json.Unmarshal(p.perf, &perf); err != nil {
		t.Fatalf("the page's Resource Timing report: %v", err)
	}
	var chrome []string
	for _, pe := range perf {
		if pe.Type == "fetch" {
			chrome = append(chrome, fmt.Sprintf("%s %d %d", pe.URL, pe.Status, pe.Size))
		}
	}
	// The HAR's view of the same fetches: redirect chains folded into their
	// first URL.
	var ours []string
	var chainStart string
	for _, e := range entries {
		switch {
		case e.ResourceType() != "fetch", strings.HasPrefix(path(e), "/api/swnet/"), path(e) == "/api/report":
			continue
		case e.Response.Status == 302:
			if chainStart == "" {
				chainStart = e.Request.URL
			}
			continue
		}
		u := e.Request.URL
		if chainStart != "" && path(e) == "/api/final" {
			u, chainStart = chainStart, ""
		}
		b, _, _ := e.Response.Content.Bytes()
		ours = append(ours, fmt.Sprintf("%s %d %d", u, e.Response.Status, len(b)))
	}
	sort.Strings(chrome)
	sort.Strings(ours)
	if len(chrome) != busySmall+busyBig+4 {
		t.Errorf("Chrome reported %d fetches, want %d", len(chrome), busySmall+busyBig+4)
	}
	if strings.Join(chrome, "\n") != strings.Join(ours, "\n") {
		t.Errorf("the HAR and Chrome's Resource Timing differ:\nchrome only: %v\nHAR only: %v", minus(chrome, ours), minus(ours, chrome))
	}
}

func minus(a, b []string) []string {
	n := map[string]int{}
	for _, s := range b {
		n[s]++
	}
	var out []string
	for _, s := range a {
		if n[s] > 0 {
			n[s]--
			continue
		}
		out = append(out, s)
	}
	return out
}

var _ = strconv.Itoa

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
