package replay

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/correlate"
	"github.com/apitape/apitape/internal/english"
	"github.com/apitape/apitape/internal/placeholder"
	"github.com/apitape/apitape/internal/selection"
)

// Plan is what a replay would send, for --dry-run: names, never values.
type Plan struct {
	Target   string
	Calls    []PlannedCall
	Problems *PreflightError // what would stop the replay before sending, or nil
}

// PlannedCall is one call as it would be sent.
type PlannedCall struct {
	Index        int
	Method       string
	URL          string   // the target's origin and prefix, then the recorded path and query
	Headers      []string // names only
	BodyBytes    int
	BodyType     string
	Placeholders []PlannedVar
	Sets         []string // correlation variables its answer teaches: "CLUSTER_ID from $.id"
	Uses         []string // correlation variables it sends: "CLUSTER_ID (entry 3)"
	Mutation     bool
	After        []int // entry indexes it waits for
	Skipped      string
}

// PlannedVar is one placeholder and where its value comes from.
type PlannedVar struct {
	Placeholder, Env string
	Set              bool // the variable is set
	Learned          bool // an earlier recorded answer carries it: learned at replay
}

// PlanReader reads and selects entries like RunReader and returns the
// plan without sending anything.
func (r *Runner) PlanReader(hr *har.Reader, sel *selection.Filter) (*Plan, error) {
	items, err := readItems(hr, sel)
	if err != nil {
		return nil, err
	}
	return r.plan(items)
}

func (r *Runner) plan(items []item) (*Plan, error) {
	p := &Plan{Target: r.target.raw}
	pr, err := r.prepare(items)
	var pe *PreflightError
	if errors.As(err, &pe) {
		p.Problems = &PreflightError{Missing: pe.Missing, Refused: pe.Refused, Target: pe.Target}
		// Plan anyway, as if every variable were set (to find refusals
		// too), then as if allowed, to show every call.
		saveEnv := r.getenv
		r.getenv = func(string) string { return "x" }
		if len(pe.Missing) > 0 {
			if _, err := r.prepare(items); errors.As(err, &pe) {
				p.Problems.Refused, p.Problems.Target = pe.Refused, pe.Target
			}
		}
		saved := r.allowMutations
		r.allowMutations = true
		pr, err = r.prepare(items)
		r.allowMutations, r.getenv = saved, saveEnv
	}
	if err != nil {
		return nil, err
	}
	headers := http.Header{}
	for _, h := range r.headers {
		headers[h.name] = nil
		if h.value != "" {
			headers[h.name] = []string{"x"}
		}
	}
	calls := pr.calls
	s := newSession(r.target, newValueMap(), newVarState(pr.model), r.carries(), func(string) string { return "" }, pr.origins, headers)
	planned := map[*call][]PlannedVar{}
	r.eachPlaceholder(calls, pr.model, func(c *call, ph string, learned bool) {
		if !slices.ContainsFunc(planned[c], func(v PlannedVar) bool { return v.Placeholder == ph }) {
			env := placeholder.EnvName(ph)
			planned[c] = append(planned[c], PlannedVar{Placeholder: ph, Env: env, Set: r.getenv(env) != "", Learned: learned})
		}
	})
	uses := plannedUses(pr.model)
	for _, c := range calls {
		pc := PlannedCall{Index: c.pub.Index, Method: c.method, Mutation: c.mutation, Skipped: c.pub.Skipped, URL: c.pub.URL}
		for _, d := range c.deps {
			pc.After = append(pc.After, calls[d].pub.Index)
		}
		if pc.Skipped == "" {
			pc.URL = r.target.origin() + r.target.prefix + c.pub.Path
			req, err := s.buildRequest(context.Background(), c)
			if err == nil {
				for name, v := range req.Header {
					if name == "User-Agent" && len(v) == 1 && v[0] == "" {
						continue
					}
					pc.Headers = append(pc.Headers, name)
				}
				slices.Sort(pc.Headers)
				pc.BodyBytes = int(req.ContentLength)
			}
			if c.entry.Request.PostData != nil {
				pc.BodyType = c.entry.Request.PostData.MimeType
			}
			pc.Placeholders = planned[c]
			for _, v := range pr.model.Produced(c.pub.Index) {
				if len(v.Uses) > 0 {
					pc.Sets = append(pc.Sets, v.Name+" from "+sourceWhere(v.Source))
				}
			}
			pc.Uses = uses[c.pub.Index]
		}
		p.Calls = append(p.Calls, pc)
	}
	return p, nil
}

// plannedUses lists by HAR index the variables each request sends, once
// each, with the entry that produces them.
func plannedUses(m *correlate.Model) map[int][]string {
	if m == nil {
		return nil
	}
	out := map[int][]string{}
	for _, v := range m.Vars {
		last := -1
		for _, u := range v.Uses {
			if u.Entry != last {
				out[u.Entry] = append(out[u.Entry], fmt.Sprintf("%s (entry %d)", v.Name, v.Producer))
				last = u.Entry
			}
		}
	}
	return out
}

// WriteDryRun writes a plan: per call the method, URL, header names, body
// size and placeholders with their variables (set or not), never a value.
func WriteDryRun(w io.Writer, p *Plan) error {
	bw := bufio.NewWriter(w)
	n := 0
	for _, c := range p.Calls {
		if c.Skipped == "" {
			n++
		}
	}
	fmt.Fprintf(bw, "dry run: %s would be sent to %s (nothing was sent)\n", english.Count(n, "call", ""), p.Target)
	for _, c := range p.Calls {
		if c.Skipped != "" {
			fmt.Fprintf(bw, "- %d %s %s  skipped: %s\n", c.Index, c.Method, c.URL, c.Skipped)
			continue
		}
		mut := ""
		if c.Mutation {
			mut = "  (changes state)"
		}
		fmt.Fprintf(bw, "%d %s %s%s\n", c.Index, c.Method, c.URL, mut)
		if len(c.Headers) > 0 {
			fmt.Fprintf(bw, "    headers: %s\n", strings.Join(c.Headers, ", "))
		}
		if c.BodyBytes > 0 {
			fmt.Fprintf(bw, "    body: %d bytes %s\n", c.BodyBytes, c.BodyType)
		}
		for _, v := range c.Placeholders {
			switch {
			case v.Learned:
				fmt.Fprintf(bw, "    placeholder %s from an earlier answer (learned at replay)\n", v.Placeholder)
			case v.Set:
				fmt.Fprintf(bw, "    placeholder %s from $%s (set)\n", v.Placeholder, v.Env)
			default:
				fmt.Fprintf(bw, "    placeholder %s from $%s (NOT SET)\n", v.Placeholder, v.Env)
			}
		}
		if len(c.Uses) > 0 {
			fmt.Fprintf(bw, "    uses %s\n", strings.Join(c.Uses, ", "))
		}
		for _, v := range c.Sets {
			fmt.Fprintf(bw, "    sets %s\n", v)
		}
		if len(c.After) > 0 {
			var s []string
			for _, a := range c.After {
				s = append(s, fmt.Sprint(a))
			}
			fmt.Fprintf(bw, "    after: %s\n", strings.Join(firstN(s, 10), ", "))
		}
	}
	return bw.Flush()
}
