package convert

import (
	"bufio"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apitape/apitape/internal/correlate"
)

// A script's header says what each variable is and where a person gets
// it: which header, cookie, query parameter or body field holds it, and
// which call sent it first (for a credential) or set it (for a value an
// answer produces).

// envPlace is where a variable first appears: the place in the request
// ("the cookie `R_SESS`") and the call.
type envPlace struct{ place, call string }

// noteEnv records where each environment variable of call c first
// appears, for the header.
func (s *session) noteEnv(c *call) {
	note := func(where string, v value) {
		for i, p := range v {
			if p.Env == "" {
				continue
			}
			if _, ok := s.envFrom[p.Env]; ok {
				continue
			}
			s.envFrom[p.Env] = envPlace{describePlace(where, v, i), "call " + strconv.Itoa(c.index) + " (" + shortLabel(c.label) + ")"}
		}
	}
	note("url", c.target)
	for _, h := range c.headers {
		note("header:"+h.name, h.value)
	}
	note("body", c.body)
}

var (
	jsonKeyBefore = regexp.MustCompile(`"((?:[^"\\]|\\.)+)"\s*:\s*"(?:[^"\\]|\\.)*$`)
	formKeyBefore = regexp.MustCompile(`(?:^|&)([^=&\s]+)=[^&]*$`)
)

// describePlace names the place of part i of v in a request field.
func describePlace(where string, v value, i int) string {
	var b strings.Builder
	for _, p := range v[:i] {
		b.WriteString(p.Text)
	}
	before := b.String()
	switch {
	case where == "url":
		q := strings.LastIndexByte(before, '?')
		if q < 0 {
			return "the URL path"
		}
		if m := formKeyBefore.FindStringSubmatch(before[q+1:]); m != nil {
			return "the query parameter `" + m[1] + "`"
		}
		return "the query"
	case strings.EqualFold(where, "header:Cookie"):
		pair := before[strings.LastIndexByte(before, ';')+1:]
		if name, _, ok := strings.Cut(strings.TrimSpace(pair), "="); ok && name != "" {
			return "the cookie `" + name + "`"
		}
		return "the Cookie header"
	case strings.HasPrefix(where, "header:"):
		return "the header `" + strings.TrimPrefix(where, "header:") + "`"
	}
	if m := jsonKeyBefore.FindStringSubmatch(before); m != nil {
		return "the body field `" + m[1] + "`"
	}
	if m := formKeyBefore.FindStringSubmatch(before); m != nil {
		return "the body field `" + m[1] + "`"
	}
	return "the body"
}

// secretNames are the variables an error message masks: the environment
// the calls read, and the secret values answers produce.
func (s *session) secretNames() []string {
	names := append([]string(nil), s.env...)
	for _, t := range s.chained {
		if t.v.Secret {
			names = append(names, t.v.Name)
		}
	}
	return names
}

// producedDoc says where a value later calls take comes from.
func (s *session) producedDoc(v *correlate.Var) string {
	call := "call " + strconv.Itoa(v.Producer)
	if l := s.labels[v.Producer]; l != "" {
		call += " (" + shortLabel(l) + ")"
	}
	src := v.Source
	var d string
	switch {
	case src.Kind == correlate.KindCookie && src.Part == correlate.PartPair:
		d = "the cookie `" + oneLineName(src.Path) + "` as name=value (the name changes with the server), set by the answer of " + call
	case src.Kind == correlate.KindCookie:
		d = "the cookie `" + oneLineName(src.Path) + "`, set by the answer of " + call
	case src.Kind == correlate.KindHeader:
		d = "the header `" + oneLineName(src.Path) + "`"
		if src.Part == correlate.PartLastSegment {
			d += " (its last path segment)"
		}
		d += " of the answer to " + call
	default:
		d = oneLineName(src.String()) + " in the answer to " + call
	}
	if v.Secret {
		d += " (secret)"
	}
	return d
}

// writeAddedDoc lists the calls sent although the selection left them
// out.
func writeAddedDoc(w *bufio.Writer, lead string, s *session) {
	if len(s.loginsLeft) > 0 {
		w.WriteString(strings.TrimRight(lead, " ") + "\n")
		w.WriteString(lead + "Leaves out the login --auth replaces: " + oneLineName(strings.Join(s.loginsLeft, ", ")) + "\n")
	}
	if len(s.added) == 0 {
		return
	}
	w.WriteString(strings.TrimRight(lead, " ") + "\n")
	w.WriteString(lead + "Also sends, although the default selection keeps only API calls, the\n")
	w.WriteString(lead + "calls whose answers give later calls a value (a session cookie, a CSRF\n")
	w.WriteString(lead + "token): " + oneLineName(strings.Join(s.added, ", ")) + "\n")
}

// shortLabel is a call's label for a one-line note: long queries cut.
func shortLabel(l string) string {
	l = oneLineName(l)
	if len(l) <= 60 {
		return l
	}
	cut := 60
	for cut > 0 && !utf8.RuneStart(l[cut]) {
		cut--
	}
	return l[:cut] + "…"
}
