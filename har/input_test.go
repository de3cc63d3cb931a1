package har

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// full is a HAR with every member of every object HAR 1.2 defines set,
// so that the null test below reaches them all.
const full = `{"log":{"version":"1.2","creator":{"name":"WebInspector","version":"537.36","comment":"c"},
"browser":{"name":"Chrome","version":"120","comment":"c"},
"pages":[{"startedDateTime":"2024-01-01T00:00:00.000Z","id":"page_1","title":"t","pageTimings":{"onLoad":1},"comment":"c"}],
"entries":[{"pageref":"page_1","startedDateTime":"2024-01-01T00:00:00.000Z","time":1.5,
"request":{"method":"POST","url":"https://a.test/v3/x?a=1","httpVersion":"HTTP/1.1",
 "cookies":[{"name":"R_SESS","value":"v","path":"/","domain":"a.test","expires":"2030-01-01T00:00:00.000Z","httpOnly":true,"secure":true,"comment":"c"}],
 "headers":[{"name":"content-type","value":"application/json","comment":"c"}],
 "queryString":[{"name":"a","value":"1","comment":"c"}],
 "postData":{"mimeType":"application/json","text":"{}","params":[{"name":"p","value":"v","fileName":"f","contentType":"text/plain","comment":"c"}],"comment":"c"},
 "headersSize":10,"bodySize":2,"comment":"c"},
"response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1",
 "cookies":[{"name":"s","value":"v","expires":"2030-01-01T00:00:00.000Z"}],
 "headers":[{"name":"content-type","value":"application/json"}],
 "content":{"size":2,"compression":0,"mimeType":"application/json","text":"e30=","encoding":"base64","comment":"c"},
 "redirectURL":"","headersSize":10,"bodySize":2,"comment":"c"},
"cache":{},"timings":{"blocked":1,"dns":1,"connect":1,"send":1,"wait":1,"receive":1,"ssl":1,"comment":"c"},
"serverIPAddress":"127.0.0.1","connection":"1","comment":"c"}],"comment":"c"}}`

// TestNullIsAbsent sets every member of every HAR object to null in turn
// and checks that the file reads exactly as if the member were missing
// (Chrome DevTools writes "expires": null for every session cookie; other
// exporters write null for whatever they did not record).
func TestNullIsAbsent(t *testing.T) {
	var doc any
	if err := json.Unmarshal([]byte(full), &doc); err != nil {
		t.Fatal(err)
	}
	var paths [][]any
	var walk func(v any, path []any)
	walk = func(v any, path []any) {
		switch v := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				p := append(append([]any(nil), path...), k)
				paths = append(paths, p)
				if k != "pageTimings" && k != "cache" {
					// Those two are kept as JSON text, not read.
					walk(v[k], p)
				}
			}
		case []any:
			for i, x := range v {
				walk(x, append(append([]any(nil), path...), i))
			}
		}
	}
	walk(doc, nil)
	if len(paths) < 70 {
		t.Fatalf("only %d members found", len(paths))
	}
	for _, p := range paths {
		name := pathString(p)
		t.Run(name, func(t *testing.T) {
			withNull := edit(t, doc, p, true)
			without := edit(t, doc, p, false)
			got, gerr := ReadAll(bytes.NewReader(withNull), "t.har")
			want, werr := ReadAll(bytes.NewReader(without), "t.har")
			if (gerr == nil) != (werr == nil) {
				t.Fatalf("null: %v; missing: %v", gerr, werr)
			}
			if gerr != nil {
				// Required members (log, entries, request.url, …) fail
				// the same way either way.
				if strings.Contains(gerr.Error(), "malformed") {
					t.Fatalf("null gave a syntax error: %v", gerr)
				}
				return
			}
			if diff := cmp.Diff(want, got, equateEntries); diff != "" {
				t.Errorf("null does not read as absent (-missing +null):\n%s", diff)
			}
		})
	}
}

func pathString(p []any) string {
	var b strings.Builder
	for _, s := range p {
		switch s := s.(type) {
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s)
		case int:
			b.WriteString("[" + string(rune('0'+s)) + "]")
		}
	}
	return b.String()
}

