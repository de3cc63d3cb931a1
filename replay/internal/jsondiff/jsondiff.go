// Package jsondiff compares two JSON documents structurally, the way a
// replay must: field by field with a path for every difference, objects
// without regard to key order, arrays by index or — when their elements are
// objects identified by a field such as id or name — as sets matched by that
// field (APIs that sort by random ids return the same collection in another
// order on every server). Recorded strings can be normalised before they are
// compared (a recorded origin rewritten, server-chosen ids mapped), and
// differences can be declared noise by path or by value.
//
// For display it can also emit the two documents as aligned side-by-side
// rows, the live side reordered to follow the recorded one.
package jsondiff

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
)

// Kind is the kind of a [Change].
type Kind string

// Change kinds.
const (
	Changed Kind = "changed" // both documents have the path with different values
	Missing Kind = "missing" // the recorded document has it, the live one not
	Extra   Kind = "extra"   // the live document has it, the recorded one not
)

// Change is one difference.
type Change struct {
	Path     Path
	Kind     Kind
	Recorded any // nil for Extra
	Live     any // nil for Missing
}

// Ignored is a difference that an ignore rule declared noise. The whole
// change is kept because ignored differences still teach a mapping (an
// ignored creatorId is still the id a later request uses).
type Ignored struct {
	Change
	Rule string
}

// Options tune a comparison. The zero value compares exactly, with arrays
// of objects matched by name or id.
type Options struct {
	// Normalize rewrites a recorded string before it is compared with the
	// live one (and must be cheap: it runs on every recorded string).
	Normalize func(string) string
	// IgnorePath names the rule that makes a difference at p noise, or "".
	IgnorePath func(p Path) string
	// IgnoreValue names the rule that makes two different leaf values noise,
	// or "". rec is already normalised.
	IgnoreValue func(p Path, rec, live any) string
	// Aliases maps an object key to another key that means the same thing
	// (Rancher's actions/actionLinks); give both directions.
	Aliases map[string]string
	// Rows asks for the side-by-side rendering in Result.Rows, at most
	// maxRows rows.
	Rows bool
}

// Result is the outcome of [Compare].
type Result struct {
	Changes []Change
	Ignored []Ignored
	Rows    []Row
}

// Op says how a display row differs.
type Op uint8

// Row operations.
const (
	Same    Op = iota // equal (possibly modulo normalisation)
	Differ            // both sides, different
	Removed           // recorded only
	Added             // live only
	Noise             // different but ignored; Note names the rule
)

// Row is one line of the side-by-side rendering. Left or Right is empty
// when the line exists on one side only.
type Row struct {
	Depth       int
	Left, Right string
	Op          Op
	Note        string
}

// keyFields are the fields that identify array elements, in order of
// preference.
var keyFields = []string{"name", "id"}

const maxRows = 20000

type comparer struct {
	o    *Options
	res  Result
	keys []string // stack of sorted key lists, reused by nested objects
}

// Compare compares a recorded document with a live one, both as returned
// by [Decode].
func Compare(rec, live any, o *Options) *Result {
	if o == nil {
		o = &Options{}
	}
	c := &comparer{o: o}
	// One path buffer for the whole walk: children append in place and a
	// difference keeps a clone.
	c.value(make(Path, 0, 32), 0, "", "", rec, live)
	return &c.res
}

func (c *comparer) norm(s string) string {
	if c.o.Normalize == nil {
		return s
	}
	return c.o.Normalize(s)
}

func (c *comparer) ignorePath(p Path) string {
	if c.o.IgnorePath == nil {
		return ""
	}
	return c.o.IgnorePath(p)
}

// value compares rec and live at path p. lk and rk are the display
// prefixes ("\"key\": ") of the two sides.
func (c *comparer) value(p Path, depth int, lk, rk string, rec, live any) {
	switch r := rec.(type) {
	case map[string]any:
		if l, ok := live.(map[string]any); ok {
			c.object(p, depth, lk, rk, r, l)
			return
		}
	case []any:
		if l, ok := live.([]any); ok {
			c.array(p, depth, lk, rk, r, l)
			return
		}
	default:
		if _, container := live.(map[string]any); !container {
			if _, container := live.([]any); !container {
				c.leaf(p, depth, lk, rk, rec, live)
				return
			}
		}
	}
	// Different shapes: one change for the whole value.
	c.differ(p, depth, lk, rk, rec, live)
}

func (c *comparer) leaf(p Path, depth int, lk, rk string, rec, live any) {
	// nrec is boxed on the stack here; a helper returning any would put
	// it on the heap for every leaf.
	nrec := rec
	if s, ok := rec.(string); ok {
		nrec = c.norm(s)
	}
	// The recorded value itself is never a difference, even where
	// normalisation expected something else (a link to a host that did not
	// change).
	if scalarEqual(nrec, live) || nrec != rec && scalarEqual(rec, live) {
		if c.o.Rows {
			c.row(Row{Depth: depth, Left: lk + scalarText(rec), Right: rk + scalarText(live), Op: Same})
		}
		return
	}
	c.differ(p, depth, lk, rk, rec, live)
}

