package convert

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/apitape/apitape/har"
)

func oneEntry(t *testing.T, mutate func(e *har.Entry)) []byte {
	t.Helper()
	e := &har.Entry{Request: har.Request{Method: "GET", URL: "https://a.example/x"}, Response: har.Response{Status: 200}}
	mutate(e)
	return writeHAR(t, []*har.Entry{e})
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(e *har.Entry)
		opts   Options
		want   string
	}{
		{"header injection", func(e *har.Entry) {
			e.Request.Headers = []har.NameValue{{Name: "X", Value: "a\r\nInjected: 1"}}
		}, Options{}, "test.har: entry 0: request.headers[0].value: contains a line break or control character, which HTTP cannot send"},
		{"header name with a space", func(e *har.Entry) {
			e.Request.Headers = []har.NameValue{{Name: "X", Value: "1"}, {Name: "Bad Name", Value: "1"}}
		}, Options{}, `test.har: entry 0: request.headers[1].name: not a valid header name: ' ' after "Bad"`},
		{"header line as a name", func(e *har.Entry) {
			e.Request.Headers = []har.NameValue{{Name: "Authorization: Bearer s3cr3t-t0ken", Value: ""}}
		}, Options{}, `test.har: entry 0: request.headers[0].name: not a valid header name: ':' after "Authorization"`},
		{"URL with a space", func(e *har.Entry) { e.Request.URL = "https://a.example/a b" }, Options{},
			"test.har: entry 0: request.url: contains a space or control character, which HTTP cannot send as recorded"},
		{"method with a space", func(e *har.Entry) { e.Request.Method = "GET X" }, Options{}, "test.har: entry 0: request.method: not a valid HTTP method"},
		{"method with a line break", func(e *har.Entry) { e.Request.Method = "GET\n" }, Options{}, "test.har: entry 0: request.method: not a valid HTTP method"},
		{"redaction error without the file name", func(e *har.Entry) {}, Options{Redact: func(int, []byte) ([]byte, error) {
			return nil, &har.Error{Entry: 0, Offset: 82, Msg: "malformed JSON: x"}
		}}, "test.har: entry 0: offset 82: malformed JSON: x"},
		{"cookie with a line break", func(e *har.Entry) {
			e.Request.Cookies = []har.Cookie{{Name: "a", Value: "b\nc"}}
		}, Options{}, "test.har: entry 0: request.cookies: contain a line break or control character, which HTTP cannot send"},
		{"redaction failure", func(e *har.Entry) {}, Options{Redact: func(int, []byte) ([]byte, error) { return nil, errors.New("redact: boom") }},
			"test.har: entry 0: redact: boom"},
		{"redaction output unreadable", func(e *har.Entry) {}, Options{Redact: func(int, []byte) ([]byte, error) { return []byte(`{"request":1}`), nil }},
			"test.har: entry 0: request: expected object, got number"},
		{"bad base URL", func(e *har.Entry) {}, Options{BaseURL: "localhost:8080"}, `base URL "localhost:8080": want http(s)://host[:port][/prefix]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := oneEntry(t, tt.mutate)
			for _, f := range Formats() {
				opts := tt.opts
				opts.Format, opts.Name = f.Name, "test.har"
				var out bytes.Buffer
				_, err := Convert(har.NewReader(bytes.NewReader(data), "test.har"), &out, opts)
				if err == nil || err.Error() != tt.want {
					t.Errorf("%s: error %v, want %s", f.Name, err, tt.want)
				}
			}
		})
	}
	_, err := Convert(har.NewReader(strings.NewReader("{}"), "x"), &bytes.Buffer{}, Options{Format: "ruby"})
	if !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("unknown format: %v", err)
	}
}

// TestRedactHook: the redaction stage plugs in through Options.Redact and
// its placeholders become variables.
func TestRedactHook(t *testing.T) {
	data := oneEntry(t, func(e *har.Entry) {
		e.Request.Headers = []har.NameValue{{Name: "X-Api-Key", Value: "key-LIVESECRET"}}
	})
	var seen []int
	redact := func(index int, raw []byte) ([]byte, error) {
		seen = append(seen, index)
		return bytes.ReplaceAll(raw, []byte("LIVESECRET"), []byte("REDACTED-apikey-deadbeef")), nil
	}
	for _, f := range codeFormats() {
		seen = nil
		out := convertBytes(t, data, Options{Format: f.Name, Redact: redact})
		if bytes.Contains(out, []byte("LIVESECRET")) || !bytes.Contains(out, []byte("APITAPE_SECRET_APIKEY_DEADBEEF")) {
			t.Errorf("%s: redaction hook not applied:\n%s", f.Name, out)
		}
		if len(seen) != 1 || seen[0] != 0 {
			t.Errorf("%s: hook saw entries %v", f.Name, seen)
		}
	}
}

func TestStatsAndSkips(t *testing.T) {
	entries := []*har.Entry{
		{Request: har.Request{Method: "GET", URL: "https://a.example/api"}, Response: har.Response{Status: 200}},
		{Request: har.Request{Method: "GET", URL: "wss://a.example/ws"}, Response: har.Response{Status: 101}},
		{Request: har.Request{Method: "GET", URL: "https://a.example/app.js"}, Response: har.Response{Status: 200}},
		{Request: har.Request{Method: "OPTIONS", URL: "https://a.example/api", Headers: []har.NameValue{{Name: "Access-Control-Request-Method", Value: "POST"}}}},
	}
	data := writeHAR(t, entries)
	for _, f := range codeFormats() {
		var out bytes.Buffer
		st, err := Convert(har.NewReader(bytes.NewReader(data), "t.har"), &out, Options{Format: f.Name})
		if err != nil {
			t.Fatal(err)
		}
		if st.Entries != 4 || st.Converted != 1 || st.Unconvertible != 1 || st.Skipped != 2 || st.NoCredentials != 1 {
			t.Errorf("%s: stats %+v", f.Name, st)
		}
		if !strings.Contains(out.String(), "entry 1: WebSocket, not converted") {
			t.Errorf("%s: no comment for the WebSocket entry:\n%s", f.Name, out.String())
		}
	}
}

// TestSpool: a bash or Go output bigger than the in-memory spool goes
// through a temporary file and comes out whole.
func TestSpool(t *testing.T) {
	var entries []*har.Entry
	body := strings.Repeat("x", 1<<20)
	for i := 0; i < 12; i++ {
		entries = append(entries, &har.Entry{Request: har.Request{Method: "POST", URL: "https://a.example/api",
			PostData: &har.PostData{MimeType: "text/plain", Text: str(body)}}, Response: har.Response{Status: 200}})
	}
	data := writeHAR(t, entries)
	out := convertBytes(t, data, Options{Format: "go"})
	if len(out) < 12<<20 || !bytes.HasSuffix(out, []byte(goHelpers)) || !bytes.HasPrefix(out, []byte("// Command main")) {
		t.Errorf("spooled output broken: %d bytes", len(out))
	}
	checkGoFormat(t, "spooled", out)
}

// codeFormats are the formats that write code (all but vars).
func codeFormats() []Format {
	var out []Format
	for _, f := range Formats() {
		if f.Name != "vars" {
			out = append(out, f)
		}
	}
	return out
}

// TestRedactedInputErrors: with the redaction stage, which decodes only
// the redacted text, a bad entry gets the error reading it without
// redaction gives (file, entry, field, offset in the file), whether the
// redactor fails on it or lets it through.
func TestRedactedInputErrors(t *testing.T) {
	const head = `{"log":{"version":"1.2","creator":{"name":"t","version":"1"},"entries":[`
	good := `{"startedDateTime":"2024-01-01T00:00:00Z","time":1,"request":{"method":"GET","url":"https://a.example/","httpVersion":"HTTP/1.1","headers":[],"queryString":[],"cookies":[],"headersSize":-1,"bodySize":0},"response":{"status":200,"statusText":"","httpVersion":"HTTP/1.1","headers":[],"cookies":[],"content":{"size":0,"mimeType":""},"redirectURL":"","headersSize":-1,"bodySize":0},"cache":{},"timings":{"send":0,"wait":0,"receive":0}}`
	bad := []string{
		strings.Replace(good, `"method":"GET",`, ``, 1),                    // a required field missing
		strings.Replace(good, `"status":200`, `"status":"200"`, 1),         // a field of the wrong type
		strings.Replace(good, `"headers":[]`, `"headers":[{"name":1}]`, 1), // deeper
		strings.Replace(good, `"time":1,`, `"time":1,,`, 1),                // malformed JSON
		strings.Replace(good, `"url":"https://a.example/"`, `"url":"https://a.example/\x"`, 1),
	}
	hooks := map[string]func(int, []byte) ([]byte, error){
		"passes": func(_ int, raw []byte) ([]byte, error) { return raw, nil },
		"fails": func(i int, raw []byte) ([]byte, error) {
			if i == 1 {
				return nil, errors.New("redact: cannot read it")
			}
			return raw, nil
		},
		"redactor": testRedactor(t),
	}
	for i, entry := range bad {
		data := []byte(head + good + ",\n  " + entry + "]}}")
		_, want := Convert(har.NewReader(bytes.NewReader(data), "bad.har"), &bytes.Buffer{}, Options{Format: "curl", Name: "bad.har"})
		if want == nil || !strings.Contains(want.Error(), "bad.har: entry 1") {
			t.Fatalf("case %d: without redaction: %v", i, want)
		}
		for name, hook := range hooks {
			_, err := Convert(har.NewReader(bytes.NewReader(data), "bad.har"), &bytes.Buffer{}, Options{Format: "curl", Name: "bad.har", Redact: hook})
			if err == nil || err.Error() != want.Error() {
				t.Errorf("case %d, redaction %s: error %v, want %v", i, name, err, want)
			}
		}
	}
}
