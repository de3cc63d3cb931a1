package replay

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/apitape/apitape/har"
)

// corpusDir finds ../shared/har-corpus from the project root.
func corpusDir(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir := wd; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			c := filepath.Join(dir, "..", "shared", "har-corpus")
			if _, err := os.Stat(c); err != nil {
				t.Skipf("skipping: no HAR corpus at %s", c)
			}
			return c
		}
	}
	t.Skip("skipping: project root not found")
	return ""
}

// mirror answers each request with the recorded response of the next
// unanswered entry with the same method and request target: a server that
// behaves exactly as the recording says.
type mirror struct {
	mu      sync.Mutex
	answers map[string][]*har.Entry
}

func mirrorKey(method, target string) string { return method + " " + target }

func (m *mirror) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	k := mirrorKey(r.Method, r.RequestURI)
	q := m.answers[k]
	if len(q) == 0 {
		m.mu.Unlock()
		http.Error(w, "mirror: no recorded answer for "+k, http.StatusTeapot)
		return
	}
	e := q[0]
	m.answers[k] = q[1:]
	m.mu.Unlock()
	for _, nv := range e.Response.Headers {
		name := http.CanonicalHeaderKey(nv.Name)
		if nv.Name == "" || nv.Name[0] == ':' || hopByHop[name] || name == "Content-Encoding" {
			continue
		}
		w.Header().Add(name, nv.Value)
	}
	if w.Header().Get("Content-Type") == "" && e.Response.Content.MimeType != "" {
		// Firefox leaves the headers out of cached entries; a server
		// would send the type.
		w.Header().Set("Content-Type", e.Response.Content.MimeType)
	}
	status := e.Response.Status
	if status < 200 || status > 599 {
		status = 200
	}
	w.WriteHeader(status)
	if b, ok, err := e.Response.Content.Bytes(); ok && err == nil && status != 204 && status != 304 {
		w.Write(b)
	}
}

// TestCorpusMirror replays every entry of the real HAR files against a
// server that answers exactly what was recorded: every call must be sent
// (whatever the exporter's quirks) and must compare equal to its own
// recording.
func TestCorpusMirror(t *testing.T) {
	dir := corpusDir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.har"))
	if len(files) == 0 {
		t.Skip("empty corpus")
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".har"), func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			h, err := har.ReadAll(f, filepath.Base(path))
			if err != nil {
				t.Fatal(err)
			}
			m := &mirror{answers: map[string][]*har.Entry{}}
			for _, e := range h.Log.Entries {
				if _, pq, err := splitURL(e.Request.URL); err == nil {
					k := mirrorKey(strings.ToUpper(e.Request.Method), requestTarget(pq))
					m.answers[k] = append(m.answers[k], e)
				}
			}
			srv := httptest.NewServer(m)
			defer srv.Close()
			// Placeholders or $ in the recordings are data: give every
			// variable a value so that nothing is missing.
			// One at a time: entries to different hosts share paths, and the
			// mirror answers them in recorded order.
			r, err := New(srv.URL, WithEnv(func(string) string { return "x" }))
			if err != nil {
				t.Fatal(err)
			}
			res, err := r.Run(context.Background(), h.Log.Entries)
			if err != nil {
				t.Fatal(err)
			}
			sent := 0
			for _, c := range res.Calls {
				switch {
				case c.Outcome == Skipped:
					continue
				case c.Outcome != Pass:
					t.Errorf("entry %d %s %s: %s %+v %+v", c.Index, c.Method, c.Path, c.Outcome, c.Error, c.Differences)
				}
				sent++
			}
			t.Logf("%d entries, %d sent and equal, %d skipped", len(res.Calls), sent, res.Summary.Skipped)
		})
	}
}
