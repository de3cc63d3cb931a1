package convert

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apitape/apitape/internal/testtool"
)

// A URL from a HAR lands in each call's comment. JavaScript ends a line
// comment at U+2028 as at \n, so a raw one in the path once turned the
// rest of the path into code the fetch script ran.
func TestCommentLineBreaks(t *testing.T) {
	entry := map[string]any{
		"startedDateTime": "2024-01-01T00:00:00Z", "time": 1,
		"request": map[string]any{"method": "GET", "url": "http://127.0.0.1:9/a\u2028globalThis.PWNED=1\u2029\u0085b",
			"httpVersion": "HTTP/1.1", "headers": []any{}, "queryString": []any{}, "cookies": []any{}, "headersSize": -1, "bodySize": 0},
		"response": map[string]any{"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "headers": []any{}, "cookies": []any{},
			"content": map[string]any{"size": 0, "mimeType": "text/plain", "text": ""}, "redirectURL": "", "headersSize": -1, "bodySize": 0},
		"cache": map[string]any{}, "timings": map[string]any{"send": 0, "wait": 1, "receive": 0},
	}
	data, err := json.Marshal(map[string]any{"log": map[string]any{"version": "1.2",
		"creator": map[string]any{"name": "t", "version": "1"}, "entries": []any{entry}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"fetch", "python", "locust", "httpie", "bash", "curl", "go"} {
		out := convertBytes(t, data, Options{Format: format})
		for _, line := range strings.Split(string(out), "\n") {
			l := strings.TrimSpace(line)
			if !strings.HasPrefix(l, "//") && !strings.HasPrefix(l, "#") {
				continue
			}
			if strings.ContainsAny(l, "\u2028\u2029\u0085") {
				t.Errorf("--to %s: a comment holds a line break: %q", format, line)
			}
		}
	}
	// And the script node parses has no statement from the URL.
	testtool.Need(t, "node")
	src := convertBytes(t, data, Options{Format: "fetch"})
	path := filepath.Join(t.TempDir(), "x.mjs")
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("node", "--check", path).CombinedOutput(); err != nil || bytes.Contains(out, []byte("PWNED")) {
		t.Errorf("node --check: %v\n%s", err, out)
	}
}
