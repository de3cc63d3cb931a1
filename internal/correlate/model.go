package correlate

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/apitape/apitape/internal/english"
)

// Where a use sits in a request. Headers are "header:" + the recorded name.
const (
	WhereURLPath  = "url.path"  // the path of the URL, see [SplitURL]
	WhereURLQuery = "url.query" // the query of the URL without "?", see [SplitURL]
	WhereBody     = "body"      // the request body as har.Request.Body returns it
	wherePrefixH  = "header:"
)

// WhereHeader is the Where of a request header's value.
func WhereHeader(name string) string { return wherePrefixH + name }

// Encodings of a value at a use.
const (
	EncodedRaw = ""    // the value as is
	EncodedURL = "url" // the value percent-encoded as [EscapeURI] (jq @uri) does
)

// Model is the result of [Analyze]: the values a session's responses
// produced and its later requests used, each as a named variable.
type Model struct {
	Vars     []*Var
	calls    map[int]call
	uses     map[useKey][]useRef
	users    map[int]bool // the entries with uses
	produced map[int][]*Var
}

// Var is one produced value: where it came from and every later use.
type Var struct {
	Name     string // an environment-style name: CLUSTER_ID, NODE_POOL_ID, TOKEN, CSRF_COOKIE
	Value    string // the recorded value
	Producer int    // HAR index of the entry whose response produced it
	Source   Source // where in that response
	Secret   bool   // a token, cookie or similar: print its name and length, never the value
	Manual   bool   // declared with --var rather than found
	Uses     []Use  // in request order

	// Evidence, for people: the entry whose answer first held the value
	// (before a better source took over), and why the binding may be
	// wrong ("" when it is sound).
	FirstReceived int
	Weak          string

	typ string   // resource type around the value, for the name
	rel []string // member names from that resource down to the value
}

// Use is one place a later request carries a variable's value.
type Use struct {
	Entry      int    // HAR index of the entry whose request uses the value
	Where      string // WhereURLPath, WhereURLQuery, WhereBody or WhereHeader(name)
	Start, End int    // byte span of the value in that field's recorded text
	Encoded    string // EncodedRaw or EncodedURL
	Field      string // for people: the JSON path of the body string, or the query or form parameter; may be ""
	// InJSONString: the value sits inside a string of a JSON body, where
	// a value holding a quote, a backslash or a control character would
	// have to be escaped.
	InJSONString bool
}

type call struct {
	method string
	status int
	path   string // url.path
	query  string // url.query
}

type useKey struct {
	entry int
	where string
}

type useRef struct {
	v *Var
	u Use
}

// Part is a piece of a request field: recorded text, or a variable's
// value written the way the recording had it.
type Part struct {
	Text    string // the recorded text of this piece
	Var     *Var   // nil for literal text
	Encoded string // for a variable: EncodedRaw or EncodedURL
	// InJSONString: the variable sits inside a string of a JSON body (see
	// [Use]).
	InJSONString bool
}

// Rewrite cuts the recorded text of one request field into literal parts
// and variable references, in order. entry is the HAR index, where is as in
// [Use]. Text that does not hold a use's recorded value at its span (a field
// edited after analysis) stays literal. A field without uses is one literal
// part, so emitters can call Rewrite for every field.
func (m *Model) Rewrite(entry int, where, text string) []Part {
	var parts []Part
	last := 0
	if m != nil && m.users[entry] {
		for _, r := range m.uses[useKey{entry, where}] {
			u := r.u
			if u.Start < last || u.End > len(text) || !r.v.heldBy(text[u.Start:u.End], u.Encoded) {
				continue
			}
			if u.Start > last {
				parts = append(parts, Part{Text: text[last:u.Start]})
			}
			parts = append(parts, Part{Text: text[u.Start:u.End], Var: r.v, Encoded: u.Encoded, InJSONString: u.InJSONString})
			last = u.End
		}
	}
	if last < len(text) || len(parts) == 0 {
		parts = append(parts, Part{Text: text[last:]})
	}
	return parts
}

// HasUses reports whether the request of entry carries any variable:
// when not, Rewrite returns every field as one literal part.
func (m *Model) HasUses(entry int) bool {
	return m != nil && m.users[entry]
}

// Produced returns the variables the response of entry (a HAR index)
// produces, in model order: what an emitter extracts right after sending
// that call.
func (m *Model) Produced(entry int) []*Var {
	if m == nil {
		return nil
	}
	return m.produced[entry]
}

// heldBy reports whether text is the value written as encoded says
// (percent-escapes in upper or lower case).
func (v *Var) heldBy(text, encoded string) bool {
	if encoded != EncodedURL {
		return text == v.Value
	}
	enc := EscapeURI(v.Value)
	return text == enc || text == lowerEscapes(enc)
}

