package redact

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/harschema"
	"github.com/apitape/apitape/replay/replaytest"
)

// TestSchemaAfterRedaction checks every corpus file, and a demo session
// recorded with the page's own documents and scripts (what capture browser
// --all keeps: app.js says `const csrf = cookie('CSRF')`), against an
// independent HAR schema (npm's har-validator): the redacted file must have
// exactly the schema errors its input had, so it is valid wherever the
// input was.
func TestSchemaAfterRedaction(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpusDir(t), "*.har"))
	dir := t.TempDir()
	demoHAR := filepath.Join(dir, "demo-all.har")
	if err := os.WriteFile(demoHAR, demoAllHAR(t), 0o600); err != nil {
		t.Fatal(err)
	}
	files = append(files, demoHAR)
	var all []string
	for i, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out, _, _ := redactString(t, newTestRedactor(t, Options{}), string(data))
		red := filepath.Join(dir, strings.TrimSuffix(filepath.Base(f), ".har")+".redacted.har")
		if err := os.WriteFile(red, []byte(out), 0o600); err != nil {
			t.Fatal(err)
		}
		all = append(all, files[i], red)
	}
	errs := harschema.Errors(t, all...)
	valid := 0
	for i := 0; i < len(all); i += 2 {
		name := filepath.Base(all[i])
		if !slices.Equal(errs[i], errs[i+1]) {
			t.Errorf("%s: schema errors before redaction %q, after %q", name, errs[i], errs[i+1])
		} else if errs[i+1] == nil {
			valid++
		}
		if name == "demo-all.har" && errs[i] != nil {
			t.Errorf("the demo recording itself is not valid HAR: %q", errs[i])
		}
	}
	t.Logf("%d of %d files valid after redaction (the others have exactly their input's schema errors)", valid, len(all)/2)
}

// demoAllHAR records the demo UI's documents and a browser-like session
// against a live demo server.
func demoAllHAR(t *testing.T) []byte {
	base := startDemo(t)
	rec := replaytest.NewRecorder(base)
	for _, p := range []string{"/", "/app.js", "/app.css", "/favicon.svg"} {
		if _, err := rec.Do("GET", p, ""); err != nil {
			t.Fatal(err)
		}
	}
	session, err := replaytest.RecordDemoBrowserSession(base, demoPassword)
	if err != nil {
		t.Fatal(err)
	}
	entries := append(append([]*har.Entry(nil), rec.Entries...), session...)
	if !strings.Contains(string(replaytest.HARBytes(rec.Entries[1:2])), "cookie(") {
		t.Fatal("app.js was not recorded as expected")
	}
	return replaytest.HARBytes(entries)
}
