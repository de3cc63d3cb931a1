package redact

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zricethezav/gitleaks/v8/detect"
	"github.com/zricethezav/gitleaks/v8/report"
)

// TestGitleaksFindsNothingAfterRedaction runs gitleaks' own detector, with
// its default rules and the decoding depth its command line uses, over
// redacted files: planted-secret cases, the real corpus, a recorded demo
// session and a generated Rancher session. It must find nothing, so a
// redacted file passes the scan a repository's CI runs (issue #14: agree
// with the scanner CI already runs). The one allowed finding is a JWT
// whose signature is a placeholder: apitape keeps a JWT's header and
// claims, and gitleaks' jwt rule flags that shape without a signature too;
// with Strict, not even that.
func TestGitleaksFindsNothingAfterRedaction(t *testing.T) {
	d, err := detect.NewDetectorDefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	d.MaxDecodeDepth = 5
	scan := func(text string) []report.Finding { return d.DetectString(text) }
	type input struct{ name, text string }
	var inputs []input
	for _, tc := range plantedCases() {
		inputs = append(inputs, input{"planted " + tc.id + " " + tc.family, harOf(tc.build(newCanaries("planted-" + tc.id)).entries...)})
	}
	c := newCanaries("oracle-jwt")
	tok, _ := c.jwt()
	idTok, _ := c.jwt()
	jwts := harOf(ent{reqH: [][2]string{{"Authorization", "Bearer " + tok}}, text: `{"id_token":"` + idTok + `"}`}.json())
	inputs = append(inputs, input{"demo session", string(demoAllHAR(t))}, input{"rancher session", string(sessionHAR(50))}, input{"JWTs", jwts})
	if dir := filepath.Join("..", "..", "shared", "har-corpus"); dirExists(dir) {
		files, _ := filepath.Glob(filepath.Join(dir, "*.har"))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			inputs = append(inputs, input{filepath.Base(f), string(data)})
		}
	}
	before, after, kept := 0, 0, 0
	for _, in := range inputs {
		before += len(scan(in.text))
		for _, strict := range []bool{false, true} {
			out, _, _ := redactString(t, newTestRedactor(t, Options{Strict: strict}), in.text)
			for _, f := range scan(out) {
				if !strict && f.RuleID == "jwt" && placeholderRe.MatchString(f.Secret) {
					kept++
					continue
				}
				after++
				// The rule and the placeholder-free shape of what it
				// matched, never the value.
				t.Errorf("%s (strict %v): gitleaks finds %s in the redacted file (%d bytes, placeholder %v)",
					in.name, strict, f.RuleID, len(f.Secret), strings.Contains(f.Secret, "REDACTED-"))
			}
		}
	}
	if before == 0 {
		t.Fatal("gitleaks finds nothing in the inputs either: the detector is not working")
	}
	t.Logf("%d inputs: gitleaks finds %d secrets before redaction, %d after (and %d JWTs kept with their claims by default)", len(inputs), before, after, kept)
	if kept == 0 {
		t.Error("no JWT kept its claims: the default JWT policy is not what this test allows for")
	}
}

func dirExists(dir string) bool {
	fi, err := os.Stat(dir)
	return err == nil && fi.IsDir()
}
