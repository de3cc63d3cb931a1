package redact

import (
	"strings"
)

// A session repeats most of its strings in every entry (user-agent,
// accept, content types, the same JSON fields with the same values), and
// free-text analysis of each is the bulk of the work per entry. cleanMemo
// remembers the strings textValue found clean, so that the next copy
// skips straight to the sweep.
//
// Only verdicts that cannot change are kept: textValue is a function of
// the policy, the string and the decoding depth (0 here), and of the keystore only
// through the sweep and the placeholders. A string is remembered only when
// its analysis swept nothing, attempted no redaction and warned of
// nothing (see analyzer.effects); the caller's own sweep of it still runs
// every time, with every value known by then.

// Bounds: strings longer than maxMemoLen are bodies, seen once; a
// generation holds at most maxMemoGen strings or maxMemoBytes bytes.
const (
	maxMemoLen   = 1 << 10
	maxMemoGen   = 1 << 13
	maxMemoBytes = 2 << 20
)

// memo is a bounded map from strings to what an analysis of them found.
// When a generation is full it becomes the previous one and the one
// before is dropped, so strings still in use survive and the memo stays
// bounded. A memo belongs to one goroutine at a time (no lock: the checks
// beside the stream each have their own, as a shared lock cost more than
// the memo saved).
type memo[V any] struct {
	cur, prev map[string]V
	bytes     int
}

func newMemo[V any]() *memo[V] { return &memo[V]{cur: map[string]V{}} }

func (m *memo[V]) get(k string) (v V, ok bool) {
	v, ok = m.cur[k]
	if !ok {
		v, ok = m.prev[k]
	}
	return v, ok
}

// put remembers k (a copy: k may point into an entry's buffer).
func (m *memo[V]) put(k string, v V) {
	if _, ok := m.cur[k]; ok {
		return
	}
	if len(m.cur) >= maxMemoGen || m.bytes+len(k) > maxMemoBytes {
		m.prev, m.cur, m.bytes = m.cur, make(map[string]V, len(m.cur)), 0
	}
	m.cur[strings.Clone(k)] = v
	m.bytes += len(k)
}

// memos are what a policy's rules decided about strings that repeat.
type memos struct {
	text  *memo[bool] // clean strings for textValue; the value: walked as JSON
	names *memo[bool] // member names without a token in them
	keys  *memo[keyClass]
}

type keyClass struct {
	class  string
	secret bool
}

func newMemos() *memos {
	return &memos{text: newMemo[bool](), names: newMemo[bool](), keys: newMemo[keyClass]()}
}

// effects counts what an analysis did that makes its verdict depend on
// more than its input: sweeps, redactions attempted, warnings.
func (a *analyzer) effects() int { return a.sweeps + a.hits + len(a.warns) }

// textValue analyses a string that is not secret by name: it may hold
// JSON, a URL, YAML or free text.
func (a *analyzer) textValue(s string, es *editSet) {
	m := a.m
	if m == nil {
		a.textValueOnce(s, es)
		return
	}
	// Only the strings of the entry itself (depth 0): the layers inside
	// them are seldom repeated.
	if a.depth > 0 || !es.empty() || len(s) > maxMemoLen || s == "" {
		a.textValueOnce(s, es)
		return
	}
	k := s
	if whole, ok := m.text.get(k); ok {
		a.wholeJSON = whole
		return
	}
	before := a.effects()
	a.textValueOnce(s, es)
	if es.empty() && a.effects() == before {
		m.text.put(k, a.wholeJSON)
	}
}

// clone copies the memos for another goroutine.
func (m *memos) clone() *memos {
	if m == nil {
		return nil
	}
	return &memos{text: m.text.clone(), names: m.names.clone(), keys: m.keys.clone()}
}

func (m *memo[V]) clone() *memo[V] {
	c := &memo[V]{cur: make(map[string]V, len(m.cur)+len(m.prev)), bytes: m.bytes}
	for k, v := range m.prev {
		c.cur[k] = v
	}
	for k, v := range m.cur {
		c.cur[k] = v
	}
	return c
}

// key is policy.key, remembered for a name without a path.
func (a *analyzer) key(name string, path []string) (class string, secret bool) {
	if path != nil || a.m == nil || len(name) > maxMemoLen {
		return a.p.key(name, path)
	}
	if kc, ok := a.m.keys.get(name); ok {
		return kc.class, kc.secret
	}
	class, secret = a.p.key(name, nil)
	a.m.keys.put(name, keyClass{class, secret})
	return class, secret
}
