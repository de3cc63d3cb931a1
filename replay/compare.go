package replay

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"mime"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apitape/apitape/internal/correlate"
	"github.com/apitape/apitape/internal/credential"
	"github.com/apitape/apitape/replay/internal/jsondiff"
	"github.com/sergi/go-diff/diffmatchpatch"
)

// judgement is the comparison of one call's live answer with its recording.
type judgement struct {
	diffs     []Difference
	ignored   []Ignored
	learnable []jsondiff.Change // body differences, ignored ones included
	rows      []jsondiff.Row
	notes     []string
}

// aliases are keys that mean the same thing (rancher-api.md §2: the
// X-API-Action-Links request header renames actions to actionLinks).
var aliases = map[string]string{"actions": "actionLinks", "actionLinks": "actions"}

// recorded builds (once) what the recording says the answer was.
func (c *call) recorded() *Response {
	if c.rec != nil {
		return c.rec
	}
	c.rec, c.recBody = recordedResponse(c.entry)
	if c.recBody && len(bytes.TrimSpace(c.rec.Body)) > 0 {
		ct := c.rec.Header.Get("Content-Type")
		if bodyKind(ct) == "json" || looksJSON(c.rec.Body) {
			v, err := jsondiff.Decode(c.rec.Body)
			if err == nil {
				c.rec.JSON, c.rec.IsJSON = v, true
			} else if bodyKind(ct) == "json" {
				c.recErr = err
			}
		}
	}
	return c.rec
}

func looksJSON(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 1 && (b[0] == '{' && b[len(b)-1] == '}' || b[0] == '[' && b[len(b)-1] == ']')
}

// parseLive decodes a live body as JSON when the recording's was JSON or
// the live content type says so.
func parseLive(live *Response, want bool) error {
	if live.IsJSON || len(bytes.TrimSpace(live.Body)) == 0 {
		return nil
	}
	if !want && bodyKind(live.Header.Get("Content-Type")) != "json" {
		return nil
	}
	v, err := jsondiff.Decode(live.Body)
	if err != nil {
		return err
	}
	live.JSON, live.IsJSON = v, true
	return nil
}

// failing says whether a difference of kind counts under the policy.
func (r *Runner) failing(kind string) bool {
	switch kind {
	case "status":
		return true
	case "body":
		return r.failOn != FailStatus
	}
	return r.failOn == FailAny
}

func (r *Runner) diff(j *judgement, kind, path, change string, rec, live any) *Difference {
	j.diffs = append(j.diffs, Difference{Kind: kind, Path: path, Change: change, Recorded: rec, Live: live, Failing: r.failing(kind)})
	return &j.diffs[len(j.diffs)-1]
}

// compare compares one live answer with the recording, against session s.
func (r *Runner) compare(rn *run, c *call, live *Response, dur time.Duration, s *session, rows bool) *judgement {
	j := &judgement{}
	rec := c.recorded()
	noise := &c.noise

	if rec.Status > 0 && rec.Status != live.Status {
		if noise.status {
			j.ignored = append(j.ignored, Ignored{Path: "status", Rule: RuleNoise})
		} else {
			r.diff(j, "status", "status", "changed", rec.Status, live.Status)
		}
	}
	r.compareHeaderValues(rn, j, rec, live, s)
	if rec.Status == 0 {
		j.notes = append(j.notes, "no response was recorded: only the request was replayed")
	}
	switch {
	case c.method == "HEAD":
	case rec.Status != 0 && !bodyAllowed(rec.Status):
		if len(rec.Body) > 0 {
			j.notes = append(j.notes, fmt.Sprintf("a %d answer has no body (the recorded one came from the browser's cache): body not compared", rec.Status))
		}
	case !c.recBody:
		if rec.Status != 0 {
			j.notes = append(j.notes, "the recording did not keep the response body: body not compared")
		}
	default:
		r.compareBody(rn, c, j, rec, live, s, rows)
		if len(j.diffs) > 0 && j.diffs[0].Kind == "status" {
			r.collapseBody(j, live)
		}
	}
	if r.slowdown > 0 && c.entry.Time >= 0 {
		liveMS := float64(dur) / float64(time.Millisecond)
		if liveMS-c.entry.Time > float64(r.slowdown)/float64(time.Millisecond) {
			r.diff(j, "time", "time", "changed", roundMS(c.entry.Time), roundMS(liveMS))
		}
	}
	return j
}

