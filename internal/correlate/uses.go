package correlate

import (
	"cmp"
	"hash/maphash"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/credential"
)

// field is one request field the matcher scans.
type field struct {
	where, text string
}

// requestFields lists the fields of a request. wheres (optional) interns
// the "header:Name" strings: a session repeats a few header names
// thousands of times.
func requestFields(e *har.Entry, wheres map[string]string, fields []field) (origin string, _ []field) {
	origin, path, query, _ := SplitURL(e.Request.URL)
	fields = fields[:0]
	fields = append(fields, field{WhereURLPath, path})
	if query != "" {
		fields = append(fields, field{WhereURLQuery, query})
	}
	for _, h := range e.Request.Headers {
		if strings.HasPrefix(h.Name, ":") {
			continue // HTTP/2 pseudo-headers repeat the URL and are never sent as headers
		}
		w, ok := wheres[h.Name]
		if !ok {
			w = WhereHeader(h.Name)
			if wheres != nil {
				wheres[strings.Clone(h.Name)] = w // kept: a copy
			}
		}
		fields = append(fields, field{w, h.Value})
	}
	if pd := e.Request.PostData; pd != nil && pd.Text != nil && !pd.IsBase64() {
		if *pd.Text != "" {
			fields = append(fields, field{WhereBody, *pd.Text}) // Body would copy it twice
		}
	} else if body := e.Request.Body(); len(body) > 0 {
		fields = append(fields, field{WhereBody, string(body)})
	}
	return origin, fields
}

type match struct {
	start, end int
	c          *candidate
}

// scanRequest records the uses of produced values in one request, then
// remembers every token it carried.
func (a *analyzer) scanRequest(idx int, e *har.Entry) {
	origin, fields := requestFields(e, a.wheres, a.fields)
	a.fields = fields // reused: nothing keeps them past this call
	a.cur = call{method: e.Request.Method, status: e.Response.Status, path: fields[0].text}
	if len(fields) > 1 && fields[1].where == WhereURLQuery {
		a.cur.query = fields[1].text
	}
	a.curIdx = idx
	var ms []match
	for _, f := range fields {
		ms = a.match(f.text, ms[:0])
		if len(ms) == 0 {
			continue
		}
		a.keepCall()
		var bodyPaths []string
		var inString []bool
		if f.where == WhereBody {
			starts := make([]int, len(ms))
			for i, m := range ms {
				starts[i] = m.start
			}
			bodyPaths, inString = jsonPathsAt(f.text, starts)
		}
		key := useKey{idx, f.where}
		for i, m := range ms {
			v := a.materialize(m.c.s.cur)
			u := Use{Entry: idx, Where: f.where, Start: m.start, End: m.end, Encoded: m.c.encoded}
			if bodyPaths != nil && bodyPaths[i] != "" {
				u.Field, u.InJSONString = bodyPaths[i], inString[i]
			}
			if u.Field == "" && (f.where == WhereURLQuery || f.where == WhereBody) {
				u.Field = strings.Clone(paramAt(f.text, m.start)) // kept: a copy
			}
			v.Uses = append(v.Uses, u)
			a.model.uses[key] = append(a.model.uses[key], useRef{v, u})
			a.model.users[idx] = true
			if sensitiveHeader(f.where) {
				v.Secret = true
			}
		}
		// A repeated header shares its key with the first: keep the key's
		// uses in start order, as Rewrite expects.
		refs := a.model.uses[key]
		sort.SliceStable(refs, func(i, j int) bool { return refs[i].u.Start < refs[j].u.Start })
	}
	a.remember(origin)
	for _, f := range fields {
		a.remember(f.text)
	}
	// Names the client sent are its own too: an echo of a request header
	// or cookie name is never a value a server produced.
	for _, h := range e.Request.Headers {
		a.remember(h.Name)
	}
	for _, c := range e.Request.Cookies {
		a.remember(c.Name)
	}
}

// keepCall stores the call being added in the model: it uses or produces
// a variable.
func (a *analyzer) keepCall() {
	if _, ok := a.model.calls[a.curIdx]; !ok {
		c := a.cur
		// Copies, as in produce.
		c.method, c.path, c.query = strings.Clone(c.method), strings.Clone(c.path), strings.Clone(c.query)
		a.model.calls[a.curIdx] = c
	}
}

// remember files every token of s as known to the client.
func (a *analyzer) remember(s string) {
	h := maphash.String(a.textSeed, s)
	slot := &a.texts[h%uint64(len(a.texts))]
	if *slot == h {
		return
	}
	*slot = h
	eachToken(s, func(start, end int) {
		h := maphash.String(a.seed, s[start:end])
		// Most tokens recur (path words, parameter names): a slot in the
		// same table spares the map most of its inserts.
		slot := &a.texts[h%uint64(len(a.texts))]
		if *slot == h {
			return
		}
		*slot = h
		a.known[h] = struct{}{}
	})
}

