package main

import (
	"errors"
	"io/fs"
	"os"
	"testing"

	"github.com/apitape/apitape/internal/atomicfile"
)

// TestCaptureSpoolRemovedOnForcedExit: a capture to a device or FIFO
// records into a temporary file, which holds what was recorded, secrets
// included. A second Ctrl-C ends apitape through os.Exit, with no deferred
// cleanup, after atomicfile.RemovePending: the spool must be among what
// that removes. It stayed in $TMPDIR.
func TestCaptureSpoolRemovedOnForcedExit(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	c, err := openCaptureOutput(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	if c.path == os.DevNull {
		t.Fatalf("%s recorded in place, want a spool file", os.DevNull)
	}
	if err := os.WriteFile(c.path, []byte(`{"log":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	atomicfile.RemovePending()
	if _, err := os.Stat(c.path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("spool %s after RemovePending: %v", c.path, err)
	}
}
