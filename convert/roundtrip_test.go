package convert

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/selection"
)

// recordedOrigin is the origin in the test HARs; --base-url points the
// generated code at the recording server instead.
const recordedOrigin = "https://api.example:8443"

// metachars holds every shell metacharacter the quoting must survive.
const metachars = `'"$VAR ${HOME} $(id) ` + "`id`" + ` \ ! % ; | & < > * ? ~ # { } [ ] ^`

// rtCase is one entry of the round-trip corpus.
type rtCase struct {
	name    string // what it tests (edge case numbers refer to converter-edge-cases.md)
	method  string
	url     string // path and query appended to recordedOrigin, or absolute
	headers [][2]string
	cookies [][2]string
	body    *string
	mime    string
	params  []har.Param
	// wantBody is the body the server must receive when it is not the
	// recorded text (params-only bodies, lossy text).
	wantBody *string
	http     string
	skip     bool // never sent: WebSocket, non-HTTP
	// wantCT is the Content-Type the server must receive when it is not
	// the recorded one (a boundary added).
	wantCT string
	extra  func(*har.Entry)
}

func str(s string) *string { return &s }

// chrome are the pseudo-headers Chrome records for HTTP/2.
func chrome(method, path string) [][2]string {
	return [][2]string{{":authority", "api.example:8443"}, {":method", method}, {":path", path}, {":scheme", "https"}}
}

func bigBody(n int, seed string) string {
	var b strings.Builder
	b.WriteString(`{"data":"`)
	for b.Len() < n-2 {
		b.WriteString(seed)
	}
	s := b.String()[:n-2]
	return s + `"}`
}

