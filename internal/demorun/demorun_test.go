package demorun

import (
	"bytes"
	"context"
	"flag"
	"os"
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
	for _, want := range []string{"Everything is in", "session.har", "Next, on a real server"} {
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
