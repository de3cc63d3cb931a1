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
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
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

// TestStopWhenWindowCloses: without steps the recording runs until the
// window is closed. The test closes the tab as a person would, once the
// two calls are on disk.
func TestStopWhenWindowCloses(t *testing.T) {
	needBrowser(t)
	srv := stopPage(t)
	out := filepath.Join(t.TempDir(), "closed.har")
	testHookRecording = func(bctx context.Context) {
		go func() {
			for i := 0; i < 200; i++ {
				time.Sleep(50 * time.Millisecond)
				if h, err := readFile(out); err == nil && len(h.Log.Entries) == 2 {
					break
				}
			}
			tab := chromedp.FromContext(bctx).Target.TargetID
			chromedp.CallBrowser(bctx, target.CloseTarget, target.CloseTargetParams{TargetID: tab})
		}()
	}
	defer func() { testHookRecording = nil }()
	start := time.Now()
	res, err := Record(context.Background(), Options{URL: srv.URL, Headless: true, Output: out, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stopped != "the window was closed" || time.Since(start) > 15*time.Second {
		t.Errorf("stopped %q after %s", res.Stopped, time.Since(start))
	}
	if h := readHAR(t, out); len(h.Log.Entries) != 2 {
		t.Errorf("%d entries, want the two calls", len(h.Log.Entries))
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
	t.Cleanup(func() { waitGone(profile, 10*time.Second) })
	go func() {
		// Once the two calls are on disk, kill the browser.
		for i := 0; i < 200; i++ {
			time.Sleep(50 * time.Millisecond)
			if h, err := readFile(out); err == nil && len(h.Log.Entries) == 2 {
				killBrowser(profile)
				return
			}
		}
	}()
	res, err := Record(context.Background(), Options{URL: srv.URL, Headless: true, Output: out, Profile: profile, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stopped != "the browser was closed" {
		t.Errorf("stopped: %q", res.Stopped)
	}
	if h := readHAR(t, out); len(h.Log.Entries) != 2 {
		t.Errorf("%d entries, want the two calls", len(h.Log.Entries))
	}
}

// waitGone waits until no process uses profile.
func waitGone(profile string, max time.Duration) {
	for deadline := time.Now().Add(max); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if len(profilePIDs(profile, false)) == 0 {
			return
		}
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
