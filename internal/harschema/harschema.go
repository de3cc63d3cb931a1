// Package harschema checks HAR files against an independent HAR 1.2 JSON
// schema: npm's har-validator (which uses har-schema) run by node. Tests
// use it to show that a redacted file is valid wherever its input was.
// It needs node and a global `npm install -g har-validator@5.1.5`; without
// them a test skips locally and fails under CI (internal/testtool).
package harschema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apitape/apitape/internal/testtool"
)

// script validates each file named after it on node's command line and prints one JSON
// line per file: the schema errors ("path message"), empty when valid.
const script = `
const hv = require('har-validator');
const fs = require('fs');
(async () => {
  for (const f of process.argv.slice(1)) {
    let errs = [];
    try {
      await hv.har(JSON.parse(fs.readFileSync(f, 'utf8').replace(/^\ufeff/, '')));
    } catch (e) {
      errs = (e.errors || [{dataPath: '', message: String(e.message)}]).map(x => x.dataPath + ' ' + x.message);
    }
    console.log(JSON.stringify(errs));
  }
})().catch(e => { console.error(e); process.exit(1); });
`

// ErrMissing is returned by Check when node, npm or har-validator is not
// installed.
var ErrMissing = errors.New("node with a global har-validator is not installed (npm install -g har-validator@5.1.5)")

// Check returns the schema errors of each file, in order (nil for a
// valid file).
func Check(files ...string) ([][]string, error) {
	node, err1 := exec.LookPath("node")
	npm, err2 := exec.LookPath("npm")
	if err1 != nil || err2 != nil {
		return nil, ErrMissing
	}
	root, err := exec.Command(npm, "root", "-g").Output()
	if err != nil {
		return nil, ErrMissing
	}
	modules := strings.TrimSpace(string(root))
	if _, err := os.Stat(filepath.Join(modules, "har-validator")); err != nil {
		return nil, ErrMissing
	}
	cmd := exec.Command(node, append([]string{"-e", script, "--"}, files...)...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("har-validator: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(files) {
		return nil, fmt.Errorf("har-validator: %d results for %d files", len(lines), len(files))
	}
	res := make([][]string, len(files))
	for i, l := range lines {
		if err := json.Unmarshal([]byte(l), &res[i]); err != nil {
			return nil, fmt.Errorf("har-validator output %q: %v", l, err)
		}
		if len(res[i]) == 0 {
			res[i] = nil
		}
	}
	return res, nil
}

// Errors is Check for tests: a missing validator skips t locally and
// fails it under CI.
func Errors(t testing.TB, files ...string) [][]string {
	t.Helper()
	res, err := Check(files...)
	if errors.Is(err, ErrMissing) {
		testtool.Missing(t, "%v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return res
}
