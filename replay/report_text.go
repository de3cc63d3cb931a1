package replay

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/apitape/apitape/internal/english"
)

// TextOption tunes [WriteText].
type TextOption func(*textOpts)

type textOpts struct {
	color   bool
	verbose bool
}

// Color turns ANSI colours on (for terminals; the CLI decides by TTY and
// NO_COLOR and TERM=dumb).
func Color(on bool) TextOption { return func(o *textOpts) { o.color = on } }

// Verbose lists the ignored fields of every call, not only the totals.
func Verbose(on bool) TextOption { return func(o *textOpts) { o.verbose = on } }

const (
	ansiReset  = "\x1b[0m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiMag    = "\x1b[35m"
	ansiDim    = "\x1b[2m"
	ansiBold   = "\x1b[1m"
)

// WriteText writes the terminal report: one line per call (✓ pass, ✗ fail,
// ~ differences that --fail-on does not count, ! no answer, - skipped),
// then under each call that differed its fields with recorded and live
// values (a unified diff for text bodies), then what was ignored and
// mapped, and the totals.
func WriteText(w io.Writer, res *Result, opts ...TextOption) error {
	var o textOpts
	for _, f := range opts {
		f(&o)
	}
	bw := bufio.NewWriter(w)
	paint := func(code, s string) string {
		if !o.color {
			return s
		}
		return code + s + ansiReset
	}
	src := res.Source
	if src == "" {
		src = "recording"
	}
	fmt.Fprintf(bw, "replay of %s against %s", src, res.Target)
	if res.NoiseRuns > 0 {
		base := res.Baseline
		if base == "" {
			base = "the target"
		}
		fmt.Fprintf(bw, " (%d noise runs against %s)", res.NoiseRuns, base)
	}
	bw.WriteString("\n")
	for _, c := range res.Calls {
		writeTextCall(bw, c, paint)
		if o.verbose && len(c.Ignored) > 0 {
			for _, ig := range c.Ignored {
				fmt.Fprintf(bw, "    %s %s\n", paint(ansiDim, "ignored "+ig.Path), paint(ansiDim, "("+ig.Rule+")"))
			}
		}
	}
	if len(res.Summary.Ignored) > 0 {
		bw.WriteString("\nignored (rule: fields)\n")
		byRule := map[string][]string{}
		var rules []string
		for _, ic := range res.Summary.Ignored {
			if byRule[ic.Rule] == nil {
				rules = append(rules, ic.Rule)
			}
			byRule[ic.Rule] = append(byRule[ic.Rule], fmt.Sprintf("%s ×%d", ic.Path, ic.Count))
		}
		for _, rule := range rules {
			fmt.Fprintf(bw, "  %s: %s\n", rule, strings.Join(firstN(byRule[rule], 8), ", "))
		}
	}
	if len(res.Mapped) > 0 {
		bw.WriteString("\nmapped (recorded → live)\n")
		for _, p := range res.Mapped {
			from := ""
			if p.Var != "" {
				from = p.Var + " from "
			}
			fmt.Fprintf(bw, "  %s → %s  (%sentry %d, %s)\n", p.Recorded, p.Live, from, p.Call, p.Where)
		}
	}
	bw.WriteString("\n" + summaryLine(res, paint) + "\n")
	return bw.Flush()
}

// outcomeMark is how the reports mark an outcome: the text report's mark
// and colour, and the HTML report's mark.
func outcomeMark(o Outcome) (text, color, html string) {
	switch o {
	case Fail:
		return "✗", ansiRed, "✗"
	case Warn:
		return "~", ansiYellow, "~"
	case Error:
		return "!", ansiMag, "!"
	case Skipped:
		return "-", ansiDim, "–"
	}
	return "✓", ansiGreen, "✓"
}

func writeTextCall(bw *bufio.Writer, c *Call, paint func(string, string) string) {
	mark, color, _ := outcomeMark(c.Outcome)
	line := fmt.Sprintf("%s %d %s %s", paint(color, mark), c.Index, c.Method, c.Path)
	switch {
	case c.Outcome == Skipped:
		line += paint(ansiDim, "  skipped: "+c.Skipped)
	case c.Outcome == Error:
		line += "  " + paint(ansiMag, c.Error.Kind+": "+c.Error.Message)
	default:
		line += fmt.Sprintf(" %d", c.Status)
		if c.RecordedStatus != 0 && c.RecordedStatus != c.Status {
			line += paint(ansiRed, fmt.Sprintf(" (recorded %d)", c.RecordedStatus))
		}
	}
	if c.AffectedBy != nil {
		line += paint(ansiDim, fmt.Sprintf("  (after entry %d failed)", *c.AffectedBy))
	}
	bw.WriteString(line + "\n")
	for _, d := range c.Differences {
		writeTextDiff(bw, d, paint)
	}
	for _, n := range c.Notes {
		bw.WriteString("    " + paint(ansiDim, "note: "+n) + "\n")
	}
}

func writeTextDiff(bw *bufio.Writer, d Difference, paint func(string, string) string) {
	path := paint(ansiBold, d.Path)
	if !d.Failing {
		path += paint(ansiDim, " (not counted by --fail-on)")
	}
	switch {
	case d.Kind == "status":
		fmt.Fprintf(bw, "    %s: recorded %v, live %v\n", path, d.Recorded, d.Live)
	case d.Kind == "time":
		fmt.Fprintf(bw, "    %s: recorded %v ms, live %v ms\n", path, d.Recorded, d.Live)
	case d.Change == "missing":
		fmt.Fprintf(bw, "    %s: %s (recorded %s)\n", path, paint(ansiRed, "missing"), short(d.Recorded))
	case d.Change == "extra":
		fmt.Fprintf(bw, "    %s: %s (live %s)\n", path, paint(ansiGreen, "extra"), short(d.Live))
	case d.Change == "replaced":
		fmt.Fprintf(bw, "    %s: a different answer (%v); live %s\n", path, d.Recorded, paint(ansiGreen, short(d.Live)))
	case d.Change == "invalid-json":
		fmt.Fprintf(bw, "    %s: the live answer is %v\n", path, d.Live)
	case d.Diff != "":
		if d.Path == "body" {
			fmt.Fprintf(bw, "    %s: recorded %v, live %v\n", path, d.Recorded, d.Live)
		} else {
			fmt.Fprintf(bw, "    %s: changed\n", path)
		}
		for _, l := range strings.Split(strings.TrimSuffix(d.Diff, "\n"), "\n") {
			switch {
			case strings.HasPrefix(l, "---"), strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "@@"):
				l = paint(ansiDim, l)
			case strings.HasPrefix(l, "-"):
				l = paint(ansiRed, l)
			case strings.HasPrefix(l, "+"):
				l = paint(ansiGreen, l)
			}
			bw.WriteString("      " + l + "\n")
		}
	default:
		fmt.Fprintf(bw, "    %s: recorded %s, live %s\n", path, paint(ansiRed, short(d.Recorded)), paint(ansiGreen, short(d.Live)))
	}
}

