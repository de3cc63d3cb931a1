package replay

// WithHeuristicOnly replays the way this package did before the
// correlation model: no model, and the values the heuristic valueMap
// learned go into later requests. Tests compare the two.
func WithHeuristicOnly() Option {
	return func(r *Runner) error {
		r.correlation.Disabled, r.correlation.Extra, r.heuristicOnly = true, nil, true
		return nil
	}
}
