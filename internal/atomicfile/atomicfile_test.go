package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCommitAndAbort(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.har")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}

	f, err := Create(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("half"))
	f.Abort()
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Fatalf("abort changed the target: %q", b)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) != 0 {
		t.Fatalf("abort left temporary files: %v", left)
	}

	if err := WriteFile(path, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	fi, _ := os.Stat(path)
	if string(b) != "new" || fi.Mode().Perm() != 0o600 {
		t.Fatalf("after commit: %q %v", b, fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d files, want 1", len(entries))
	}
}

func TestCreateInMissingDirectory(t *testing.T) {
	if _, err := Create(filepath.Join(t.TempDir(), "no", "such", "f"), 0o600); err == nil {
		t.Fatal("no error for a missing directory")
	}
}

// TestRemovePending: what a process about to exit mid-write leaves is
// removed, while committed and aborted files are left as they are.
func TestRemovePending(t *testing.T) {
	dir := t.TempDir()
	done := filepath.Join(dir, "done")
	if err := WriteFile(done, []byte("kept"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Create(filepath.Join(dir, "half"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("Authorization: Bearer half-written")
	RemovePending()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "done" {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("left in the folder: %q, want only done", names)
	}
	if err := f.Commit(); err == nil {
		t.Error("Commit after RemovePending succeeded")
	}
	if b, err := os.ReadFile(done); err != nil || string(b) != "kept" {
		t.Errorf("done = %q, %v", b, err)
	}
}
