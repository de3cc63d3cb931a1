package browser

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apitape/apitape/internal/chromium"
	"github.com/apitape/apitape/internal/selection"
	"github.com/apitape/apitape/internal/testtool"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/remote"
)

// harCapturerVersion is the chrome-har-capturer release .ci/run installs.
const harCapturerVersion = "0.14.4"

// findHARCapturer returns the chrome-har-capturer command
// ($APITAPE_CHROME_HAR_CAPTURER, then PATH), or skips.
func findHARCapturer(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("APITAPE_CHROME_HAR_CAPTURER"); p != "" {
		return p
	}
	p, err := exec.LookPath("chrome-har-capturer")
	if err != nil {
		testtool.Missing(t, "chrome-har-capturer is not installed (npm install -g chrome-har-capturer@%s; CI installs it)", harCapturerVersion)
	}
	return p
}

// comparePage is a page whose script makes every kind of call a UI makes
// (GETs, two 1 MiB answers, a two-hop redirect chain, a 100 KiB POST, a
// PUT, a DELETE answered 204, a 404, a 500, an XHR) and then /cmp/alldone.
// Its image is held by the server until /cmp/alldone arrives, so the
// page's load event, which is when chrome-har-capturer stops, comes after
// every call; the same page therefore means the same requests to both
// recorders. Each load passes its own run name.
type comparePage struct {
	*httptest.Server
	allDone runChans[struct{}]
}

const compareHTML = `<!doctype html><title>compare</title><body><script>
const run = new URLSearchParams(location.search).get('run');
const img = new Image();
img.src = '/cmp/hold.png?run=' + run;
document.body.appendChild(img);
const text = r => r.text();
const calls = [];
for (let i = 0; i < 20; i++) calls.push(fetch('/cmp/api/items/' + i).then(text));
calls.push(fetch('/cmp/api/big/1').then(text), fetch('/cmp/api/big/2').then(text));
calls.push(fetch('/cmp/api/redirect/2').then(text));
calls.push(fetch('/cmp/api/items', {method: 'POST', headers: {'Content-Type': 'application/json'},
  body: JSON.stringify({name: 'new', pad: 'p'.repeat(100 * 1024)})}).then(text));
calls.push(fetch('/cmp/api/items/7', {method: 'PUT', headers: {'Content-Type': 'application/json'}, body: '{"name":"seven"}'}).then(text));
calls.push(fetch('/cmp/api/items/8', {method: 'DELETE'}).then(text));
calls.push(fetch('/cmp/api/missing').then(text), fetch('/cmp/api/broken').then(text));
calls.push(new Promise(done => { const x = new XMLHttpRequest(); x.open('GET', '/cmp/api/xhr'); x.onloadend = done; x.send(); }));
Promise.all(calls).then(() => fetch('/cmp/alldone?run=' + run)).then(text).then(() => {
  const d = document.createElement('div'); d.id = 'done'; document.body.appendChild(d);
});
</script></body>`

// onePixelPNG is a valid 1x1 PNG.
var onePixelPNG, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")

func newComparePage(t *testing.T) *comparePage {
	p := &comparePage{}
	big := `{"data":"` + strings.Repeat("b", 1<<20) + `"}`
	mux := http.NewServeMux()
	jsonAnswer := func(w http.ResponseWriter, status int, body string) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
	mux.HandleFunc("GET /cmp/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, compareHTML)
	})
	mux.HandleFunc("GET /cmp/hold.png", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-p.allDone.get(r.URL.Query().Get("run")):
		case <-time.After(20 * time.Second):
		}
		w.Header().Set("Content-Type", "image/png")
		w.Write(onePixelPNG)
	})
	mux.HandleFunc("GET /cmp/alldone", func(w http.ResponseWriter, r *http.Request) {
		close(p.allDone.get(r.URL.Query().Get("run")))
		jsonAnswer(w, 200, `{"done":true}`)
	})
	mux.HandleFunc("GET /cmp/api/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		jsonAnswer(w, 200, fmt.Sprintf(`{"id":%q,"name":"item %s"}`, r.PathValue("id"), r.PathValue("id")))
	})
	mux.HandleFunc("GET /cmp/api/big/{n}", func(w http.ResponseWriter, r *http.Request) { jsonAnswer(w, 200, big) })
	mux.HandleFunc("GET /cmp/api/redirect/{n}", func(w http.ResponseWriter, r *http.Request) {
		next := "/cmp/api/final"
		if r.PathValue("n") == "2" {
			next = "/cmp/api/redirect/1"
		}
		http.Redirect(w, r, next, http.StatusFound)
	})
	mux.HandleFunc("GET /cmp/api/final", func(w http.ResponseWriter, r *http.Request) { jsonAnswer(w, 200, `{"final":true}`) })
	mux.HandleFunc("POST /cmp/api/items", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		jsonAnswer(w, 201, fmt.Sprintf(`{"id":"new","received":%d}`, n))
	})
	mux.HandleFunc("PUT /cmp/api/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		jsonAnswer(w, 200, string(b))
	})
	mux.HandleFunc("DELETE /cmp/api/items/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("GET /cmp/api/missing", func(w http.ResponseWriter, r *http.Request) { jsonAnswer(w, 404, `{"type":"error","status":404}`) })
	mux.HandleFunc("GET /cmp/api/broken", func(w http.ResponseWriter, r *http.Request) { jsonAnswer(w, 500, `{"type":"error","status":500}`) })
	mux.HandleFunc("GET /cmp/api/xhr", func(w http.ResponseWriter, r *http.Request) { jsonAnswer(w, 200, `{"xhr":true}`) })
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	return p
}

