package browser

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/selection"
)

// newSWPage serves a page whose service worker answers the page's calls in
// each way a worker can: passing on its own fetch (bodies from 0 to 95 KB
// and one of 3 MB), building a Response, and from Cache Storage.
func newSWPage(t testing.TB) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, swHTML)
	})
	mux.HandleFunc("/sw.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		io.WriteString(w, swJS)
	})
	mux.HandleFunc("/net/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		n, _ := strconv.Atoi(r.URL.Query().Get("size"))
		io.WriteString(w, swNetBody(strings.TrimPrefix(r.URL.Path, "/net/"), n))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func swNetBody(name string, size int) string {
	return `{"name":"` + name + `","pad":"` + strings.Repeat("x", size) + `"}`
}

const (
	swPass   = 20
	swMade   = 20
	swCached = 5
	swBig    = 3_000_000
)

var swHTML = fmt.Sprintf(`<!doctype html><div id="status">starting</div>
<script>
const status = s => document.getElementById('status').textContent = s;
async function main() {
  await navigator.serviceWorker.register('/sw.js');
  await navigator.serviceWorker.ready;
  if (!navigator.serviceWorker.controller) {
    await new Promise(r => navigator.serviceWorker.addEventListener('controllerchange', r, {once: true}));
  }
  const jobs = [];
  for (let i = 0; i < %d; i++) jobs.push(fetch('/api/pass/' + i + '?size=' + (i * 5000)).then(r => r.text()));
  for (let i = 0; i < %d; i++) jobs.push(fetch('/api/made/' + i).then(r => r.text()));
  for (let i = 0; i < %d; i++) jobs.push(fetch('/api/cached/' + i).then(r => r.text()));
  jobs.push(fetch('/api/big').then(r => r.text()));
  await Promise.all(jobs);
  status('finished');
}
main().catch(e => status('error: ' + e));
</script>`, swPass, swMade, swCached)

var swJS = fmt.Sprintf(`
self.addEventListener('install', e => e.waitUntil((async () => {
  const c = await caches.open('v1');
  for (let i = 0; i < %d; i++) await c.put('/api/cached/' + i, new Response('{"cached":' + i + '}', {headers: {'Content-Type': 'application/json'}}));
  await self.skipWaiting();
})()));
self.addEventListener('activate', e => e.waitUntil(clients.claim()));
self.addEventListener('fetch', e => {
  const u = new URL(e.request.url);
  if (u.pathname.startsWith('/api/pass/')) {
    e.respondWith(fetch('/net/' + u.pathname.slice(10) + u.search));
  } else if (u.pathname.startsWith('/api/made/')) {
    e.respondWith(new Response('{"made":"' + u.pathname.slice(10) + '"}', {headers: {'Content-Type': 'application/json'}}));
  } else if (u.pathname.startsWith('/api/cached/')) {
    e.respondWith(caches.match(e.request));
  } else if (u.pathname === '/api/big') {
    e.respondWith(fetch('/net/big?size=%d'));
  }
});`, swCached, swBig)

// swWant is the body the page received for each of its calls.
func swWant() map[string]string {
	want := map[string]string{"/api/big": swNetBody("big", swBig)}
	for i := range swPass {
		want["/api/pass/"+strconv.Itoa(i)] = swNetBody(strconv.Itoa(i), i*5000)
	}
	for i := range swMade {
		want["/api/made/"+strconv.Itoa(i)] = `{"made":"` + strconv.Itoa(i) + `"}`
	}
	for i := range swCached {
		want["/api/cached/"+strconv.Itoa(i)] = `{"cached":` + strconv.Itoa(i) + `}`
	}
	return want
}

// checkSWBodies checks that every call the service worker answered is in
// the HAR once, marked as such, with the body the page received.
func checkSWBodies(t *testing.T, h *har.File) {
	t.Helper()
	want := swWant()
	for _, e := range h.Log.Entries {
		p := path(e)
		w, ok := want[p]
		if !ok {
			continue
		}
		delete(want, p)
		if v, _ := e.Response.Extra.Get("_fetchedViaServiceWorker"); string(v) != "true" {
			t.Errorf("%s: _fetchedViaServiceWorker = %s, want true", p, v)
		}
		b, ok, _ := e.Response.Content.Bytes()
		switch {
		case !ok:
			t.Errorf("%s: no body (%s)", p, extraString(e.Response.Content.Extra, "_bodyUnavailable"))
		case string(b) != w:
			t.Errorf("%s: body of %d bytes, the page received %d", p, len(b), len(w))
		}
	}
	for p := range want {
		t.Errorf("%s: missing from the HAR", p)
	}
}

// TestServiceWorkerBodies: a body a service worker answered is never in
// Chrome's durable store and is evicted from the recording session's own;
// every one must still be recorded, whatever the worker built it from.
func TestServiceWorkerBodies(t *testing.T) {
	needBrowser(t)
	srv := newSWPage(t)
	h, _ := record(t, srv.URL, "- wait: '#status'\n  text: finished\n  timeout: 40s\n", selection.Filter{})
	checkSWBodies(t, h)
}

// TestServiceWorkerKeptProfile records the same page twice in one profile:
// the second time the worker is installed before the recording starts and
// answers the page from its first call.
func TestServiceWorkerKeptProfile(t *testing.T) {
	needBrowser(t)
	srv := newSWPage(t)
	prof := t.TempDir()
	steps, err := ParseSteps("steps.yaml", []byte("- wait: '#status'\n  text: finished\n  timeout: 40s\n"))
	if err != nil {
		t.Fatal(err)
	}
	for run := range 2 {
		out := filepath.Join(t.TempDir(), "rec.har")
		o := Options{URL: srv.URL, Headless: true, Output: out, Steps: steps, Profile: prof, Timeout: 60 * time.Second}
		if _, err := Record(context.Background(), o); err != nil {
			t.Fatalf("run %d: %v", run+1, err)
		}
		checkSWBodies(t, readHAR(t, out))
	}
}