func roundTripCases() []rtCase {
	crlfBody := "line one\r\nline two\r\n\r\nlast line without newline"
	multipart := "------WebKitFormBoundaryX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\n@/etc/passwd\r\n<html> 'x' $(id)\r\n------WebKitFormBoundaryX\r\nContent-Disposition: form-data; name=\"at\"\r\n\r\n@/etc/hostname\r\n------WebKitFormBoundaryX\r\nContent-Disposition: form-data; name=\"lt\"\r\n\r\n</etc/hostname\r\n------WebKitFormBoundaryX--\r\n"
	nul := "bin\x00ary\x00\x00 data \x01\x02\x7f end\x00"
	cases := []rtCase{
		{name: "1: JSON with quote, $VAR and backticks", method: "POST", url: "/v3/cluster",
			headers: [][2]string{{"Content-Type", "application/json"}},
			body:    str(`{"name":"it's $HOME","cmd":"` + "`touch pwned`" + `","sub":"$(touch pwned)"}`)},
		{name: "2: big ints, 1.0 and \\u escapes stay as recorded", method: "PUT", url: "/v3/n",
			headers: [][2]string{{"Content-Type", "application/json"}},
			body:    str(`{"big":12345678901234567890,"f":1.0,"e":"\u00e9","x":1e400}`)},
		{name: "3: body starting with @ is text", method: "POST", url: "/upload",
			headers: [][2]string{{"Content-Type", "text/plain"}}, body: str("@/etc/hostname")},
		{name: "4: multipart raw text with @ and < values", method: "POST", url: "/form",
			headers: [][2]string{{"Content-Type", "multipart/form-data; boundary=----WebKitFormBoundaryX"}},
			body:    str(multipart), mime: "multipart/form-data; boundary=----WebKitFormBoundaryX"},
		{name: "4: multipart params only, rebuilt with the recorded boundary", method: "POST", url: "/form2",
			headers: [][2]string{{"Content-Type", "multipart/form-data; boundary=BND"}},
			mime:    "multipart/form-data; boundary=BND",
			params:  []har.Param{{Name: "a", Value: str("@/etc/passwd")}, {Name: "f", FileName: "x.txt", ContentType: "text/plain", Value: str("<x>")}},
			wantBody: str("--BND\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n@/etc/passwd\r\n" +
				"--BND\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\r\nContent-Type: text/plain\r\n\r\n<x>\r\n--BND--\r\n")},
		{name: "5: multipart raw text, bare mimeType", method: "POST", url: "/form3",
			headers: [][2]string{{"Content-Type", "multipart/form-data; boundary=----WebKitFormBoundaryX"}},
			body:    str(multipart), mime: "multipart/form-data"},
		{name: "6: HTTP/2 pseudo-headers dropped", method: "GET", url: "/v1/p?x=1",
			headers: append(chrome("GET", "/v1/p?x=1"), [2]string{"accept", "application/json"}), http: "http/2.0"},
		{name: "6: :authority unlike the URL host becomes Host", method: "GET", url: "/v1/other",
			headers: [][2]string{{":authority", "other.example"}, {":method", "GET"}, {"accept", "*/*"}}, http: "h3"},
		{name: "7: httpVersion HTTP/3", method: "GET", url: "/v7", http: "HTTP/3"},
		{name: "7: httpVersion empty", method: "GET", url: "/v7b", http: ""},
		{name: "7: httpVersion HTTP/2", method: "GET", url: "/v7c", http: "HTTP/2"},
		{name: "8: Cookie header and cookies[]: header verbatim, once", method: "GET", url: "/v8",
			headers: [][2]string{{"Cookie", "a=1; b=%3D; c=x y"}}, cookies: [][2]string{{"a", "1"}, {"b", "="}, {"c", "x y"}}},
		{name: "8: cookies[] only builds the header", method: "GET", url: "/v8b",
			cookies: [][2]string{{"sid", "abc%3D"}, {"theme", "dark"}}},
		{name: "9: percent-encoded query and cookie not re-encoded", method: "GET", url: "/v9?t=a%3Db%253D&e=%E2%82%AC",
			headers: [][2]string{{"Cookie", "t=a%3Db%253D"}}},
		{name: "10: urlencoded text as recorded", method: "POST", url: "/v10",
			headers: [][2]string{{"Content-Type", "application/x-www-form-urlencoded"}},
			body:    str("a=1%262&b=x%3Dy&c=hello+world&d=%C3%A9"), mime: "application/x-www-form-urlencoded",
			params: []har.Param{{Name: "a", Value: str("1%262")}}},
		{name: "10: urlencoded params only, encoded once", method: "POST", url: "/v10b",
			headers: [][2]string{{"Content-Type", "application/x-www-form-urlencoded"}}, mime: "application/x-www-form-urlencoded",
			params:   []har.Param{{Name: "a b", Value: str("1&2=3")}, {Name: "c", Value: str("é")}},
			wantBody: str("a+b=1%262%3D3&c=%C3%A9")},
		{name: "11: repeated form and query keys keep order", method: "POST", url: "/v11?a=1&a=2&b=3&a=4",
			headers: [][2]string{{"Content-Type", "application/x-www-form-urlencoded"}}, body: str("k=1&k=2&j=0&k=3")},
		{name: "12: signed URL: valueless key, +, order, []", method: "GET",
			url: "/v12?flag&x=a+b&z=1&y[]=2&X-Amz-Signature=abc%2Fdef%2f&empty=&%7e=%7E"},
		{name: "13: globbing characters in path and query", method: "GET", url: "/v13/[a]/{b}?f[name]=x&g={y}&r=[1-2]"},
		{name: "14: empty header values", method: "GET", url: "/v14",
			headers: [][2]string{{"X-Empty", ""}, {"X-Also-Empty", ""}, {"X-Full", "v"}}},
		{name: "15: duplicate headers in order", method: "GET", url: "/v15",
			headers: [][2]string{{"X-Dup", "1"}, {"X-Other", "o"}, {"X-Dup", "2"}, {"X-Dup", "3"}}},
		{name: "16: stale Content-Length dropped", method: "POST", url: "/v16",
			headers: [][2]string{{"Content-Type", "text/plain"}, {"Content-Length", "9999"}}, body: str("short")},
		{name: "16: bodiless POST", method: "POST", url: "/v16b", headers: [][2]string{{"Content-Length", "0"}}},
		{name: "16: bodiless PUT", method: "PUT", url: "/v16c"},
		{name: "16: bodiless PATCH", method: "PATCH", url: "/v16d"},
		{name: "17: Host header kept", method: "GET", url: "/v17", headers: [][2]string{{"Host", "virtual.example"}}},
		{name: "case: host, user-agent and the rest spelt as recorded", method: "GET", url: "/case",
			headers: [][2]string{{"accept", "*/*"}, {"host", "virtual.example"}, {"user-agent", "ua/1"}, {"x-MiXeD-Case", "1"}, {"CONTENT-TYPE", "text/plain"}}},
		{name: "case: HOST in capitals, after other headers", method: "POST", url: "/case2",
			headers: [][2]string{{"X-First", "1"}, {"HOST", "v2.example:8080"}, {"User-agent", "ua/2"}}, body: str("x")},
		{name: "case: multipart params only, no boundary anywhere (httpsnippet)", method: "POST", url: "/nb",
			headers: [][2]string{{"content-type", "multipart/form-data"}}, mime: "multipart/form-data",
			params:   []har.Param{{Name: "foo", Value: str("bar")}, {Name: "file", FileName: "a.txt", ContentType: "text/plain", Value: str("hello\r\n--x")}},
			wantBody: str(noBoundaryBody), wantCT: noBoundaryCT},
		{name: "18: Accept-Encoding sent as recorded with --exact", method: "GET", url: "/v18",
			headers: [][2]string{{"Accept-Encoding", "gzip, deflate, br, zstd"}}},
		{name: "19: NUL and control bytes in the body", method: "POST", url: "/v19",
			headers: [][2]string{{"Content-Type", "application/octet-stream"}}, body: str(nul)},
		{name: "20: printf specials and trailing newlines", method: "POST", url: "/v20",
			headers: [][2]string{{"Content-Type", "text/plain"}}, body: str("100% %s %d %%\\n \\x41 \\0 \\\\\n\n\n")},
		{name: "21: lone surrogate recorded lossy", method: "POST", url: "/v21",
			headers: [][2]string{{"Content-Type", "text/plain"}}, body: str("a LONE_SURROGATE b \ufffd"),
			wantBody: str("a \ufffd b \ufffd")},
		{name: "22: DELETE with body", method: "DELETE", url: "/v22",
			headers: [][2]string{{"Content-Type", "application/json"}}, body: str(`{"force":true}`)},
		{name: "22: GET with body", method: "GET", url: "/v22b",
			headers: [][2]string{{"Content-Type", "application/json"}}, body: str(`{"query":{"match_all":{}}}`)},
		{name: "22: CRLF multi-line body", method: "PUT", url: "/v22c",
			headers: [][2]string{{"Content-Type", "text/plain"}}, body: str(crlfBody)},
		{name: "23: & next to control characters", method: "POST", url: "/v23?a=1&b=2",
			headers: [][2]string{{"Content-Type", "text/plain"}}, body: str("a&b\x01c&d\x1b[0m&&")},
		{name: "24: cmd and PowerShell syntax stays literal", method: "POST", url: "/v24",
			headers: [][2]string{{"X-Win", "%PATH% ^& `$x $env:HOME"}}, body: str("%PATH% ^& `$x $env:HOME @echo off\r\n")},
		{name: "25: sanitized entry without credentials", method: "GET", url: "/v25",
			headers: [][2]string{{"accept", "application/json"}}},

		// Extra cases.
		{name: "extra: HEAD uses -I", method: "HEAD", url: "/head"},
		{name: "extra: no trailing newline added (no here-strings)", method: "POST", url: "/nonl",
			headers: [][2]string{{"Content-Type", "text/plain"}}, body: str("no newline")},
		{name: "extra: Insomnia empty postData is no body", method: "GET", url: "/insomnia",
			body: str(""), mime: "", params: []har.Param{}},
		{name: "extra: ${field} next to control characters", method: "POST", url: "/field",
			headers: [][2]string{{"Content-Type", "text/plain"}}, body: str("${field}\x1b${other}\t")},

		// Every field with shell metacharacters.
		{name: "meta: path", method: "GET", url: "/m/'/\"/$VAR/$(id)/`id`/\\/!/%25/;/|/&/</>/~/^/*"},
		{name: "meta: query", method: "GET", url: "/mq?q='\"$VAR&c=$(id)&b=`id`&s=\\&x=!&p=%&sc=;|&l=<>&n=%0A"},
		{name: "meta: header names", method: "GET", url: "/mh",
			headers: [][2]string{{"X-A!#$%&'*+.^_`|~", "v"}, {"x-LoWeR-cAsE", "kept"}}},
		{name: "meta: header values", method: "GET", url: "/mv",
			headers: [][2]string{{"X-Meta", metachars}, {"X-Quote", "it's"}}},
		{name: "meta: cookie header", method: "GET", url: "/mc",
			headers: [][2]string{{"Cookie", "a='x'; b=\"$(id)\"; c=`id`; d=\\!%;|&<>; e=$HOME"}}},
		{name: "meta: cookies[]", method: "GET", url: "/mc2",
			cookies: [][2]string{{"a", "'x'"}, {"b", "$(id)"}, {"c", "`id`!"}}},
		{name: "meta: body", method: "POST", url: "/mb",
			headers: [][2]string{{"Content-Type", "text/plain"}}, body: str(metachars + "\nsecond line\n'\n")},

		// Unicode.
		{name: "unicode: query, header and body", method: "POST", url: "/u/%E6%97%A5%E6%9C%AC?q=日本語&e=é",
			headers: [][2]string{{"Content-Type", "application/json; charset=utf-8"}, {"X-Unicode", "héllo ☃ 日本"}},
			body:    str(`{"name":"Zoë ☃ 日本語 🚀","rtl":"שלום"}`)},
		{name: "unicode: C1 and line separators in the body", method: "POST", url: "/u2",
			headers: [][2]string{{"Content-Type", "text/plain"}}, body: str("a\u0085b\u2028c\u2029d\ufeffe")},

		// Percent-encoding that must not be normalised.
		{name: "percent: lowercase hex, %2F, %7e, +", method: "GET", url: "/p/a%2Fb/%7euser/c%2fd?x=%7e&y=+&z=%2B&w=%c3%a9"},
		{name: "percent: invalid escapes kept", method: "GET", url: "/p/%zz?%zz=1&a=%"},
		{name: "percent: dot segments kept", method: "GET", url: "/a/../b/./c//d"},
		{name: "query: valueless keys", method: "GET", url: "/q?a&b=&c&&d"},
		{name: "query: trailing ?", method: "GET", url: "/q2?"},
		{name: "url: fragment not sent", method: "GET", url: "/frag?x=1#section"},
		{name: "url: no path", method: "GET", url: recordedOrigin + "?only=query"},

		// Methods.
		{name: "method: OPTIONS that is not a preflight", method: "OPTIONS", url: "/opt"},
		{name: "method: custom", method: "PROPFIND", url: "/dav", headers: [][2]string{{"Depth", "1"}}},
		{name: "method: lower case sent as recorded", method: "post", url: "/lower",
			headers: [][2]string{{"Content-Type", "text/plain"}}, body: str("x")},
		{name: "method: PATCH with body", method: "PATCH", url: "/patch",
			headers: [][2]string{{"Content-Type", "application/merge-patch+json"}}, body: str(`{"a":null}`)},

		// Hop-by-hop headers.
		{name: "hop-by-hop headers dropped", method: "GET", url: "/hop",
			headers: [][2]string{{"Connection", "keep-alive, X-Foo"}, {"Keep-Alive", "timeout=5"}, {"Proxy-Connection", "keep-alive"},
				{"TE", "trailers"}, {"Trailer", "X"}, {"Upgrade", "h2c"}, {"Transfer-Encoding", "chunked"}, {"X-Kept", "1"}}},
		{name: "browser headers all kept with --exact", method: "GET", url: "/browser",
			headers: [][2]string{{"sec-ch-ua", `"Chromium";v="120"`}, {"sec-fetch-mode", "cors"}, {"referer", recordedOrigin + "/dashboard"},
				{"origin", recordedOrigin}, {"if-none-match", `W/"abc"`}, {"cache-control", "no-cache"}, {"pragma", "no-cache"},
				{"priority", "u=1, i"}, {"accept-language", "en-US,en;q=0.9"},
				{"user-agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"}, {"accept", "application/json"}}},
		{name: "credentials kept as recorded with --exact", method: "POST", url: "/creds",
			headers: [][2]string{{"Cookie", "R_SESS=token-abcde:secret; CSRF=0123abcd"}, {"X-Api-Csrf", "0123abcd"}, {"Authorization", "Bearer live-token"}},
			body:    str("{}")},
		{name: "CORS preflight converted with --all", method: "OPTIONS", url: "/v3/cluster",
			headers: [][2]string{{"Access-Control-Request-Method", "POST"}, {"Origin", recordedOrigin}}},
		{name: "long header value", method: "GET", url: "/long", headers: [][2]string{{"X-Long", strings.Repeat("abc'$", 1600)}}},
		{name: "long URL", method: "GET", url: "/longurl?" + strings.Repeat("k=v'$&", 2000)},

		// Sizes around the argument limit and far beyond it.
		{name: "size: 64 KiB body as an argument", method: "POST", url: "/s64",
			headers: [][2]string{{"Content-Type", "application/json"}}, body: str(bigBody(64<<10, "'$`\\\"x "))},
		{name: "size: 64 KiB + 1 body from stdin", method: "POST", url: "/s64p1",
			headers: [][2]string{{"Content-Type", "application/json"}}, body: str(bigBody(64<<10+1, "'$`\\\"x "))},
		{name: "size: 300 KiB body", method: "PUT", url: "/s300",
			headers: [][2]string{{"Content-Type", "application/json"}}, body: str(bigBody(300<<10, "é'$(id)`\r\n"))},
		{name: "size: 5 MiB body", method: "POST", url: "/s5m",
			headers: [][2]string{{"Content-Type", "application/octet-stream"}}, body: str(bigBody(5<<20, "\x00\x01'$\r\n☃"))},

		// Never sent.
		{name: "skip: WebSocket", method: "GET", url: "/ws", skip: true,
			headers: [][2]string{{"Upgrade", "websocket"}, {"Connection", "Upgrade"}},
			extra:   func(e *har.Entry) { e.Response.Status = 101 }},
		{name: "skip: data URL", method: "GET", url: "data:text/plain,hello", skip: true},
		{name: "last call after the skipped ones", method: "GET", url: "/last"},
	}
	return cases
}

