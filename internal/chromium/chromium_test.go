package chromium

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apitape/apitape/internal/testtool"
	"github.com/chromedp/chromedp"
)

func TestFind(t *testing.T) {
	onPath := func(names ...string) func(string) (string, error) {
		return func(name string) (string, error) {
			for _, n := range names {
				if n == name {
					return "/bin/" + name, nil
				}
			}
			return "", fs.ErrNotExist
		}
	}
	files := func(paths ...string) func(string) bool {
		return func(p string) bool {
			for _, q := range paths {
				if p == q {
					return true
				}
			}
			return false
		}
	}
	tests := []struct {
		name     string
		override string
		path     []string
		files    []string
		want     string
		wantErr  string
		reason   string
	}{
		{name: "first candidate", path: []string{"chromium", "google-chrome"}, want: "/bin/chromium",
			reason: "the Debian name comes first"},
		{name: "later candidate", path: []string{"google-chrome-stable"}, want: "/bin/google-chrome-stable"},
		{name: "fallback path", files: []string{"/usr/bin/chromium"}, want: "/usr/bin/chromium",
			reason: "a minimal PATH must not hide the Debian package"},
		{name: "nothing", wantErr: "no Chromium", reason: "the error tells the user what to install"},
		{name: "override absolute", override: "/opt/chrome/chrome", files: []string{"/opt/chrome/chrome"},
			path: []string{"chromium"}, want: "/opt/chrome/chrome", reason: "the variable wins over PATH"},
		{name: "override name", override: "google-chrome", path: []string{"chromium", "google-chrome"},
			want: "/bin/google-chrome"},
		{name: "override missing", override: "/nope/chrome", path: []string{"chromium"}, wantErr: "not an executable",
			reason: "a wrong override is an error, not a silent fallback"},
		{name: "override name missing", override: "brave", path: []string{"chromium"}, wantErr: "APITAPE_BROWSER=brave"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := find(tt.override, onPath(tt.path...), files(tt.files...))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("find() = %q, %v; want error containing %q (%s)", got, err, tt.wantErr, tt.reason)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("find() = %q, %v; want %q (%s)", got, err, tt.want, tt.reason)
			}
		})
	}
}

func TestFindNotFoundIsSentinel(t *testing.T) {
	_, err := find("", func(string) (string, error) { return "", fs.ErrNotExist }, func(string) bool { return false })
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

func TestIsExecutable(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "exe")
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plain, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{exe: true, plain: false, dir: false, filepath.Join(dir, "missing"): false} {
		if got := isExecutable(path); got != want {
			t.Errorf("isExecutable(%s) = %v, want %v", path, got, want)
		}
	}
}

// TestAllocatorOptionsStartBrowser checks the options against a real browser:
// a flag Chromium rejects or a profile it cannot write would fail here.
func TestAllocatorOptionsStartBrowser(t *testing.T) {
	exe, err := Find()
	if err != nil {
		testtool.Missing(t, "no browser: %v (CI installs chromium)", err)
	}
	profile := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, AllocatorOptions(exe, profile, true)...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	ua, err := chromedp.Run(bctx, chromedp.Evaluate[string](`navigator.userAgent`))
	if err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	if !strings.Contains(strings.ToLower(ua), "mozilla") {
		t.Errorf("userAgent = %q", ua)
	}
	if entries, err := os.ReadDir(profile); err != nil || len(entries) == 0 {
		t.Errorf("profile dir %s not used: %v, %d entries", profile, err, len(entries))
	}
}

// TestAllocatorOptionsLongTempDir starts the browser with a $TMPDIR too
// long for the socket Chromium keeps there: it exited at once with nothing
// to say ("chrome failed to start"), which go test's own TMPDIR for a
// script with a long name was enough for.
func TestAllocatorOptionsLongTempDir(t *testing.T) {
	exe, err := Find()
	if err != nil {
		testtool.Missing(t, "no browser: %v (CI installs chromium)", err)
	}
	long := t.TempDir()
	for len(long) < 120 {
		long = filepath.Join(long, "a-long-temporary-directory")
	}
	if err := os.MkdirAll(long, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", long)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, AllocatorOptions(exe, "", true)...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[string](`navigator.userAgent`)); err != nil {
		t.Fatalf("start %s with TMPDIR=%s: %v", exe, long, err)
	}
}
