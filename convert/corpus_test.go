package convert

import (
	"bytes"
	"fmt"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/selection"
	"github.com/apitape/apitape/internal/testtool"
	"mvdan.cc/sh/v3/syntax"
)

// corpusDir finds ../shared/har-corpus beside the repository root.
func corpusDir(t testing.TB) string {
	dir, err := filepath.Abs(filepath.Join("..", "..", "shared", "har-corpus"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no HAR corpus at %s", dir)
	}
	return dir
}

// checkBash parses a generated script with a real bash parser.
func checkBash(t *testing.T, name string, src []byte) {
	t.Helper()
	if _, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(bytes.NewReader(src), name); err != nil {
		t.Errorf("%s: bash does not parse: %v", name, err)
	}
}

// checkGoFormat checks that the streamed Go text is already gofmt's.
func checkGoFormat(t *testing.T, name string, src []byte) {
	t.Helper()
	formatted, err := format.Source(src)
	if err != nil {
		t.Errorf("%s: go/format: %v", name, err)
		return
	}
	if !bytes.Equal(formatted, src) {
		t.Errorf("%s: not gofmt'd; go/format changes it", name)
	}
}

// TestCorpus converts every file of the shared HAR corpus to every format
// (API calls only, and --all), then runs shellcheck on the bash scripts,
// and go vet on the Go programs.
func TestCorpus(t *testing.T) {
	dir := corpusDir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.har"))
	if len(files) == 0 {
		t.Skip("empty corpus")
	}
	scripts := t.TempDir()
	module := t.TempDir()
	os.WriteFile(filepath.Join(module, "go.mod"), []byte("module corpus\n\ngo 1.22\n"), 0o600)
	var shFiles []string
	for i, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, all := range []bool{false, true} {
			for _, f := range Formats() {
				name := fmt.Sprintf("%s --to %s --all=%v", filepath.Base(file), f.Name, all)
				var out bytes.Buffer
				st, err := Convert(har.NewReader(bytes.NewReader(data), file), &out, Options{Format: f.Name, Selection: selection.Filter{All: all}})
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				if f.Name == "vars" {
					continue // the model of a real session: it must only not fail
				}
				if all && st.Converted+st.Unconvertible != st.Entries {
					t.Errorf("%s: %d entries, %d converted, %d not convertible", name, st.Entries, st.Converted, st.Unconvertible)
				}
				switch f.Name {
				case "curl", "bash":
					checkBash(t, name, out.Bytes())
					p := filepath.Join(scripts, fmt.Sprintf("%d-%v-%s.sh", i, all, f.Name))
					os.WriteFile(p, out.Bytes(), 0o600)
					if f.Name == "bash" {
						shFiles = append(shFiles, p)
					}
				case "go":
					checkGoFormat(t, name, out.Bytes())
					pkg := filepath.Join(module, fmt.Sprintf("p%d%v", i, all))
					os.Mkdir(pkg, 0o700)
					os.WriteFile(filepath.Join(pkg, "main.go"), out.Bytes(), 0o600)
				}
			}
		}
	}
	if sc, err := exec.LookPath("shellcheck"); err == nil {
		out, err := exec.Command(sc, append([]string{"--severity=style"}, shFiles...)...).CombinedOutput()
		if err != nil {
			t.Errorf("shellcheck: %v\n%s", err, out)
		}
	} else {
		testtool.Unchecked(t, "shellcheck not found: skipped")
	}
	if gobin, err := exec.LookPath("go"); err == nil {
		cmd := exec.Command(gobin, "vet", "./...")
		cmd.Dir = module
		cmd.Env = append(os.Environ(), "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("go vet: %v\n%s", err, out)
		}
	}
	t.Logf("%d corpus files, %d bash scripts checked", len(files), len(shFiles))
}

// TestGeneratedSyntax checks the round-trip corpus output with the bash
// parser, shellcheck and go/format too.
func TestGeneratedSyntax(t *testing.T) {
	// The megabyte bodies only make shellcheck slow: they are base64 lines.
	var cases []rtCase
	for _, c := range roundTripCases() {
		if c.body == nil || len(*c.body) < 100<<10 {
			cases = append(cases, c)
		}
	}
	data, _ := buildCorpus(t, cases)
	for _, exact := range []bool{false, true} {
		for _, f := range codeFormats() {
			out := convertBytes(t, data, Options{Format: f.Name, Exact: exact, Selection: selection.Filter{All: true}})
			name := fmt.Sprintf("corpus --to %s --exact=%v", f.Name, exact)
			switch f.Name {
			case "python", "locust", "fetch":
				continue // TestTargetsSyntax checks them
			}
			if f.Name == "go" {
				checkGoFormat(t, name, out)
				continue
			}
			checkBash(t, name, out)
			if f.Name != "bash" {
				continue
			}
			sc, err := exec.LookPath("shellcheck")
			if err != nil {
				testtool.Unchecked(t, "shellcheck not found: skipped")
				continue
			}
			cmd := exec.Command(sc, "--severity=style", "-")
			cmd.Stdin = bytes.NewReader(out)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s: shellcheck: %v\n%s", name, err, strings.TrimSpace(string(b)))
			}
		}
	}
}