// noBoundaryBody is what the "no boundary anywhere" case must send: the
// boundary is made from the parts, so it is the same on every run.
var noBoundaryBody, noBoundaryCT = func() (string, string) {
	v1, v2 := "bar", "hello\r\n--x"
	b := makeBoundary([]har.Param{{Name: "foo", Value: &v1}, {Name: "file", FileName: "a.txt", ContentType: "text/plain", Value: &v2}})
	return "--" + b + "\r\nContent-Disposition: form-data; name=\"foo\"\r\n\r\nbar\r\n" +
		"--" + b + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--x\r\n--" + b + "--\r\n", "multipart/form-data; boundary=" + b
}()

// buildCorpus returns the HAR bytes (with a UTF-8 BOM, as mitmproxy
// writes) and, per sent entry, what must arrive.
func buildCorpus(t testing.TB, cases []rtCase) ([]byte, []want) {
	var entries []*har.Entry
	for _, c := range cases {
		u := c.url
		if !strings.Contains(u, ":") || strings.HasPrefix(u, "/") {
			u = recordedOrigin + u
		}
		e := &har.Entry{
			StartedDateTime: "2024-01-01T00:00:00.000Z",
			Request:         har.Request{Method: c.method, URL: u, HTTPVersion: c.http, HeadersSize: -1, BodySize: -1},
			Response: har.Response{Status: 200, StatusText: "OK", HTTPVersion: "HTTP/1.1",
				Content: har.Content{MimeType: "application/json", Text: str("{}")}},
		}
		if c.http == "" && !strings.HasPrefix(c.name, "7:") {
			e.Request.HTTPVersion = "HTTP/1.1"
		}
		for _, h := range c.headers {
			e.Request.Headers = append(e.Request.Headers, har.NameValue{Name: h[0], Value: h[1]})
		}
		for _, ck := range c.cookies {
			e.Request.Cookies = append(e.Request.Cookies, har.Cookie{Name: ck[0], Value: ck[1]})
		}
		if c.body != nil || c.params != nil {
			mime := c.mime
			if mime == "" && c.body != nil && *c.body != "" {
				mime = "text/plain"
			}
			e.Request.PostData = &har.PostData{MimeType: mime, Text: c.body, Params: c.params}
		}
		if c.extra != nil {
			c.extra(e)
		}
		entries = append(entries, e)
	}
	data := writeHAR(t, entries)
	data = bytes.Replace(data, []byte("LONE_SURROGATE"), []byte(`\ud800`), 1)
	data = append([]byte("\xef\xbb\xbf"), data...)

	// What must arrive, computed from the entries as parsed back.
	h, err := har.ReadAll(bytes.NewReader(data), "corpus.har")
	if err != nil {
		t.Fatal(err)
	}
	var wants []want
	for i, e := range h.Log.Entries {
		c := cases[i]
		if c.skip {
			continue
		}
		body := e.Request.Body()
		if c.wantBody != nil {
			body = []byte(*c.wantBody)
		}
		if len(body) == 0 {
			body = nil
		}
		w := expectExact(i, e, body)
		for j, h := range w.headers {
			if c.wantCT != "" && strings.EqualFold(h[0], "Content-Type") {
				w.headers[j][1] = c.wantCT
			}
		}
		wants = append(wants, w)
	}
	return data, wants
}

