package capture

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/selection"
)

func entry(method, url string) *har.Entry {
	return &har.Entry{
		StartedDateTime: "2024-01-01T00:00:00.000Z",
		Request:         har.Request{Method: method, URL: url, HTTPVersion: "HTTP/1.1"},
		Response: har.Response{Status: 200, HTTPVersion: "HTTP/1.1",
			Content: har.Content{MimeType: "application/json", Text: har.String(`{"token":"s3cr3t"}`)}},
	}
}

func newSink(t *testing.T, opts Options) (*Sink, *har.Appender, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out.har")
	app, err := har.CreateAppender(path, har.NewLog("test"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	return NewSink(app, opts), app, path
}

func read(t *testing.T, path string) []*har.Entry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := har.ReadAll(f, path)
	if err != nil {
		t.Fatal(err)
	}
	return doc.Log.Entries
}

func TestSink(t *testing.T) {
	offered := []*har.Entry{
		entry("GET", "https://api.example/v1/clusters"),
		entry("GET", "https://api.example/app.js"),
		entry("POST", "https://api.example/v1/clusters"),
		entry("GET", "https://other.example/v1/x"),
	}
	tests := []struct {
		name   string
		opts   Options
		want   []string // method+url of the written entries
		reason string
	}{
		{"default keeps API calls", Options{}, []string{"GET https://api.example/v1/clusters", "POST https://api.example/v1/clusters", "GET https://other.example/v1/x"},
			"the zero Selection drops assets like app.js"},
		{"all", Options{Selection: selection.Filter{All: true}}, []string{"GET https://api.example/v1/clusters", "GET https://api.example/app.js",
			"POST https://api.example/v1/clusters", "GET https://other.example/v1/x"}, "All keeps everything"},
		{"host and method", Options{Selection: selection.Filter{Hosts: []string{"api.example"}, Methods: []string{"post"}}},
			[]string{"POST https://api.example/v1/clusters"}, "filters combine"},
		{"entries count exchanges", Options{Selection: selection.Filter{Entries: []selection.IndexRange{{Lo: 1, Hi: 2}}, All: true}},
			[]string{"GET https://api.example/app.js", "POST https://api.example/v1/clusters"}, "indexes are in the order exchanges finished"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, path := newSink(t, tt.opts)
			for _, e := range offered {
				if err := s.Add(e); err != nil {
					t.Fatal(err)
				}
			}
			var got []string
			for _, e := range read(t, path) {
				got = append(got, e.Request.Method+" "+e.Request.URL)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("wrote %q, want %q (%s)", got, tt.want, tt.reason)
			}
			if s.Seen() != len(offered) || s.Recorded() != len(tt.want) {
				t.Errorf("seen %d recorded %d", s.Seen(), s.Recorded())
			}
		})
	}
}

func TestSinkRedact(t *testing.T) {
	var indexes []int
	redact := func(index int, raw []byte) ([]byte, error) {
		indexes = append(indexes, index)
		if bytes.Contains(raw, []byte("/fail")) {
			return nil, errors.New("cannot parse entry")
		}
		return bytes.ReplaceAll(raw, []byte("s3cr3t"), []byte("REDACTED-token-0badf00d")), nil
	}
	s, _, path := newSink(t, Options{Redact: redact})
	s.Add(entry("GET", "https://api.example/a"))
	if err := s.Add(entry("GET", "https://api.example/fail")); err == nil || !strings.Contains(err.Error(), "redaction failed") {
		t.Fatalf("redaction error: %v", err)
	}
	s.Add(entry("GET", "https://api.example/b"))
	es := read(t, path)
	if len(es) != 2 || es[1].Request.URL != "https://api.example/b" {
		t.Fatalf("an entry that failed redaction was written, or a later one lost: %d entries", len(es))
	}
	raw, _ := os.ReadFile(path)
	if bytes.Contains(raw, []byte("s3cr3t")) {
		t.Fatal("secret on disk")
	}
	// The failed entry takes no place in the file: the next entry gets its
	// index.
	if fmt.Sprint(indexes) != "[0 1 1]" {
		t.Errorf("redact indexes %v, want [0 1 1]", indexes)
	}
	if s.Err() != nil {
		t.Errorf("a redaction error became a write error: %v", s.Err())
	}
}

func TestSinkWriteError(t *testing.T) {
	s, app, _ := newSink(t, Options{})
	app.Close()
	err := s.Add(entry("GET", "https://api.example/a"))
	if err == nil || s.Err() == nil {
		t.Fatal("a write error was not reported")
	}
	if err2 := s.Add(entry("GET", "https://api.example/b")); err2 == nil {
		t.Fatal("Add after a write error succeeded")
	}
}

