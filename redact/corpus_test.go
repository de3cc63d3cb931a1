package redact

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// corpusDir is the shared corpus of real HAR files, found from the
// repository root (the parent of this package's directory).
func corpusDir(t *testing.T) string {
	dir := filepath.Join("..", "..", "shared", "har-corpus")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no HAR corpus at %s (a checkout outside the project's workspace)", dir)
	}
	return dir
}

// TestCorpus redacts every real HAR: the result must be valid, keep its
// structure, change only strings that now hold a placeholder, redact
// nothing more the second time, and scan clean. What was redacted is
// logged per file for review.
func TestCorpus(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpusDir(t), "*.har"))
	if len(files) == 0 {
		t.Skip("empty corpus")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			in := string(data)
			before := mustParse(t, "input", in)
			out, sum, recs := redactString(t, newTestRedactor(t, Options{}), in)
			after := mustParse(t, "output", out)
			if len(after.Log.Entries) != len(before.Log.Entries) {
				t.Errorf("%d entries became %d", len(before.Log.Entries), len(after.Log.Entries))
			}
			var vin, vout any
			if err := json.Unmarshal([]byte(strings.TrimPrefix(in, "\ufeff")), &vin); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(out), &vout); err != nil {
				t.Fatalf("output is not JSON: %v", err)
			}
			compareTrees(t, "", vin, vout)
			if len(sum.Residual) > 0 {
				t.Errorf("residual: %v", sum.Residual)
			}
			again, _, _ := redactString(t, newTestRedactor(t, Options{}), out)
			if again != out {
				t.Errorf("second run changed the output:\n%s", firstDiff(out, again))
			}
			if f := scanCount(t, nil, out); len(f) > 0 {
				t.Errorf("scan finds %v in the redacted file", f)
			}
			t.Logf("%d entries, %d redactions %v, %d warnings", sum.Entries, sum.Redactions, sum.Classes, sum.Warnings)
			for _, line := range summarize(recs) {
				t.Log("  " + line)
			}
		})
	}
}

// summarize groups records by rule and location shape for the log.
func summarize(recs []Record) []string {
	count := map[string]int{}
	for _, r := range recs {
		loc := r.Location
		if i := strings.Index(loc, " ["); i >= 0 {
			loc = loc[i+1:]
		}
		key := fmt.Sprintf("%-28s %s", r.Rule, loc)
		if r.Placeholder == "" {
			key = "warning: " + r.Rule + " " + r.Location
		}
		count[key]++
	}
	var lines []string
	for k, n := range count {
		lines = append(lines, fmt.Sprintf("%3d× %s", n, k))
	}
	sort.Strings(lines)
	return lines
}

// compareTrees checks that out has the structure of in and that every
// string that differs now holds a placeholder (itself, or once decoded
// from base64).
func compareTrees(t *testing.T, path string, in, out any) {
	t.Helper()
	switch a := in.(type) {
	case map[string]any:
		b, ok := out.(map[string]any)
		if !ok || len(a) != len(b) {
			t.Errorf("%s: object changed shape", path)
			return
		}
		for k, v := range a {
			compareTrees(t, path+"/"+k, v, b[k])
		}
	case []any:
		b, ok := out.([]any)
		if !ok || len(a) != len(b) {
			t.Errorf("%s: array changed shape", path)
			return
		}
		for i := range a {
			compareTrees(t, fmt.Sprintf("%s/%d", path, i), a[i], b[i])
		}
	case string:
		b, ok := out.(string)
		if !ok {
			t.Errorf("%s: no longer a string", path)
			return
		}
		if a == b || placeholderRe.MatchString(b) {
			return
		}
		if dec, err := base64.StdEncoding.DecodeString(b); err == nil && placeholderRe.Match(dec) {
			return
		}
		t.Errorf("%s: changed without a placeholder", path)
	default:
		if fmt.Sprint(in) != fmt.Sprint(out) {
			t.Errorf("%s: %v became %v", path, in, out)
		}
	}
}
