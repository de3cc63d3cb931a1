package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apitape/apitape/internal/atomicfile"
)

// TestSignalHelper is not a test: the signal tests run the test binary
// with APITAPE_SIGNAL_HELPER set. "hang" installs apitape's signal
// handling, says "ready", and after the first signal says "cancelled"
// and blocks for good, as a command whose cancel hangs would. "run" runs
// apitape with the arguments in APITAPE_SIGNAL_ARGS, as main does.
func TestSignalHelper(t *testing.T) {
	mode := os.Getenv("APITAPE_SIGNAL_HELPER")
	if mode == "" {
		t.Skip("helper process for the signal tests")
	}
	if d, err := time.ParseDuration(os.Getenv("APITAPE_SIGNAL_GRACE")); err == nil {
		signalGrace = d
	}
	ctx, stop := signalContext()
	switch mode {
	case "hang":
		if path := os.Getenv("APITAPE_SIGNAL_OUTPUT"); path != "" {
			// An output being written when the process is ended.
			f, err := atomicfile.Create(path, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString("Cookie: session=half-written")
		}
		fmt.Println("ready")
		<-ctx.Done()
		fmt.Println("cancelled")
		select {}
	case "settle":
		// A capture redacting its file again after the stop: an output
		// being written, settled, for longer than the grace period.
		f, err := atomicfile.Create(os.Getenv("APITAPE_SIGNAL_OUTPUT"), 0o600)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("half of a redacted file")
		settle()
		fmt.Println("ready")
		<-ctx.Done()
		fmt.Println("cancelled")
		<-time.After(20 * signalGrace)
		fmt.Println("still running")
		select {}
	case "run":
		st := &streams{in: os.Stdin, out: os.Stdout, err: os.Stderr, getenv: os.Getenv}
		code := run(ctx, st, strings.Split(os.Getenv("APITAPE_SIGNAL_ARGS"), "\n"))
		stop()
		os.Exit(code)
	}
}

// helper starts the test binary as a helper process in its own process
// group, and kills the group when the test ends.
func helper(t *testing.T, env ...string) (*exec.Cmd, *bufio.Reader, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSignalHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
	return cmd, bufio.NewReader(out), &stderr
}

func expectLine(t *testing.T, r *bufio.Reader, want string) {
	t.Helper()
	line, err := r.ReadString('\n')
	if strings.TrimSpace(line) != want {
		t.Fatalf("helper said %q (%v), want %q", line, err, want)
	}
}

// exitStatus waits for cmd, failing the test if it has not exited within
// max (it would otherwise hang the suite, which is the bug under test).
func exitStatus(t *testing.T, cmd *exec.Cmd, max time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(max):
		t.Fatalf("the process did not exit within %s of the signal", max)
		return -1
	}
}

// TestSecondSignalExits: after SIGTERM a command whose cancel hangs is
// ended by a second SIGTERM, with the shell's status for it.
func TestSecondSignalExits(t *testing.T) {
	cmd, out, stderr := helper(t, "APITAPE_SIGNAL_HELPER=hang", "APITAPE_SIGNAL_GRACE=10m")
	expectLine(t, out, "ready")
	cmd.Process.Signal(syscall.SIGTERM)
	expectLine(t, out, "cancelled")
	cmd.Process.Signal(syscall.SIGTERM)
	if code := exitStatus(t, cmd, time.Minute); code != 128+int(syscall.SIGTERM) {
		t.Errorf("exit status %d, want %d", code, 128+int(syscall.SIGTERM))
	}
	if got := stderr.String(); got != "apitape: SIGTERM again: exiting now\n" {
		t.Errorf("stderr %q", got)
	}
}

// TestSignalExitRemovesTemp: a process ended by a second signal while an
// output is half written leaves no temporary file (which may hold
// credentials) beside the output; it used to.
func TestSignalExitRemovesTemp(t *testing.T) {
	dir := t.TempDir()
	cmd, out, _ := helper(t, "APITAPE_SIGNAL_HELPER=hang", "APITAPE_SIGNAL_GRACE=10m",
		"APITAPE_SIGNAL_OUTPUT="+filepath.Join(dir, "out.har"))
	expectLine(t, out, "ready")
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("%d files in the output folder while writing, want the temporary one", len(ents))
	}
	cmd.Process.Signal(syscall.SIGINT)
	expectLine(t, out, "cancelled")
	cmd.Process.Signal(syscall.SIGINT)
	if code := exitStatus(t, cmd, time.Minute); code != 128+int(syscall.SIGINT) {
		t.Errorf("exit status %d, want %d", code, 128+int(syscall.SIGINT))
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("left behind: %s", e.Name())
	}
}

// TestSignalGrace: with no second signal, the process still ends once the
// grace period has passed.
func TestSignalGrace(t *testing.T) {
	cmd, out, stderr := helper(t, "APITAPE_SIGNAL_HELPER=hang", "APITAPE_SIGNAL_GRACE=100ms")
	expectLine(t, out, "ready")
	cmd.Process.Signal(syscall.SIGINT)
	expectLine(t, out, "cancelled")
	if code := exitStatus(t, cmd, time.Minute); code != 128+int(syscall.SIGINT) {
		t.Errorf("exit status %d, want %d", code, 128+int(syscall.SIGINT))
	}
	if got := stderr.String(); got != "apitape: not stopped 100ms after SIGINT: exiting\n" {
		t.Errorf("stderr %q", got)
	}
}