// edit returns doc as JSON with the member at path set to null, or
// deleted.
func edit(t *testing.T, doc any, path []any, null bool) []byte {
	t.Helper()
	b, _ := json.Marshal(doc)
	var cp any
	json.Unmarshal(b, &cp)
	v := cp
	for _, s := range path[:len(path)-1] {
		switch s := s.(type) {
		case string:
			v = v.(map[string]any)[s]
		case int:
			v = v.([]any)[s]
		}
	}
	m := v.(map[string]any)
	if k := path[len(path)-1].(string); null {
		m[k] = nil
	} else {
		delete(m, k)
	}
	out, err := json.Marshal(cp)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// chromeExport is the shape of a Chrome DevTools "Save all as HAR with
// content" export: session cookies with "expires": null, Chrome's own
// members, and null where it has nothing.
const chromeExport = `{
  "log": {
    "version": "1.2",
    "creator": {"name": "WebInspector", "version": "537.36"},
    "pages": [{"startedDateTime": "2024-05-02T09:00:00.000Z", "id": "page_1", "title": "https://rancher.test/", "pageTimings": {"onContentLoad": null, "onLoad": null}}],
    "entries": [
      {
        "_initiator": {"type": "script", "stack": {"callFrames": []}},
        "_priority": "High",
        "_resourceType": "xhr",
        "cache": {},
        "connection": "443",
        "pageref": "page_1",
        "request": {
          "method": "GET",
          "url": "https://rancher.test/v3/clusters?limit=-1",
          "httpVersion": "http/2.0",
          "headers": [
            {"name": ":authority", "value": "rancher.test"},
            {"name": "accept", "value": "application/json"},
            {"name": "cookie", "value": "R_SESS=opaque-session-value"}
          ],
          "queryString": [{"name": "limit", "value": "-1"}],
          "cookies": [
            {"name": "R_SESS", "value": "opaque-session-value", "path": "/", "domain": "rancher.test", "expires": null, "httpOnly": true, "secure": true, "sameSite": "Lax"}
          ],
          "headersSize": -1,
          "bodySize": 0
        },
        "response": {
          "status": 200,
          "statusText": "",
          "httpVersion": "http/2.0",
          "headers": [{"name": "content-type", "value": "application/json"}],
          "cookies": [
            {"name": "CSRF", "value": "d1b2c3", "path": "/", "domain": "rancher.test", "expires": null, "httpOnly": false, "secure": true}
          ],
          "content": {"size": 11, "mimeType": "application/json", "compression": null, "text": "{\"data\":[]}"},
          "redirectURL": "",
          "headersSize": -1,
          "bodySize": -1,
          "_transferSize": 120,
          "_error": null,
          "_fetchedViaServiceWorker": false
        },
        "serverIPAddress": "127.0.0.1",
        "startedDateTime": "2024-05-02T09:00:01.000Z",
        "time": 12.5,
        "timings": {"blocked": 1.2, "dns": -1, "ssl": -1, "connect": -1, "send": 0.1, "wait": 10, "receive": 1.2, "_blocked_queueing": 0.8, "_workerStart": null}
      }
    ]
  }
}`

func TestChromeExportNulls(t *testing.T) {
	h, err := ReadAll(strings.NewReader(chromeExport), "chrome.har")
	if err != nil {
		t.Fatal(err)
	}
	e := h.Log.Entries[0]
	for _, c := range append(e.Request.Cookies, e.Response.Cookies...) {
		if c.Expires != "" {
			t.Errorf("cookie %s: expires = %q, want none", c.Name, c.Expires)
		}
	}
	if e.Response.Content.Compression != nil {
		t.Errorf("compression = %v, want none", *e.Response.Content.Compression)
	}
	if raw, _ := e.Request.Cookies[0].Extra.Get("sameSite"); string(raw) != `"Lax"` {
		t.Errorf("sameSite = %s, want kept", raw)
	}
	// What is written reads again the same.
	h2 := roundTrip(t, h)
	if diff := cmp.Diff(h.Log.Entries, h2.Log.Entries, equateEntries); diff != "" {
		t.Errorf("round trip (-read +rewritten):\n%s", diff)
	}
}

// deepHAR is a valid HAR but for an unknown member nested n deep.
func deepHAR(n int) []byte {
	var b bytes.Buffer
	b.WriteString(strings.TrimSuffix(minimal, "\n]}}"))
	b.Truncate(b.Len() - 1) // the entry's '}'
	b.WriteString(`,"_x":`)
	b.Write(bytes.Repeat([]byte("["), n))
	b.Write(bytes.Repeat([]byte("]"), n))
	b.WriteString("}\n]}}")
	return b.Bytes()
}

func TestDepthLimit(t *testing.T) {
	// At the limit (the entry object and its member are two levels).
	if _, err := ReadAll(bytes.NewReader(deepHAR(MaxDepth-1)), "t.har"); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
	for _, n := range []int{MaxDepth, 2_000_000} {
		data := deepHAR(n)
		for _, size := range []int{16, 256 << 10} {
			_, err := readAllSize(data, size)
			var he *Error
			if !errors.As(err, &he) {
				t.Fatalf("depth %d: error %v is not a *har.Error", n, err)
			}
			if he.Entry != 0 || !strings.HasPrefix(he.Field, "_x[0][0]") || he.Offset <= 0 || he.File != "t.har" {
				t.Errorf("depth %d: error %+v, want file, entry 0, field _x[0]…, offset", n, he)
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || len(msg) > 200 || !strings.Contains(msg, "nesting deeper than 10000 levels") {
				t.Errorf("depth %d: error %q", n, msg)
			}
		}
	}
	// Before the entries, too.
	head := `{"log":{"_x":` + strings.Repeat("[", 2_000_000) + strings.Repeat("]", 2_000_000) + `,"entries":[]}}`
	if _, err := ReadAll(strings.NewReader(head), "t.har"); err == nil || !strings.Contains(err.Error(), "nesting deeper") {
		t.Errorf("deep head: %v", err)
	}
	// And after them.
	tail := `{"log":{"entries":[],"_x":` + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + `}}`
	if _, err := ReadAll(strings.NewReader(tail), "t.har"); err == nil {
		t.Errorf("deep tail read without error")
	}
}

func readAllSize(data []byte, size int) (*File, error) {
	r := newReaderSize(bytes.NewReader(data), "t.har", size)
	for {
		_, err := r.Next()
		if err == io.EOF {
			return r.Log()
		}
		if err != nil {
			return nil, err
		}
	}
}

func TestEscapedNames(t *testing.T) {
	// \u006c is "l", \u0065 "e": every name below is a plain HAR name.
	in := `{"\u006cog":{"v\u0065rsion":"1.2","\u0065ntries":[{"r\u0065quest":{"method":"GET","url":"http://a.test/"},"_\u0078":1}]}}`
	h, err := ReadAll(strings.NewReader(in), "t.har")
	if err != nil {
		t.Fatal(err)
	}
	if h.Log.Version != "1.2" || len(h.Log.Entries) != 1 || h.Log.Entries[0].Request.URL != "http://a.test/" {
		t.Fatalf("read %+v", h.Log)
	}
	if _, ok := h.Log.Entries[0].Extra.Get("_x"); !ok {
		t.Errorf("escaped unknown member not kept under its name: %v", h.Log.Entries[0].Extra)
	}
}

func TestGarbageRejected(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"in a skipped member before the entries", `{"log":{"version":@@@,"entries":[]}}`, `t.har: log.version: offset 18: malformed JSON: invalid character '@' looking for a value`},
		{"bad literal", `{"log":{"x":nul,"entries":[]}}`, `log.x: offset 12: malformed JSON: invalid character`},
		{"in a page", `{"log":{"pages":[{"id":"a"},{"id":@}],"entries":[]}}`, `t.har: log.pages[1].id: offset 34: malformed JSON`},
		{"bad number", `{"log":{"x":01,"entries":[]}}`, `offset 12: malformed JSON: invalid number`},
		{"missing colon", `{"log":{"x" 1,"entries":[]}}`, `offset 12: malformed JSON: expected ':'`},
		{"bad escape", `{"log":{"x":"\q","entries":[]}}`, `offset 13: malformed JSON: invalid escape`},
		{"control character", "{\"log\":{\"x\":\"\x01\",\"entries\":[]}}", `malformed JSON: invalid control character`},
		{"two values", `{"log":{"x":1 2,"entries":[]}}`, `offset 14: malformed JSON: unexpected '2' after a value`},
		{"in a skipped member of an entry", strings.Replace(minimal, `"time":1,`, `"time":1,"_x":@@@,`, 1), `t.har: entry 0: _x: offset`},
		{"after the entries", strings.Replace(minimal, "\n]}}", "\n],\"x\":@@@}}", 1), "malformed JSON after log.entries"},
		// encoding/json keeps the last of duplicate members, this reader the
		// first: a second log.entries (or log) would drop entries silently.
		{"a second log.entries", strings.Replace(minimal, "\n]}}", "\n],\"entries\":[]}}", 1), "t.har: offset 522: malformed JSON after log.entries: duplicate member log.entries"},
		{"an escaped second log.entries", strings.Replace(minimal, "\n]}}", "\n],\"\\u0065ntries\":[]}}", 1), "duplicate member log.entries"},
		{"a second log", strings.Replace(minimal, "\n]}}", "\n]},\"log\":{\"entries\":[]}}", 1), "duplicate member log"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tt.in), "t.har")
			var err error
			for err == nil {
				_, err = r.Next()
			}
			if err == io.EOF {
				t.Fatalf("Next accepted it")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want %q", err, tt.want)
			}
			if _, err := ReadAll(strings.NewReader(tt.in), "t.har"); err == nil {
				t.Errorf("ReadAll accepted it")
			}
		})
	}
}

func TestAppenderMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cap.har")
	if err := os.WriteFile(path, []byte("old recording"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o666); err != nil { // whatever the umask
		t.Fatal(err)
	}
	a, err := CreateAppender(path, NewLog("test"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v over an existing 0666 file, want 0600", fi.Mode().Perm())
	}
}