func TestSinkConcurrent(t *testing.T) {
	s, _, path := newSink(t, Options{Redact: func(i int, raw []byte) ([]byte, error) { return raw, nil }})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				s.Add(entry("GET", fmt.Sprintf("https://api.example/%d/%d", g, i)))
			}
		}()
	}
	wg.Wait()
	es := read(t, path)
	seen := map[string]bool{}
	for _, e := range es {
		seen[e.Request.URL] = true
	}
	if len(es) != 800 || len(seen) != 800 {
		t.Fatalf("%d entries, %d distinct; want 800", len(es), len(seen))
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// The progress line is redrawn on every tick while the count changes and
// ends with the final count. synctest's fake clock makes the ticks happen
// exactly when the test says, without sleeping.
func TestProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _, _ := newSink(t, Options{})
		var out syncBuffer
		stop := s.Progress(&out, "apitape: ", time.Second)
		synctest.Wait() // the first line is drawn at once
		if got := out.String(); got != "\r\x1b[Kapitape: recorded 0 calls" {
			t.Errorf("first line %q", got)
		}
		s.Add(entry("GET", "https://api.example/a"))
		s.Add(entry("GET", "https://api.example/b.png"))
		time.Sleep(time.Second) // one tick of the fake clock
		synctest.Wait()
		if got := out.String(); !strings.HasSuffix(got, "\r\x1b[Kapitape: recorded 1 call (2 requests seen)") {
			t.Errorf("after a tick %q", got)
		}
		time.Sleep(5 * time.Second) // no change: nothing redrawn
		synctest.Wait()
		before := out.String()
		s.Add(entry("GET", "https://api.example/c"))
		stop()
		stop() // twice is fine
		got := out.String()
		if strings.Count(got, "\r") != 3 {
			t.Errorf("the line was drawn %d times, want 3: %q", strings.Count(got, "\r"), got)
		}
		if want := before + "\r\x1b[Kapitape: recorded 2 calls (3 requests seen)\n"; got != want {
			t.Errorf("progress output %q, want %q", got, want)
		}
	})
}

func TestRewrite(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "rec.har")
	if err := os.WriteFile(file, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.har")
	if err := os.Symlink("rec.har", link); err != nil {
		t.Fatal(err)
	}
	upper := func(in io.ReadSeeker, out io.Writer) error {
		b, err := io.ReadAll(in)
		if err != nil {
			return err
		}
		_, err = out.Write(bytes.ToUpper(b))
		return err
	}
	if err := Rewrite(link, upper); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(file); string(b) != "OLD" {
		t.Errorf("target holds %q", b)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v %v", fi.Mode(), err)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	// A failing rewrite leaves the file as it was and no temporary file.
	boom := errors.New("boom")
	err := Rewrite(file, func(in io.ReadSeeker, out io.Writer) error {
		out.Write([]byte("half"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("error %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "OLD" {
		t.Errorf("after a failure the file holds %q", b)
	}
	if names, _ := os.ReadDir(dir); len(names) != 2 {
		t.Errorf("files left: %v", names)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no FIFO:", err)
	}
	if err := Rewrite(fifo, upper); !errors.Is(err, ErrNotRegular) {
		t.Errorf("FIFO: %v, want ErrNotRegular", err)
	}
}

func TestQueryString(t *testing.T) {
	tests := []struct {
		raw    string
		want   string
		reason string
	}{
		{"", "", "no query"},
		{"a=1&b=2&a=3", "a=1 b=2 a=3", "order and repeats kept"},
		{"q=a%20b+c&x", "q=a b c x=", "percent and plus decoded; a bare name has an empty value"},
		{"bad=%zz&&k=v=w", "bad=%zz k=v=w", "undecodable kept as written; empty parts skipped; only the first = splits"},
		{"%E2%9C%93=%F0%9F%99%82", "✓=🙂", "UTF-8 decoded"},
	}
	for _, tt := range tests {
		var got []string
		for _, nv := range QueryString(tt.raw) {
			got = append(got, nv.Name+"="+nv.Value)
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("QueryString(%q) = %q, want %q (%s)", tt.raw, strings.Join(got, " "), tt.want, tt.reason)
		}
	}
}

// FuzzQueryString: never panics, and a query of plain names and values
// comes back unchanged.
func FuzzQueryString(f *testing.F) {
	for _, s := range []string{"a=1&b=2", "%zz=%", "&&=&", "k=v=w", "a+b=c%2Bd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		nvs := QueryString(raw)
		if strings.ContainsAny(raw, "%+") {
			return
		}
		var parts []string
		for _, nv := range nvs {
			parts = append(parts, nv.Name+"="+nv.Value)
		}
		var want []string
		for _, p := range strings.Split(raw, "&") {
			if p == "" {
				continue
			}
			if !strings.Contains(p, "=") {
				p += "="
			}
			want = append(want, p)
		}
		if strings.Join(parts, "&") != strings.Join(want, "&") {
			t.Fatalf("QueryString(%q) = %q", raw, parts)
		}
	})
}