// TestSettledStopOutlastsGrace: a command that settled (a capture
// redacting its whole file again, which takes longer than the grace on a
// large file) is not ended by the grace period, only by a second signal;
// then its unfinished output's temporary file is removed and the file
// stays as it was. The grace used to cut the re-redaction of a 224 MB
// proxy capture short.
func TestSettledStopOutlastsGrace(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "rec.har")
	if err := os.WriteFile(target, []byte("as written"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, out, stderr := helper(t, "APITAPE_SIGNAL_HELPER=settle", "APITAPE_SIGNAL_GRACE=50ms", "APITAPE_SIGNAL_OUTPUT="+target)
	expectLine(t, out, "ready")
	cmd.Process.Signal(syscall.SIGTERM)
	expectLine(t, out, "cancelled")
	expectLine(t, out, "still running") // 20 graces later
	cmd.Process.Signal(syscall.SIGTERM)
	if code := exitStatus(t, cmd, time.Minute); code != 128+int(syscall.SIGTERM) {
		t.Errorf("exit status %d, want %d", code, 128+int(syscall.SIGTERM))
	}
	if got := stderr.String(); got != "apitape: SIGTERM again: exiting now\n" {
		t.Errorf("stderr %q", got)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".rec.har.tmp-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	if b, _ := os.ReadFile(target); string(b) != "as written" {
		t.Errorf("%s now holds %q", target, b)
	}
}

// TestDemoStopsOnSIGTERM: 'apitape demo' with a browser that starts but
// never answers stops on the first SIGTERM, through its own cancel rather
// than the grace period (which is set far beyond the test's bound), and
// the browser's process is gone. It used to hang in chromedp's cancel and
// ignore SIGTERM.
func TestDemoStopsOnSIGTERM(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "started")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(dir, "browser.pid")
	fake := filepath.Join(dir, "fake-chrome")
	script := "#!/bin/sh\necho $$ > " + pidFile + "\necho started > " + fifo + "\nexec sleep 600\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	args := strings.Join([]string{"demo", "--dir", filepath.Join(dir, "out"), "--browser", fake}, "\n")
	cmd, _, stderr := helper(t, "APITAPE_SIGNAL_HELPER=run", "APITAPE_SIGNAL_GRACE=10m", "APITAPE_SIGNAL_ARGS="+args)
	// Opening the FIFO returns once the fake browser has written to it.
	started, err := os.ReadFile(fifo)
	if err != nil || strings.TrimSpace(string(started)) != "started" {
		t.Fatalf("the fake browser did not start: %q %v\n%s", started, err, stderr)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if code := exitStatus(t, cmd, time.Minute); code != 1 {
		t.Errorf("exit status %d, want 1 (stopped by the command, not by the grace period)\n%s", code, stderr)
	}
	if strings.Count(strings.TrimSpace(stderr.String()), "\n") != 0 || !strings.HasPrefix(stderr.String(), "apitape: error: demo: ") {
		t.Errorf("stderr: want one error line, got\n%s", stderr)
	}
	pid, _ := os.ReadFile(pidFile)
	var n int
	fmt.Sscan(string(pid), &n)
	if n > 0 && syscall.Kill(n, 0) == nil {
		if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", n)); !strings.Contains(string(st), ") Z ") {
			t.Errorf("the browser (pid %d) still runs", n)
		}
	}
}

// TestMissingBrowser: a --browser that does not exist is a usage error,
// caught before anything starts, the same for demo and capture browser.
func TestMissingBrowser(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"demo", "--dir", filepath.Join(dir, "demo"), "--browser", "/nonexistent/chrome"},
		{"capture", "browser", "--headless", "-o", filepath.Join(dir, "x.har"), "--browser", "/nonexistent/chrome", "http://127.0.0.1:1/"},
	} {
		var stderr bytes.Buffer
		st := &streams{in: strings.NewReader(""), out: &bytes.Buffer{}, err: &stderr, getenv: func(string) string { return "" }}
		if code := run(context.Background(), st, args); code != 2 {
			t.Errorf("%s: exit %d, want 2", args[0], code)
		}
		if first, _, _ := strings.Cut(stderr.String(), "\n"); first != "apitape: error: --browser /nonexistent/chrome: no such file or directory" {
			t.Errorf("%s: stderr\n%s", args[0], stderr.String())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "demo")); err == nil {
		t.Errorf("demo created its directory before checking --browser")
	}

	// A browser named in $APITAPE_BROWSER is checked the same way by both
	// (a failure, exit 1, as it is not on the command line).
	t.Setenv("APITAPE_BROWSER", "/nonexistent/chrome")
	for _, args := range [][]string{
		{"demo", "--dir", filepath.Join(dir, "demo")},
		{"capture", "browser", "--headless", "-o", filepath.Join(dir, "x.har"), "http://127.0.0.1:1/"},
	} {
		var stderr bytes.Buffer
		st := &streams{in: strings.NewReader(""), out: &bytes.Buffer{}, err: &stderr, getenv: os.Getenv}
		if code := run(context.Background(), st, args); code != 1 {
			t.Errorf("%s with $APITAPE_BROWSER: exit %d, want 1", args[0], code)
		}
		if first, _, _ := strings.Cut(stderr.String(), "\n"); first != "apitape: error: chromium: APITAPE_BROWSER=/nonexistent/chrome is not an executable file" {
			t.Errorf("%s with $APITAPE_BROWSER: stderr\n%s", args[0], stderr.String())
		}
	}
}
