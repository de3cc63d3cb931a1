package demorun

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apitape/apitape/internal/atomicfile"
	"github.com/apitape/apitape/internal/chromium"
	"github.com/apitape/apitape/internal/testtool"
)

var update = flag.Bool("update", false, "refresh the bundled recording from a live run")

func runDemo(t *testing.T, bundledRun bool) (*Result, string, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "apitape-demo")
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	res, err := Run(ctx, Options{Dir: dir, Out: &out, Version: "test", Bundled: bundledRun})
	t.Logf("demo took %v; output:\n%s", time.Since(start).Round(time.Millisecond), out.String())
	if err != nil {
		t.Fatalf("demo: %v", err)
	}
	return res, dir, out.String()
}

func checkResult(t *testing.T, res *Result, dir, out string) {
	t.Helper()
	if res.Calls < 8 {
		t.Errorf("recording has %d calls, want at least 8", res.Calls)
	}
	if res.Recorded && res.Redactions == 0 {
		t.Error("nothing was redacted in the live recording")
	}
	if strings.Join(res.ScriptClusters, ",") != "demo-lab" {
		t.Errorf("clusters on the fresh server after provision.sh: %v, want [demo-lab]", res.ScriptClusters)
	}
	if res.FreshRegressions != 0 {
		t.Errorf("fresh replay: %d regressions", res.FreshRegressions)
	}
	if !strings.Contains(res.VariantRegression, "k8sVersion") && !strings.Contains(res.VariantRegression, "kubernetesVersion") {
		t.Errorf("variant regression = %q, want the renamed kubernetesVersion field", res.VariantRegression)
	}
	for _, f := range []string{"session.har", "redaction-report.json", "session.curl", "provision.sh", "provision.go", "replay-fresh.html", "replay-variant.html"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Errorf("missing artifact: %v", err)
			continue
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is mode %v: others may read it", f, fi.Mode().Perm())
		}
	}
	for _, want := range []string{"Everything is in", "session.har", "Next, on the demo's files:", "Then on a real server:"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
}