// maxFieldsAfterStatus is how many body fields are listed one by one when
// the status changed too; beyond it the answer is a different document (an
// error instead of a resource) and is shown whole.
const maxFieldsAfterStatus = 3

// collapseBody replaces many field differences by one "replaced"
// difference holding the live answer, when the status changed as well.
func (r *Runner) collapseBody(j *judgement, live *Response) {
	n := 0
	for _, d := range j.diffs {
		if d.Kind == "body" {
			n++
		}
	}
	if n <= maxFieldsAfterStatus {
		return
	}
	j.diffs = slices.DeleteFunc(j.diffs, func(d Difference) bool { return d.Kind == "body" })
	r.diff(j, "body", "body", "replaced", fmt.Sprintf("%d fields differ", n), bodyPreview(live))
}

// bodyPreview is a live answer as a report shows it: the JSON value when
// small, else its first 2000 bytes as text.
func bodyPreview(r *Response) any {
	if r.IsJSON && len(r.Body) <= 2000 {
		return r.JSON
	}
	b := r.Body
	if len(b) > 2000 {
		b = b[:2000]
	}
	if !utf8.Valid(b) {
		return binarySummary(r.Body)
	}
	return string(b)
}

func roundMS(ms float64) float64 { return float64(int64(ms*10+0.5)) / 10 }

func (r *Runner) compareHeaderValues(rn *run, j *judgement, rec, live *Response, s *session) {
	names := r.compareHeaders
	if slices.Contains(names, "*") {
		names = append(slices.Clone(defaultCompareHeaders), slices.Sorted(maps.Keys(rec.Header))...)
	}
	seen := map[string]bool{}
	for _, name := range names {
		if name == "*" || seen[name] {
			continue
		}
		seen[name] = true
		if name == "Set-Cookie" {
			r.compareCookies(rn, j, rec, live)
			continue
		}
		rv, ok := rec.Header[name]
		if !ok {
			continue
		}
		path := "header:" + name
		lv, lok := live.Header[name]
		rule := rn.rules.ignoreHeader(name)
		if name == "Content-Type" || name == "Location" {
			rule = rn.rules.headers[name] // never volatile by default
		}
		if rule == "" && rn.noise.header(name) {
			rule = RuleNoise
		}
		if !lok {
			if rule != "" {
				j.ignored = append(j.ignored, Ignored{Path: path, Rule: rule})
			} else {
				r.diff(j, "header", path, "missing", strings.Join(rv, ", "), nil)
			}
			continue
		}
		a, b := strings.Join(rv, ", "), strings.Join(lv, ", ")
		var same bool
		switch name {
		case "Content-Type":
			same = sameMediaType(a, b)
		case "Location":
			same = locationShape(s.normalize(a)) == locationShape(b)
		default:
			same = s.normalize(a) == b
		}
		if same {
			continue
		}
		if rule != "" {
			j.ignored = append(j.ignored, Ignored{Path: path, Rule: rule})
			continue
		}
		r.diff(j, "header", path, "changed", a, b)
	}
}

// compareCookies compares which cookies are set; their values are session
// state and always differ.
func (r *Runner) compareCookies(rn *run, j *judgement, rec, live *Response) {
	rc, lc := setCookies(rec.Header), setCookies(live.Header)
	// A name that differs only in its digits is the same cookie on a
	// server with another port (Jupyter's username-127-0-0-1-8888).
	has := func(set map[string]string, name string) bool {
		for n := range set {
			if correlate.CookieNameMatches(name, n) {
				return true
			}
		}
		return false
	}
	for _, name := range slices.Sorted(maps.Keys(rc)) {
		if has(lc, name) {
			continue
		}
		r.cookieDiff(rn, j, name, "missing", name, nil)
	}
	for _, name := range slices.Sorted(maps.Keys(lc)) {
		// Chrome's default (sanitized) export drops every Set-Cookie: a
		// recording without any says nothing about cookies.
		if has(rc, name) || !rn.cookiesRecorded {
			continue
		}
		r.cookieDiff(rn, j, name, "extra", nil, name)
	}
}

