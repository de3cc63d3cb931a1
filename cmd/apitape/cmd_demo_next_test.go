package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apitape/apitape/internal/testtool"
)

// TestDemoNextLinesAfterGoRun does what the README tells a newcomer to do,
// `go run ./cmd/apitape demo` from the repository root, and then runs every
// line of the demo's "Next, on the demo's files:" block with bash, as
// printed, from the same directory: apitape is not installed then, so the
// lines must not say plain "apitape" (issue 15). The lines for a real server
// must use the same command.
func TestDemoNextLinesAfterGoRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds apitape with go run")
	}
	gobin := testtool.Need(t, "go")
	bash := testtool.Need(t, "bash")
	testtool.Need(t, "curl")
	testtool.Need(t, "jq")
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "demo out") // a space: the lines must quote it
	// PATH without any installed apitape, as on a newcomer's machine.
	env := append(os.Environ(), "PATH="+filepath.Dir(gobin)+":/usr/bin:/bin", "GOWORK=off")
	cmd := exec.Command(gobin, "run", "./cmd/apitape", "demo", "--bundled", "--dir", dir)
	cmd.Dir, cmd.Env = root, env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go run ./cmd/apitape demo: %v\n%s", err, out)
	}
	var next, later []string
	var block *[]string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "Next, on the demo's files:":
			block = &next
		case line == "Then on a real server:":
			block = &later
		case block != nil && strings.HasPrefix(line, "  "):
			*block = append(*block, strings.TrimSpace(line))
		default:
			block = nil
		}
	}
	if len(next) < 3 || len(later) < 3 {
		t.Fatalf("no Next lines in the demo's output:\n%s", out)
	}
	for _, line := range append(next, later...) {
		if strings.HasPrefix(line, "apitape ") {
			t.Errorf("line says plain apitape, which go run did not install: %s", line)
		}
	}
	for _, line := range later {
		if strings.Contains(line, "capture browser") && !strings.HasPrefix(line, "go run ./cmd/apitape ") {
			t.Errorf("real-server line does not use go run ./cmd/apitape: %s", line)
		}
	}
	for _, line := range next {
		c := exec.Command(bash, "-c", line)
		c.Dir, c.Env = root, env
		if b, err := c.CombinedOutput(); err != nil {
			t.Errorf("printed line failed: %s\n%v\n%s", line, err, b)
		} else {
			t.Logf("ran: %s", line)
		}
	}
}