func TestDemoLive(t *testing.T) {
	if !chromium.Available() {
		testtool.Missing(t, "Chromium is not installed (CI installs it); TestDemoBundled covers the rest")
	}
	res, dir, out := runDemo(t, false)
	if !res.Recorded {
		t.Fatal("did not record live although Chromium is available")
	}
	checkResult(t, res, dir, out)
	if left := browserChildren(t); len(left) > 0 {
		t.Errorf("browser processes left behind: %v", left)
	}
	if *update {
		b, err := os.ReadFile(filepath.Join(dir, "session.har"))
		if err != nil {
			t.Fatal(err)
		}
		if err := atomicfile.WriteFile(filepath.Join("testdata", "session.har"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDemoBundled(t *testing.T) {
	res, dir, out := runDemo(t, true)
	if res.Recorded {
		t.Fatal("recorded live although asked for the bundled recording")
	}
	checkResult(t, res, dir, out)
}

// browserChildren lists processes that are still children of this test
// process, which is what a browser left running would be.
func browserChildren(t *testing.T) []string {
	entries, _ := os.ReadDir("/proc")
	me := strconv.Itoa(os.Getpid())
	var left []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces, so split after ')'.
		s := string(stat)
		rest := s[strings.LastIndexByte(s, ')')+1:]
		fields := strings.Fields(rest)
		if len(fields) > 1 && fields[1] == me {
			left = append(left, s[:strings.LastIndexByte(s, ')')+1])
		}
	}
	return left
}

// TestDemoOwnModule runs the demo inside a Go module, as
// `go run ./cmd/apitape demo` does in apitape's repository: the module's
// `go list ./...` (what go vet and go test walk) must not reach the
// generated provision.go, which must still build in its own folder.
func TestDemoOwnModule(t *testing.T) {
	gobin := testtool.Need(t, "go")
	root := t.TempDir()
	for name, text := range map[string]string{
		"go.mod":  "module example.com/root\n\ngo 1.22\n",
		"root.go": "package root\n",
	} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(root, "apitape-demo")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := Run(ctx, Options{Dir: dir, Version: "test", Bundled: true}); err != nil {
		t.Fatal(err)
	}
	goCmd := func(dir string, args ...string) string {
		cmd := exec.Command(gobin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
		}
		return string(out)
	}
	if got := strings.TrimSpace(goCmd(root, "list", "./...")); got != "example.com/root" {
		t.Errorf("go list ./... in the enclosing module = %q, want only example.com/root", got)
	}
	goCmd(root, "vet", "./...")
	goCmd(dir, "vet", ".")

	// A second run replaces its own go.mod; one apitape did not write stays.
	if _, err := Run(ctx, Options{Dir: dir, Version: "test", Bundled: true}); err != nil {
		t.Fatal(err)
	}
	foreign := "module mine\n\ngo 1.22\n"
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte(foreign), 0o600)
	var out bytes.Buffer
	if _, err := Run(ctx, Options{Dir: dir, Out: &out, Version: "test", Bundled: true}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "go.mod")); string(b) != foreign {
		t.Errorf("a go.mod apitape did not write was replaced: %q", b)
	}
	if !strings.Contains(out.String(), "it is not apitape's") {
		t.Errorf("the run did not say it left go.mod alone:\n%s", out.String())
	}
}

// TestNextMatchesQuickStart keeps the demo's "Then on a real server:" block
// and README's quick start saying the same commands, so that a newcomer who
// follows either one runs a script with the variables it asks for. The quick
// start's install line and scan (which the demo lists among the lines on its
// own files) are the only ones the block leaves out.
func TestNextMatchesQuickStart(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Quick start\n")
	if !ok {
		t.Fatal("README has no Quick start section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var want []string
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "    ") {
			continue
		}
		command, _, _ := strings.Cut(strings.TrimSpace(line), "   #")
		command = strings.TrimSpace(command)
		if strings.HasPrefix(command, "go install ") || strings.HasPrefix(command, "apitape scan ") {
			continue
		}
		want = append(want, command)
	}
	d := &run{Options: Options{Dir: t.TempDir(), Command: "apitape"}}
	var got []string
	for _, block := range d.nextLines() {
		if block.title != "Then on a real server:" {
			continue
		}
		for _, l := range block.lines {
			got = append(got, l[0])
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the demo's real-server lines:\n%s\nREADME's quick start:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestDemoKeepsForeignResponses: --dir pointing at a folder that already
// has a responses/ of the user's own (apitape demo --dir . in a project)
// loses nothing in it; only answers a previous demo run left there are
// replaced.
func TestDemoKeepsForeignResponses(t *testing.T) {
	testtool.Need(t, "bash")
	testtool.Need(t, "curl")
	testtool.Need(t, "jq")
	dir := t.TempDir()
	resp := filepath.Join(dir, "responses")
	if err := os.MkdirAll(resp, 0o700); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"notes.txt": "mine\n", "resp-999.body": "stale\n", "resp-999.headers": "stale\n"}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(resp, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := Run(ctx, Options{Dir: dir, Version: "test", Bundled: true}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(resp, "notes.txt")); err != nil || string(b) != "mine\n" {
		t.Errorf("the user's responses/notes.txt: %q, %v; want it kept", b, err)
	}
	for _, stale := range []string{"resp-999.body", "resp-999.headers"} {
		if _, err := os.Stat(filepath.Join(resp, stale)); err == nil {
			t.Errorf("responses/%s from an earlier run was kept beside this run's answers", stale)
		}
	}
	if _, err := os.Stat(filepath.Join(resp, "resp-1.body")); err != nil {
		t.Errorf("this run's answers are missing: %v", err)
	}
}

// TestDemoKeepsForeignArtifacts: --dir pointing at a folder that holds a
// session.har or provision.sh of the user's own (the Quick start writes
// both into the current folder) stops before anything is written, naming
// them, instead of replacing the user's recording; a folder an earlier run
// wrote, by this version or one before the marker file, is reused.
func TestDemoKeepsForeignArtifacts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	mine := map[string]string{"session.har": `{"log":{"entries":[]}}`, "provision.sh": "echo mine\n"}
	for name, text := range mine {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Run(ctx, Options{Dir: dir, Version: "test", Bundled: true})
	if err == nil || !strings.Contains(err.Error(), "provision.sh, session.har") || !strings.Contains(err.Error(), "did not write") {
		t.Errorf("run in a folder with the user's own files: err %v, want one naming them", err)
	}
	for name, text := range mine {
		if b, _ := os.ReadFile(filepath.Join(dir, name)); string(b) != text {
			t.Errorf("the user's %s was replaced: %q", name, b)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "session.curl")); err == nil {
		t.Errorf("the refused run wrote session.curl")
	}

	// An earlier version's folder: its go.mod says it is apitape's.
	old := t.TempDir()
	os.WriteFile(filepath.Join(old, "session.har"), []byte("{}"), 0o600)
	os.WriteFile(filepath.Join(old, "go.mod"), []byte(goMod), 0o600)
	if _, err := Run(ctx, Options{Dir: old, Version: "test", Bundled: true}); err != nil {
		t.Errorf("run in an earlier demo's folder: %v", err)
	}
	// And this version's, twice.
	again := t.TempDir()
	for range 2 {
		if _, err := Run(ctx, Options{Dir: again, Version: "test", Bundled: true}); err != nil {
			t.Fatalf("run in a demo's own folder: %v", err)
		}
	}
}
