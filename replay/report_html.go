package replay

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"sync"

	"github.com/apitape/apitape/replay/internal/jsondiff"
)

// WriteHTML writes a single-file HTML report (inline CSS, no scripts, no
// external assets): totals, a table of every call, and for each call that
// differed its fields with recorded and live values and the two bodies side
// by side, the live one aligned to the recorded one, noise greyed out and
// long unchanged stretches folded.
func WriteHTML(w io.Writer, res *Result) error {
	v := htmlView{Result: res, Title: "apitape replay"}
	if res.Source != "" {
		v.Title += ": " + res.Source
	}
	for _, c := range res.Calls {
		_, _, mark := outcomeMark(c.Outcome)
		hc := htmlCall{Call: c, Mark: mark, Class: string(c.Outcome)}
		for _, d := range c.Differences {
			hc.Diffs = append(hc.Diffs, htmlDiff{Difference: d, Rec: cellValue(d, true), Live: cellValue(d, false)})
		}
		hc.Blocks = foldRows(c.Rows, 3)
		if c.Outcome == Fail || c.Outcome == Warn || c.Outcome == Error {
			v.Details = append(v.Details, hc)
		}
		v.Calls = append(v.Calls, hc)
	}
	return htmlTemplate().Execute(w, v)
}

type htmlView struct {
	*Result
	Title   string
	Calls   []htmlCall
	Details []htmlCall
}

type htmlCall struct {
	*Call
	Mark, Class string
	Diffs       []htmlDiff
	Blocks      []rowBlock
}

type htmlDiff struct {
	Difference
	Rec, Live string
}

// rowBlock is a run of rows, folded when it is a long unchanged stretch.
type rowBlock struct {
	Folded bool
	Rows   []htmlRow
}

type htmlRow struct {
	jsondiff.Row
	Class  string
	Indent string
}

func cellValue(d Difference, rec bool) string {
	if rec && d.Change == "extra" || !rec && d.Change == "missing" {
		return "—"
	}
	v := d.Live
	if rec {
		v = d.Recorded
	}
	if s, ok := v.(string); ok && (d.Kind == "header" || d.Kind == "status" || d.Change == "invalid-json" || d.Diff != "") {
		return s
	}
	s := short(v)
	if len(s) > 2000 {
		s = s[:2000] + "…"
	}
	return s
}

var rowClass = map[jsondiff.Op]string{
	jsondiff.Same: "same", jsondiff.Differ: "differ", jsondiff.Removed: "removed", jsondiff.Added: "added", jsondiff.Noise: "noise",
}

// foldRows groups rows so that unchanged runs longer than 2*ctx+2 keep ctx
// rows of context on each side and fold the middle.
func foldRows(rows []jsondiff.Row, ctx int) []rowBlock {
	var blocks []rowBlock
	add := func(folded bool, rs []jsondiff.Row) {
		if len(rs) == 0 {
			return
		}
		// An unfolded run continues the unfolded block before it.
		if n := len(blocks); folded || n == 0 || blocks[n-1].Folded {
			blocks = append(blocks, rowBlock{Folded: folded})
		}
		b := &blocks[len(blocks)-1]
		for _, r := range rs {
			b.Rows = append(b.Rows, toHTMLRow(r))
		}
	}
	for i := 0; i < len(rows); {
		same := rows[i].Op == jsondiff.Same
		j := i + 1
		for j < len(rows) && (rows[j].Op == jsondiff.Same) == same {
			j++
		}
		run := rows[i:j]
		head, tail := ctx, ctx
		if i == 0 {
			head = 0
		}
		if j == len(rows) {
			tail = 0
		}
		if !same || len(run) <= head+tail+2 {
			add(false, run)
		} else {
			add(false, run[:head])
			add(true, run[head:len(run)-tail])
			add(false, run[len(run)-tail:])
		}
		i = j
	}
	return blocks
}

func toHTMLRow(r jsondiff.Row) htmlRow {
	return htmlRow{Row: r, Class: rowClass[r.Op], Indent: fmt.Sprintf("%dch", 2*min(r.Depth, 40))}
}

// pathHTML escapes a field path and lets the browser break it only between
// its segments ($.a.b[3], header:Set-Cookie[x]), never inside a key: a
// <wbr> before each "." and "[" and after each ":" and "/".
func pathHTML(p string) template.HTML {
	var b strings.Builder
	for i, r := range p {
		if i > 0 && (r == '.' || r == '[') {
			b.WriteString("<wbr>")
		}
		b.WriteString(template.HTMLEscapeString(string(r)))
		if r == ':' || r == '/' {
			b.WriteString("<wbr>")
		}
	}
	return template.HTML(b.String())
}

// htmlReportTemplate is the HTML report, kept as HTML in its own file.
//
//go:embed report.html.tmpl
var htmlReportTemplate string

// htmlTemplate is parsed on first use, not at the start of every apitape
// process.
var htmlTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Funcs(template.FuncMap{
		"pct": func(n, total int) string {
			if total == 0 {
				return "0"
			}
			return fmt.Sprintf("%.1f", float64(n)*100/float64(total))
		},
		"ms": func(ms float64) string {
			if ms >= 1000 {
				return fmt.Sprintf("%.2f s", ms/1000)
			}
			return fmt.Sprintf("%.1f ms", ms)
		},
		"join":     strings.Join,
		"headline": Headline,
		"path":     pathHTML,
	}).Parse(htmlReportTemplate))
})
