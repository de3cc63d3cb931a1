package replay

import (
	"context"

	"github.com/apitape/apitape/har"
)

// WithHeuristicOnly replays the way this package did before the
// correlation model: no model, and the values the heuristic valueMap
// learned go into later requests. Tests compare the two.
func WithHeuristicOnly() Option {
	return func(r *Runner) error {
		r.correlation.Disabled, r.correlation.Extra, r.heuristicOnly = true, nil, true
		return nil
	}
}

// Run replays entries (their indexes in the slice are the call numbers),
// as RunReader does a HAR's selected entries.
func (r *Runner) Run(ctx context.Context, entries []*har.Entry) (*Result, error) {
	return r.run(ctx, itemsOf(entries))
}

// Plan returns what Run would send for entries, without sending anything.
func (r *Runner) Plan(entries []*har.Entry) (*Plan, error) {
	return r.plan(itemsOf(entries))
}

func itemsOf(entries []*har.Entry) []item {
	items := make([]item, len(entries))
	for i, e := range entries {
		items[i] = item{index: i, entry: e}
	}
	return items
}
