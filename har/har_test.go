package har

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// corpusDir finds ../shared/har-corpus beside the project, or skips.
func corpusDir(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "shared", "har-corpus"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no HAR corpus at %s (it lives beside the project in ../shared/har-corpus): %v", dir, err)
	}
	return dir
}

func roundTrip(t *testing.T, h *File) *File {
	t.Helper()
	var out bytes.Buffer
	w, err := NewWriter(&out, h)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range h.Log.Entries {
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	h2, err := ReadAll(&out, "round-trip")
	if err != nil {
		t.Fatalf("re-reading written HAR: %v", err)
	}
	return h2
}

var equateEntries = cmp.Options{cmpopts.EquateEmpty(), cmp.AllowUnexported()}

func TestCorpusRoundTrip(t *testing.T) {
	dir := corpusDir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.har"))
	if len(files) == 0 {
		t.Fatalf("no .har files in %s", dir)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			h, err := ReadAll(bytes.NewReader(b), f)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if len(h.Log.Entries) == 0 {
				t.Fatal("no entries")
			}
			h2 := roundTrip(t, h)
			if diff := cmp.Diff(h.Log.Entries, h2.Log.Entries, equateEntries); diff != "" {
				t.Errorf("entries changed by a round trip (-read +rewritten):\n%s", diff)
			}
			if diff := cmp.Diff(h.Log.Pages, h2.Log.Pages, equateEntries); diff != "" {
				t.Errorf("pages changed (-read +rewritten):\n%s", diff)
			}
			// Custom fields survive.
			for i, e := range h.Log.Entries {
				for name, v := range e.Extra.All() {
					got, ok := h2.Log.Entries[i].Extra.Get(name)
					if !ok || !bytes.Equal(got, v) {
						t.Errorf("entry %d: %s lost", i, name)
					}
				}
			}
			// Gap and Raw give back the file byte for byte.
			r := NewReader(bytes.NewReader(b), f)
			var rebuilt bytes.Buffer
			for {
				raw, err := r.NextRaw()
				rebuilt.Write(r.Gap())
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				rebuilt.Write(raw)
			}
			if !bytes.Equal(rebuilt.Bytes(), bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))) {
				t.Error("Gap+Raw did not rebuild the file")
			}
			t.Logf("%d entries", len(h.Log.Entries))
		})
	}
}

const minimal = `{"log":{"version":"1.2","creator":{"name":"t","version":"1"},"entries":[
{"startedDateTime":"2025-01-01T00:00:00Z","time":1,"request":{"method":"GET","url":"http://a.test/x","httpVersion":"HTTP/1.1","cookies":[],"headers":[],"queryString":[],"headersSize":-1,"bodySize":0},"response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","cookies":[],"headers":[],"content":{"size":0,"mimeType":"application/json"},"redirectURL":"","headersSize":-1,"bodySize":0},"cache":{},"timings":{"send":0,"wait":1,"receive":0}}
]}}`

