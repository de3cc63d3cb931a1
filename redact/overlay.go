package redact

// Stream's first pass analyses entries on several goroutines, although an
// entry is redacted with every secret learned from the entries before it.
// Each analysis reads the keystore as it stands (nothing changes it while
// the analysis runs) and learns into an overlay of its own; the stream then
// takes the analyses in entry order and keeps one only if nothing learned
// between its start and its turn could have changed it: no value it looked
// up (for a placeholder, a decoded plaintext, a member name) was learned or
// changed since, and no string it swept holds, in any spelling the sweep
// knows, a value learned since. Every answer the keystore gave the analysis
// is then the one it would have given it in turn, so its edits, records and
// learned values are too; they are applied in order. Any other analysis is
// made again, in turn. The output is thus the same whatever the schedule.
// The merge checks without the keystore's lock (it alone writes the
// keystore), against the keystore and the analyses accepted but not yet
// applied (pending), and takes the lock only to apply them.

import (
	"strings"
	"sync"
)

// overlay is the keystore as one analysis sees it: base, read-only while
// the analysis runs, and the values the entry itself taught.
type overlay struct {
	base *keystore
	mu   *sync.RWMutex // held for reading from acquire to release (nil: none)
	loc  *keystore     // this entry's own values
	d    *delta
	// decoded: values of base whose plaintext this entry learned.
	decoded map[string]bool
	cands   []match
}

// delta is what an analysis against the keystore at ver learned, and what
// it asked.
type delta struct {
	ver, order int // the keystore's ver and len(order) when it began
	ops        []ksOp
	queried    []string // values looked up
	swept      []string // strings swept
}

// ksOp is a change to the keystore: a value learned, or (decode) a value's
// plaintext marked learned.
type ksOp struct {
	value, class, ph string
	forms            []string // its spellings for the sweep
	offs             []int32  // where their windows lie
	decode           bool
}

func newOverlay(base *keystore, mu *sync.RWMutex) *overlay {
	return &overlay{base: base, mu: mu, loc: newKeystore(base.key), decoded: map[string]bool{}}
}

// begin starts an analysis, which records in d (its slices reused).
func (o *overlay) begin(d *delta) {
	if o.loc.ver > 0 {
		clear(o.loc.vals)
		clear(o.loc.order)
		o.loc.order = o.loc.order[:0]
		o.loc.m.reset()
		o.loc.ver = 0
	}
	clear(o.decoded)
	o.d = d
}

func (o *overlay) end() { o.d = nil }

// acquire takes base as it is now, for reading until release: the
// analysis asks the keystore nothing before (an entry is parsed first,
// while Stream may be merging).
func (o *overlay) acquire() {
	if o.mu != nil {
		o.mu.RLock()
	}
	o.d.ver, o.d.order = o.base.ver, len(o.base.order)
}

func (o *overlay) release() {
	if o.mu != nil {
		o.mu.RUnlock()
	}
}

func (o *overlay) lookup(v string) (known, bool) {
	o.d.queried = append(o.d.queried, v)
	if kv, ok := o.base.vals[v]; ok {
		return kv, true
	}
	kv, ok := o.loc.vals[v]
	return kv, ok
}

// has is whether v is a known value.
func (o *overlay) has(v string) bool {
	_, ok := o.lookup(v)
	return ok
}

// placeholder is keystore.placeholder.
func (o *overlay) placeholder(value, class string, learn bool) string {
	if kv, ok := o.lookup(value); ok {
		return kv.ph
	}
	ph := o.base.mac(value, class)
	if learn {
		value = strings.Clone(value)
		forms := o.loc.learn(value, class, ph, nil, nil)
		// The windows are chosen here, against base, rather than in the
		// merge, which runs alone.
		var offs []int32
		if forms != nil {
			offs = make([]int32, len(forms))
			for i, f := range forms {
				offs[i] = int32(o.base.m.anchor(f))
			}
		}
		o.d.ops = append(o.d.ops, ksOp{value: value, class: class, ph: ph, forms: forms, offs: offs})
	}
	return ph
}

// firstDecode is keystore.firstDecode.
func (o *overlay) firstDecode(value string) bool {
	o.d.queried = append(o.d.queried, value)
	if kv, ok := o.base.vals[value]; ok {
		if kv.decoded || o.decoded[value] {
			return false
		}
		o.decoded[kv.key] = true
		o.d.ops = append(o.d.ops, ksOp{value: kv.key, decode: true})
		return true
	}
	if !o.loc.firstDecode(value) {
		return false
	}
	if kv, ok := o.loc.vals[value]; ok {
		o.d.ops = append(o.d.ops, ksOp{value: kv.key, decode: true})
	}
	return true
}

