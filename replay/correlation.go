package replay

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"sync"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/correlate"
	"github.com/apitape/apitape/internal/placeholder"
	"github.com/apitape/apitape/internal/selection"
)

// WithCorrelation sets how the correlation model (package correlate) is
// built from the selected calls. The default, a zero Options, detects the
// values answers produce and later requests use. opts.Disabled turns
// detection off and with it every value carried from an answer into a
// later request, except opts.Extra (declared variables, --var): requests
// are then sent as recorded, and learned ids only serve comparisons.
func WithCorrelation(opts correlate.Options) Option {
	return func(r *Runner) error { r.correlation = opts; return nil }
}

// VarError is returned by runs and plans when a declared variable
// (correlate.Options.Extra) does not fit the recording: its call is not
// selected, or its answer has no value at its source. Nothing was sent.
type VarError struct{ Err error }

func (e *VarError) Error() string { return e.Err.Error() }
func (e *VarError) Unwrap() error { return e.Err }

// carries reports whether values the heuristic [valueMap] learned go into
// later requests: only while correlation is on.
func (r *Runner) carries() bool { return !r.correlation.Disabled || r.heuristicOnly }

// analyze builds the correlation model over the calls that will be sent
// (skipped ones are left out: they neither produce nor use anything), with
// their HAR indexes. It returns nil when there is nothing to look for.
func (r *Runner) analyze(calls []*call) (*correlate.Model, error) {
	if r.correlation.Disabled && len(r.correlation.Extra) == 0 {
		return nil, nil
	}
	entries := make([]*har.Entry, len(calls))
	indexes := make([]int, len(calls))
	for i, c := range calls {
		indexes[i] = c.pub.Index
		if c.pub.Skipped == "" {
			entries[i] = c.entry
		}
	}
	m, err := correlate.Analyze(entries, indexes, r.correlation)
	if err != nil {
		return nil, &VarError{Err: err}
	}
	return m, nil
}

// modelEdges returns, by position, the positions of the calls whose
// answers produce the variables that position's request uses.
func modelEdges(calls []*call, m *correlate.Model) map[int][]int {
	if m == nil || len(m.Vars) == 0 {
		return nil
	}
	pos := make(map[int]int, len(calls))
	for _, c := range calls {
		pos[c.pub.Index] = c.pos
	}
	edges := map[int][]int{}
	for _, v := range m.Vars {
		p, ok := pos[v.Producer]
		if !ok {
			continue
		}
		for _, u := range v.Uses {
			if q, ok := pos[u.Entry]; ok && q > p {
				edges[q] = append(edges[q], p)
			}
		}
	}
	return edges
}

// varState is what one server answered for the model's variables. The
// model is shared by the sessions of a run; the live values are not.
type varState struct {
	model *correlate.Model

	mu   sync.RWMutex
	live map[*correlate.Var]string
}

func newVarState(m *correlate.Model) *varState {
	return &varState{model: m, live: map[*correlate.Var]string{}}
}

func (vs *varState) get(v *correlate.Var) (string, bool) {
	vs.mu.RLock()
	defer vs.mu.RUnlock()
	val, ok := vs.live[v]
	return val, ok
}

// learnVars reads, at their sources in call c's live answer, the values
// of the variables the model says that answer produces. The first answer
// read for a variable wins (noise runs repeat calls). It returns the
// names of variables the answer does not hold: their uses keep the
// recorded value.
func (s *session) learnVars(c *call, live *Response) (missing []string) {
	for _, v := range s.vars.model.Produced(c.pub.Index) {
		if _, ok := s.vars.get(v); ok {
			continue
		}
		val, ok := v.Source.Lookup(live.Header, live.Body)
		if !ok {
			missing = append(missing, v.Name+" (at "+v.Source.String()+")")
			continue
		}
		s.vars.mu.Lock()
		s.vars.live[v] = val
		s.vars.mu.Unlock()
		s.cmp.put([]Pair{{Recorded: v.Value, Live: val, Call: c.pub.Index, Where: sourceWhere(v.Source),
			Secret: v.Secret || placeholder.Contains(v.Value), Var: v.Name}}, true)
	}
	return missing
}

// missingVarsNote is the note on a call whose answer lacked variables.
func missingVarsNote(names []string) string {
	return fmt.Sprintf("the answer has no value for %s: later calls send the recorded value", strings.Join(names, ", "))
}

// sourceWhere writes a correlate source the way reports name places:
// $.data[0].id, header:Location, header:Set-Cookie[R_SESS].
func sourceWhere(src correlate.Source) string {
	var w string
	switch src.Kind {
	case correlate.KindJSON:
		switch p := src.Path; {
		case p == ".":
			w = "$"
		case strings.HasPrefix(p, ".["):
			w = "$" + p[1:]
		default:
			w = "$" + p
		}
	case correlate.KindCookie:
		w = "header:Set-Cookie[" + src.Path + "]"
	default:
		w = src.Kind + ":" + src.Path
	}
	if src.Part == correlate.PartLastSegment {
		w += " (last segment)"
	}
	return w
}

