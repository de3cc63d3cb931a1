package redact

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"

	"github.com/apitape/apitape/convert"
	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/selection"
)

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// catalogueHAR is every secret case's entries in one HAR, and every canary.
func catalogueHAR() (string, []string, *Rules) {
	var entries, secrets []string
	rules := &Rules{}
	for _, tc := range secretCases() {
		c := newCanaries(tc.id)
		entries = append(entries, tc.build(c).entries...)
		secrets = append(secrets, c.secrets...)
		if tc.opts.Rules != nil {
			rules.Cookies = append(rules.Cookies, tc.opts.Rules.Cookies...)
		}
	}
	return harOf(entries...), secrets, rules
}

func convertHAR(t *testing.T, in, format string, exact bool, redactor *Redactor) string {
	t.Helper()
	var out bytes.Buffer
	opts := convert.Options{Format: format, Name: "case.har", Exact: exact, Selection: selection.Filter{All: true}}
	if redactor != nil {
		opts.Redact = func(i int, raw []byte) ([]byte, error) {
			b, _, err := redactor.Entry(i, raw)
			return b, err
		}
	}
	if _, err := convert.Convert(har.NewReader(strings.NewReader(in), "case.har"), &out, opts); err != nil {
		t.Fatalf("convert --to %s: %v", format, err)
	}
	return out.String()
}

// testScripts is S9: curl, bash and Go made from a redacted HAR hold no
// canary and nothing scan flags (placeholders became APITAPE_SECRET_…
// variables); made from the unredacted HAR with --exact, scan flags them.
func testScripts(t *testing.T) {
	in, secrets, rules := catalogueHAR()
	redacted, _, _ := redactString(t, newTestRedactor(t, Options{Rules: rules}), in)
	scanText := func(text, name string) []Finding {
		scanner, _ := NewScanner(rules) // a Scanner remembers what it found: one per file
		f, _ := scanner.ScanText(strings.NewReader(text), name)
		return f
	}
	for _, format := range []string{"curl", "bash", "go"} {
		for _, exact := range []bool{false, true} {
			name := format
			if exact {
				name += " --exact"
			}
			script := convertHAR(t, redacted, format, exact, nil)
			assertGone(t, name+" from the redacted HAR", script, secrets)
			if !strings.Contains(script, "APITAPE_SECRET_") {
				t.Errorf("%s: no APITAPE_SECRET_ variable", name)
			}
			if f := scanText(script, name); len(f) > 0 {
				t.Errorf("%s from the redacted HAR: scan finds %d: %v", name, len(f), notKnown(f))
			}
			// The convert hook: redacting entry by entry on the way in.
			hooked := convertHAR(t, in, format, exact, newTestRedactor(t, Options{Rules: rules}))
			assertGone(t, name+" through the Redact hook", hooked, secrets)
		}
		raw := convertHAR(t, in, format, true, nil)
		scan := func(text string) string { return findingSet(scanText(text, format)) }
		base := scan(raw)
		total, found := 0, 0
		for _, s := range secrets {
			stripped := raw
			for _, f := range spellings(s) {
				stripped = strings.ReplaceAll(stripped, f, "")
			}
			if stripped == raw {
				continue
			}
			total++
			if scan(stripped) != base {
				found++
			} else {
				where := ""
				for _, line := range strings.Split(raw, "\n") {
					for _, f := range spellings(s) {
						if strings.Contains(line, f) {
							where = line
						}
					}
				}
				t.Errorf("%s --exact: scan does not see a canary (length %d) in %.160q", format, len(s), where)
			}
		}
		t.Logf("scan recall on %s --exact from the unredacted catalogue: %d/%d canaries", format, found, total)
	}
}

// notKnown leaves out echoes, to show what scan first found.
func notKnown(fs []Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Rule != "known-value" {
			out = append(out, f)
		}
	}
	return out
}
