package testtool

import (
	"os/exec"
	"testing"
)

func TestNeedFindsAProgramOnPath(t *testing.T) {
	want, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on PATH")
	}
	if got := Need(t, "sh"); got != want {
		t.Fatalf("Need(sh) = %q, want %q", got, want)
	}
}

func TestMissingFailsUnderCI(t *testing.T) {
	t.Setenv("CI", "true")
	if !InCI() {
		t.Fatal("InCI() = false with CI=true")
	}
	t.Setenv("CI", "")
	if InCI() {
		t.Fatal("InCI() = true with CI unset")
	}
}

// recorder is a testing.TB that notes Errorf instead of failing.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Logf(string, ...any)   {}
func (r *recorder) Helper()               {}

func TestUncheckedFailsUnderCI(t *testing.T) {
	for _, ci := range []string{"true", ""} {
		t.Setenv("CI", ci)
		r := &recorder{TB: t}
		Unchecked(r, "x is missing")
		if want := ci == "true"; r.failed != want {
			t.Errorf("CI=%q: failed=%v, want %v", ci, r.failed, want)
		}
	}
}

func TestCorpusFindsSharedFromAnyDepth(t *testing.T) {
	if !InCI() {
		t.Skip("the corpus is there for sure only under CI")
	}
	if files := Corpus(t); len(files) < 10 {
		t.Fatalf("Corpus found %d files", len(files))
	}
}