// differ records a difference at p unless a rule ignores it.
func (c *comparer) differ(p Path, depth int, lk, rk string, rec, live any) {
	rule := c.ignorePath(p)
	if rule == "" && c.o.IgnoreValue != nil {
		nrec := rec
		if s, ok := rec.(string); ok {
			nrec = c.norm(s)
		}
		rule = c.o.IgnoreValue(p, nrec, live)
	}
	op := c.add(Change{Path: slices.Clone(p), Kind: Changed, Recorded: rec, Live: live}, rule, Differ)
	if c.o.Rows {
		c.sideBySide(depth, lk, rk, rec, live, op, rule)
	}
}

// add records ch as a difference, or as ignored when a rule ignores it;
// it returns the row operation to show it with: op, or Noise.
func (c *comparer) add(ch Change, rule string, op Op) Op {
	if rule != "" {
		c.res.Ignored = append(c.res.Ignored, Ignored{Change: ch, Rule: rule})
		return Noise
	}
	c.res.Changes = append(c.res.Changes, ch)
	return op
}

// sideBySide renders two different values: scalars on one row, anything
// else as the recorded lines followed by the live lines.
func (c *comparer) sideBySide(depth int, lk, rk string, rec, live any, op Op, note string) {
	if isScalar(rec) && isScalar(live) {
		c.row(Row{Depth: depth, Left: lk + scalarText(rec), Right: rk + scalarText(live), Op: op, Note: note})
		return
	}
	one, two := Removed, Added
	if op == Noise {
		one, two = Noise, Noise
	}
	c.oneSide(depth, lk, rec, true, one, note)
	c.oneSide(depth, rk, live, false, two, note)
}

// oneSided records a value only one document has (kind Missing: the
// recorded one; Extra: the live one) unless a rule ignores it.
func (c *comparer) oneSided(p Path, depth int, key string, v any, kind Kind) {
	ch := Change{Path: slices.Clone(p), Kind: kind}
	left, op := kind == Missing, Removed
	if left {
		ch.Recorded = v
	} else {
		ch.Live, op = v, Added
	}
	rule := c.ignorePath(p)
	op = c.add(ch, rule, op)
	if c.o.Rows {
		c.oneSide(depth, key, v, left, op, rule)
	}
}

func (c *comparer) object(p Path, depth int, lk, rk string, rec, live map[string]any) {
	if c.o.Rows {
		c.row(Row{Depth: depth, Left: lk + "{", Right: rk + "{", Op: Same})
	}
	// Recorded keys in order, each with its live counterpart (the same key
	// or an alias); then the live keys nobody took, merged in by name.
	base := len(c.keys)
	for k := range rec {
		c.keys = append(c.keys, k)
	}
	recKeys := c.keys[base:]
	slices.Sort(recKeys)
	defer func() { c.keys = c.keys[:base] }()
	var taken map[string]bool // live keys taken by an alias
	var extras []string
	if !sameKeys(rec, live) {
		for k := range rec {
			if _, ok := live[k]; ok {
				continue
			}
			if a, ok := c.o.Aliases[k]; ok {
				_, inLive := live[a]
				_, inRec := rec[a]
				if inLive && !inRec {
					if taken == nil {
						taken = map[string]bool{}
					}
					taken[a] = true
				}
			}
		}
		for k := range live {
			if _, ok := rec[k]; !ok && !taken[k] {
				extras = append(extras, k)
			}
		}
		slices.Sort(extras)
	}
	i, j := 0, 0
	for i < len(recKeys) || j < len(extras) {
		if j >= len(extras) || i < len(recKeys) && recKeys[i] < extras[j] {
			k := recKeys[i]
			i++
			liveK, inLive := k, false
			if _, ok := live[k]; ok {
				inLive = true
			} else if a, ok := c.o.Aliases[k]; ok && taken[a] {
				liveK, inLive = a, true
			}
			cp := append(p, Seg{Key: k})
			var lk2, rk2 string
			if c.o.Rows {
				lk2, rk2 = quote(k)+": ", quote(liveK)+": "
			}
			if inLive {
				c.value(cp, depth+1, lk2, rk2, rec[k], live[liveK])
			} else {
				c.oneSided(cp, depth+1, lk2, rec[k], Missing)
			}
			continue
		}
		k := extras[j]
		j++
		var rk2 string
		if c.o.Rows {
			rk2 = quote(k) + ": "
		}
		c.oneSided(append(p, Seg{Key: k}), depth+1, rk2, live[k], Extra)
	}
	if c.o.Rows {
		c.row(Row{Depth: depth, Left: "}", Right: "}", Op: Same})
	}
}

