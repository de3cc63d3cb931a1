package browser

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apitape/apitape/internal/chromium"
	"github.com/chromedp/chromedp"
)

// TestProfileInUse: a --profile another browser holds makes Chromium exit
// at once; the error says so instead of only "chrome failed to start".
func TestProfileInUse(t *testing.T) {
	needBrowser(t)
	exe, err := chromium.Find()
	if err != nil {
		t.Fatal(err)
	}
	profile := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, chromium.AllocatorOptions(exe, profile, true)...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[string](`navigator.userAgent`)); err != nil {
		t.Fatalf("first browser: %v", err)
	}

	srv := formPage(t)
	_, err = Record(ctx, Options{URL: srv.URL, Headless: true, Profile: profile, Output: filepath.Join(t.TempDir(), "x.har")})
	want := "starting " + exe + ": chrome failed to start: the profile directory " + profile + " is in use by another browser"
	if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %v\nwant one line starting %s", err, want)
	}
}

func TestStartFailure(t *testing.T) {
	for _, tt := range []struct{ out, want string }{
		{"", ""},
		{"/usr/bin/chromium: 9: [: 1: unexpected operator\n[1:1:1207/114320.136628:FATAL:chrome/browser/process_singleton_posix.cc:315] Socket path too long: /tmp/x/SingletonSocket.\n[1207/114320.148462:ERROR:third_party/crashpad/file_io_posix.cc:145] open /sys/x: No such file or directory (2)\n",
			"Socket path too long: /tmp/x/SingletonSocket."},
		{"[3740:3740:1207/114635.841281:ERROR:chrome/browser/process_singleton_posix.cc:349] Failed to create /p/SingletonLock: File exists (17)\n[3740:3740:1207/114635.841571:ERROR:chrome/app/chrome_main_delegate.cc:624] Failed to create a ProcessSingleton for your profile directory. This means that running multiple instances would start multiple browser processes rather than opening a new window in the existing process. Aborting now to avoid profile corruption.\n",
			"the profile directory is in use by another browser"},
		{"[1:1:0100/000000.882379:ERROR:content/zygote/zygote_linux.cc:662] write: Broken pipe (32)\n", ""},
	} {
		if got := startFailure(tt.out, ""); got != tt.want {
			t.Errorf("startFailure(%q) = %q, want %q", tt.out, got, tt.want)
		}
	}
}

// TestSafeURL: URLs in messages (a page that did not load, a navigate step)
// hold no password, query string or fragment with a value: they go to
// terminals and CI logs. Both were printed whole.
func TestSafeURL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080/"},
		{"https://admin:Sup3rSecret@rancher.example/login", "https://rancher.example/login"},
		{"https://rancher.example/cb?code=abc&state=x", "https://rancher.example/cb"},
		{"https://u:p@h.example?token=x#frag", "https://h.example"},
		{"https://h.example/#/clusters", "https://h.example/#/clusters"},
		{"https://h.example/cb#access_token=abc&x=1", "https://h.example/cb"},
		{"/#clusters", "/#clusters"},
		{"${BASE}/login?user=${USER_NAME}", "${BASE}/login"},
		{"https://user@h.example:8443", "https://h.example:8443"},
		{"https://h.example/a@b", "https://h.example/a@b"},
	} {
		if got := safeURL(tt.in); got != tt.want {
			t.Errorf("safeURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := (&LoadError{URL: "http://a:pw@127.0.0.1:1/?t=secret", Reason: "net::ERR_UNSAFE_PORT"}).Error(); got != "http://127.0.0.1:1/: page did not load: net::ERR_UNSAFE_PORT" {
		t.Errorf("LoadError: %s", got)
	}
	if got := (Step{Action: "navigate", URL: "https://u:pw@h.example/x?token=secret"}).String(); got != "navigate https://h.example/x" {
		t.Errorf("Step.String: %s", got)
	}
}
