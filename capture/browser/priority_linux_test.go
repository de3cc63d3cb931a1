package browser

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// niceOf reads the nice value of a thread (field 19 of its stat line).
func niceOf(t *testing.T, statPath string) int {
	t.Helper()
	b, err := os.ReadFile(statPath)
	if err != nil {
		t.Fatal(err)
	}
	// The command name (field 2) may hold spaces; fields count from its ')'.
	rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
	n, err := strconv.Atoi(strings.Fields(rest)[16])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBrowserYieldsToPage: while recording, every thread of the browser
// process runs at browserNice, and the renderer that runs the page keeps
// the recorder's priority (Chrome itself lowers idle renderers a little).
func TestBrowserYieldsToPage(t *testing.T) {
	needBrowser(t)
	srv := stopPage(t)
	profile := filepath.Join(t.TempDir(), "profile")
	t.Cleanup(func() { waitGone(profile, 10*time.Second) })
	type found struct{ browser, renderer, network []int }
	got := make(chan found, 1)
	testHookRecording = func(bctx context.Context) {
		var f found
		pid := chromedp.FromContext(bctx).Browser.Process().Pid
		tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/stat")
		for _, p := range tasks {
			f.browser = append(f.browser, niceOf(t, p))
		}
		procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, p := range procs {
			cmd, err := os.ReadFile(p)
			if err != nil || !strings.Contains(string(cmd), "--user-data-dir="+profile) {
				continue
			}
			switch stat := filepath.Join(filepath.Dir(p), "stat"); {
			case strings.Contains(string(cmd), "--type=renderer"):
				f.renderer = append(f.renderer, niceOf(t, stat))
			case strings.Contains(string(cmd), "network.mojom.NetworkService"):
				f.network = append(f.network, niceOf(t, stat))
			}
		}
		got <- f
	}
	defer func() { testHookRecording = nil }()
	out := filepath.Join(t.TempDir(), "nice.har")
	if _, err := Record(context.Background(), Options{URL: srv.URL, Headless: true, Output: out, Profile: profile, Timeout: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	f := <-got
	if len(f.browser) == 0 {
		t.Fatal("no thread of the browser process found")
	}
	for _, n := range f.browser {
		if n != browserNice {
			t.Fatalf("browser threads at nice %v, want all at %d", f.browser, browserNice)
		}
	}
	own := niceOf(t, "/proc/self/stat")
	if !slices.Contains(f.renderer, own) {
		t.Errorf("renderers at nice %v: none at %d, the recorder's", f.renderer, own)
	}
	for _, n := range f.network {
		if n != own {
			t.Errorf("the network service runs at nice %d, want %d", n, own)
		}
	}
	t.Logf("browser threads %v, renderers %v, network service %v", f.browser, f.renderer, f.network)
}
