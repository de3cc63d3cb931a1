package correlate

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"net/http"
	"sort"
	"strings"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/credential"
	"github.com/apitape/apitape/internal/placeholder"
)

// Options tune [Analyze].
type Options struct {
	// Disabled turns automatic detection off; Extra still applies.
	Disabled bool
	// Extra are variables the user declared (--var NAME=SOURCE@CALL). They
	// bind whatever their value is, and win over what detection finds for
	// the same value.
	Extra []Manual
	// Reserved are names the caller's output already uses (its own
	// environment variables): found variables are named around them, and
	// an Extra variable may not take one.
	Reserved []string
	// NoVar are names of found variables to keep literal (--no-var): they
	// are named as without the option, so the other names do not move,
	// then left out of the model. A name the model lacks is an error.
	NoVar []string
}

// Source classes, best first: how surely a field holds a reference.
const (
	classID    = iota // a member named "id"
	classToken        // a member named "token", a token-like header, a cookie
	classRefID        // a member named like "clusterId"
	classOther
)

// production is the current producer of one value. It becomes a Var only
// when a request uses the value.
type production struct {
	value    string
	entry    int
	source   Source
	class    int
	score    int
	typ      string
	rel      []string
	manual   string // the --var name
	v        *Var   // set on first use; after that the production never changes
	isSecret bool
	create   bool // the answer to a create (POST, PUT, 201)
	depth    int  // path length, to prefer shallow sources
	obj      int  // innermost JSON object (scanner frame), while naming
	steps    Path // JSON path, while naming
}

// slot holds the current producer of one value; the index points at
// slots so that a new producer takes over without refiling the value.
type slot struct {
	cur   *production
	first int // the entry whose answer first held the value
}

// candidate is one form (raw or percent-encoded) of a value.
type candidate struct {
	form    string
	encoded string
	s       *slot
}

// bucket holds the forms filed under one anchor token that have the same
// length and the same anchor offset: at an occurrence of the anchor, one
// map lookup of the text around it finds the form, however many values
// share the anchor (timestamps of one hour share "2025-03-14T09").
type bucket struct {
	off, n int
	first  *candidate              // the usual case: one form
	more   map[string][]*candidate // forms after the first
}

type analyzer struct {
	opts Options
	// known holds a hash of every token any request so far carried: a
	// long session carries millions, and 8 bytes each keep the analysis
	// small. Two tokens sharing a 64-bit hash (odds of about 1 in 10^7
	// for a million tokens) would only make one value look known, so it
	// would not bind.
	known map[uint64]struct{}
	// texts caches hashes of field texts already remembered: a session
	// repeats its headers in every request, and tokenizing the same
	// User-Agent ten thousand times was most of remember's cost. It is a
	// fixed table (a text evicts another that shares its slot), so it
	// does not grow with the session; a collision of whole 64-bit hashes
	// (as unlikely as in known) would leave one text's tokens unknown.
	texts *[1 << 14]uint64
	seed  maphash.Seed
	// textSeed hashes whole texts for texts: a text that is one token
	// (X-Cluster: c-q7x2m9) would otherwise fill the slot its token
	// looks up next, and the token would never enter known.
	textSeed maphash.Seed
	values   map[string]*slot     // value → its producer
	index    map[string][]*bucket // anchor token → forms to look for
	model    *Model

	wheres  map[string]string      // interned "header:Name"
	fields  []field                // scratch for scanRequest
	scan    scanner                // reused for every response
	byValue map[string]*production // this response's best source per value
	echo    []string               // the request's values, to tell an echo (see echoSet)
	echoHit []bool                 // which of them this answer repeats
	echoes  int                    // how many
	found   []*production

	// The call being added: stored in the model only when it turns out to
	// use or produce a value, so that a long session's calls are not all
	// kept.
	cur    call
	curIdx int
}

