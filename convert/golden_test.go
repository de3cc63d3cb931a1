package convert

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/apitape/apitape/har"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGolden pins the output for a small representative session: a
// Rancher call with Chrome headers and redacted cookies, a preflight, a
// POST with live credentials and shell metacharacters, a DELETE with a
// NUL body, a HEAD and a WebSocket; and for the demo session that
// TestDemoSession records (-update rewrites it there first), where later
// calls take ids from earlier answers.
func TestGolden(t *testing.T) {
	tests := []struct {
		input, golden string
		opts          Options
	}{
		{"session.har", "session.curl", Options{Format: "curl"}},
		{"session.har", "session.sh", Options{Format: "bash"}},
		{"session.har", "session.go", Options{Format: "go"}},
		{"session.har", "session.exact.curl", Options{Format: "curl", Exact: true}},
		{"session.har", "session.base-url.sh", Options{Format: "bash", BaseURL: "http://127.0.0.1:8080/prefix/"}},
		{"demo-session.har", "demo-session.sh", Options{Format: "bash"}},
		{"demo-session.har", "demo-session.go", Options{Format: "go"}},
		{"demo-session.har", "demo-session.curl", Options{Format: "curl"}},
		{"demo-session.har", "demo-session.no-correlate.curl", Options{Format: "curl", NoCorrelate: true}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			input, err := os.ReadFile(filepath.Join("testdata", tt.input))
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			tt.opts.Name = tt.input
			if _, err := Convert(har.NewReader(bytes.NewReader(input), tt.input), &out, tt.opts); err != nil {
				t.Fatal(err)
			}
			if tt.opts.Format == "go" {
				checkGoFormat(t, tt.golden, out.Bytes())
			}
			golden(t, tt.golden, out.Bytes())

			// The same with the first pass's entries spooled, not held.
			defer func(held int) { heldMemory = held }(heldMemory)
			heldMemory = 0
			var spilled bytes.Buffer
			if _, err := Convert(har.NewReader(bytes.NewReader(input), tt.input), &spilled, tt.opts); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(spilled.Bytes(), out.Bytes()) {
				t.Errorf("the output differs when the entries are spooled")
			}
		})
	}
}
