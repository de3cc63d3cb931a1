package replay

import "github.com/apitape/apitape/har"

// WithHeuristicOnly replays the way this package did before the
// correlation model: no model, and the values the heuristic valueMap
// learned go into later requests. Tests compare the two.
func WithHeuristicOnly() Option {
	return func(r *Runner) error {
		r.correlation.Disabled, r.correlation.Extra, r.heuristicOnly = true, nil, true
		return nil
	}
}

// Plan returns what Run would send for entries, without sending anything.
func (r *Runner) Plan(entries []*har.Entry) (*Plan, error) {
	return r.plan(itemsOf(entries))
}
