// Package testtool lets tests that drive real external programs (Chromium,
// curl, bash, jq, shellcheck, httpie, locust, node, chrome-har-capturer) say
// what they need. Locally a missing program skips the test with a message;
// under CI (CI=true) it fails the test, because CI installs every one of them
// and a skip there would hide a test that never ran.
package testtool

import (
	"os"
	"os/exec"
	"path/filepath"
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

// Corpus returns the real HAR files of ../shared/har-corpus beside the
// repository (found from the module root, so a package's depth does not
// matter). CI lays shared/ beside its clone, so there a missing corpus
// fails the test; locally it skips.
func Corpus(t testing.TB) []string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's folder")
		}
		dir = parent
	}
	corpus := filepath.Join(dir, "..", "shared", "har-corpus")
	files, _ := filepath.Glob(filepath.Join(corpus, "*.har"))
	if len(files) == 0 {
		Missing(t, "no HAR corpus at %s", corpus)
	}
	return files
}
