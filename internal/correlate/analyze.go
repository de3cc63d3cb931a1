package correlate

import (
	"errors"
	"fmt"
	"hash/maphash"
	"slices"

	"github.com/apitape/apitape/har"
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
	for _, mv := range opts.Extra {
		if !slices.Contains(indexes, mv.Entry) {
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