func (r *Runner) cookieDiff(rn *run, j *judgement, name, change string, rec, live any) {
	path := "header:Set-Cookie[" + name + "]"
	rule := rn.rules.headers["Set-Cookie"]
	if rule == "" && credential.CSRFCookie(name) {
		rule = RuleCSRF
	}
	if rule == "" && rn.noise.header("Set-Cookie") {
		rule = RuleNoise
	}
	if rule != "" {
		j.ignored = append(j.ignored, Ignored{Path: path, Rule: rule})
		return
	}
	r.diff(j, "header", path, change, rec, live)
}

func sameMediaType(a, b string) bool {
	ma, pa, err1 := mime.ParseMediaType(a)
	mb, pb, err2 := mime.ParseMediaType(b)
	if err1 != nil || err2 != nil {
		return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
	}
	if ma != mb {
		return false
	}
	ca, cb := pa["charset"], pb["charset"]
	return ca == "" || cb == "" || strings.EqualFold(ca, cb)
}

// locationShape is a Location's path and query, whatever its origin.
func locationShape(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		if j := strings.IndexAny(rest, "/?"); j >= 0 {
			return rest[j:]
		}
		return "/"
	}
	return u
}

func (r *Runner) compareBody(rn *run, c *call, j *judgement, rec, live *Response, s *session, rows bool) {
	if rec.IsJSON {
		if err := parseLive(live, true); err != nil {
			d := r.diff(j, "body", "body", "invalid-json", nil, "not JSON: "+err.Error())
			d.Recorded = "JSON"
			r.compareText(rn, c, j, rec, live, s, rows, false)
			return
		}
		if live.IsJSON {
			opts := &jsondiff.Options{
				Normalize:   s.normalize,
				IgnorePath:  func(p jsondiff.Path) string { return rn.ignorePath(p) },
				IgnoreValue: rn.rules.ignoreValue,
				Aliases:     aliases,
				Rows:        rows,
			}
			if c.noise.body {
				opts.IgnorePath = func(jsondiff.Path) string { return RuleNoise }
			}
			res := jsondiff.Compare(rec.JSON, live.JSON, opts)
			for _, ch := range res.Changes {
				d := r.diff(j, "body", ch.Path.String(), string(ch.Kind), ch.Recorded, ch.Live)
				// A multi-line string (a kubeconfig, a script) reads better
				// as a line diff.
				rs, ok1 := ch.Recorded.(string)
				ls, ok2 := ch.Live.(string)
				if ok1 && ok2 && strings.Contains(rs, "\n") && strings.Contains(ls, "\n") {
					d.Diff = unified(lineDiff(rn.rules.maskText(s.normalize(rs)), rn.rules.maskText(ls)), 3, 16<<10)
				}
			}
			for _, ig := range res.Ignored {
				j.ignored = append(j.ignored, Ignored{Path: ig.Path.String(), Rule: ig.Rule, generic: ig.Path.Generic()})
				j.learnable = append(j.learnable, ig.Change)
			}
			j.learnable = append(j.learnable, res.Changes...)
			j.rows = res.Rows
			return
		}
	}
	if c.recErr != nil {
		j.notes = append(j.notes, "the recorded body is not valid JSON: compared as text")
	}
	r.compareText(rn, c, j, rec, live, s, rows, true)
}

// compareText compares bodies as text (unified diff) or, when either is
// not UTF-8, as bytes (length and sha256).
func (r *Runner) compareText(rn *run, c *call, j *judgement, rec, live *Response, s *session, rows, report bool) {
	if !utf8.Valid(rec.Body) || !utf8.Valid(live.Body) {
		if bytes.Equal(rec.Body, live.Body) || !report {
			return
		}
		if c.noise.body {
			j.ignored = append(j.ignored, Ignored{Path: "body", Rule: RuleNoise})
			return
		}
		r.diff(j, "body", "body", "changed", binarySummary(rec.Body), binarySummary(live.Body))
		return
	}
	a := rn.rules.maskText(s.normalize(string(rec.Body)))
	b := rn.rules.maskText(string(live.Body))
	if a == b || bytes.Equal(rec.Body, live.Body) {
		return
	}
	if report && c.noise.body {
		j.ignored = append(j.ignored, Ignored{Path: "body", Rule: RuleNoise})
		return
	}
	ops := lineDiff(a, b)
	if report {
		d := r.diff(j, "body", "body", "changed", fmt.Sprintf("%d bytes", len(rec.Body)), fmt.Sprintf("%d bytes", len(live.Body)))
		d.Diff = unified(ops, 3, 64<<10)
	}
	if rows {
		j.rows = textRows(ops, 20000)
	}
}

