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
