package replay

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/apitape/apitape/har"
	"github.com/google/go-cmp/cmp"
)

// rawServer records every request exactly as it arrived and answers each
// with the same canned response.
type rawServer struct {
	ln       net.Listener
	mu       sync.Mutex
	requests []rawRequest
	answer   string
}

type rawRequest struct {
	line    string
	headers []string // "Name: value" in arrival order
	body    []byte
}

func newRawServer(t *testing.T, answer string) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln, answer: answer}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *rawServer) url() string { return "http://" + s.ln.Addr().String() }

func (s *rawServer) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	tp := textproto.NewReader(br)
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		var req rawRequest
		req.line = line
		n := 0
		for {
			h, err := tp.ReadLine()
			if err != nil {
				return
			}
			if h == "" {
				break
			}
			req.headers = append(req.headers, h)
			if name, v, ok := strings.Cut(h, ":"); ok && strings.EqualFold(name, "Content-Length") {
				n, _ = strconv.Atoi(strings.TrimSpace(v))
			}
		}
		req.body = make([]byte, n)
		if _, err := io.ReadFull(br, req.body); err != nil {
			return
		}
		s.mu.Lock()
		s.requests = append(s.requests, req)
		s.mu.Unlock()
		if _, err := io.WriteString(c, s.answer); err != nil {
			return
		}
	}
}

func (s *rawServer) got() []rawRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]rawRequest(nil), s.requests...)
}

func entry(method, url string, headers [][2]string, body string) *har.Entry {
	e := &har.Entry{Request: har.Request{Method: method, URL: url}, Response: har.Response{Status: 200}}
	for _, h := range headers {
		e.Request.Headers = append(e.Request.Headers, har.NameValue{Name: h[0], Value: h[1]})
	}
	if body != "" {
		ct, _ := har.Header(e.Request.Headers, "Content-Type")
		e.Request.PostData = &har.PostData{MimeType: ct, Text: har.String(body)}
	}
	e.Response.Content.MimeType = "application/json"
	e.Response.Content.Text = har.String("{}")
	e.Response.Headers = []har.NameValue{{Name: "Content-Type", Value: "application/json"}}
	return e
}

const okAnswer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"

