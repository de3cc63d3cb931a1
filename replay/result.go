package replay

import (
	"encoding/json"
	"time"

	"github.com/apitape/apitape/replay/internal/jsondiff"
)

// SchemaVersion names the JSON report's schema (see REPORT.md).
const SchemaVersion = "apitape.replay/v1"

// Outcome is what happened to one call.
type Outcome string

// Outcomes.
const (
	Pass    Outcome = "pass"    // same answer, modulo noise and mapped values
	Warn    Outcome = "warn"    // differences that --fail-on does not count
	Fail    Outcome = "fail"    // regressions
	Error   Outcome = "error"   // no usable answer: refused, timed out, reset, body unreadable
	Skipped Outcome = "skipped" // not sent: preflight, WebSocket, target unreachable, interrupted
)

// Result is a whole replay.
type Result struct {
	Schema      string    `json:"schema"`
	Source      string    `json:"source"`
	Target      string    `json:"target"`
	Baseline    string    `json:"baseline,omitempty"`
	Started     time.Time `json:"started"`
	DurationMS  float64   `json:"durationMs"`
	Concurrency int       `json:"concurrency"`
	NoiseRuns   int       `json:"noiseRuns"`
	FailOn      FailOn    `json:"failOn"`
	Interrupted bool      `json:"interrupted"`
	Summary     Summary   `json:"summary"`
	Calls       []*Call   `json:"calls"`
	Mapped      []Pair    `json:"mapped"`

	compareNS int64 // time spent comparing, summed over calls
	analyzeNS int64 // time spent building the correlation model
}

// Summary counts calls by outcome.
type Summary struct {
	Calls       int `json:"calls"`
	Passed      int `json:"passed"`
	Warned      int `json:"warned"`
	Failed      int `json:"failed"`
	Errors      int `json:"errors"`
	Skipped     int `json:"skipped"`
	Affected    int `json:"affected"`    // failed or errored calls that follow from an earlier failure
	Regressions int `json:"regressions"` // failing differences over all calls
	// Unreachable: no call got an answer and at least one could not
	// connect (refused, no such host, TLS handshake failed).
	Unreachable bool           `json:"unreachable"`
	Ignored     []IgnoredCount `json:"ignored"`
}

// IgnoredCount is how often a rule ignored a field (paths generalised to
// [*] for array elements).
type IgnoredCount struct {
	Path  string `json:"path"`
	Rule  string `json:"rule"`
	Count int    `json:"count"`
}

// Regressed reports whether any call failed or errored.
func (r *Result) Regressed() bool { return r.Summary.Failed+r.Summary.Errors > 0 }

// Call is one replayed entry.
type Call struct {
	Index          int          `json:"index"` // entry index in the HAR, 0-based
	Method         string       `json:"method"`
	URL            string       `json:"url"`  // as recorded (placeholders kept)
	Path           string       `json:"path"` // recorded path and query
	Mutation       bool         `json:"mutation"`
	Outcome        Outcome      `json:"outcome"`
	RecordedStatus int          `json:"recordedStatus"`
	Status         int          `json:"status"` // 0 when there was no answer
	RecordedMS     float64      `json:"recordedMs"`
	DurationMS     float64      `json:"durationMs"`
	Skipped        string       `json:"skipped,omitempty"`
	Error          *CallError   `json:"error,omitempty"`
	AffectedBy     *int         `json:"affectedBy,omitempty"` // entry index of the failed call this one follows from
	Differences    []Difference `json:"differences"`
	Ignored        []Ignored    `json:"ignored"`
	Notes          []string     `json:"notes,omitempty"`
	// Rows render the recorded and live bodies side by side (HTML report);
	// set only for calls with differences.
	Rows []jsondiff.Row `json:"-"`
}

// CallError is why a call got no usable answer.
type CallError struct {
	Kind    string `json:"kind"` // connect, timeout, reset, tls, body, decode, request, other
	Message string `json:"message"`
}

// Difference is one field that differs.
type Difference struct {
	Kind     string `json:"kind"`   // status, header, body, time
	Path     string `json:"path"`   // status, header:Location, $.a.b, body, time
	Change   string `json:"change"` // changed, missing, extra, invalid-json
	Recorded any    `json:"-"`
	Live     any    `json:"-"`
	Diff     string `json:"-"` // unified diff of text bodies
	Failing  bool   `json:"-"` // counts under --fail-on
}

// MarshalJSON writes recorded/live only when that side has the field.
func (d Difference) MarshalJSON() ([]byte, error) {
	m := map[string]any{"kind": d.Kind, "path": d.Path, "change": d.Change, "failing": d.Failing}
	if d.Change != "extra" {
		m["recorded"] = d.Recorded
	}
	if d.Change != "missing" {
		m["live"] = d.Live
	}
	if d.Diff != "" {
		m["diff"] = d.Diff
	}
	return json.Marshal(m)
}

// Ignored is a difference a rule declared noise.
type Ignored struct {
	Path    string `json:"path"`
	Rule    string `json:"rule"`
	generic string // Path with array steps as [*], for the summary
}

// finish computes outcomes and the summary.
func (res *Result) finish(calls []*call) {
	s := &res.Summary
	counts := map[[2]string]int{}
	var order [][2]string
	for _, c := range calls {
		p := c.pub
		res.Calls = append(res.Calls, p)
		if p.Differences == nil {
			p.Differences = []Difference{}
		}
		if p.Ignored == nil {
			p.Ignored = []Ignored{}
		}
		s.Calls++
		switch {
		case p.Skipped != "":
			p.Outcome = Skipped
			s.Skipped++
		case p.Error != nil:
			p.Outcome = Error
			s.Errors++
		default:
			p.Outcome = Pass
			for _, d := range p.Differences {
				if d.Failing {
					p.Outcome = Fail
					s.Regressions++
				} else if p.Outcome == Pass {
					p.Outcome = Warn
				}
			}
			switch p.Outcome {
			case Pass:
				s.Passed++
			case Warn:
				s.Warned++
			case Fail:
				s.Failed++
			}
		}
		if p.AffectedBy != nil && (p.Outcome == Fail || p.Outcome == Error) {
			s.Affected++
		}
		for _, ig := range p.Ignored {
			g := ig.generic
			if g == "" {
				g = ig.Path
			}
			k := [2]string{g, ig.Rule}
			if counts[k] == 0 {
				order = append(order, k)
			}
			counts[k]++
		}
	}
	s.Ignored = []IgnoredCount{}
	for _, k := range order {
		s.Ignored = append(s.Ignored, IgnoredCount{Path: k[0], Rule: k[1], Count: counts[k]})
	}
	if res.Mapped == nil {
		res.Mapped = []Pair{}
	}
	if res.Calls == nil {
		res.Calls = []*Call{}
	}
}
