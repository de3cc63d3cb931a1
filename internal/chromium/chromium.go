// Package chromium finds a Chromium or Chrome binary and builds the chromedp
// allocator options apitape uses everywhere it drives a browser (browser
// capture, the demo UI test), so that every caller starts the browser the
// same quiet, reproducible way.
package chromium

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"

	"github.com/chromedp/chromedp"
)

// EnvVar names the environment variable that overrides the browser search:
// an absolute path or a command name looked up on PATH.
const EnvVar = "APITAPE_BROWSER"

// ErrNotFound is returned by Find when no browser is installed.
var ErrNotFound = errors.New("chromium: no Chromium or Chrome found (install chromium or set " + EnvVar + ")")

// candidates are tried in order on PATH. Debian and Ubuntu ship "chromium"
// or "chromium-browser"; Google's packages install "google-chrome".
var candidates = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// fallbackPaths catch a browser that is installed but not on PATH, which
// happens under minimal PATHs such as the ones of testscript or systemd.
var fallbackPaths = []string{"/usr/bin/chromium"}

// Find returns the path of the browser to run. $APITAPE_BROWSER wins; when it
// is set but does not name an executable, Find fails rather than silently
// picking another browser, because the user asked for that one.
func Find() (string, error) {
	return find(os.Getenv(EnvVar), exec.LookPath, isExecutable)
}

func find(override string, lookPath func(string) (string, error), executable func(string) bool) (string, error) {
	if override != "" {
		if filepath.IsAbs(override) {
			if executable(override) {
				return override, nil
			}
			return "", fmt.Errorf("chromium: %s=%s is not an executable file", EnvVar, override)
		}
		p, err := lookPath(override)
		if err != nil {
			return "", fmt.Errorf("chromium: %s=%s: %w", EnvVar, override, err)
		}
		return p, nil
	}
	for _, name := range candidates {
		if p, err := lookPath(name); err == nil {
			return p, nil
		}
	}
	for _, p := range fallbackPaths {
		if executable(p) {
			return p, nil
		}
	}
	return "", ErrNotFound
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// Available reports whether Find would succeed; tests use it to skip.
func Available() bool {
	_, err := Find()
	return err == nil
}

// maxSocketTempDir is the longest $TMPDIR under which Chromium can create
// its profile lock's socket, $TMPDIR/org.chromium.Chromium.XXXXXX/SingletonSocket:
// a Unix socket's path holds at most 107 bytes, and with a longer one
// Chromium exits at once ("Socket path too long"), which chromedp reports
// only as "chrome failed to start". Such a browser gets TMPDIR=/tmp.
const maxSocketTempDir = 62

// AllocatorOptions returns the exec allocator options for execPath.
//
// The flags keep the browser from talking to Google (background networking,
// component updates, sync) so that a capture holds only the traffic the page
// makes, and turn QUIC off so that every request goes over TCP where a proxy
// can see it. --no-sandbox is needed when running as root (containers, CI).
//
// An empty userDataDir lets chromedp create a fresh temporary profile and
// remove it afterwards; pass a directory to keep the profile. The window is
// 1280x800, so screenshots are the same size on every machine.
func AllocatorOptions(execPath, userDataDir string, headless bool) []chromedp.ExecAllocatorOption {
	opts := slices.Clone(chromedp.DefaultExecAllocatorOptions[:])
	opts = append(opts,
		chromedp.ExecPath(execPath),
		chromedp.NoFirstRun,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1280, 800),
	)
	if userDataDir != "" {
		opts = append(opts, chromedp.UserDataDir(userDataDir))
	}
	if len(os.TempDir()) > maxSocketTempDir {
		opts = append(opts, chromedp.Env("TMPDIR=/tmp"))
	}
	if !headless {
		// VisibleWindow removes the headless flags, so it must come last.
		opts = append(opts, chromedp.VisibleWindow)
	}
	return opts
}