// profileDir is a user data directory for a Chromium the test starts
// itself. Not t.TempDir: Chromium's helpers (crashpad) can still write
// there for a moment after the browser exits, and testing fails the test
// when its cleanup finds the directory not empty. It is removed after the
// browser's own cleanup (registered later, run first), retrying as
// chromedp does for the profiles it creates.
func profileDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "apitape-profile-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for os.RemoveAll(dir) != nil && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	})
	return dir
}

// listenForDevTools makes a Chromium started by chromedp listen on a
// loopback port, which other DevTools clients can use too, and chromedp
// talk to it over a WebSocket there.
var listenForDevTools chromedp.ExecAllocatorOption = remote.WebSocket

// headlessChromium starts a headless Chromium with apitape's flags (and
// extra ones) and the profile dir, and returns a chromedp context driving
// one of its tabs.
func headlessChromium(t testing.TB, dir string, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	exe, err := chromium.Find()
	if err != nil {
		t.Fatal(err)
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), append(chromium.AllocatorOptions(exe, dir, true), extra...)...)
	t.Cleanup(acancel)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// devToolsPort returns the DevTools port of the running Chromium whose
// profile is dir, from the DevToolsActivePort file it writes there. The
// browser must have been started with listenForDevTools: chromedp talks to
// it over a pipe otherwise, and there is no port.
func devToolsPort(t testing.TB, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "DevToolsActivePort"))
	if err != nil {
		t.Fatal(err)
	}
	port, _, _ := strings.Cut(string(b), "\n")
	return port
}

// TestSameRequestsAsChromeHARCapturer records the compare page with apitape
// (--all) and with chrome-har-capturer, a CDP recorder that is not ours,
// and requires the same set of requests: method, URL, status and response
// body length, one per redirect hop in both.
//
// Known differences, by design, left out of the comparison: the favicon,
// which headless Chromium asks for on its own and either recorder may or
// may not see before it stops.
func TestSameRequestsAsChromeHARCapturer(t *testing.T) {
	needBrowser(t)
	capturer := findHARCapturer(t)
	p := newComparePage(t)

	h, _ := record(t, p.URL+"/cmp/?run=apitape", "- wait: '#done'\n  timeout: 30s\n", selection.Filter{All: true})
	var ours []string
	for _, e := range h.Log.Entries {
		b, _, err := e.Response.Content.Bytes()
		if err != nil {
			t.Fatalf("%s %s: %v", e.Request.Method, e.Request.URL, err)
		}
		ours = append(ours, compareKey(e.Request.Method, e.Request.URL, e.Response.Status, len(b)))
	}

	dir := profileDir(t)
	headlessChromium(t, dir, listenForDevTools)
	port := devToolsPort(t, dir)
	out := filepath.Join(t.TempDir(), "chc.har")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, capturer, "--host", "127.0.0.1", "--port", port, "--content", "--grace", "1000", "--timeout", "30000", "--output", out, p.URL+"/cmp/?run=capturer")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chrome-har-capturer: %v\n%s", err, msg)
	}
	theirs := harCapturerRequests(t, out, "run=capturer", "run=apitape")

	ours = slices.DeleteFunc(ours, isFavicon)
	theirs = slices.DeleteFunc(theirs, isFavicon)
	slices.Sort(ours)
	slices.Sort(theirs)
	if want := 20 + 2 + 3 + 6 + 3; len(ours) != want { // calls, big, redirect hops, the rest, page+image+alldone
		t.Errorf("apitape recorded %d requests, want %d:\n%s", len(ours), want, strings.Join(ours, "\n"))
	}
	if !slices.Equal(ours, theirs) {
		t.Errorf("apitape and chrome-har-capturer differ:\napitape only: %v\nchrome-har-capturer only: %v", minus(ours, theirs), minus(theirs, ours))
	}
}

// harCapturerRequests reads chrome-har-capturer's HAR (with plain
// encoding/json: it is the other tool's output, not ours) into comparison
// keys, with its run name replaced by ours so that the URLs compare.
func harCapturerRequests(t *testing.T, path, theirRun, ourRun string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Log struct {
			Entries []struct {
				Request struct {
					Method string `json:"method"`
					URL    string `json:"url"`
				} `json:"request"`
				Response struct {
					Status  int `json:"status"`
					Content struct {
						Size     int     `json:"size"`
						Text     *string `json:"text"`
						Encoding string  `json:"encoding"`
					} `json:"content"`
				} `json:"response"`
			} `json:"entries"`
		} `json:"log"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("chrome-har-capturer's HAR: %v", err)
	}
	var keys []string
	for _, e := range doc.Log.Entries {
		n := e.Response.Content.Size
		if c := e.Response.Content; c.Text != nil {
			n = len(*c.Text)
			if c.Encoding == "base64" {
				b, err := base64.StdEncoding.DecodeString(*c.Text)
				if err != nil {
					t.Fatalf("chrome-har-capturer's body of %s: %v", e.Request.URL, err)
				}
				n = len(b)
			}
		}
		u := strings.ReplaceAll(e.Request.URL, theirRun, ourRun)
		keys = append(keys, compareKey(e.Request.Method, u, e.Response.Status, n))
	}
	return keys
}

func compareKey(method, url string, status, bodyLen int) string {
	return fmt.Sprintf("%s %s %d %d", method, url, status, bodyLen)
}

func isFavicon(key string) bool { return strings.Contains(key, "/favicon.ico ") }