// firstN keeps the first n items and says how many more there were.
func firstN(items []string, n int) []string {
	if len(items) <= n {
		return items
	}
	return append(items[:n:n], fmt.Sprintf("… %d more", len(items)-n))
}

// short renders a value as compact JSON, cut to fit a line.
func short(v any) string {
	b, err := json.Marshal(v)
	s := string(b)
	if err != nil {
		s = fmt.Sprint(v)
	}
	if len(s) > 160 {
		s = s[:157] + "…"
	}
	return s
}

// Headline is the one sentence every report and the CLI use for the
// outcome: how many of the calls sent regressed (failed, or got no answer),
// and how many failing differences they had. Calls and differences are
// never both called "regressions" (the HTML header once said "6
// regressions in 14 calls" beside "3 of 14 calls regressed").
func Headline(s Summary) string {
	h := fmt.Sprintf("%d of %d calls regressed", s.Failed+s.Errors, s.Calls-s.Skipped)
	switch {
	case s.Regressions == 1:
		h += " (1 failing difference)"
	case s.Regressions > 1:
		h += fmt.Sprintf(" (%d failing differences)", s.Regressions)
	}
	return h
}

func summaryLine(res *Result, paint func(string, string) string) string {
	s := res.Summary
	parts := []string{fmt.Sprintf("%d passed", s.Passed)}
	if s.Warned > 0 {
		parts = append(parts, paint(ansiYellow, fmt.Sprintf("%d with differences not counted", s.Warned)))
	}
	if s.Failed > 0 {
		f := fmt.Sprintf("%d failed", s.Failed)
		if s.Affected > 0 {
			f += fmt.Sprintf(" (%d after an earlier failure)", s.Affected)
		}
		parts = append(parts, paint(ansiRed, f))
	} else if s.Affected > 0 {
		parts = append(parts, fmt.Sprintf("%d after an earlier failure", s.Affected))
	}
	if s.Errors > 0 {
		parts = append(parts, paint(ansiMag, fmt.Sprintf("%d without answer", s.Errors)))
	}
	if s.Skipped > 0 {
		parts = append(parts, fmt.Sprintf("%d skipped", s.Skipped))
	}
	line := fmt.Sprintf("%s: %s; %s", english.Count(s.Calls, "call", ""), strings.Join(parts, ", "), Headline(s))
	if s.Unreachable {
		line += paint(ansiMag, "; target unreachable")
	}
	if res.Interrupted {
		line += "; interrupted"
	}
	return line
}

// WriteJSON writes the result as one JSON document (schema in REPORT.md).
func WriteJSON(w io.Writer, res *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(res)
}