// sameKeys reports whether two objects have exactly the same keys.
func sameKeys(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

func (c *comparer) array(p Path, depth int, lk, rk string, rec, live []any) {
	if c.o.Rows {
		c.row(Row{Depth: depth, Left: lk + "[", Right: rk + "[", Op: Same})
	}
	field := c.keyField(rec, live)
	if field == "" {
		n := min(len(rec), len(live))
		for i := 0; i < n; i++ {
			c.value(append(p, Seg{Elem: true, Index: i}), depth+1, "", "", rec[i], live[i])
		}
		for i := n; i < len(rec); i++ {
			c.oneSided(append(p, Seg{Elem: true, Index: i}), depth+1, "", rec[i], Missing)
		}
		for i := n; i < len(live); i++ {
			c.oneSided(append(p, Seg{Elem: true, Index: i}), depth+1, "", live[i], Extra)
		}
	} else {
		liveIdx := make(map[string]int, len(live))
		for i, e := range live {
			liveIdx[keyString(e.(map[string]any)[field])] = i
		}
		matched := make([]bool, len(live))
		for i, e := range rec {
			raw := e.(map[string]any)[field]
			k := keyString(raw)
			seg := Seg{Elem: true, Index: i, Field: field, Value: k}
			j, ok := liveIdx[c.normKey(raw)]
			if ok && !matched[j] {
				matched[j] = true
				c.value(append(p, seg), depth+1, "", "", e, live[j])
				continue
			}
			c.oneSided(append(p, seg), depth+1, "", e, Missing)
		}
		for j, e := range live {
			if matched[j] {
				continue
			}
			k := keyString(e.(map[string]any)[field])
			c.oneSided(append(p, Seg{Elem: true, Index: j, Field: field, Value: k}), depth+1, "", e, Extra)
		}
	}
	if c.o.Rows {
		c.row(Row{Depth: depth, Left: "]", Right: "]", Op: Same})
	}
}

func (c *comparer) normKey(v any) string {
	if s, ok := v.(string); ok {
		return c.norm(s)
	}
	return keyString(v)
}

// keyField picks the field that identifies elements in both arrays: every
// element an object with a unique scalar value for it. Of the candidates
// the one matching most recorded elements wins; "" means compare by index.
func (c *comparer) keyField(rec, live []any) string {
	if len(rec) == 0 && len(live) == 0 {
		return ""
	}
	if len(rec) == 0 || len(live) == 0 {
		// Nothing to match: name the elements of the other side by key
		// anyway, so that the path says which one is missing.
		for _, f := range keyFields {
			if _, ok := uniqueKeys(append(rec, live...), f, keyString); ok {
				return f
			}
		}
		return ""
	}
	best, bestScore := "", 0
	for _, f := range keyFields {
		liveKeys, ok := uniqueKeys(live, f, keyString)
		if !ok {
			continue
		}
		recKeys, ok := uniqueKeys(rec, f, c.normKey)
		if !ok {
			continue
		}
		score := 0
		for k := range recKeys {
			if liveKeys[k] {
				score++
			}
		}
		if score > bestScore {
			best, bestScore = f, score
		}
	}
	return best
}

func uniqueKeys(a []any, field string, norm func(any) string) (map[string]bool, bool) {
	seen := make(map[string]bool, len(a))
	for _, e := range a {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, false
		}
		v, ok := m[field]
		if !ok {
			return nil, false
		}
		switch v.(type) {
		case string, json.Number:
		default:
			return nil, false
		}
		k := norm(v)
		if seen[k] {
			return nil, false
		}
		seen[k] = true
	}
	return seen, true
}

func keyString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	}
	return ""
}

func isScalar(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return false
	}
	return true
}

func scalarEqual(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		if x == y {
			return true
		}
		fx, err1 := strconv.ParseFloat(string(x), 64)
		fy, err2 := strconv.ParseFloat(string(y), 64)
		return err1 == nil && err2 == nil && fx == fy
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case nil:
		return b == nil
	}
	return false
}

// scalarText renders a scalar as JSON.
func scalarText(v any) string {
	switch x := v.(type) {
	case string:
		return quote(x)
	case json.Number:
		return x.String()
	case nil:
		return "null"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (c *comparer) row(r Row) {
	switch {
	case len(c.res.Rows) < maxRows:
		c.res.Rows = append(c.res.Rows, r)
	case len(c.res.Rows) == maxRows:
		c.res.Rows = append(c.res.Rows, Row{Left: "…", Right: "…", Op: Same, Note: "truncated"})
	}
}

// oneSide renders a value on one side only.
func (c *comparer) oneSide(depth int, key string, v any, left bool, op Op, note string) {
	emit := func(d int, text string) {
		r := Row{Depth: d, Op: op, Note: note}
		if left {
			r.Left = text
		} else {
			r.Right = text
		}
		c.row(r)
	}
	var walk func(d int, key string, v any)
	walk = func(d int, key string, v any) {
		if len(c.res.Rows) > maxRows {
			return
		}
		switch x := v.(type) {
		case map[string]any:
			emit(d, key+"{")
			for _, k := range slices.Sorted(maps.Keys(x)) {
				walk(d+1, quote(k)+": ", x[k])
			}
			emit(d, "}")
		case []any:
			emit(d, key+"[")
			for _, e := range x {
				walk(d+1, "", e)
			}
			emit(d, "]")
		default:
			emit(d, key+scalarText(v))
		}
	}
	walk(depth, key, v)
}
