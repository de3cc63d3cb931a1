package redact

// Internal test helpers for the external tests (package redact_test),
// which may import replay: replay imports redact, so package redact's own
// tests cannot.
var (
	RedactString    = redactString
	NewTestRedactor = newTestRedactor
	MustParse       = mustParse
	ReqHeader       = reqHeader
	FirstPH         = firstPH
	PlaceholderRe   = placeholderRe
	StartDemo       = startDemo
)

const DemoPassword = demoPassword

// Helpers only tests use: what mapped, any and merge compute is what
// addMapped, anyForm and valid+apply do inside the product.

// mapped moves edits made on a decoded string back onto its encoded text,
// escaping each replacement for that encoding. It fails when an edit
// boundary falls inside one escape; the caller then re-encodes it whole.
func (es *editSet) mapped(m escMap, escape func(string) string) (*editSet, bool) {
	out := &editSet{}
	return out, es.addMapped(out, func() rawPositions { return m }, escape, 0)
}

// any reports whether s holds a form for which ok is true.
func (m *matcher) any(s string, ok func(*sweepForm) bool) bool { return anyForm(m, s, ok) }

// merge applies d, made by an analysis that began at d.ver, if nothing
// learned since could have changed that analysis; else it changes nothing
// and reports false.
func (k *keystore) merge(d *delta) bool {
	if !k.valid(d, nil) {
		return false
	}
	k.apply(d)
	return true
}
