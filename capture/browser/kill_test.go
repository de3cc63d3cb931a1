package browser

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/apitape/apitape/har"
)

// TestKillHelper is not a test: TestKill runs the test binary with
// APITAPE_KILL_URL set and kills it in the middle of this recording.
func TestKillHelper(t *testing.T) {
	u, out := os.Getenv("APITAPE_KILL_URL"), os.Getenv("APITAPE_KILL_OUT")
	if u == "" {
		t.Skip("helper process for TestKill")
	}
	steps, _ := ParseSteps("kill.yaml", []byte("- sleep: 1m\n"))
	Record(context.Background(), Options{URL: u, Steps: steps, Headless: true, Output: out, Timeout: time.Minute})
}

// TestKill kills a recording with SIGKILL while the page keeps calling its
// API: the file must be a valid HAR holding every call completed so far.
func TestKill(t *testing.T) {
	needBrowser(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `<!doctype html><script>let i = 0; setInterval(() => fetch('/api/tick/' + i++, {method: 'POST', body: 'n=' + i}), 10)</script>`)
	})
	mux.HandleFunc("/api/tick/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"tick":%q}`, r.URL.Path)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "killed.har")

	cmd := exec.Command(os.Args[0], "-test.run=^TestKillHelper$", "-test.count=1")
	// The killed helper cannot remove the browser's temporary profile;
	// keep it in a directory the test removes.
	cmd.Env = append(os.Environ(), "APITAPE_KILL_URL="+srv.URL, "APITAPE_KILL_OUT="+out, "TMPDIR="+t.TempDir())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill the helper and the browser it started, whatever happens.
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)

	deadline := time.Now().Add(20 * time.Second)
	var before int
	for time.Now().Before(deadline) {
		if h, err := readFile(out); err == nil && len(h.Log.Entries) >= 20 {
			before = len(h.Log.Entries)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if before == 0 {
		t.Fatalf("the recording did not write 20 entries in time")
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Wait()

	// The kill may cut off the entry being written, and nothing else
	// (har.ReadKilled).
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	entries, cut, err := har.ReadKilled(f, out)
	f.Close()
	if err != nil {
		t.Fatalf("after kill -9 the file is not a valid HAR: %v", err)
	}
	if len(entries) < before {
		t.Errorf("the file has %d whole entries after the kill, had %d before", len(entries), before)
	}
	if cut >= 0 {
		t.Logf("entry %d was cut off by the kill", cut)
	}
	for i, e := range entries {
		if b, ok, _ := e.Response.Content.Bytes(); !ok || len(b) == 0 {
			t.Errorf("entry %d (%s) has no body", i, e.Request.URL)
		}
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the file's mode is %v, want 0600: recordings hold credentials", fi.Mode().Perm())
	}
	t.Logf("killed with %d entries on disk", len(entries))
}

func readFile(path string) (*har.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return har.ReadAll(f, path)
}
