package demorun

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apitape/apitape/capture/browser"
)

// TestReadmeStepsFitDemoUI keeps README's steps-file example runnable
// against `apitape demo serve`, as the README says: every element it
// names by id is in the demo UI, and the form it fills (#cluster-network)
// is opened first. (Run for real, it records a login and a new cluster.)
func TestReadmeStepsFitDemoUI(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "A steps file is a YAML or JSON list")
	if !ok {
		t.Fatal("README has no steps-file example")
	}
	_, rest, _ = strings.Cut(rest, "```yaml\n")
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("README's steps-file example has no yaml block")
	}
	steps, err := browser.ParseSteps("README.md", []byte(block))
	if err != nil {
		t.Fatal(err)
	}
	ui, err := os.ReadFile(filepath.Join("..", "demo", "ui", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	opened := false
	for _, s := range steps {
		if id, ok := strings.CutPrefix(s.Selector, "#"); ok {
			if !strings.Contains(string(ui), `id="`+id+`"`) {
				t.Errorf("README step at line %d: the demo UI has no element %s", s.Line, s.Selector)
			}
		}
		if s.Action == "click" && s.Selector == "#add-cluster" {
			opened = true
		}
		if s.Selector == "#cluster-network" && !opened {
			t.Errorf("README step at line %d: %s is in the Add cluster form, which no earlier step opens", s.Line, s.Selector)
		}
	}
}
