package replay

import (
	"sort"
	"strings"

	"github.com/apitape/apitape/internal/placeholder"
)

// minSecretLen is the shortest value scrubbed from reports: shorter ones
// would garble every report they happen to occur in.
const minSecretLen = 4

// scrubber keeps secret values out of reports: the values placeholders
// stood for, what --header variables expanded to, and secrets the target
// handed out during the replay (its session tokens). Token-shaped strings
// are masked too.
type scrubber struct {
	pairs []string
	seen  map[string]bool
	rep   *strings.Replacer
}

func newScrubber() *scrubber { return &scrubber{seen: map[string]bool{}} }

func (s *scrubber) add(secret, replacement string) {
	if len(secret) < minSecretLen || s.seen[secret] {
		return
	}
	s.seen[secret] = true
	s.pairs = append(s.pairs, secret, replacement)
	s.rep = nil
}

func (s *scrubber) str(v string) string {
	if s.rep == nil {
		// Longest secret first: one may be the start of another.
		idx := make([]int, len(s.pairs)/2)
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return len(s.pairs[2*idx[a]]) > len(s.pairs[2*idx[b]]) })
		sorted := make([]string, 0, len(s.pairs))
		for _, i := range idx {
			sorted = append(sorted, s.pairs[2*i], s.pairs[2*i+1])
		}
		s.rep = strings.NewReplacer(sorted...)
	}
	return maskTokens(s.rep.Replace(v))
}

func (s *scrubber) any(v any) any {
	switch x := v.(type) {
	case string:
		return s.str(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[s.str(k)] = s.any(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = s.any(e)
		}
		return out
	}
	return v
}

// call scrubs everything a report shows of one call.
func (s *scrubber) call(c *Call) {
	if c.Error != nil {
		c.Error.Message = s.str(c.Error.Message)
	}
	for i := range c.Notes {
		c.Notes[i] = s.str(c.Notes[i])
	}
	for i := range c.Differences {
		d := &c.Differences[i]
		d.Recorded, d.Live = s.any(d.Recorded), s.any(d.Live)
		d.Diff = s.str(d.Diff)
	}
	for i := range c.Rows {
		r := &c.Rows[i]
		r.Left, r.Right = s.str(r.Left), s.str(r.Right)
	}
}

// maskSecret shows enough of a secret to recognise it: a placeholder as
// is, the name part of a Rancher token (token-x8kzp:…), else 4 characters.
func maskSecret(v string) string {
	switch {
	case placeholder.Contains(v):
		return v
	case strings.Contains(v, ":"):
		name, _, _ := strings.Cut(v, ":")
		return name + ":…"
	case len(v) > 8:
		return v[:4] + "…"
	}
	return "…"
}
