package replay

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/apitape/apitape/internal/credential"
	"github.com/apitape/apitape/internal/placeholder"
	"github.com/apitape/apitape/redact"
)

// minSecretLen is the shortest value scrubbed from reports: shorter ones
// would garble every report they happen to occur in.
const minSecretLen = 4

// scrubber keeps secret values out of reports: the values placeholders
// stood for, what --header variables expanded to, and secrets the target
// handed out during the replay (its session tokens). Token-shaped strings
// are masked too.
type scrubber struct {
	pairs [][]string // secret, replacement
	seen  map[string]bool
	rep   *strings.Replacer
}

func newScrubber() *scrubber { return &scrubber{seen: map[string]bool{}} }

func (s *scrubber) add(secret, replacement string) {
	if len(secret) < minSecretLen || s.seen[secret] {
		return
	}
	s.seen[secret] = true
	s.pairs = append(s.pairs, []string{secret, replacement})
	s.rep = nil
	// Body rows and diffs show a string as JSON, where " \ & < > and
	// control characters are escaped; the secret must go in that
	// spelling too, with and without the HTML escapes.
	for _, html := range []bool{true, false} {
		if e := jsonInterior(secret, html); e != secret && !s.seen[e] {
			s.seen[e] = true
			s.pairs = append(s.pairs, []string{e, replacement})
		}
	}
}

// jsonInterior is s as it reads inside a JSON string.
func jsonInterior(s string, html bool) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(html)
	enc.Encode(s)
	q := strings.TrimSuffix(b.String(), "\n")
	return q[1 : len(q)-1]
}

func (s *scrubber) str(v string) string {
	if s.rep == nil {
		// Longest secret first: one may be the start of another.
		slices.SortStableFunc(s.pairs, func(a, b []string) int { return len(b[0]) - len(a[0]) })
		s.rep = strings.NewReplacer(slices.Concat(s.pairs...)...)
	}
	return scrubTokens(s.rep.Replace(v))
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

// maskSecret stands for a secret in the mapped section: a placeholder as
// is (it is what the recording holds), anything else as ‹secret›. No part
// of the value is shown, not even its first characters or a Rancher
// token's name: the pair's place (header:Set-Cookie[CSRF]) says which
// secret it was.
func maskSecret(v string) string {
	if placeholder.Contains(v) {
		return v
	}
	return "‹secret›"
}

// learnFields adds to the scrubber the values a call's answers carry under
// a credential's key (token, password, secretKey…: secretKey in
// mapping.go), as the differences and the side-by-side body rows show
// them, so that no report shows them even where no rule ignored or mapped
// them. Run it over every call before scrubbing any.
func (s *scrubber) learnFields(c *Call) {
	for _, d := range c.Differences {
		if secretKey(lastSegment(d.Path)) {
			for _, v := range []any{d.Recorded, d.Live} {
				if str, ok := v.(string); ok && !placeholder.Contains(str) {
					s.add(str, "‹secret›")
				}
			}
		}
	}
	for _, r := range c.Rows {
		for _, line := range []string{r.Left, r.Right} {
			if k, v, ok := rowMember(line); ok && secretKey(k) && !placeholder.Contains(v) {
				s.add(v, "‹secret›")
			}
		}
	}
}

// lastSegment is the last key of a difference's path ($.a.token → token).
func lastSegment(path string) string {
	if i := strings.LastIndexAny(path, ".["); i >= 0 {
		return strings.Trim(path[i+1:], `"]`)
	}
	return path
}

// rowMember reads a body row `"key": "value"` (a trailing comma allowed);
// ok is false for any other row.
func rowMember(line string) (key, value string, ok bool) {
	line = strings.TrimSuffix(strings.TrimSpace(line), ",")
	if !strings.HasPrefix(line, `"`) {
		return "", "", false
	}
	end := strings.Index(line, `": "`)
	if end < 0 || !strings.HasSuffix(line, `"`) {
		return "", "", false
	}
	k, err1 := strconv.Unquote(line[:end+1])
	v, err2 := strconv.Unquote(line[end+3:])
	return k, v, err1 == nil && err2 == nil
}

// maskURL is how reports show a recorded URL or path and query:
// credential.MaskURL, then token shapes masked. A replay of a HAR that was
// never redacted sends them as recorded, and no report may show them.
func maskURL(u string) string { return scrubTokens(credential.MaskURL(u)) }

// scrubTokens masks in text a report shows every token shape replay knows
// and every one redaction's detectors know (gitleaks' vendor rules
// included): a live server's answer never went through redaction.
func scrubTokens(s string) string {
	return redact.MaskTokens(maskTokens(s), tokenMask)
}
