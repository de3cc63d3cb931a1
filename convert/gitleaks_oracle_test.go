package convert

import (
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/selection"
	"github.com/zricethezav/gitleaks/v8/detect"
)

// TestGitleaksFindsNothingInScripts runs gitleaks' own detector, default
// rules, over what every target generates from recordings with secrets,
// redacted as convert redacts by default: a script can be committed where
// CI runs gitleaks. gitleaks must find the secrets in the recordings
// themselves, so the test can tell.
func TestGitleaksFindsNothingInScripts(t *testing.T) {
	d, err := detect.NewDetectorDefaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	d.MaxDecodeDepth = 5
	files := []string{filepath.Join("testdata", "demo-session.har"), filepath.Join("testdata", "session.har")}
	if more, _ := filepath.Glob(filepath.Join("..", "..", "shared", "har-corpus", "*.har")); more != nil {
		files = append(files, more...)
	}
	// A JWT made here (the repository holds no token shape): its header
	// and claims stay in a script, its signature becomes a variable.
	b64 := base64.RawURLEncoding.EncodeToString
	sig := make([]byte, 64)
	rand.Read(sig)
	jwt := b64([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + b64([]byte(`{"sub":"u-7k2p","exp":1735689600}`)) + "." + b64(sig)
	e := &har.Entry{Request: har.Request{Method: "GET", URL: "https://rancher.example/v3/clusters", HTTPVersion: "HTTP/1.1",
		Headers: []har.NameValue{{Name: "Authorization", Value: "Bearer " + jwt}}}, Response: har.Response{Status: 200}}
	jwtHAR := filepath.Join(t.TempDir(), "jwt.har")
	if err := os.WriteFile(jwtHAR, writeHAR(t, []*har.Entry{e}), 0o600); err != nil {
		t.Fatal(err)
	}
	files = append(files, jwtHAR)
	before, scripts := 0, 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		before += len(d.DetectBytes(data))
		for _, format := range Formats() {
			out := convertBytes(t, data, Options{Format: format.Name, Redact: testRedactor(t), Selection: selection.Filter{All: true}})
			scripts++
			for _, fd := range d.DetectBytes(out) {
				t.Errorf("%s --to %s: gitleaks finds %s at line %d (%d bytes)", filepath.Base(f), format.Name, fd.RuleID, fd.StartLine, len(fd.Secret))
			}
		}
	}
	if before == 0 {
		t.Fatal("gitleaks finds nothing in the recordings either: the detector is not working")
	}
	t.Logf("%d scripts from %d recordings (%d gitleaks findings before redaction): none found after", scripts, len(files), before)
}
