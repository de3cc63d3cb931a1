package convert

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/apitape/apitape/har"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGolden pins the output for a small representative session: a
// Rancher call with Chrome headers and redacted cookies, a preflight, a
// POST with live credentials and shell metacharacters, a DELETE with a
// NUL body, a HEAD and a WebSocket.
func TestGolden(t *testing.T) {
	input, err := os.ReadFile(filepath.Join("testdata", "session.har"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		golden string
		opts   Options
	}{
		{"session.curl", Options{Format: "curl"}},
		{"session.sh", Options{Format: "bash"}},
		{"session.go", Options{Format: "go"}},
		{"session.exact.curl", Options{Format: "curl", Exact: true}},
		{"session.base-url.sh", Options{Format: "bash", BaseURL: "http://127.0.0.1:8080/prefix/"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			var out bytes.Buffer
			tt.opts.Name = "session.har"
			if _, err := Convert(har.NewReader(bytes.NewReader(input), "session.har"), &out, tt.opts); err != nil {
				t.Fatal(err)
			}
			if tt.opts.Format == "go" {
				checkGoFormat(t, tt.golden, out.Bytes())
			}
			path := filepath.Join("testdata", tt.golden)
			if *update {
				if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./convert -update)", err)
			}
			if diff := cmp.Diff(string(want), out.String()); diff != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", tt.golden, diff)
			}
		})
	}
}