func TestReaderTolerance(t *testing.T) {
	tests := []struct {
		name  string
		input string
		check func(t *testing.T, h *File)
	}{
		{"byte-order mark", "\xef\xbb\xbf" + minimal, nil},
		{"http versions", strings.NewReplacer(`"HTTP/1.1","cookies":[],"headers":[],"queryString"`, `"h3","cookies":[],"headers":[],"queryString"`, `"httpVersion":"HTTP/1.1","cookies":[],"headers":[],"content"`, `"httpVersion":"","cookies":[],"headers":[],"content"`).Replace(minimal), func(t *testing.T, h *File) {
			if h.Log.Entries[0].Request.HTTPVersion != "h3" {
				t.Error("httpVersion not kept")
			}
		}},
		{"base64 content", strings.Replace(minimal, `"size":0,"mimeType":"application/json"`, `"size":3,"mimeType":"application/octet-stream","text":"AAEC","encoding":"base64"`, 1), func(t *testing.T, h *File) {
			b, ok, err := h.Log.Entries[0].Response.Content.Bytes()
			if err != nil || !ok || !bytes.Equal(b, []byte{0, 1, 2}) {
				t.Errorf("Bytes() = %v %v %v", b, ok, err)
			}
		}},
		{"missing text", minimal, func(t *testing.T, h *File) {
			if _, ok, _ := h.Log.Entries[0].Response.Content.Bytes(); ok {
				t.Error("missing text reported as present")
			}
		}},
		{"side-file body", strings.Replace(minimal, `"mimeType":"application/json"}`, `"mimeType":"application/json","_file":"x.txt"}`, 1), func(t *testing.T, h *File) {
			if _, ok := h.Log.Entries[0].Response.Content.Extra.Get("_file"); !ok {
				t.Error("_file lost")
			}
		}},
		{"postData without text", strings.Replace(minimal, `"queryString":[]`, `"queryString":[],"postData":{"mimeType":"text/plain"}`, 1), func(t *testing.T, h *File) {
			if h.Log.Entries[0].Request.Body() != nil {
				t.Error("no text and no params must mean no body")
			}
		}},
		{"params only", strings.Replace(minimal, `"queryString":[]`, `"queryString":[],"postData":{"mimeType":"application/x-www-form-urlencoded","params":[{"name":"a b","value":"1&2"},{"name":"c"}]}`, 1), func(t *testing.T, h *File) {
			if got := string(h.Log.Entries[0].Request.Body()); got != "a+b=1%262&c=" {
				t.Errorf("Body() = %q", got)
			}
		}},
		{"entries before creator", `{"log":{"entries":[],"version":"1.2","creator":{"name":"x","version":"2"}}}`, func(t *testing.T, h *File) {
			if h.Log.Creator.Name != "x" || len(h.Log.Entries) != 0 {
				t.Errorf("log = %+v", h.Log)
			}
		}},
		{"array header values", strings.Replace(minimal, `"queryString":[],"headersSize"`, `"queryString":[],"headersSize"`, 1) /* placeholder, replaced below */, nil},
	}
	tests[len(tests)-1].input = strings.Replace(minimal, `"httpVersion":"HTTP/1.1","cookies":[],"headers":[],"queryString"`, `"httpVersion":"HTTP/1.1","cookies":[],"headers":[{"name":"accept","value":["a","b"]}],"queryString"`, 1)
	tests[len(tests)-1].check = func(t *testing.T, h *File) {
		nv := h.Log.Entries[0].Request.Headers[0]
		if nv.Value != "a, b" {
			t.Errorf("value = %q", nv.Value)
		}
		b, _ := jsonv2.Marshal(nv)
		if string(b) != `{"name":"accept","value":["a","b"]}` {
			t.Errorf("written back as %s", b)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ReadAll(strings.NewReader(tt.input), "t.har")
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, h)
			}
			roundTrip(t, h)
		})
	}
}

