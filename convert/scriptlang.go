package convert

import (
	"strconv"

	"github.com/apitape/apitape/internal/correlate"
)

// scriptLang is how the Python (script and locustfile) and JavaScript
// outputs spell the two statements every call is made of: sending the
// call, s.send(…), and keeping a value its answer produced, s.take(…).
// The runtimes behind them differ; the statements do not. The Go program
// spells its s.take(…), and which call its s.request(…) sends where, so
// too.
type scriptLang struct {
	indent      string // of a statement
	open, close string // around a call's statements
	send        string // r = s.send(
	end         string // after a statement's last argument
	none        string // no body
	base        string // the session's origin
	pair        [2]string
	str         func(dst []byte, s string) []byte // names, labels, sources
	raw         func(dst []byte, s string) []byte // the method and an origin
	line        func(dst []byte, v value) []byte  // the target and header values
	body        func(dst []byte, v value) []byte
	boolean     func(bool) string
	// fromJSON, fromHeader and fromCookie name the runtime's functions;
	// inURL its method that stops the run when a value a later call sends
	// as it is in its URL holds a space or a #.
	fromJSON, fromHeader, fromCookie, inURL string
	// cookiePair: fromCookie takes whether to read the name=value pair,
	// and s.take does not take whether the value is secret (Go).
	cookiePair bool
}

// appendCall appends c's statements: s.send(INDEX, LABEL, METHOD, ORIGIN,
// TARGET, [[NAME, VALUE], …], BODY, RECORDED_STATUS, EXTRA…), then one
// s.take per value its answer produces. extra appends more arguments.
func (l *scriptLang) appendCall(b []byte, c *call, headers []header, extra func([]byte) []byte) ([]byte, error) {
	b = append(b, l.open...)
	b = append(b, l.indent+l.send...)
	b = l.appendArgs(b, c)
	b = append(b, ", ["...)
	for _, h := range headers {
		b = append(b, "\n"+l.indent+"    "+l.pair[0]...)
		b = l.str(b, h.name)
		b = append(b, ", "...)
		b = l.line(b, h.value)
		b = append(b, l.pair[1]+","...)
	}
	if len(headers) > 0 {
		b = append(b, "\n"+l.indent...)
	}
	b = append(b, "], "...)
	if c.body == nil {
		b = append(b, l.none...)
	} else {
		b = l.body(b, c.body)
	}
	b = append(b, ", "...)
	b = strconv.AppendInt(b, int64(c.status), 10)
	if extra != nil {
		b = extra(b)
	}
	b = append(b, l.end...)
	for _, t := range c.produces {
		var err error
		if b, err = l.appendTake(b, t); err != nil {
			return b, err
		}
	}
	return append(b, l.close...), nil
}

// appendArgs appends the arguments that say which call goes where:
// INDEX, LABEL, METHOD, ORIGIN (base for the session's), TARGET.
func (l *scriptLang) appendArgs(b []byte, c *call) []byte {
	b = strconv.AppendInt(b, int64(c.index), 10)
	b = append(b, ", "...)
	b = l.str(b, c.label)
	b = append(b, ", "...)
	b = l.raw(b, c.method)
	b = append(b, ", "...)
	if c.base {
		b = append(b, l.base...)
	} else {
		b = l.raw(b, c.origin)
	}
	b = append(b, ", "...)
	return l.line(b, c.target)
}

// appendTake appends s.take(r, NAME, SOURCE, IN_JSON, SECRET,
// FROM_…(r, …)), which keeps a value the answer produced.
func (l *scriptLang) appendTake(b []byte, t taken) ([]byte, error) {
	v := t.v
	b = append(b, l.indent+"s.take(r, "...)
	b = l.str(b, v.Name)
	b = append(b, ", "...)
	b = l.str(b, v.Source.String())
	b = append(b, ", "+l.boolean(t.inJSON)+", "...)
	if !l.cookiePair {
		b = append(b, l.boolean(v.Secret)+", "...)
	}
	last := l.boolean(v.Source.Part == correlate.PartLastSegment)
	switch v.Source.Kind {
	case correlate.KindJSON:
		path, err := correlate.ParsePath(v.Source.Path)
		if err != nil {
			return b, err
		}
		b = append(b, l.fromJSON+"(r, "+last...)
		for _, st := range path {
			b = append(b, ", "...)
			if st.IsIndex {
				b = strconv.AppendInt(b, int64(st.Index), 10)
			} else {
				b = l.str(b, st.Key)
			}
		}
	case correlate.KindHeader:
		b = append(b, l.fromHeader+"(r, "+last+", "...)
		b = l.str(b, v.Source.Path)
	default:
		b = append(b, l.fromCookie+"(r, "...)
		if l.cookiePair {
			b = append(b, l.boolean(v.Source.Part == correlate.PartPair)+", "...)
		}
		b = l.str(b, v.Source.Path)
	}
	b = append(b, ")"+l.end...)
	if t.inURL {
		b = append(b, l.indent+"s."+l.inURL+"(r, "...)
		b = l.str(b, v.Name)
		b = append(b, ", "...)
		b = l.str(b, v.Source.String())
		b = append(b, l.end...)
	}
	return b, nil
}

// appendList appends names as literals of a target language (str),
// separated by ", ".
func appendList(dst []byte, names []string, str func([]byte, string) []byte) []byte {
	for i, name := range names {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		dst = str(dst, name)
	}
	return dst
}

// joined spells a value as an expression of a target language: recorded
// text as literals (text), each variable's name (name) between uri's
// pair where the recording had the value percent-encoded and ref's
// otherwise, joined by op; empty when there is nothing.
type joined struct {
	op, empty  string
	uri, ref   [2]string
	name, text func(dst []byte, s string) []byte
}

func (j *joined) append(dst []byte, v value) []byte {
	n := 0
	for _, p := range v {
		if !p.isVariable() && p.Text == "" {
			continue
		}
		if n > 0 {
			dst = append(dst, j.op...)
		}
		n++
		around, name := j.ref, p.Env
		switch {
		case p.Var != nil && p.Enc == correlate.EncodedURL:
			around, name = j.uri, p.Var.Name
		case p.Var != nil:
			name = p.Var.Name
		case p.Env == "":
			dst = j.text(dst, p.Text)
			continue
		}
		dst = append(dst, around[0]...)
		dst = j.name(dst, name)
		dst = append(dst, around[1]...)
	}
	if n == 0 {
		dst = append(dst, j.empty...)
	}
	return dst
}
