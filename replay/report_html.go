package replay

import (
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
	}).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
:root{--bg:#fff;--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--pass:#1a7f37;--fail:#cf222e;--warn:#9a6700;--err:#8250df;--rm:#ffebe9;--rmx:#ffcecb;--add:#dafbe1;--addx:#aceebb;--chg:#fff8c5;--noise:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
header,main{max-width:1400px;margin:0 auto;padding:16px 24px}
header{border-bottom:1px solid var(--line)}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}h3{font-size:15px;margin:0;font-weight:600}
code,.mono,.sbs,.path{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.meta{color:var(--muted);margin:0 0 10px}
.badges span{display:inline-block;padding:2px 10px;margin-right:6px;border-radius:12px;font-weight:600;color:#fff}
.b-pass{background:var(--pass)}.b-fail{background:var(--fail)}.b-warn{background:var(--warn)}.b-error{background:var(--err)}.b-skipped{background:var(--muted)}
.headline{color:var(--fg)}
.bar{display:flex;height:6px;border-radius:3px;overflow:hidden;margin-top:10px;background:var(--line)}
.bar i{display:block}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--noise);font-weight:600}
.calls td.m{width:1.5em;font-weight:700}
tr.pass td.m,.pass .m{color:var(--pass)}tr.fail td.m,.fail .m{color:var(--fail)}tr.warn td.m,.warn .m{color:var(--warn)}tr.error td.m,.error .m{color:var(--err)}tr.skipped{color:var(--muted)}
a{color:#0969da;text-decoration:none}a:hover{text-decoration:underline}
article{border:1px solid var(--line);border-radius:6px;margin:12px 0;overflow:hidden}
article>header{background:var(--noise);padding:8px 12px;border-bottom:1px solid var(--line);max-width:none}
article.fail>header{border-left:4px solid var(--fail)}article.warn>header{border-left:4px solid var(--warn)}article.error>header{border-left:4px solid var(--err)}
article .body{padding:8px 12px;overflow-x:auto}
.diffs td.rec{background:var(--rm)}.diffs td.live{background:var(--add)}
.diffs td{white-space:pre-wrap}.diffs td.rec,.diffs td.live{overflow-wrap:anywhere;min-width:12ch}
td.path{white-space:normal;overflow-wrap:normal;word-break:normal;hyphens:none;min-width:14ch}
.note,.aff{color:var(--muted);margin:4px 0}
details{margin:8px 0}summary{cursor:pointer;color:var(--muted)}
.sbs{display:grid;grid-template-columns:1fr 1fr;border:1px solid var(--line);border-radius:4px;overflow:hidden}
.sbs .hd{background:var(--noise);padding:4px 8px;font-weight:600;border-bottom:1px solid var(--line);font-family:inherit}
.sbs .c{white-space:pre-wrap;word-break:break-all;padding:0 8px;min-height:1.4em;border-right:1px solid var(--line)}
.sbs .row{display:contents}
.row.removed .l{background:var(--rmx)}.row.removed .r{background:var(--noise)}
.row.added .r{background:var(--addx)}.row.added .l{background:var(--noise)}
.row.differ .l{background:var(--rm)}.row.differ .r{background:var(--add)}
.row.noise .c{color:var(--muted);font-style:italic}
.rule{float:right;font-size:11px;color:var(--muted);font-style:normal;margin-left:8px}
.sbs details{grid-column:1/3;margin:0;background:var(--noise);border-top:1px dashed var(--line);border-bottom:1px dashed var(--line)}
.sbs details>summary{padding:0 8px;font-family:inherit;font-size:12px}
.sbs details .inner{display:grid;grid-template-columns:1fr 1fr;background:var(--bg)}
.diffpre{background:var(--noise);padding:8px;overflow:auto;white-space:pre;margin:6px 0}
footer{color:var(--muted);text-align:center;padding:24px}
</style>
</head>
<body>
<header>
<h1>Replay of <code>{{if .Source}}{{.Source}}{{else}}recording{{end}}</code> against <code>{{.Target}}</code></h1>
<p class="meta">{{.Started.Format "2006-01-02 15:04:05 MST"}} · {{ms .DurationMS}} · concurrency {{.Concurrency}} · fail on {{.FailOn}}{{if .NoiseRuns}} · {{.NoiseRuns}} noise runs against {{if .Baseline}}<code>{{.Baseline}}</code>{{else}}the target{{end}}{{end}}{{if .Interrupted}} · <strong>interrupted</strong>{{end}}</p>
<div class="badges" id="summary">
<span class="b-pass">{{.Summary.Passed}} passed</span>{{if .Summary.Warned}}<span class="b-warn">{{.Summary.Warned}} with differences not counted</span>{{end}}<span class="b-fail">{{.Summary.Failed}} failed</span>{{if .Summary.Errors}}<span class="b-error">{{.Summary.Errors}} without answer</span>{{end}}{{if .Summary.Skipped}}<span class="b-skipped">{{.Summary.Skipped}} skipped</span>{{end}}
<span class="headline">{{headline .Summary}}{{if .Summary.Affected}} · {{.Summary.Affected}} after an earlier failure{{end}}{{if .Summary.Unreachable}} · <strong>target unreachable</strong>{{end}}</span>
</div>
<div class="bar"><i style="width:{{pct .Summary.Passed .Summary.Calls}}%;background:var(--pass)"></i><i style="width:{{pct .Summary.Warned .Summary.Calls}}%;background:var(--warn)"></i><i style="width:{{pct .Summary.Failed .Summary.Calls}}%;background:var(--fail)"></i><i style="width:{{pct .Summary.Errors .Summary.Calls}}%;background:var(--err)"></i></div>
</header>
<main>
{{if .Details}}<h2>Differences</h2>{{end}}
{{range .Details}}
<article class="{{.Class}}" id="call-{{.Index}}">
<header><h3><span class="m">{{.Mark}}</span> {{.Index}} {{.Method}} <span class="mono">{{.Path}}</span> · {{if .Error}}{{.Error.Kind}}{{else}}{{.Status}}{{if and .RecordedStatus (ne .RecordedStatus .Status)}} (recorded {{.RecordedStatus}}){{end}}{{end}}</h3></header>
<div class="body">
{{if .AffectedBy}}<p class="aff">Probably follows from the failure of <a href="#call-{{.AffectedBy}}">entry {{.AffectedBy}}</a>.</p>{{end}}
{{if .Error}}<p><strong>No answer:</strong> <span class="mono">{{.Error.Message}}</span></p>{{end}}
{{if .Diffs}}
<table class="diffs"><thead><tr><th>Field</th><th>Change</th><th>Recorded</th><th>Live</th></tr></thead><tbody>
{{range .Diffs}}<tr><td class="path">{{path .Path}}{{if not .Failing}} <small>(not counted)</small>{{end}}</td><td>{{.Change}}</td><td class="rec mono">{{.Rec}}</td><td class="live mono">{{.Live}}</td></tr>
{{end}}</tbody></table>
{{range .Diffs}}{{if .Diff}}<pre class="diffpre">{{.Diff}}</pre>{{end}}{{end}}
{{end}}
{{if .Blocks}}
<details open><summary>Response bodies side by side (live aligned to recorded)</summary>
<div class="sbs"><div class="hd">recorded</div><div class="hd">live</div>
{{range .Blocks}}{{if .Folded}}<details><summary>⋯ {{len .Rows}} unchanged lines</summary><div class="inner">{{template "rows" .Rows}}</div></details>{{else}}{{template "rows" .Rows}}{{end}}{{end}}
</div></details>
{{end}}
{{range .Notes}}<p class="note">{{.}}</p>{{end}}
{{if .Ignored}}<details><summary>{{len .Ignored}} ignored differences</summary><table><tbody>{{range .Ignored}}<tr><td class="path">{{path .Path}}</td><td>{{.Rule}}</td></tr>{{end}}</tbody></table></details>{{end}}
</div>
</article>
{{end}}
<h2>Calls</h2>
<table class="calls"><thead><tr><th></th><th>#</th><th>Method</th><th>Path</th><th>Status</th><th>Time</th><th>Differences</th><th>Ignored</th></tr></thead><tbody>
{{range .Calls}}<tr class="{{.Class}}"><td class="m">{{.Mark}}</td><td>{{if .Diffs}}<a href="#call-{{.Index}}">{{.Index}}</a>{{else if .Error}}<a href="#call-{{.Index}}">{{.Index}}</a>{{else}}{{.Index}}{{end}}</td><td>{{.Method}}</td><td class="mono">{{.Path}}</td><td>{{if .Skipped}}{{.Skipped}}{{else if .Error}}{{.Error.Kind}}{{else}}{{.Status}}{{if and .RecordedStatus (ne .RecordedStatus .Status)}} ({{.RecordedStatus}}){{end}}{{end}}</td><td>{{if not .Skipped}}{{ms .DurationMS}}{{end}}</td><td>{{len .Diffs}}</td><td>{{len .Ignored}}</td></tr>
{{end}}</tbody></table>
{{if .Mapped}}<h2>Values mapped (recorded → live)</h2>
<table><thead><tr><th>Recorded</th><th>Live</th><th>Learned at</th></tr></thead><tbody>
{{range .Mapped}}<tr><td class="mono">{{.Recorded}}</td><td class="mono">{{.Live}}</td><td>{{if .Var}}<span class="mono">{{.Var}}</span> from {{end}}entry {{.Call}}, <span class="mono">{{.Where}}</span></td></tr>{{end}}
</tbody></table>{{end}}
{{if .Summary.Ignored}}<h2>Ignored fields</h2>
<table><thead><tr><th>Field</th><th>Rule</th><th>Times</th></tr></thead><tbody>
{{range .Summary.Ignored}}<tr><td class="path">{{path .Path}}</td><td>{{.Rule}}</td><td>{{.Count}}</td></tr>{{end}}
</tbody></table>{{end}}
</main>
<footer>apitape replay · report schema {{.Schema}}</footer>
</body>
</html>
{{define "rows"}}{{range .}}<div class="row {{.Class}}"><div class="c l"><span style="padding-left:{{.Indent}}">{{.Left}}</span>{{if and .Note .Left}}<span class="rule">{{.Note}}</span>{{end}}</div><div class="c r"><span style="padding-left:{{.Indent}}">{{.Right}}</span>{{if and .Note .Right}}<span class="rule">{{.Note}}</span>{{end}}</div></div>{{end}}{{end}}
`))
})