func TestReaderErrors(t *testing.T) {
	tests := []struct {
		name, input, want string
	}{
		{"empty", "", "t.har: empty file"},
		{"not json", "hello", `t.har: offset 0: not a HAR file: expected a JSON object, found 'h'`},
		{"no entries", `{"log":{"version":"1.2"}}`, "t.har: no log.entries array"},
		{"truncated in entry", minimal[:300], "t.har: entry 0: offset 300: unexpected end of file inside the entry"},
		{"truncated after entry", strings.TrimSuffix(minimal, "]}}"), "unexpected end of file in log.entries"},
		{"wrong type", strings.Replace(minimal, `"url":"http://a.test/x"`, `"url":5`, 1), "t.har: entry 0: request.url: expected string, got number"},
		{"no url", strings.Replace(minimal, `"url":"http://a.test/x"`, `"url":""`, 1), "t.har: entry 0: request.url: missing"},
		{"no method", strings.Replace(minimal, `"method":"GET",`, ``, 1), "t.har: entry 0: request.method: missing"},
		{"bad header", strings.Replace(minimal, `"headers":[],"queryString"`, `"headers":[{"name":"a","value":"b"},{"name":"c","value":{}}],"queryString"`, 1), "t.har: entry 0: request.headers[1].value: expected string, got object"},
		{"malformed in entry", strings.Replace(minimal, `"time":1,`, `"time":1,,`, 1), "t.har: entry 0: offset 124: malformed JSON"},
		{"status as string", strings.Replace(minimal, `"status":200`, `"status":"200"`, 1), "t.har: entry 0: response.status: expected number, got string"},
		{"garbage between entries", strings.Replace(minimal, "\n]}}", " x]}}", 1), "t.har: entry 1: offset"},
		{"bad tail", minimal + "x", "malformed JSON after log.entries"},
		{"UTF-16LE without a byte order mark", "{\x00\"\x00l\x00", "t.har: offset 1: not a HAR file: a NUL byte (UTF-16 without a byte order mark?)"},
		{"UTF-16BE without a byte order mark", "\x00{\x00\"", "t.har: offset 0: not a HAR file: a NUL byte (UTF-16 without a byte order mark?)"},
		{"time out of range", strings.Replace(minimal, `"time":1,`, `"time":1e400,`, 1), "t.har: entry 0: time: number out of range: 1e400"},
		{"huge number", strings.Replace(minimal, `"time":1,`, `"time":1`+strings.Repeat("0", 100000)+`,`, 1), "t.har: entry 0: time: number out of range: 1" + strings.Repeat("0", 39) + "…"},
		{"huge integer", strings.Replace(minimal, `"status":200`, `"status":2`+strings.Repeat("0", 100000), 1), "t.har: entry 0: response.status: expected an integer, got 2" + strings.Repeat("0", 39) + "…"},
		{"null entry", strings.Replace(minimal, "entries\":[\n", "entries\":[\nnull,", 1), "t.har: entry 0: offset 73: expected an object, got null"},
		{"array entry", strings.Replace(minimal, "\n]}}", ",[]]}}", 1), "t.har: entry 1: offset 520: expected an object, got array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadAll(strings.NewReader(tt.input), "t.har")
			if err == nil {
				t.Fatal("no error")
			}
			var he *Error
			if !errors.As(err, &he) {
				t.Fatalf("error %T is not *har.Error: %v", err, err)
			}
			if len(err.Error()) > 300 {
				t.Errorf("error of %d bytes: %.100q…", len(err.Error()), err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %.300q, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error has more than one line: %q", err)
			}
		})
	}
}

