package replay_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/apitape/apitape/replay"
)

// TestHeadlineSameEverywhere: the text summary and the HTML header state
// the outcome in one sentence, counting calls as "calls regressed" and
// differences as "failing differences" (issue 15: "6 regressions in 14
// calls" beside "3 of 14 calls regressed").
func TestHeadlineSameEverywhere(t *testing.T) {
	res := goldenResult(t)
	h := replay.Headline(res.Summary)
	if want := "6 of 7 calls regressed (7 failing differences)"; h != want {
		t.Errorf("Headline = %q, want %q", h, want)
	}
	var text, html bytes.Buffer
	replay.WriteText(&text, res)
	replay.WriteHTML(&html, res)
	lines := strings.Split(strings.TrimSpace(text.String()), "\n")
	if last := lines[len(lines)-1]; !strings.HasSuffix(last, "; "+h) {
		t.Errorf("text summary %q does not end with the headline %q", last, h)
	}
	if !strings.Contains(html.String(), `<span class="headline">`+h) {
		t.Errorf("HTML header lacks the headline %q", h)
	}
	for name, out := range map[string]string{"text": text.String(), "html": html.String()} {
		if strings.Contains(out, "regressions in") || strings.Contains(out, " regressions\n") {
			t.Errorf("%s report still counts differences as regressions", name)
		}
	}
	for _, tt := range []struct {
		s    replay.Summary
		want string
	}{
		{replay.Summary{Calls: 5, Passed: 5}, "0 of 5 calls regressed"},
		{replay.Summary{Calls: 5, Passed: 2, Failed: 1, Errors: 2, Regressions: 1}, "3 of 5 calls regressed (1 failing difference)"},
		{replay.Summary{Calls: 14, Passed: 10, Failed: 3, Skipped: 1, Regressions: 6}, "3 of 13 calls regressed (6 failing differences)"},
	} {
		if got := replay.Headline(tt.s); got != tt.want {
			t.Errorf("Headline(%+v) = %q, want %q", tt.s, got, tt.want)
		}
	}
}