// Analyze finds the values that responses in a session produced and later
// requests used. entries are the calls in recorded order and indexes their
// HAR indexes (nil means 0, 1, 2, …); every index in the model is a HAR
// index. An error means a manual variable could not be resolved; its
// message names the variable and the entry but never a value. [Analyzer]
// does the same one entry at a time.
//
// The rules, in short:
//   - Producers: every string (and every integer of 6 to 15 digits) in a
//     JSON response body, and the last path segment of strings that are
//     links; a Location header's last path segment; headers named like
//     tokens or sessions; Set-Cookie values. A value is offered only if
//     [Source.LookupEntry] reads it back from the recorded response.
//   - A value never binds when it is too short (< 4 bytes), a word (letters
//     only: types and states), a content type, a small number, or common
//     ("local", "admin", …); nor when any request up to and including the
//     producing call already carried it: the client knew it (user input,
//     or an echo of a value already bound).
//   - Among responses producing the same value, the latest binds, unless an
//     earlier one is a better source (a 201 or POST answer, an "id" or
//     "token" member) and the later one is not. Within one response, "id"
//     beats "token", headers and cookies, then "…Id" members, then the rest;
//     then the shallowest, then the first in the document.
//   - Uses: in URL path and query, header values and the body, a value
//     matches at token boundaries, raw or percent-encoded; where values
//     overlap, the longest wins ("c-q7x2m:np-8hv4t" as a node pool id over
//     its cluster id "c-q7x2m"), so a value also binds as part of a
//     composite nobody produced whole.
func Analyze(entries []*har.Entry, indexes []int, opts Options) (*Model, error) {
	if indexes == nil {
		indexes = make([]int, len(entries))
		for i := range indexes {
			indexes[i] = i
		}
	}
	if len(indexes) != len(entries) {
		return nil, fmt.Errorf("correlate: %d entries but %d indexes", len(entries), len(indexes))
	}
	x, err := NewAnalyzer(opts)
	if err != nil {
		return nil, err
	}
	present := make(map[int]bool, len(indexes))
	for _, i := range indexes {
		present[i] = true
	}
	for _, mv := range opts.Extra {
		if !present[mv.Entry] {
			return nil, missingEntry(mv)
		}
	}
	for k, e := range entries {
		if e == nil {
			continue
		}
		if err := x.Add(indexes[k], e); err != nil {
			return nil, err
		}
	}
	return x.Model()
}

// Analyzer is [Analyze] one entry at a time, for sessions too long to hold:
// it keeps the values responses produced and the tokens requests carried,
// never the entries themselves. Add the selected entries in recorded
// order, then call Model once.
type Analyzer struct {
	a      *analyzer
	extra  []Manual
	manual map[int][]*Manual // --var declarations by entry, until that entry is added
	done   bool
}

// NewAnalyzer checks the options (the names of opts.Extra) and returns an
// Analyzer.
func NewAnalyzer(opts Options) (*Analyzer, error) {
	a := &analyzer{
		opts:  opts,
		known: map[uint64]struct{}{},
		texts: new([1 << 14]uint64),
		seed:  maphash.MakeSeed(),

		textSeed: maphash.MakeSeed(),
		values:   map[string]*slot{},
		index:    map[string][]*bucket{},
		model:    &Model{calls: map[int]call{}, uses: map[useKey][]useRef{}, users: map[int]bool{}},

		byValue: map[string]*production{},
		wheres:  map[string]string{},
	}
	manual, err := a.checkManual()
	if err != nil {
		return nil, err
	}
	return &Analyzer{a: a, extra: opts.Extra, manual: manual}, nil
}

// Add analyzes the next entry; index is its HAR index. Its request's uses
// of values that earlier entries produced are final when Add returns (see
// Rewrite). An error means a --var declared for this entry found no value.
func (x *Analyzer) Add(index int, e *har.Entry) error {
	if x.done {
		return errors.New("correlate: Add after Model")
	}
	a := x.a
	a.scanRequest(index, e)
	if !a.opts.Disabled {
		a.produce(index, e)
	}
	for _, mv := range x.manual[index] {
		if err := a.produceManual(index, e, mv); err != nil {
			return err
		}
	}
	delete(x.manual, index)
	return nil
}

// Rewrite is [Model.Rewrite] for an entry already added, while the
// analysis runs: the parts are final, the variables not yet named.
func (x *Analyzer) Rewrite(entry int, where, text string) []Part {
	return x.a.model.Rewrite(entry, where, text)
}

// HasUses is [Model.HasUses] for an entry already added.
func (x *Analyzer) HasUses(entry int) bool { return x.a.model.HasUses(entry) }