func TestRequestsAsRecorded(t *testing.T) {
	srv := newRawServer(t, okAnswer)
	env := map[string]string{
		"APITAPE_SECRET_QUERY_0A0B0C0D":    "a b&c",
		"APITAPE_SECRET_PASSWORD_11223344": `pa"ss\word`,
		"APITAPE_SECRET_FORM_55667788":     "x&y=z",
		"APITAPE_SECRET_PATH_99AABBCC":     "a/b c",
		"TOKEN":                            "tok-123",
	}
	getenv := func(k string) string { return env[k] }
	entries := []*har.Entry{
		// The path and query go out byte for byte: no decoding, no
		// re-encoding, fragment dropped, invalid bytes escaped.
		entry("GET", "https://rancher.test/v3/a%2Fb;x=1/%7euser?q=%20&q=+&sort=name&empty=&flag#frag", [][2]string{
			{":authority", "rancher.test"}, {"Host", "rancher.test"}, {"Connection", "keep-alive, X-Drop-Me"}, {"X-Drop-Me", "1"},
			{"Keep-Alive", "timeout=5"}, {"Proxy-Authorization", "Basic eA=="}, {"TE", "trailers"}, {"Upgrade-Insecure-Requests", "1"},
			{"accept-encoding", "gzip, deflate, br, zstd"}, {"x-api-csrf", "abc"}, {"Origin", "https://rancher.test"},
			{"Referer", "https://rancher.test/dashboard/c/local"}, {"X-Multi", "one"}, {"x-multi", "two"},
		}, ""),
		entry("GET", "https://rancher.test/v3/é space?q=naïve value", nil, ""),
		// Placeholders: escaped for where they stand.
		entry("POST", "https://rancher.test/v3/REDACTED-path-99aabbcc/x?token=REDACTED-query-0a0b0c0d", [][2]string{
			{"Content-Type", "application/json"}, {"Content-Length", "999"}, {"Authorization", "Bearer recorded"},
		}, `{"password":"REDACTED-password-11223344","n":1}`),
		entry("POST", "https://rancher.test/login", [][2]string{{"Content-Type", "application/x-www-form-urlencoded"}}, "user=a&pw=REDACTED-form-55667788"),
		// A recording without a User-Agent sends none.
		// $VAR in recorded data is data, never expanded.
		entry("GET", "https://rancher.test/ua", [][2]string{{"User-Agent", "Mozilla/5.0 test"}, {"X-Literal", "$TOKEN ${TOKEN}"}}, ""),
	}
	r, err := New(srv.url()+"/prefix/", WithEnv(getenv), WithHeader("Authorization", "Bearer $TOKEN"), WithHeader("X-Api-No-Challenge", ""))
	if err != nil {
		t.Fatal(err)
	}
	entries[0].Request.Headers = append(entries[0].Request.Headers, har.NameValue{Name: "X-Api-No-Challenge", Value: "true"})
	res, err := r.Run(context.Background(), entries)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Calls {
		if c.Outcome != Pass {
			t.Errorf("call %d: %s %+v %+v", c.Index, c.Outcome, c.Error, c.Differences)
		}
	}
	got := srv.got()
	if len(got) != len(entries) {
		t.Fatalf("server saw %d requests, want %d", len(got), len(entries))
	}
	host := strings.TrimPrefix(srv.url(), "http://")
	want := []rawRequest{
		{line: "GET /prefix/v3/a%2Fb;x=1/%7euser?q=%20&q=+&sort=name&empty=&flag HTTP/1.1", headers: []string{
			"Host: " + host, "Accept-Encoding: gzip, deflate", "Authorization: Bearer tok-123", "Origin: " + srv.url() + "/prefix",
			"Referer: " + srv.url() + "/prefix/dashboard/c/local", "Upgrade-Insecure-Requests: 1", "X-Api-Csrf: abc", "X-Multi: one", "X-Multi: two",
		}},
		{line: "GET /prefix/v3/%C3%A9%20space?q=na%C3%AFve%20value HTTP/1.1", headers: []string{"Host: " + host, "Authorization: Bearer tok-123"}},
		{line: "POST /prefix/v3/a%2Fb%20c/x?token=a+b%26c HTTP/1.1", headers: []string{
			"Host: " + host, "Content-Length: 46", "Authorization: Bearer tok-123", "Content-Type: application/json",
		}, body: []byte(`{"password":"pa\"ss\\word","n":1}`)},
		{line: "POST /prefix/login HTTP/1.1", headers: []string{"Host: " + host, "Content-Length: 21", "Authorization: Bearer tok-123", "Content-Type: application/x-www-form-urlencoded"},
			body: []byte("user=a&pw=x%26y%3Dz")},
		{line: "GET /prefix/ua HTTP/1.1", headers: []string{"Host: " + host, "User-Agent: Mozilla/5.0 test", "Authorization: Bearer tok-123", "X-Literal: $TOKEN ${TOKEN}"}},
	}
	// Header order on the wire is Go's (sorted), which is fine: compare as
	// sorted lists.
	norm := func(rs []rawRequest) []string {
		var out []string
		for _, r := range rs {
			hs := append([]string(nil), r.headers...)
			sortStrings(hs)
			out = append(out, r.line+"\n"+strings.Join(hs, "\n")+"\n\n"+string(r.body))
		}
		return out
	}
	want[2].headers[1] = fmt.Sprintf("Content-Length: %d", len(want[2].body))
	want[3].headers[1] = fmt.Sprintf("Content-Length: %d", len(want[3].body))
	if diff := cmp.Diff(norm(want), norm(got)); diff != "" {
		t.Errorf("requests on the wire (-want +got):\n%s", diff)
	}
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestLiveBodiesDecompressed(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"a":1}`))
	zw.Close()
	srv := newRawServer(t, fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s", gz.Len(), gz.String()))
	e := entry("GET", "https://x.test/a", [][2]string{{"Accept-Encoding", "gzip, br"}}, "")
	// The recording's body is base64 (as martian writes every body).
	e.Response.Content.Text = har.String("eyJhIjoxfQ==")
	e.Response.Content.Encoding = "base64"
	r, _ := New(srv.url())
	res, err := r.Run(context.Background(), []*har.Entry{e})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Calls[0]; c.Outcome != Pass {
		t.Errorf("gzip answer vs base64 recording: %s %+v %+v", c.Outcome, c.Error, c.Differences)
	}
}

func TestExpandEnv(t *testing.T) {
	env := map[string]string{"A": "1", "B_2": "two"}
	tests := []struct{ in, out, missing string }{
		{"Bearer $A", "Bearer 1", ""},
		{"${B_2}x", "twox", ""},
		{"$A$B_2", "1two", ""},
		{"cost $$5", "cost $5", ""},
		{"$ alone, $1 and ${bad-name}", "$ alone, $1 and ${bad-name}", ""},
		{"$NOPE and ${ALSO}", " and ", "NOPE,ALSO"},
		{"trailing $", "trailing $", ""},
	}
	for _, tt := range tests {
		out, missing, _ := expandEnv(tt.in, func(k string) string { return env[k] })
		if out != tt.out || strings.Join(missing, ",") != tt.missing {
			t.Errorf("expandEnv(%q) = %q, missing %v; want %q, %q", tt.in, out, missing, tt.out, tt.missing)
		}
	}
}

func FuzzExpandEnv(f *testing.F) {
	for _, s := range []string{"Bearer $TOKEN", "${A}${B}", "$$", "${", "$", "a$b${c}d$$e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// With every variable unset to "v", no $NAME survives and nothing
		// panics; text without $ is unchanged.
		out, _, _ := expandEnv(s, func(string) string { return "v" })
		if !strings.Contains(s, "$") && out != s {
			t.Fatalf("expandEnv(%q) = %q", s, out)
		}
	})
}

func TestSplitURL(t *testing.T) {
	tests := []struct{ in, origin, pq string }{
		{"https://Rancher.Test/v3/x?y=1#f", "https://rancher.test", "/v3/x?y=1"},
		{"http://h:8080", "http://h:8080", "/"},
		{"http://h?q", "http://h", "/?q"},
		{"HTTPS://h/a%2F", "https://h", "/a%2F"},
	}
	for _, tt := range tests {
		o, pq, err := splitURL(tt.in)
		if err != nil || o != tt.origin || pq != tt.pq {
			t.Errorf("splitURL(%q) = %q, %q, %v; want %q, %q", tt.in, o, pq, err, tt.origin, tt.pq)
		}
	}
	for _, bad := range []string{"ws://h/x", "data:text/plain,x", "/relative", "http:///nohost"} {
		if _, _, err := splitURL(bad); err == nil {
			t.Errorf("splitURL(%q) succeeded", bad)
		}
	}
}

func FuzzRequestTarget(f *testing.F) {
	for _, s := range []string{"https://h/a b?c=d", "http://h/%zz", "https://h/é", "http://h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, pq, err := splitURL(s)
		if err != nil {
			return
		}
		// What goes on the request line has no byte a request line cannot
		// carry, and printable ASCII is never touched.
		rt := requestTarget(pq)
		for i := 0; i < len(rt); i++ {
			if rt[i] <= ' ' || rt[i] >= 0x7f {
				t.Fatalf("requestTarget(%q) = %q: byte %#x", pq, rt, rt[i])
			}
		}
		if !strings.ContainsFunc(pq, func(r rune) bool { return r <= ' ' || r >= 0x7f }) && rt != pq {
			t.Fatalf("requestTarget changed clean %q to %q", pq, rt)
		}
	})
}

func TestIsMutation(t *testing.T) {
	tests := []struct {
		method, pq string
		want       bool
	}{
		{"GET", "/v3/clusters", false},
		{"HEAD", "/", false},
		{"OPTIONS", "/", false},
		{"POST", "/v3/cluster", true},
		{"put", "/x", true},
		{"PATCH", "/x", true},
		{"DELETE", "/x", true},
		{"PROPFIND", "/x", true},
		{"GET", "/v3/clusters/c-1?_method=DELETE", true},
		{"GET", "/v3/clusters/c-1?_method=get", false},
		{"GET", "/v3/clusters/c-1?action=remove", false},
	}
	for _, tt := range tests {
		if got := isMutation(tt.method, tt.pq); got != tt.want {
			t.Errorf("isMutation(%s, %s) = %v, want %v", tt.method, tt.pq, got, tt.want)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	for u, want := range map[string]bool{
		"http://127.0.0.1:8080": true, "http://127.3.4.5": true, "http://[::1]:9/x": true, "http://localhost": true,
		"https://LOCALHOST:443": true, "http://localhost.example.com": false, "https://example.invalid": false,
		"http://10.0.0.1": false, "http://[::2]": false, "http://0.0.0.0": false, "http://127.0.0.1.nip.io": false,
	} {
		tu, err := parseTarget(u)
		if err != nil {
			t.Fatal(err)
		}
		if got := tu.loopback(); got != want {
			t.Errorf("loopback(%q) = %v, want %v", u, got, want)
		}
	}
}

// dialRecorder fails the test if anything is dialled or sent.
type dialRecorder struct {
	t *testing.T
}

func (d dialRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	d.t.Errorf("request sent to %s although the replay must be refused first", r.URL.Host)
	return nil, fmt.Errorf("no")
}

func TestPreflightRefusesBeforeSending(t *testing.T) {
	entries := []*har.Entry{
		entry("GET", "https://rancher.test/v3/clusters", [][2]string{{"X-Key", "REDACTED-apikey-0a0b0c0d"}}, ""),
		entry("POST", "https://rancher.test/v3/cluster", [][2]string{{"Content-Type", "application/json"}}, `{"pw":"REDACTED-password-11223344","k":"REDACTED-apikey-0a0b0c0d"}`),
		entry("DELETE", "https://rancher.test/v3/clusters/c-1", nil, ""),
	}
	client := &http.Client{Transport: dialRecorder{t}}
	// Missing variables: all of them, once each, in first-use order.
	r, _ := New("https://example.invalid", WithClient(client), WithEnv(func(string) string { return "" }), WithHeader("Authorization", "Bearer ${TOKEN}"))
	_, err := r.Run(context.Background(), entries)
	pe, ok := err.(*PreflightError)
	if !ok || strings.Join(pe.Missing, ",") != "TOKEN,APITAPE_SECRET_APIKEY_0A0B0C0D,APITAPE_SECRET_PASSWORD_11223344" {
		t.Fatalf("err = %v, want the three missing variables", err)
	}
	// Variables set: the mutations are refused, still before sending.
	r, _ = New("https://example.invalid", WithClient(client), WithEnv(func(string) string { return "x" }))
	_, err = r.Run(context.Background(), entries)
	pe, ok = err.(*PreflightError)
	if !ok || len(pe.Refused) != 2 || pe.Refused[0].Index != 1 || pe.Refused[1].Index != 2 {
		t.Fatalf("err = %v, want calls 1 and 2 refused", err)
	}
	if !strings.Contains(err.Error(), "refusing to send 2 state-changing calls (DELETE, POST) to https://example.invalid") {
		t.Errorf("message %q", err)
	}
	// The baseline of noise runs is checked too.
	srv := newRawServer(t, okAnswer)
	r, _ = New(srv.url(), WithEnv(func(string) string { return "x" }), WithNoiseRuns(1), WithBaseline("https://example.invalid"))
	if _, err := r.Run(context.Background(), entries); err == nil || !strings.Contains(err.Error(), "example.invalid") {
		t.Errorf("baseline not checked: %v", err)
	}
	if n := len(srv.got()); n != 0 {
		t.Errorf("%d requests reached the loopback target before the refusal", n)
	}
}

// TestVariablesOnTheWire: the model's variables go out with the values
// the target answered, written the way the recording had them: a cookie
// and a token from a login, a composite id percent-encoded in path and
// query and raw in a Referer (whose origin follows the target), and JSON
// escaping in a body for a live value holding a quote and a backslash.
func TestVariablesOnTheWire(t *testing.T) {
	var mu sync.Mutex
	var lines, bodies []string
	var headers []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		lines = append(lines, r.Method+" "+r.RequestURI)
		headers = append(headers, r.Header.Clone())
		bodies = append(bodies, string(body))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/login":
			w.Header().Set("Set-Cookie", "SESS=sess-live-9; Path=/")
			fmt.Fprint(w, `{"token":"tok\"live\\9"}`)
		case r.Method == "POST":
			w.WriteHeader(201)
			fmt.Fprint(w, `{"id":"c-liv01:np-liv02"}`)
		default:
			fmt.Fprint(w, `{}`)
		}
	}))
	defer srv.Close()
	answer := func(e *har.Entry, status int, body string, headers ...string) *har.Entry {
		e.Response.Status = status
		e.Response.Content.Text = har.String(body)
		for i := 0; i+1 < len(headers); i += 2 {
			e.Response.Headers = append(e.Response.Headers, har.NameValue{Name: headers[i], Value: headers[i+1]})
		}
		return e
	}
	auth := [][2]string{{"Cookie", "SESS=sess-rec-1234"}, {"Authorization", "Bearer tok-rec-5678"}}
	entries := []*har.Entry{
		answer(entry("POST", "https://r.test/login", [][2]string{{"Content-Type", "application/json"}}, `{"u":"a"}`), 200,
			`{"token":"tok-rec-5678"}`, "Set-Cookie", "SESS=sess-rec-1234; Path=/"),
		answer(entry("POST", "https://r.test/pools", append(auth, [2]string{"Content-Type", "application/json"}), `{"name":"p"}`), 201,
			`{"id":"c-rec01:np-rec02"}`),
		entry("GET", "https://r.test/pools/c-rec01%3Anp-rec02?pool=c-rec01%3Anp-rec02",
			append(auth, [2]string{"Referer", "https://r.test/ui/pools/c-rec01:np-rec02"}), ""),
		entry("PUT", "https://r.test/pools/c-rec01%3Anp-rec02", append(auth, [2]string{"Content-Type", "application/json"}),
			`{"id":"c-rec01:np-rec02","token":"tok-rec-5678"}`),
	}
	r, err := New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Run(context.Background(), entries)
	if err != nil {
		t.Fatal(err)
	}
	wantLines := []string{"POST /login", "POST /pools", "GET /pools/c-liv01%3Anp-liv02?pool=c-liv01%3Anp-liv02", "PUT /pools/c-liv01%3Anp-liv02"}
	if diff := cmp.Diff(wantLines, lines); diff != "" {
		t.Errorf("request lines (-want +got):\n%s", diff)
	}
	for i := 1; i < len(headers); i++ {
		if c, a := headers[i].Get("Cookie"), headers[i].Get("Authorization"); c != "SESS=sess-live-9" || a != `Bearer tok"live\9` {
			t.Errorf("call %d: Cookie %q, Authorization %q", i, c, a)
		}
	}
	if got, want := headers[2].Get("Referer"), srv.URL+"/ui/pools/c-liv01:np-liv02"; got != want {
		t.Errorf("Referer %q, want %q", got, want)
	}
	if got, want := bodies[3], `{"id":"c-liv01:np-liv02","token":"tok\"live\\9"}`; got != want {
		t.Errorf("body %s, want %s", got, want)
	}
	for _, c := range res.Calls {
		if c.Outcome != Pass {
			t.Errorf("call %d: %s %+v", c.Index, c.Outcome, c.Differences)
		}
	}
}
