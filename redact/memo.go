package redact

import (
	"strings"
	"sync"
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

// memo bounds: strings longer than maxMemoLen are bodies, seen once; a
// generation holds at most maxMemoGen strings or maxMemoBytes bytes.
const (
	maxMemoLen   = 1 << 10
	maxMemoGen   = 1 << 13
	maxMemoBytes = 2 << 20
)

type cleanMemo struct {
	mu        sync.RWMutex
	cur, prev map[string]bool // the value: textValue walked s as JSON
	bytes     int
}

func newCleanMemo() *cleanMemo { return &cleanMemo{cur: map[string]bool{}} }

// get reports whether s is known clean, and its JSON flag.
func (m *cleanMemo) get(k string) (whole, ok bool) {
	m.mu.RLock()
	whole, ok = m.cur[k]
	if !ok {
		whole, ok = m.prev[k]
	}
	m.mu.RUnlock()
	return whole, ok
}

// put remembers s (a copy: s may point into an entry's buffer) as clean.
// When a generation is full it becomes the previous one and the one
// before is dropped, so strings still in use survive and the memo stays
// bounded.
func (m *cleanMemo) put(k string, whole bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.cur[k]; ok {
		return
	}
	if len(m.cur) >= maxMemoGen || m.bytes+len(k) > maxMemoBytes {
		m.prev, m.cur, m.bytes = m.cur, make(map[string]bool, len(m.cur)), 0
	}
	m.cur[strings.Clone(k)] = whole
	m.bytes += len(k)
}

// effects counts what an analysis did that makes its verdict depend on
// more than its input: sweeps, redactions attempted, warnings.
func (a *analyzer) effects() int { return a.sweeps + a.hits + len(a.warns) }

// textValue analyses a string that is not secret by name: it may hold
// JSON, a URL, YAML or free text.
func (a *analyzer) textValue(s string, es *editSet) {
	m := a.p.memo
	// Only the strings of the entry itself (depth 0): the layers inside
	// them are seldom repeated.
	if m == nil || a.depth > 0 || !es.empty() || len(s) > maxMemoLen || s == "" {
		a.textValueOnce(s, es)
		return
	}
	k := s
	if whole, ok := m.get(k); ok {
		a.wholeJSON = whole
		return
	}
	before := a.effects()
	a.textValueOnce(s, es)
	if es.empty() && a.effects() == before {
		m.put(k, a.wholeJSON)
	}
}