// Write prints the model for people: per variable its name, value (length
// only when secret), the call that produced it and the source, then each
// use with its call and field. Call targets are shown with variables
// substituted (${NAME}) and long query values elided, so secrets the
// model knows of never appear.
func (m *Model) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	uses := 0
	for _, v := range m.Vars {
		uses += len(v.Uses)
	}
	switch len(m.Vars) {
	case 0:
		fmt.Fprintf(bw, "apitape correlation: no values to correlate\n")
	default:
		fmt.Fprintf(bw, "apitape correlation: %s, %s\n", english.Count(len(m.Vars), "variable", ""), english.Count(uses, "use", ""))
	}
	for _, v := range m.Vars {
		bw.WriteString("\n")
		if v.Secret {
			fmt.Fprintf(bw, "%s  (secret, %d bytes)", v.Name, len(v.Value))
		} else {
			fmt.Fprintf(bw, "%s = %s", v.Name, strconv.Quote(v.Value))
		}
		if v.Manual {
			bw.WriteString("  (--var)")
		}
		bw.WriteString("\n")
		c := m.calls[v.Producer]
		fmt.Fprintf(bw, "  from #%-3d %d %s  ->  %s\n", v.Producer, c.status, m.target(v.Producer), v.Source)
		if !v.Manual {
			fmt.Fprintf(bw, "  evidence: first received in the answer of #%d", v.FirstReceived)
			if len(v.Uses) > 0 {
				fmt.Fprintf(bw, ", first sent by #%d (%s)", v.Uses[0].Entry, v.Uses[0].Where)
			}
			bw.WriteString(", never sent before\n")
			if v.Weak != "" {
				fmt.Fprintf(bw, "  WEAK: %s; keep it literal with --no-var %s\n", v.Weak, v.Name)
			}
		}
		if len(v.Uses) == 0 {
			bw.WriteString("  used nowhere\n")
		}
		for i, u := range v.Uses {
			label := "  used"
			if i > 0 {
				label = "      "
			}
			where := u.Where
			if u.Field != "" {
				where += " " + u.Field
			}
			if u.Encoded != "" {
				where += " (" + u.Encoded + "-encoded)"
			}
			fmt.Fprintf(bw, "%s #%-3d %s  ->  %s [%d,%d)\n", label, u.Entry, m.target(u.Entry), where, u.Start, u.End)
		}
	}
	return bw.Flush()
}

// target is "METHOD /path?query" of a call with variables substituted.
func (m *Model) target(entry int) string {
	c := m.calls[entry]
	var b strings.Builder
	b.WriteString(c.method)
	b.WriteByte(' ')
	writeParts(&b, m.Rewrite(entry, WhereURLPath, c.path), nil)
	if c.query != "" {
		b.WriteByte('?')
		writeParts(&b, m.Rewrite(entry, WhereURLQuery, c.query), elideQueryValues)
	}
	return b.String()
}

func writeParts(b *strings.Builder, parts []Part, literal func(string) string) {
	for _, p := range parts {
		switch {
		case p.Var != nil:
			b.WriteString("${" + p.Var.Name + "}")
		case literal != nil:
			b.WriteString(literal(p.Text))
		default:
			b.WriteString(p.Text)
		}
	}
}

// maxShownQueryValue bounds query values Write shows: long ones may be
// tokens nobody redacted.
const maxShownQueryValue = 24

func elideQueryValues(s string) string {
	var b strings.Builder
	for i, kv := range strings.Split(s, "&") {
		if i > 0 {
			b.WriteByte('&')
		}
		k, val, hasEq := strings.Cut(kv, "=")
		if !hasEq {
			// A piece after a substituted variable ("np-x" in c-…:np-x) or a bare key.
			if len(kv) > maxShownQueryValue {
				kv = "…"
			}
			b.WriteString(kv)
			continue
		}
		if len(val) > maxShownQueryValue {
			val = "…"
		}
		b.WriteString(k + "=" + val)
	}
	return b.String()
}

// finish sorts the variables, names them (around the reserved names),
// indexes their uses and drops the calls no variable refers to.
func (m *Model) finish(reserved, noVar []string) error {
	sort.SliceStable(m.Vars, func(i, j int) bool {
		a, b := m.Vars[i], m.Vars[j]
		if a.Producer != b.Producer {
			return a.Producer < b.Producer
		}
		if a.Manual != b.Manual {
			return a.Manual
		}
		if fa, fb := firstUse(a), firstUse(b); fa != fb {
			return fa < fb
		}
		return a.Source.String() < b.Source.String()
	})
	taken := map[string]bool{}
	for _, name := range reserved {
		taken[name] = true
	}
	for _, v := range m.Vars {
		if v.Manual {
			taken[v.Name] = true
		}
	}
	next := map[string]int{} // per base name, the suffix to try next
	for _, v := range m.Vars {
		if v.Manual {
			continue
		}
		base := v.baseName()
		name := base
		for n := max(next[base], 2); taken[name]; n++ {
			name = base + "_" + strconv.Itoa(n)
			next[base] = n + 1
		}
		v.Name = name
		taken[name] = true
	}
	drop := map[string]bool{}
	for _, name := range noVar {
		drop[name] = true
	}
	m.Vars = slices.DeleteFunc(m.Vars, func(v *Var) bool {
		d := drop[v.Name]
		delete(drop, v.Name)
		return d
	})
	for _, name := range noVar {
		if drop[name] {
			return fmt.Errorf("no-var %s: the analysis found no such variable (apitape inspect lists them)", name)
		}
	}
	m.uses = map[useKey][]useRef{}
	m.users = map[int]bool{}
	m.produced = map[int][]*Var{}
	referenced := map[int]bool{}
	for _, v := range m.Vars {
		m.produced[v.Producer] = append(m.produced[v.Producer], v)
		referenced[v.Producer] = true
		for _, u := range v.Uses {
			k := useKey{u.Entry, u.Where}
			m.uses[k] = append(m.uses[k], useRef{v, u})
			m.users[u.Entry] = true
			referenced[u.Entry] = true
		}
	}
	for _, refs := range m.uses {
		sort.SliceStable(refs, func(i, j int) bool { return refs[i].u.Start < refs[j].u.Start })
	}
	for i := range m.calls {
		if !referenced[i] {
			delete(m.calls, i) // a producer that a later response replaced
		}
	}
	return nil
}

func firstUse(v *Var) int {
	if len(v.Uses) == 0 {
		return int(^uint(0) >> 1)
	}
	return v.Uses[0].Entry
}
