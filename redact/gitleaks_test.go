package redact

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/viper"
	"github.com/zricethezav/gitleaks/v8/config"
)

// translate reads a config the way gitleaks itself does (viper and
// Translate), for comparison.
func translate(t *testing.T, text string) config.Config {
	t.Helper()
	v := viper.New()
	v.SetConfigType("toml")
	if err := v.ReadConfig(strings.NewReader(text)); err != nil {
		t.Fatal(err)
	}
	var vc config.ViperConfig
	if err := v.Unmarshal(&vc); err != nil {
		t.Fatal(err)
	}
	cfg, err := vc.Translate()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestGitleaksDefaults: apitape's reading of gitleaks' default config
// (lazily compiled) has gitleaks' own rules, and every one compiles.
func TestGitleaksDefaults(t *testing.T) {
	lazy, err := defaultGitleaks()
	if err != nil {
		t.Fatal(err)
	}
	cfg := translate(t, config.DefaultConfig)
	want := 0
	for id, r := range cfg.Rules {
		if r.Regex == nil || skippedRules[id] || len(r.RequiredRules) > 0 {
			continue
		}
		want++
	}
	if len(lazy.rules) != want || want < 200 {
		t.Fatalf("%d rules read, gitleaks has %d that apply to values", len(lazy.rules), want)
	}
	if len(lazy.global) != len(cfg.Allowlists) {
		t.Errorf("%d global allowlists, gitleaks has %d", len(lazy.global), len(cfg.Allowlists))
	}
	for _, r := range lazy.rules {
		g, ok := cfg.Rules[r.id]
		if !ok {
			t.Errorf("%s: not one of gitleaks' rules", r.id)
			continue
		}
		if !r.compile() {
			t.Errorf("%s: does not compile", r.id)
			continue
		}
		if r.re.String() != g.Regex.String() || r.group != g.SecretGroup || r.entropy != g.Entropy || len(r.keywords) != len(g.Keywords) || len(r.allow) != len(g.Allowlists) {
			t.Errorf("%s: differs from gitleaks' reading", r.id)
		}
	}
}

// TestGitleaksExtend: [extend] useDefault keeps the defaults, path reads
// another config, disabledRules drops rules, and a rule of the same id
// refines the extended one.
func TestGitleaksExtend(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("base.toml", "[extend]\nuseDefault = true\ndisabledRules = [\"npm-access-token\"]\n\n[[rules]]\nid = \"acme\"\nregex = '''acme_[a-z]{8}'''\nkeywords = [\"acme_\"]\n")
	top := write("top.toml", "[extend]\npath = \"base.toml\"\n\n[[rules]]\nid = \"acme\"\nentropy = 1.5\n[[rules.allowlists]]\nstopwords = [\"acme_example\"]\n")
	var r Rules
	if err := r.LoadGitleaksConfig(top); err != nil {
		t.Fatal(err)
	}
	ids := map[string]*gitleaksRule{}
	for _, g := range r.gitleaks.rules {
		ids[g.id] = g
	}
	if ids["openai-api-key"] == nil || ids["npm-access-token"] != nil {
		t.Errorf("defaults not kept, or a disabled rule kept")
	}
	a := ids["acme"]
	if a == nil || a.re.String() != "acme_[a-z]{8}" || a.entropy != 1.5 || len(a.allow) != 1 || len(a.keywords) != 1 {
		t.Fatalf("acme rule not refined: %+v", a)
	}
	if hits := r.gitleaks.find("x acme_qzwxrtyp y acme_examples z", nil); len(hits) != 1 {
		t.Errorf("hits %v, want the token and not the stopword", hits)
	}
	deep := write("deep.toml", "[extend]\npath = \"top.toml\"\n")
	if err := (&Rules{}).LoadGitleaksConfig(deep); err == nil || !strings.Contains(err.Error(), "nests more than") {
		t.Errorf("deep extend: %v", err)
	}
}
