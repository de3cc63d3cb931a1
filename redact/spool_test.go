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

// TestStreamBOM: a byte order mark is dropped, as the reader drops it
// (the second pass reads the text between entries from the input again),
// with or without entries.
func TestStreamBOM(t *testing.T) {
	for _, in := range []string{
		harOf(ent{reqH: [][2]string{{"Authorization", "Bearer s3cr3t-t0ken-value"}}}.json()),
		`{"log":{"version":"1.2","creator":{"name":"x","version":"1"},"entries":[]}}`,
	} {
		want, wsum, _ := redactString(t, newTestRedactor(t, Options{Key: testKey}), in)
		got, gsum, _ := redactString(t, newTestRedactor(t, Options{Key: testKey}), "\ufeff"+in)
		if got != want || gsum.Warnings != wsum.Warnings {
			t.Errorf("with a byte order mark:\n%s\nwithout:\n%s", got, want)
		}
	}
}
