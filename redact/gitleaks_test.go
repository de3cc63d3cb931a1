package redact

import (
	"testing"

	"github.com/zricethezav/gitleaks/v8/config"
)

// TestGitleaksDefaults: the lazily compiled default rules are gitleaks'
// own (as its Translate reads them), and every one compiles.
func TestGitleaksDefaults(t *testing.T) {
	lazy, err := defaultGitleaks()
	if err != nil {
		t.Fatal(err)
	}
	strict, err := parseGitleaks(config.DefaultConfig, "default", skippedRules)
	if err != nil {
		t.Fatal(err)
	}
	if len(lazy.rules) != len(strict.rules) || len(lazy.rules) < 200 {
		t.Fatalf("%d rules read lazily, %d by gitleaks", len(lazy.rules), len(strict.rules))
	}
	if len(lazy.global) != len(strict.global) {
		t.Errorf("%d global allowlists, gitleaks has %d", len(lazy.global), len(strict.global))
	}
	byID := map[string]*gitleaksRule{}
	for _, r := range strict.rules {
		byID[r.id] = r
	}
	for _, r := range lazy.rules {
		s := byID[r.id]
		if s == nil {
			t.Errorf("%s: not in gitleaks' own reading", r.id)
			continue
		}
		if !r.compile() {
			t.Errorf("%s: does not compile", r.id)
			continue
		}
		if r.re.String() != s.re.String() || r.group != s.group || r.entropy != s.entropy || len(r.keywords) != len(s.keywords) || len(r.allow) != len(s.allow) {
			t.Errorf("%s: differs from gitleaks' reading", r.id)
		}
	}
}