// Model ends the analysis and returns the model. It reports a --var whose
// entry was never added.
func (x *Analyzer) Model() (*Model, error) {
	if x.done {
		return nil, errors.New("correlate: Model called twice")
	}
	x.done = true
	for _, mv := range x.extra {
		if _, pending := x.manual[mv.Entry]; pending {
			return nil, missingEntry(mv)
		}
	}
	if err := x.a.model.finish(x.a.opts.Reserved, x.a.opts.NoVar); err != nil {
		return nil, err
	}
	return x.a.model, nil
}

func missingEntry(mv Manual) error {
	return fmt.Errorf("var %s: entry %d is not among the selected calls", mv.Name, mv.Entry)
}

// checkManual validates the --var list: names, duplicates, reserved names.
func (a *analyzer) checkManual() (map[int][]*Manual, error) {
	if len(a.opts.Extra) == 0 {
		return nil, nil
	}
	reserved := map[string]bool{}
	for _, name := range a.opts.Reserved {
		reserved[name] = true
	}
	byEntry := map[int][]*Manual{}
	names := map[string]bool{}
	for i := range a.opts.Extra {
		mv := &a.opts.Extra[i]
		if err := checkName(mv.Name); err != nil {
			return nil, fmt.Errorf("var %s: %v", mv.Name, err)
		}
		if reserved[mv.Name] {
			return nil, fmt.Errorf("var %s: the output already uses this name", mv.Name)
		}
		if names[mv.Name] {
			return nil, fmt.Errorf("var %s: declared twice", mv.Name)
		}
		names[mv.Name] = true
		byEntry[mv.Entry] = append(byEntry[mv.Entry], mv)
	}
	return byEntry, nil
}

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
		if h == nil || strings.HasPrefix(h.Name, ":") {
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
		if f.where == WhereBody {
			starts := make([]int, len(ms))
			for i, m := range ms {
				starts[i] = m.start
			}
			bodyPaths = jsonPathsAt(f.text, starts)
		}
		key := useKey{idx, f.where}
		for i, m := range ms {
			v := a.materialize(m.c.s.cur)
			u := Use{Entry: idx, Where: f.where, Start: m.start, End: m.end, Encoded: m.c.encoded}
			if bodyPaths != nil && bodyPaths[i] != "" {
				u.Field, u.InJSONString = bodyPaths[i], true
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
		if h != nil {
			a.remember(h.Name)
		}
	}
	for _, c := range e.Request.Cookies {
		if c != nil {
			a.remember(c.Name)
		}
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
	sort.Slice(ms, func(i, j int) bool {
		if ms[i].start != ms[j].start {
			return ms[i].start < ms[j].start
		}
		if li, lj := ms[i].end-ms[i].start, ms[j].end-ms[j].start; li != lj {
			return li > lj
		}
		return ms[i].c.encoded < ms[j].c.encoded
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

// offer makes p the producer of its value if the rules allow, and files
// the value's forms in the index the first time it is produced. A --var
// always takes over; detection never replaces a producer whose value was
// used (the client knows it then) or that the user declared.
func (a *analyzer) offer(p *production) {
	if s := a.values[p.value]; s != nil {
		cur := s.cur
		if p.manual == "" && (cur.v != nil || cur.manual != "" || cur.score > p.score) {
			return
		}
		s.cur = p
		return
	}
	s := &slot{cur: p, first: p.entry}
	a.values[p.value] = s
	a.file(s, p.value, EncodedRaw)
	if enc := EscapeURI(p.value); enc != p.value {
		a.file(s, enc, EncodedURL)
		if low := lowerEscapes(enc); low != enc {
			a.file(s, low, EncodedURL)
		}
	}
}

func (a *analyzer) file(s *slot, form, encoded string) {
	tok, off := anchor(form)
	if tok == "" {
		return
	}
	c := &candidate{form: form, encoded: encoded, s: s}
	for _, b := range a.index[tok] {
		if b.off == off && b.n == len(form) {
			if b.more == nil {
				b.more = map[string][]*candidate{}
			}
			b.more[form] = append(b.more[form], c)
			return
		}
	}
	a.index[tok] = append(a.index[tok], &bucket{off: off, n: len(form), first: c})
}

// lowerEscapes writes the hex digits of percent-escapes in lower case, as
// some clients do.
func lowerEscapes(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1], b[i+2] = lowerHex(b[i+1]), lowerHex(b[i+2])
			i += 2
		}
	}
	return string(b)
}

func lowerHex(c byte) byte {
	if 'A' <= c && c <= 'F' {
		return c + 'a' - 'A'
	}
	return c
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

// produce offers the values in one response. Cheap tests run first
// (bindable, already known, beaten by the current producer) because list
// responses repeat thousands of values that were produced before.
func (a *analyzer) produce(idx int, e *har.Entry) {
	bonus := 0
	if isCreate(e) {
		bonus = 2 // the answer to a create
	}
	clear(a.byValue)
	found := a.found[:0]
	// consider reports whether a value from this response may still bind.
	consider := func(value string, class, depth int) bool {
		if !bindable(value) {
			return false
		}
		score := classScore(class) + bonus
		if s := a.values[value]; s != nil && (s.cur.v != nil || s.cur.manual != "" || s.cur.score > score) {
			return false
		}
		if old, ok := a.byValue[value]; ok && (old.class < class || old.class == class && old.depth <= depth) {
			return false // a better source of the same value in this response
		}
		return !a.knownToClient(value)
	}
	keep := func(p *production) {
		// Copies: the decoder shares one allocation between many short
		// strings of an entry, which a kept substring would keep alive.
		p.value, p.source.Path = strings.Clone(p.value), strings.Clone(p.source.Path)
		p.entry, p.score, p.create = idx, classScore(p.class)+bonus, bonus > 0
		if old, ok := a.byValue[p.value]; ok {
			*old = *p
			return
		}
		a.byValue[p.value] = p
		found = append(found, p)
	}
	cookies := 0
	for _, h := range e.Response.Headers {
		if h == nil {
			continue
		}
		switch name := strings.ToLower(h.Name); {
		case name == "location" || name == "content-location":
			if v := LastSegment(h.Value); consider(v, classToken, 0) {
				keep(&production{value: v, source: Source{Kind: KindHeader, Path: h.Name, Part: PartLastSegment},
					class: classToken, typ: locationType(h.Value)})
			}
		case name == "set-cookie":
			eachSetCookie(h.Value, func(name, value string) {
				cookies++
				if consider(value, classToken, 0) {
					keep(&production{value: value, source: Source{Kind: KindCookie, Path: name}, class: classToken, isSecret: true})
				}
				// A name the server made up (it holds a port) is sent back
				// with the value: the pair is the credential.
				if value != "" && hasPort(name) && !a.knownToClient(name) {
					if pair := name + "=" + value; consider(pair, classToken, 0) {
						keep(&production{value: pair, source: Source{Kind: KindCookie, Path: name, Part: PartPair}, class: classToken, isSecret: true})
					}
				}
			})
		case tokenHeader(name):
			if consider(h.Value, classToken, 0) {
				keep(&production{value: h.Value, source: Source{Kind: KindHeader, Path: h.Name}, class: classToken, isSecret: true})
			}
		}
	}
	if cookies == 0 {
		for _, c := range e.Response.Cookies {
			if c != nil && c.Name != "" && consider(c.Value, classToken, 0) {
				keep(&production{value: c.Value, source: Source{Kind: KindCookie, Path: c.Name}, class: classToken, isSecret: true})
			}
		}
	}
	firstJSON := len(found)
	body, isJSON := responseText(&e.Response)
	if isJSON {
		a.echoSet(e)
		a.scan.leaf = func(value string, path Path, obj int) {
			if len(value) >= minEchoLen {
				a.echoed(value)
			}
			if !bindable(value) {
				return
			}
			class := leafClass(path)
			if class < 0 {
				return
			}
			if seg := linkID(value); seg != "" && consider(seg, classOther, len(path)+1) {
				// A link's last segment: HAL's _links.self.href, norman's links.self.
				keep(&production{value: strings.Clone(seg), source: Source{Kind: KindJSON, Path: path.String(), Part: PartLastSegment},
					class: classOther, depth: len(path) + 1, typ: locationType(value)})
			}
			if class == classOther && bonus == 0 {
				// Data a list or a read shows (a version, a description)
				// that a later request sends is what the user chose, not
				// a reference: only a create's answer produces such values.
				return
			}
			if consider(value, class, len(path)) {
				keep(&production{value: strings.Clone(value), source: Source{Kind: KindJSON, Path: path.String()},
					class: class, depth: len(path), obj: obj, steps: append(Path(nil), path...)})
			}
		}
		if !a.scan.run(body) || a.echoes >= minEchoes {
			// Not JSON after all (nothing a client could read back), or
			// an echo of the request: it produced nothing.
			for _, p := range found[firstJSON:] {
				delete(a.byValue, p.value)
			}
			found = found[:firstJSON]
		}
	}
	fallback := urlType(e.Request.URL)
	rb := readBack{r: &e.Response, body: body}
	for _, p := range found {
		if !rb.holds(p) {
			continue
		}
		if p.source.Kind == KindJSON && p.source.Part == "" {
			p.typ, p.rel = a.naming(p, fallback)
			p.steps = nil
		}
		if placeholder.Contains(p.value) || secretName(p.rel) {
			p.isSecret = true
		}
		a.keepCall()
		a.offer(p)
	}
	clear(found)
	a.found = found[:0]
}

// An answer that holds minEchoes of its request's values (its URL, header
// values, body) of at least minEchoLen bytes echoes the request (httpbin's
// /anything): it produced nothing, whatever else it holds.
const (
	minEchoLen = 8
	minEchoes  = 2
)

// echoSet keeps the request's values an echo would repeat. A list, not
// a map: a request has a dozen values, and comparing lengths first
// rules out nearly every answer value at once.
func (a *analyzer) echoSet(e *har.Entry) {
	a.echo, a.echoHit, a.echoes = a.echo[:0], a.echoHit[:0], 0
	add := func(v string) {
		if len(v) >= minEchoLen {
			a.echo = append(a.echo, v)
			a.echoHit = append(a.echoHit, false)
		}
	}
	add(e.Request.URL)
	for _, h := range e.Request.Headers {
		if h != nil && !strings.HasPrefix(h.Name, ":") {
			add(h.Value)
		}
	}
	if pd := e.Request.PostData; pd != nil && pd.Text != nil && len(*pd.Text) <= maxValueLen {
		add(*pd.Text)
	}
}

// hasPort reports a cookie name with a run of two or more digits: a port
// or an address the server put in it (username-127-0-0-1-8888).
func hasPort(name string) bool {
	run := 0
	for i := 0; i < len(name); i++ {
		if c := name[i]; '0' <= c && c <= '9' {
			if run++; run >= 2 {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

// echoed counts an answer value that repeats one of the request's
// (each once, and only values that could bind: not a content type).
func (a *analyzer) echoed(v string) {
	for i, r := range a.echo {
		if len(r) == len(v) && !a.echoHit[i] && r == v && bindable(v) {
			a.echoHit[i] = true
			a.echoes++
		}
	}
}

// isCreate reports the answer to a call that made something: a 201, or a
// POST or PUT answered with success.
func isCreate(e *har.Entry) bool {
	st := e.Response.Status
	m := e.Request.Method
	return st == 201 || (strings.EqualFold(m, "POST") || strings.EqualFold(m, "PUT")) && st >= 200 && st < 300
}

// weakness says why a found binding may be wrong, or "".
func weakness(p *production, first int) string {
	switch {
	case p.source.Kind == KindJSON && p.class == classOther && p.source.Part == "":
		return "a member not named id, …Id or token"
	case first != p.entry:
		return fmt.Sprintf("the answer of call %d held it first", first)
	case p.source.Kind == KindJSON && !p.create && strings.Contains(p.source.Path, "["):
		return "taken from a list, not from the answer that created it"
	}
	return ""
}

// readBack checks the values the scanner found in one response the way
// emitters and replay will read them ([Source.Lookup]), decoding the
// response at most once. It drops what the lenient scanner saw but a JSON
// decoder would not return (a member repeated in one object, where the
// last one wins; a control character in a string) and header values that
// are not the first of their name.
type readBack struct {
	r       *har.Response
	body    string // the JSON text, if the response has one
	doc     any
	decoded bool
	header  http.Header
}

func (rb *readBack) holds(p *production) bool {
	var got string
	var ok bool
	if p.source.Kind == KindJSON {
		if !rb.decoded {
			rb.doc, _ = decodeJSON([]byte(rb.body))
			rb.decoded = true
		}
		if rb.doc == nil {
			return false
		}
		got, ok = p.source.fromDoc(rb.doc)
	} else {
		if rb.header == nil {
			rb.header = responseHeader(rb.r)
		}
		got, ok = p.source.Lookup(rb.header, nil)
	}
	return ok && got == p.value
}

// linkID returns the last path segment of a value that is a URL or an
// absolute path, or "".
func linkID(v string) string {
	if !(strings.HasPrefix(v, "/") || strings.Contains(v, "://")) || strings.ContainsAny(v, " \t\r\n") {
		return ""
	}
	if seg := LastSegment(v); seg != v && bindable(seg) {
		return seg
	}
	return ""
}

// naming finds the resource type around a JSON value and the member names
// from that resource down to it; without a declared type, the URL's type
// and the members below the innermost array.
func (a *analyzer) naming(p *production, fallback string) (string, []string) {
	typ, depth := a.scan.typeOf(p.obj)
	if typ == "" {
		typ, depth = fallback, 0
		for i, s := range p.steps {
			if s.IsIndex {
				depth = i + 1
			}
		}
	}
	return typ, keysOf(p.steps[depth:])
}

// responseText returns a response body that looks like a JSON object or
// array, without copying a plain-text body.
func responseText(r *har.Response) (string, bool) {
	c := &r.Content
	if c.Text == nil {
		return "", false
	}
	text := *c.Text
	if strings.EqualFold(c.Encoding, "base64") {
		b, ok, err := c.Bytes()
		if !ok || err != nil {
			return "", false
		}
		text = string(b)
	}
	t := strings.TrimLeft(text, " \t\r\n")
	if t == "" || (t[0] != '{' && t[0] != '[') {
		return "", false
	}
	return text, true
}

func classScore(class int) int {
	if class <= classToken {
		return 1
	}
	return 0
}

// leafClass is the class of a JSON value at path, or -1 for members that
// never name anything.
func leafClass(path Path) int {
	if len(path) == 0 {
		return classOther
	}
	if last := path[len(path)-1]; !last.IsIndex && skipMember[last.Key] {
		return -1
	}
	switch key := lastKey(path); {
	case key == "id":
		return classID
	case strings.EqualFold(key, "token"):
		return classToken
	case len(key) > 2 && (strings.HasSuffix(key, "Id") || strings.HasSuffix(key, "ID") || strings.EqualFold(key[len(key)-3:], "_id")):
		return classRefID
	}
	return classOther
}

func lastKey(p Path) string {
	for i := len(p) - 1; i >= 0; i-- {
		if !p[i].IsIndex {
			return p[i].Key
		}
	}
	return ""
}

// produceManual binds a --var.
func (a *analyzer) produceManual(idx int, e *har.Entry, mv *Manual) error {
	v, ok := mv.Source.LookupEntry(&e.Response)
	if !ok {
		return fmt.Errorf("var %s: entry %d: the response has no value at %s", mv.Name, idx, mv.Source)
	}
	p := &production{value: v, entry: idx, source: mv.Source, class: classID, manual: mv.Name,
		isSecret: mv.Source.Kind != KindJSON || placeholder.Contains(v)}
	if mv.Source.Kind == KindJSON {
		if path, err := ParsePath(mv.Source.Path); err == nil {
			p.rel = keysOf(path)
			p.isSecret = p.isSecret || secretName(p.rel)
		}
	}
	a.keepCall()
	a.offer(p)
	a.materialize(p) // listed even without uses: the user asked for it
	return nil
}

func keysOf(p Path) []string {
	var keys []string
	for _, s := range p {
		if !s.IsIndex {
			keys = append(keys, s.Key)
		}
	}
	return keys
}

// skipMember are members that describe a value rather than name one:
// schema types and versions the client writes itself.
var skipMember = map[string]bool{
	"type": true, "baseType": true, "resourceType": true, "kind": true, "apiVersion": true,
	"$schema": true, "@type": true, "@context": true,
}

// objectType is the resource type an object declares: norman's `type`
// (its last segment when it is a schema URL; `resourceType` for a
// collection), or Kubernetes' `kind`; steve's dotted types keep their last
// part ("provisioning.cattle.io.cluster" → "cluster").
func objectType(typ, kind, resourceType string) string {
	t := typ
	if t == "collection" {
		t = resourceType
	}
	if t == "" {
		t = kind
	}
	if i := strings.LastIndexAny(t, "/."); i >= 0 {
		t = t[i+1:]
	}
	if !isWord(t) {
		return ""
	}
	return t
}

func isWord(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == '-' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// urlType guesses the resource type from a URL path: the last plural word
// segment, singular ("/v3/clusters/c-q7x2m" → "cluster"), else the last
// word that is not a version ("/v3/cluster").
func urlType(rawURL string) string {
	_, path, _, _ := SplitURL(rawURL)
	segs := strings.Split(path, "/")
	last := ""
	for i := len(segs) - 1; i >= 0; i-- {
		s := segs[i]
		if !isWord(s) || isVersion(s) || strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			continue
		}
		if singular(s) != s {
			return singular(s) // a collection: "/api/widgets/default" is a widget
		}
		if last == "" {
			last = s
		}
	}
	return last
}

func isVersion(s string) bool {
	s = strings.TrimPrefix(strings.ToLower(s), "v")
	return s != "" && strings.Trim(s, "0123456789") == "" || strings.HasPrefix(s, "3-") || strings.HasPrefix(s, "1-")
}

// singular undoes the plural of a collection name the simple way.
func singular(s string) string {
	s = strings.Trim(s, "/")
	switch {
	case strings.HasSuffix(s, "ies") && len(s) > 4:
		return s[:len(s)-3] + "y"
	case strings.HasSuffix(s, "sses"):
		return s[:len(s)-2]
	case strings.HasSuffix(s, "s") && !strings.HasSuffix(s, "ss") && len(s) > 3:
		return s[:len(s)-1]
	}
	return s
}

// tokenHeader reports whether a response header (lower-case name) carries
// a credential the client sends back: X-Auth-Token, X-Subject-Token,
// X-CSRF-Token, X-Session-Id …
func tokenHeader(name string) bool {
	_, ok := credential.Header(name)
	return ok
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

// secretName reports whether member names say the value is a credential.
func secretName(rel []string) bool {
	if len(rel) == 0 {
		return false
	}
	_, secret := credential.Key(rel[len(rel)-1])
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
// string holding it, or "" where the body is not JSON or the offset is not
// inside a string value.
func jsonPathsAt(body string, offsets []int) []string {
	out := make([]string, len(offsets))
	dec := json.NewDecoder(strings.NewReader(body))
	type frame struct {
		obj       bool
		key       string
		index     int
		expectKey bool
	}
	var stack []frame
	path := func() Path {
		p := make(Path, len(stack))
		for i, f := range stack {
			if f.obj {
				p[i] = Step{Key: f.key}
			} else {
				p[i] = Step{Index: f.index, IsIndex: true}
			}
		}
		return p
	}
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].obj {
			stack[n-1].expectKey = true
		}
	}
	valueStart := func() {
		if n := len(stack); n > 0 && !stack[n-1].obj {
			stack[n-1].index++
		}
	}
	next := 0
	for next < len(offsets) {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			break
		}
		after := dec.InputOffset()
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				valueStart()
				stack = append(stack, frame{obj: d == '{', index: -1, expectKey: d == '{'})
			default:
				if len(stack) > 0 {
					stack = stack[:len(stack)-1]
				}
				valueDone()
			}
			continue
		}
		if n := len(stack); n > 0 && stack[n-1].obj && stack[n-1].expectKey {
			stack[n-1].key, _ = tok.(string)
			stack[n-1].expectKey = false
			// A value inside a member name is not a field anyone can name.
			for next < len(offsets) && int64(offsets[next]) < after {
				next++
			}
			continue
		}
		valueStart()
		for next < len(offsets) && int64(offsets[next]) < before {
			next++
		}
		if _, isString := tok.(string); isString {
			var p Path
			for next < len(offsets) && int64(offsets[next]) < after {
				if p == nil {
					p = path()
				}
				out[next] = p.String()
				next++
			}
		}
		valueDone()
	}
	return out
}