func binarySummary(b []byte) map[string]any {
	sum := sha256.Sum256(b)
	return map[string]any{"length": len(b), "sha256": hex.EncodeToString(sum[:])}
}

// lineOp is one line of a line diff.
type lineOp struct {
	op   diffmatchpatch.Operation
	text string // without the newline
}

// lineDiff diffs two texts line by line with go-diff (a 1 s budget, then
// it settles for a coarser diff).
func lineDiff(a, b string) []lineOp {
	dmp := diffmatchpatch.New()
	ca, cb, lines := dmp.DiffLinesToChars(a, b)
	diffs := dmp.DiffCharsToLines(dmp.DiffMain(ca, cb, false), lines)
	var ops []lineOp
	for _, d := range diffs {
		text := strings.TrimSuffix(d.Text, "\n")
		for _, l := range strings.Split(text, "\n") {
			ops = append(ops, lineOp{op: d.Type, text: l})
		}
	}
	return ops
}

// unified renders a line diff with ctx lines of context, at most limit
// bytes.
func unified(ops []lineOp, ctx, limit int) string {
	var b strings.Builder
	b.WriteString("--- recorded\n+++ live\n")
	keep := make([]bool, len(ops))
	for i, o := range ops {
		if o.op == diffmatchpatch.DiffEqual {
			continue
		}
		for k := max(0, i-ctx); k <= min(len(ops)-1, i+ctx); k++ {
			keep[k] = true
		}
	}
	aLine, bLine := 1, 1
	for i := 0; i < len(ops); {
		if !keep[i] {
			if ops[i].op != diffmatchpatch.DiffInsert {
				aLine++
			}
			if ops[i].op != diffmatchpatch.DiffDelete {
				bLine++
			}
			i++
			continue
		}
		end := i
		for end < len(ops) && keep[end] {
			end++
		}
		na, nb := 0, 0
		for _, o := range ops[i:end] {
			if o.op != diffmatchpatch.DiffInsert {
				na++
			}
			if o.op != diffmatchpatch.DiffDelete {
				nb++
			}
		}
		fmt.Fprintf(&b, "@@ -%d,%d +%d,%d @@\n", aLine, na, bLine, nb)
		for _, o := range ops[i:end] {
			switch o.op {
			case diffmatchpatch.DiffEqual:
				b.WriteByte(' ')
			case diffmatchpatch.DiffDelete:
				b.WriteByte('-')
			default:
				b.WriteByte('+')
			}
			b.WriteString(o.text)
			b.WriteByte('\n')
			if b.Len() > limit {
				b.WriteString("… diff truncated\n")
				return b.String()
			}
		}
		aLine += na
		bLine += nb
		i = end
	}
	return b.String()
}

// textRows pairs deleted and inserted lines side by side.
func textRows(ops []lineOp, limit int) []jsondiff.Row {
	var rows []jsondiff.Row
	for i := 0; i < len(ops) && len(rows) < limit; {
		if ops[i].op == diffmatchpatch.DiffEqual {
			rows = append(rows, jsondiff.Row{Left: ops[i].text, Right: ops[i].text, Op: jsondiff.Same})
			i++
			continue
		}
		var del, ins []string
		for i < len(ops) && ops[i].op != diffmatchpatch.DiffEqual {
			if ops[i].op == diffmatchpatch.DiffDelete {
				del = append(del, ops[i].text)
			} else {
				ins = append(ins, ops[i].text)
			}
			i++
		}
		for k := 0; k < max(len(del), len(ins)); k++ {
			row := jsondiff.Row{Op: jsondiff.Differ}
			switch {
			case k < len(del) && k < len(ins):
				row.Left, row.Right = del[k], ins[k]
			case k < len(del):
				row.Left, row.Op = del[k], jsondiff.Removed
			default:
				row.Right, row.Op = ins[k], jsondiff.Added
			}
			rows = append(rows, row)
		}
	}
	return rows
}
