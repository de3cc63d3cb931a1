// Package testtool lets tests that drive real external programs (Chromium,
// curl, bash, jq, shellcheck, httpie, locust, node, chrome-har-capturer) say
// what they need. Locally a missing program skips the test with a message;
// under CI (CI=true) it fails the test, because CI installs every one of them
// and a skip there would hide a test that never ran.
package testtool

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run under CI, where every tool must exist.
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing skips t locally, or fails it under CI, saying why.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI=true but "+format, args...)
	}
	t.Skipf(format, args...)
}

// Need returns the path of the program name, skipping t locally or failing it
// under CI when it is not on PATH.
func Need(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "%s is not installed (.ci/run installs it)", name)
	}
	return path
}

// Unchecked logs that one check of a test was left out because a program is
// missing, and lets the rest of the test run; under CI it fails t instead.
func Unchecked(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Errorf("CI=true but "+format, args...)
		return
	}
	t.Logf(format, args...)
}
