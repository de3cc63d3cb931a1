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

			// The same with the first pass's entries spooled, not held:
			// all of them as read, or the first few held, then spooled
			// as what the second pass needs of them, and the others as
			// read.
			defer func(held int) { heldMemory = held }(heldMemory)
			for _, bound := range []int{0, 16 << 10} {
				heldMemory = bound
				var spilled bytes.Buffer
				if _, err := Convert(har.NewReader(bytes.NewReader(input), tt.input), &spilled, tt.opts); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(spilled.Bytes(), out.Bytes()) {
					t.Errorf("the output differs when the entries are spooled past %d bytes", bound)
				}
			}
		})
	}
}

// TestConvertTo: converting into every format at once writes, for each,
// what converting into it alone writes, with and without correlation, with
// the calls held in memory (written in parallel) and spooled.
func TestConvertTo(t *testing.T) {
	held := heldMemory
	defer func() { heldMemory = held }()
	for i, input := range []string{"session.har", "demo-session.har", "session.har", "demo-session.har"} {
		data, err := os.ReadFile(filepath.Join("testdata", input))
		if err != nil {
			t.Fatal(err)
		}
		for _, opts := range []Options{{}, {NoCorrelate: true}, {Exact: true}} {
			opts.Name = input
			heldMemory = held
			if i >= 2 {
				heldMemory = 0 // spooled, the second time round
			}
			var outs []Output
			bufs := map[string]*bytes.Buffer{}
			for _, f := range Formats() {
				bufs[f.Name] = &bytes.Buffer{}
				outs = append(outs, Output{f.Name, bufs[f.Name]})
			}
			all, err := ConvertTo(har.NewReader(bytes.NewReader(data), input), outs, opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range Formats() {
				o := opts
				o.Format = f.Name
				var one bytes.Buffer
				st, err := Convert(har.NewReader(bytes.NewReader(data), input), &one, o)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(one.Bytes(), bufs[f.Name].Bytes()) {
					t.Errorf("%s %+v: %s differs from converting into it alone", input, opts, f.Name)
				}
				if f.Name != "vars" && (st.Converted != all.Converted || len(st.Env) != len(all.Env)) {
					t.Errorf("%s %+v: %s alone: stats %+v, all at once %+v", input, opts, f.Name, st, all)
				}
			}
		}
	}
}
