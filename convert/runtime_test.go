package convert

import (
	"bytes"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apitape/apitape/internal/testtool"
)

// TestRuntimeSources checks each file under runtime/ with its language's
// own tool: gofmt's formatter, Python's compiler, node --check, bash -n and
// shellcheck. The generated programs that hold them are compiled, vetted,
// shellchecked and run by the other tests; this names the file at fault.
func TestRuntimeSources(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("runtime", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no runtime sources: %v", err)
	}
	run := func(t *testing.T, name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.HasPrefix(src, []byte("\n")) || !bytes.HasSuffix(src, []byte("\n")) || bytes.Contains(src, []byte("\r")) {
				t.Errorf("%s: starts with a blank line, lacks the final newline or holds a CR", f)
			}
			switch {
			case strings.HasSuffix(f, ".go.txt"):
				// Declarations without a package clause: go/format takes
				// them as a partial source file.
				out, err := format.Source(src)
				if err != nil || !bytes.Equal(out, src) {
					t.Errorf("%s is not gofmt's layout (%v)", f, err)
				}
			case strings.HasSuffix(f, ".py"):
				// compile() is py_compile without a __pycache__ in the tree.
				run(t, testtool.Need(t, "python3"), "-c", "import sys; compile(open(sys.argv[1], 'rb').read(), sys.argv[1], 'exec')", f)
			case strings.HasSuffix(f, ".mjs"):
				run(t, testtool.Need(t, "node"), "--check", f)
			case strings.HasSuffix(f, ".sh"):
				run(t, testtool.Need(t, "bash"), "-n", f)
				// The pieces share variables set and read in other pieces
				// (SC2154, SC2034); a whole script is checked without
				// exclusions by the demo and corpus tests.
				run(t, testtool.Need(t, "shellcheck"), "--shell=bash", "--exclude=SC2154,SC2034", f)
			default:
				t.Errorf("%s: no check for this kind of file", f)
			}
		})
	}
}