// match finds the non-overlapping occurrences of produced values in text,
// longest first where they overlap.
func (a *analyzer) match(text string, ms []match) []match {
	if len(a.index) == 0 {
		return ms
	}
	eachToken(text, func(s, e int) {
		for _, b := range a.index[text[s:e]] {
			start, end := s-b.off, s-b.off+b.n
			if start < 0 || end > len(text) || !boundaryBefore(text, start) || !boundaryAfter(text, end) {
				continue
			}
			if t := text[start:end]; t == b.first.form {
				ms = append(ms, match{start, end, b.first})
			} else {
				for _, c := range b.more[t] {
					ms = append(ms, match{start, end, c})
				}
			}
		}
	})
	if len(ms) < 2 {
		return ms
	}
	slices.SortFunc(ms, func(a, b match) int {
		return cmp.Or(a.start-b.start, (b.end-b.start)-(a.end-a.start), strings.Compare(a.c.encoded, b.c.encoded))
	})
	out, last := ms[:0], 0
	for _, m := range ms {
		if m.start >= last {
			out = append(out, m)
			last = m.end
		}
	}
	return out
}

// materialize turns a production into a model variable at its first use.
func (a *analyzer) materialize(p *production) *Var {
	if p.v != nil {
		return p.v
	}
	p.v = &Var{
		Name: p.manual, Value: p.value, Producer: p.entry, Source: p.source,
		Manual: p.manual != "", Secret: p.isSecret, typ: p.typ, rel: p.rel,
		FirstReceived: p.entry,
	}
	if s := a.values[p.value]; s != nil {
		p.v.FirstReceived = s.first
	}
	if p.manual == "" {
		p.v.Weak = weakness(p, p.v.FirstReceived)
	}
	a.model.Vars = append(a.model.Vars, p.v)
	return p.v
}

// knownToClient reports whether every token of v was already sent by the
// client.
func (a *analyzer) knownToClient(v string) bool {
	known := true
	eachToken(v, func(s, e int) {
		if _, ok := a.known[maphash.String(a.seed, v[s:e])]; !ok {
			known = false
		}
	})
	return known
}

// sensitiveHeader reports whether a use in this field makes a value a
// secret: credentials travel in these headers.
func sensitiveHeader(where string) bool {
	name, ok := strings.CutPrefix(where, wherePrefixH)
	if !ok {
		return false
	}
	_, secret := credential.Header(name)
	return secret
}

// paramAt returns the name of the query or form parameter whose value
// holds position i, or "".
func paramAt(s string, i int) string {
	amp := strings.LastIndexByte(s[:i], '&') + 1
	k, _, ok := strings.Cut(s[amp:i], "=")
	if !ok || strings.ContainsAny(k, " \"{}") {
		return ""
	}
	return k
}

// jsonPathsAt returns, for each offset (ascending), the path of the JSON
// string or number holding it, or "" where the body is not JSON or the
// offset is not inside such a value, and whether that value is a string.
func jsonPathsAt(body string, offsets []int) ([]string, []bool) {
	out := make([]string, len(offsets))
	str := make([]bool, len(offsets))
	dec := jsontext.NewDecoder(strings.NewReader(body), jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))
	for next := 0; next < len(offsets); {
		before := dec.InputOffset()
		tok, err := dec.ReadToken()
		if err != nil {
			break
		}
		after := dec.InputOffset()
		depth := dec.StackDepth()
		kind, n := dec.StackIndex(depth)
		// A value inside a member name is not a field anyone can name.
		isValue := tok.Kind() == '"' && (kind != '{' || n%2 == 0) || tok.Kind() == '0'

		for next < len(offsets) && int64(offsets[next]) < before {
			next++
		}
		if !isValue {
			for next < len(offsets) && int64(offsets[next]) < after {
				next++
			}
			continue
		}
		var p string
		for next < len(offsets) && int64(offsets[next]) < after {
			if p == "" {
				p = stackPath(dec, depth).String()
			}
			out[next], str[next] = p, tok.Kind() == '"'
			next++
		}
	}
	return out, str
}

// stackPath is the path of the value dec read last, depth levels deep.
func stackPath(dec *jsontext.Decoder, depth int) Path {
	p := make(Path, 0, depth)
	i := 0
	for tok := range dec.StackPointer().Tokens() {
		i++
		if kind, _ := dec.StackIndex(i); kind == '[' {
			n, _ := strconv.Atoi(tok)
			p = append(p, Step{Index: n, IsIndex: true})
		} else {
			p = append(p, Step{Key: tok})
		}
	}
	return p
}