// sweep is keystore.sweep over base and the entry's own values, the
// latter numbered after base's as they would be in a keystore that had
// learned them.
func (o *overlay) sweep(s string, fn func(start, end int, value, class string)) {
	if len(s) < minSweep {
		return
	}
	o.d.swept = append(o.d.swept, s)
	bn := o.base.m.n
	if bn+o.loc.m.n == 0 {
		return
	}
	c := o.cands[:0]
	collect := func(start, end, form int) bool {
		c = append(c, match{start, end, form})
		return true
	}
	if o.loc.m.n == 0 {
		o.base.m.candidates(s, collect)
	} else {
		candidates2(o.base.m, o.loc.m, s, collect)
	}
	o.cands = nil
	pick(c, func(start, end, form int) {
		k := o.base
		if form >= bn {
			k, form = o.loc, form-bn
		}
		v := k.m.form(form).value
		fn(start, end, v, k.vals[v].class)
	})
	o.cands = c[:0]
}

// valid reports whether nothing learned since d's analysis began (in k,
// or in p, which is to be applied to k first) could have changed it: no
// value it looked up was learned or changed since, and no string it swept
// holds a value learned since, in any spelling the sweep knows. Then
// every answer the keystore gave it is the one it would give now.
func (k *keystore) valid(d *delta, p *pending) bool {
	inP := p != nil && len(p.deltas) > 0
	if k.ver == d.ver && !inP {
		return true
	}
	for _, q := range d.queried {
		if kv, ok := k.vals[q]; ok && kv.mod >= d.ver || inP && p.touched[q] {
			return false
		}
	}
	since := func(f *sweepForm) bool { return f.n >= d.order }
	var ms []*matcher
	switch {
	case p != nil && d.order >= p.base:
		ms = []*matcher{p.m} // every value learned since d.order
	case p != nil:
		ms = []*matcher{k.m, p.m}
	case len(k.order) > d.order:
		ms = []*matcher{k.m}
	}
	for _, m := range ms {
		if m.n == 0 {
			continue
		}
		for _, s := range d.swept {
			if anyForm(m, s, since) {
				return false
			}
		}
	}
	return true
}

// apply makes the changes d's analysis made.
func (k *keystore) apply(d *delta) {
	for _, op := range d.ops {
		if op.decode {
			k.markDecoded(k.vals[op.value])
		} else {
			k.learn(op.value, op.class, op.ph, op.forms, op.offs)
		}
	}
}

// pending are analyses found valid and not yet applied: Stream checks the
// next ones against them without holding the keystore's lock, and applies
// them together.
type pending struct {
	deltas  []*delta
	touched map[string]bool // values they learned or changed
	order   int             // how many values they learned that the sweep knows
	// m holds the spellings of the values learned from the base'th on,
	// applied or pending, each numbered as in the keystore: an analysis
	// that began after base is checked against these alone, not against
	// the keystore's whole matcher.
	m      *matcher
	fs     []sweepForm
	base   int
	synced int // len(order) of the keystore when m was last complete
}

const maxRecentForms = 1 << 13

func newPending() *pending { return &pending{touched: map[string]bool{}, m: newMatcher(nil)} }

// sync starts m afresh if the keystore learned values m does not hold.
func (p *pending) sync(k *keystore) {
	if len(k.order) != p.synced || p.m.n > maxRecentForms {
		p.m.reset()
		p.base, p.synced = len(k.order), len(k.order)
	}
}

// add appends d, whose first value the sweep knows will be number gen.
func (p *pending) add(d *delta, gen int) {
	p.deltas = append(p.deltas, d)
	for _, op := range d.ops {
		p.touched[op.value] = true
		if op.forms != nil {
			fs := p.fs[:0]
			for _, f := range op.forms {
				fs = append(fs, sweepForm{text: f, value: op.value, n: gen + p.order})
			}
			// The windows the analysis chose against the keystore serve
			// here too: choosing again cost as much as the check saved.
			p.m.appendAt(fs, op.offs)
			clear(fs)
			p.fs = fs[:0]
			p.order++
		}
	}
}

// applyPending applies p to k, in order.
func (k *keystore) applyPending(p *pending) {
	for _, d := range p.deltas {
		k.apply(d)
	}
	clear(p.deltas)
	p.deltas = p.deltas[:0]
	clear(p.touched)
	p.order = 0
	p.synced = len(k.order)
}
