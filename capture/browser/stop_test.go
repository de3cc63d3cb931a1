package browser

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apitape/apitape/har"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"golang.org/x/sys/unix"
)

// stopPage calls its API twice.
func stopPage(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><script>fetch('/api/one').then(r => r.text()).then(() => fetch('/api/two')).then(r => r.text())</script>`)
	})
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"path":"`+r.URL.Path+`"}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// whenAdded calls fn once, on the recorder's writer goroutine, when the
// entry of the page's second call has been taken by the sink: then both
// calls are on disk.
func whenAdded(t *testing.T, fn func()) {
	var once sync.Once
	testHookAdded = func(e *har.Entry) {
		if path(e) == "/api/two" {
			once.Do(fn)
		}
	}
	t.Cleanup(func() { testHookAdded = nil })
}

// apiCalls lists the method and path of the entries that are not
// documents.
func apiCalls(h *har.File) []string {
	var out []string
	for _, e := range h.Log.Entries {
		if e.ResourceType() != "document" {
			out = append(out, e.Request.Method+" "+path(e))
		}
	}
	return out
}

// TestStopWhenWindowCloses: without steps the recording runs until the
// window is closed. The test closes the tab as a person would, once the
// two calls are on disk.
func TestStopWhenWindowCloses(t *testing.T) {
	needBrowser(t)
	srv := stopPage(t)
	out := filepath.Join(t.TempDir(), "closed.har")
	tabs := make(chan context.Context, 1)
	testHookRecording = func(bctx context.Context) { tabs <- bctx }
	defer func() { testHookRecording = nil }()
	whenAdded(t, func() {
		bctx := <-tabs
		tab := chromedp.FromContext(bctx).Target.TargetID
		go chromedp.CallBrowser(bctx, target.CloseTarget, target.CloseTargetParams{TargetID: tab})
	})
	res, err := Record(context.Background(), Options{URL: srv.URL, Headless: true, Output: out, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stopped != "the window was closed" {
		t.Errorf("stopped: %q", res.Stopped)
	}
	if got := apiCalls(readHAR(t, out)); strings.Join(got, ", ") != "GET /api/one, GET /api/two" {
		t.Errorf("calls %q, want the two", got)
	}
}

// TestStopWhenBrowserExits: the browser going away (the person quit it, or
// it crashed) ends the recording cleanly, keeping what was recorded.
func TestStopWhenBrowserExits(t *testing.T) {
	needBrowser(t)
	srv := stopPage(t)
	dir := t.TempDir()
	profile := filepath.Join(dir, "profile")
	out := filepath.Join(dir, "exited.har")
	// The browser's children outlive it for a moment and may still write
	// to the profile; the temporary directory can only go once they are
	// gone.
	var children []int
	t.Cleanup(func() { waitExit(t, children, 10*time.Second) })
	whenAdded(t, func() {
		children = profilePIDs(profile, false)
		killBrowser(profile)
	})
	res, err := Record(context.Background(), Options{URL: srv.URL, Headless: true, Output: out, Profile: profile, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stopped != "the browser was closed" {
		t.Errorf("stopped: %q", res.Stopped)
	}
	if got := apiCalls(readHAR(t, out)); strings.Join(got, ", ") != "GET /api/one, GET /api/two" {
		t.Errorf("calls %q, want the two", got)
	}
}

// waitExit waits until the processes have exited. They are not this
// process's children, so it waits on a pidfd of each, which becomes
// readable when the process exits.
func waitExit(t *testing.T, pids []int, max time.Duration) {
	deadline := time.Now().Add(max)
	for _, pid := range pids {
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			continue // already gone
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			n, err := unix.Poll(fds, int(time.Until(deadline).Milliseconds()))
			if err == unix.EINTR {
				continue
			}
			if n == 0 && err == nil {
				t.Logf("process %d still runs after %s", pid, max)
			}
			break
		}
		unix.Close(fd)
	}
}

// killBrowser kills the browser process that uses profile.
func killBrowser(profile string) {
	for _, pid := range profilePIDs(profile, true) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// profilePIDs lists the processes that use profile: the browser alone, or
// with its children.
func profilePIDs(profile string, browserOnly bool) []int {
	var pids []int
	procs, _ := os.ReadDir("/proc")
	for _, d := range procs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile("/proc/" + d.Name() + "/cmdline")
		if err == nil && strings.Contains(string(cmd), "--user-data-dir="+profile) && !(browserOnly && strings.Contains(string(cmd), "--type=")) {
			pids = append(pids, pid)
		}
	}
	return pids
}
