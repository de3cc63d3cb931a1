package redact

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestStreamSpoolUnlinked: the spool between the passes holds the first
// pass's text, where a secret learned only later is still in clear; it is
// never visible in the temporary folder, so a process ended mid-stream
// (a second Ctrl-C exits at once) leaves nothing there.
func TestStreamSpoolUnlinked(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	r, err := New(Options{Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	in := harOf(`{"request":{"method":"GET","url":"http://127.0.0.1/a","headers":[{"name":"Authorization","value":"Bearer s3cr3t-t0ken-value"}]},"response":{"status":200}}`)
	calls := 0
	_, err = r.Stream(strings.NewReader(in), &bytes.Buffer{}, StreamOptions{Name: "case.har", Progress: func(int, int, int64) {
		calls++
		if ents, _ := os.ReadDir(tmp); len(ents) > 0 {
			t.Errorf("visible in the temporary folder during Stream: %s", ents[0].Name())
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if calls == 0 {
		t.Fatal("Progress was never called")
	}
}