// fill prepares one field of a recorded request (where and text as the
// model knows them) for this session's server: a variable the server
// answered takes its live value — percent-encoded as jq's @uri does where
// the recording had it encoded, else through varEsc (JSON or form
// escaping in bodies) — and everything else, variables not answered
// included, goes through subst with esc.
func (s *session) fill(entry int, where, text string, esc, varEsc func(string) string) string {
	if !s.vars.model.HasUses(entry) {
		return s.subst(text, esc)
	}
	parts := s.vars.model.Rewrite(entry, where, text)
	if len(parts) == 1 && parts[0].Var == nil {
		return s.subst(text, esc)
	}
	var b strings.Builder
	b.Grow(len(text))
	for _, p := range parts {
		if p.Var != nil {
			if live, ok := s.vars.get(p.Var); ok {
				if p.Encoded == correlate.EncodedURL {
					b.WriteString(correlate.EscapeURI(live))
				} else {
					b.WriteString(varEsc(live))
				}
				continue
			}
		}
		b.WriteString(s.subst(p.Text, esc))
	}
	return b.String()
}

// AddProducers widens the default selection the way convert does: it
// reads a whole HAR (data), and returns a selection of the entries sel
// keeps plus every entry sel leaves out whose answer produces a value
// that the kept ones (or the entries added for them) send, the page that
// set the session cookie above all, with a note per added entry ("0 (GET
// /login)"). corr is the correlation the replay will use; an entry
// without an answer or not over http(s) is never added.
func AddProducers(data []byte, name string, sel selection.Filter, corr correlate.Options) (selection.Filter, []string, error) {
	hr := har.NewReader(bytes.NewReader(data), name)
	var entries []*har.Entry
	var indexes []int
	kept := map[int]bool{}
	for {
		e, err := hr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return sel, nil, err
		}
		i := hr.Index()
		switch {
		case sel.Keep(i, e):
			kept[i] = true
		case e.Response.Status == 0 || !isHTTP(e.Request.URL):
			continue
		}
		entries = append(entries, e)
		indexes = append(indexes, i)
	}
	if len(kept) == len(entries) {
		return sel, nil, nil
	}
	m, err := correlate.Analyze(entries, indexes, corr)
	if err != nil {
		return sel, nil, &VarError{Err: err}
	}
	byUser := map[int][]*correlate.Var{}
	for _, v := range m.Vars {
		for _, u := range v.Uses {
			byUser[u.Entry] = append(byUser[u.Entry], v)
		}
	}
	needed := maps.Clone(kept)
	for k := len(indexes) - 1; k >= 0; k-- {
		if i := indexes[k]; needed[i] {
			for _, v := range byUser[i] {
				needed[v.Producer] = true
			}
		}
	}
	var notes []string
	out := selection.Filter{All: true}
	for k, i := range indexes {
		if !needed[i] {
			continue
		}
		addIndex(&out, i)
		if !kept[i] {
			notes = append(notes, entryNote(i, entries[k]))
		}
	}
	if len(notes) == 0 {
		return sel, nil, nil
	}
	return out, notes, nil
}

// addIndex adds entry i to a selection built in increasing order.
func addIndex(f *selection.Filter, i int) {
	if n := len(f.Entries); n > 0 && f.Entries[n-1].Hi == i-1 {
		f.Entries[n-1].Hi = i
	} else {
		f.Entries = append(f.Entries, selection.IndexRange{Lo: i, Hi: i})
	}
}

// entryNote names an entry added to or left out of a selection: "0 (GET /login)".
func entryNote(i int, e *har.Entry) string {
	_, path, _, _ := correlate.SplitURL(e.Request.URL)
	return fmt.Sprintf("%d (%s %s)", i, e.Request.Method, path)
}

func isHTTP(u string) bool {
	scheme, _, ok := strings.Cut(u, "://")
	return ok && (strings.EqualFold(scheme, "http") || strings.EqualFold(scheme, "https"))
}

// LeaveOutLogins narrows sel for --auth: a call whose body holds a
// redacted password is the browser's login, which the credential --auth
// sends replaces; replaying it would only ask for the password. It
// returns the selection without those calls and a note per call left out.
func LeaveOutLogins(data []byte, name string, sel selection.Filter) (selection.Filter, []string, error) {
	hr := har.NewReader(bytes.NewReader(data), name)
	out := selection.Filter{All: true}
	var notes []string
	for {
		e, err := hr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return sel, nil, err
		}
		i := hr.Index()
		if !sel.Keep(i, e) {
			continue
		}
		if strings.Contains(string(e.Request.Body()), placeholder.Prefix+"password-") {
			notes = append(notes, entryNote(i, e))
			continue
		}
		addIndex(&out, i)
	}
	if len(notes) == 0 {
		return sel, nil, nil
	}
	if len(out.Entries) == 0 {
		out.Entries = []selection.IndexRange{{Lo: -1, Hi: -1}} // nothing left
	}
	return out, notes, nil
}