func TestRoundTripCorpusSize(t *testing.T) {
	cases := roundTripCases()
	sent := 0
	for _, c := range cases {
		if !c.skip {
			sent++
		}
	}
	if len(cases) < 60 {
		t.Errorf("corpus has %d entries, want at least 60", len(cases))
	}
	for i := 1; i <= 25; i++ {
		found := false
		for _, c := range cases {
			if strings.HasPrefix(c.name, fmt.Sprintf("%d:", i)) {
				found = true
			}
		}
		if !found {
			t.Errorf("edge case %d has no entry in the corpus", i)
		}
	}
	t.Logf("round-trip corpus: %d entries, %d sent", len(cases), sent)
}

// TestRoundTripExact runs the generated curl commands, bash script and Go
// program against a recording server and checks that every entry arrives
// byte for byte, with nothing the recording lacked.
func TestRoundTripExact(t *testing.T) {
	if testing.Short() {
		t.Skip("runs bash, curl and the go tool")
	}
	data, wants := buildCorpus(t, roundTripCases())
	rec := newRecorder(t)
	serverHost := strings.TrimPrefix(rec.url(), "http://")
	opts := Options{Exact: true, BaseURL: rec.url(), Selection: selection.Filter{All: true}}

	run := func(t *testing.T, format string, exec func(out []byte), ordered bool) {
		opts := opts
		opts.Format = format
		out := convertBytes(t, data, opts)
		rec.take()
		exec(out)
		got := rec.take()
		for _, p := range rec.problems() {
			t.Error("server:", p)
		}
		if len(got) != len(wants) {
			t.Fatalf("server received %d requests, want %d", len(got), len(wants))
		}
		for i, w := range wants {
			check(t, format, w, got[i], serverHost, ordered)
		}
	}
	t.Run("curl", func(t *testing.T) {
		run(t, "curl", func(out []byte) { runShell(t, out, nil) }, true)
	})
	t.Run("bash", func(t *testing.T) {
		run(t, "bash", func(out []byte) { runShell(t, out, nil) }, true)
	})
	t.Run("go", func(t *testing.T) {
		run(t, "go", func(out []byte) { runProgram(t, buildGo(t, out), nil) }, false)
	})
}
