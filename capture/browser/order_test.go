package browser

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/apitape/apitape/har"
)

func TestSortBySendTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.har")
	a, err := har.CreateAppender(path, har.NewLog("test"))
	if err != nil {
		t.Fatal(err)
	}
	// Completion order: the pool's answer came first, the template's late.
	for _, e := range []struct{ start, url string }{
		{"2025-01-01T00:00:00.200Z", "http://x/v3/nodepool"},
		{"2025-01-01T00:00:00.100Z", "http://x/v3/nodetemplate"},
		{"2025-01-01T00:00:00.300Z", "http://x/v3/nodepools"},
	} {
		if err := a.Append(&har.Entry{StartedDateTime: e.start, Request: har.Request{Method: "POST", URL: e.url}}); err != nil {
			t.Fatal(err)
		}
	}
	a.Close()
	if err := sortBySendTime(path); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	h, err := har.ReadAll(bytes.NewReader(b), path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range h.Log.Entries {
		got = append(got, e.Request.URL)
	}
	want := []string{"http://x/v3/nodetemplate", "http://x/v3/nodepool", "http://x/v3/nodepools"}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("order = %v, want %v", got, want)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v after the rewrite, want 0600", fi.Mode().Perm())
	}
}