func TestAppenderValidAfterEveryEntry(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cap.har")
	a, err := CreateAppender(path, NewLog("test"))
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	for i := 0; i < 5; i++ {
		h, err := ReadAll(mustOpen(t, path), path)
		if err != nil {
			t.Fatalf("after %d entries: %v", i, err)
		}
		if len(h.Log.Entries) != i {
			t.Fatalf("after %d entries the file holds %d", i, len(h.Log.Entries))
		}
		e := &Entry{StartedDateTime: "2025-01-01T00:00:00Z", Request: Request{Method: "GET", URL: "http://a.test/" + strings.Repeat("x", i)}}
		if err := a.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	h, err := ReadAll(mustOpen(t, path), path)
	if err != nil || len(h.Log.Entries) != 5 || h.Log.Creator.Name != "apitape" {
		t.Fatalf("final file: %v, %d entries", err, len(h.Log.Entries))
	}
}

func mustOpen(t *testing.T, path string) io.Reader {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

func TestRequestBodyEncodings(t *testing.T) {
	bin := []byte{0xff, 0x00, 'a', 0x80}
	var pd PostData
	pd.SetBody(bin)
	r := Request{PostData: &pd}
	if !bytes.Equal(r.Body(), bin) || !pd.IsBase64() {
		t.Fatalf("binary body: %q base64=%v", r.Body(), pd.IsBase64())
	}
	pd.SetBody([]byte("plain é"))
	if string(r.Body()) != "plain é" || pd.IsBase64() {
		t.Fatalf("text body: %q base64=%v", r.Body(), pd.IsBase64())
	}
	// A round trip keeps the marker.
	pd.SetBody(bin)
	raw, _ := (&Entry{Request: Request{Method: "POST", URL: "http://x/", PostData: &pd}}).MarshalJSON()
	e, err := ParseEntry(raw)
	if err != nil || !bytes.Equal(e.Request.Body(), bin) {
		t.Fatalf("after round trip: %v %q", err, e.Request.Body())
	}
}

// TestNextBatches reads more entries than one batch decodes ahead, with
// entries larger than a batch among them and NextRaw calls in between:
// every entry, Raw and Gap come out in order, and an entry that does not
// decode stops the reader exactly there, with its own index.
func TestNextBatches(t *testing.T) {
	data, _ := io.ReadAll(&generator{n: 3*batchEntries + 7})
	var large bytes.Buffer
	large.WriteString(`{"log":{"entries":[`)
	for i := range 3*batchEntries + 7 {
		e := benchEntry(i)
		if i%batchEntries == 5 || i == batchEntries+6 {
			e = strings.Replace(e, `"text":"{`, `"text":"`+strings.Repeat("y", batchBytes+100)+`{`, 1)
		}
		if i > 0 {
			large.WriteString(",")
		}
		large.WriteString(e)
	}
	large.WriteString("]}}")
	for _, tc := range []struct {
		name string
		data []byte
		raw  func(i int) bool // read entry i with NextRaw
	}{
		{"small", data, func(int) bool { return false }},
		{"NextRaw at a batch's start", data, func(i int) bool { return i == batchEntries }},
		{"large entries and NextRaw", large.Bytes(), func(i int) bool { return i%(batchEntries/2) == 9 || i > 3*batchEntries }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(bytes.NewReader(tc.data), "t.har")
			var rebuilt bytes.Buffer
			n := 0
			for ; ; n++ {
				var e *Entry
				var err error
				if tc.raw(n) {
					_, err = r.NextRaw()
				} else {
					e, err = r.Next()
				}
				rebuilt.Write(r.Gap())
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				want, err := ParseEntry(r.Raw())
				if err != nil {
					t.Fatal(err)
				}
				if tc.raw(n) {
					e = want
				}
				if r.Index() != n || !strings.Contains(e.Request.URL, fmt.Sprintf("n=%d", n)) {
					t.Fatalf("entry %d: index %d, url %s", n, r.Index(), e.Request.URL)
				}
				if diff := cmp.Diff(want, e, equateEntries); diff != "" {
					t.Fatalf("entry %d differs from its Raw:\n%s", n, diff)
				}
				rebuilt.Write(r.Raw())
			}
			if n != 3*batchEntries+7 || !bytes.Equal(rebuilt.Bytes(), tc.data) {
				t.Fatalf("%d entries; Gap+Raw rebuilt the input: %v", n, bytes.Equal(rebuilt.Bytes(), tc.data))
			}
		})
	}

	bad := bytes.Replace(data, []byte(`"url":"https://rancher.test/v3/cluster?_replace=true&n=100"`), []byte(`"url":100`), 1)
	r := NewReader(bytes.NewReader(bad), "t.har")
	for n := 0; ; n++ {
		if _, err := r.Next(); err != nil {
			if n != 100 || !strings.Contains(err.Error(), "t.har: entry 100: request.url: expected string, got number") {
				t.Fatalf("after %d entries: %v", n, err)
			}
			if _, again := r.Next(); again != err {
				t.Fatalf("next call: %v, want the same error", again)
			}
			break
		}
	}
}

// TestReadKilled reads what an Appender leaves when a kill cuts off its
// last write: the whole entries and the index of the cut one; a file cut
// anywhere else, or with a fault of another kind, is still an error.
func TestReadKilled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.har")
	a, err := CreateAppender(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		e := &Entry{StartedDateTime: "2025-01-01T00:00:00Z", Request: Request{Method: "GET", URL: fmt.Sprintf("https://x.test/%d", i)}}
		if err := a.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	whole, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	last := bytes.LastIndex(whole, []byte(`{"startedDateTime"`))
	for _, tc := range []struct {
		name    string
		text    []byte
		entries int
		cut     int
		err     string
	}{
		{"whole", whole, 3, -1, ""},
		{"last entry cut", whole[:last+40], 2, 2, ""},
		{"cut in the log head", whole[:10], 0, -1, "unexpected end of file"},
		{"garbage in an entry", bytes.Replace(whole, []byte(`"GET"`), []byte(`"GET"x`), 1), 0, -1, "entry 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			es, cut, err := ReadKilled(bytes.NewReader(tc.text), "k.har")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil || len(es) != tc.entries || cut != tc.cut {
				t.Fatalf("got %d entries, cut %d, err %v; want %d, %d", len(es), cut, err, tc.entries, tc.cut)
			}
		})
	}
}
