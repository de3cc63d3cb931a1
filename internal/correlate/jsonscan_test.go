package correlate

import (
	"strings"
	"testing"

	"github.com/apitape/apitape/har"
)

// TestScanDepth: the scanner stops at har.MaxDepth, the limit every reader
// in apitape shares, instead of overflowing the stack.
func TestScanDepth(t *testing.T) {
	nest := func(n int) string { return strings.Repeat("[", n) + `"v-1"` + strings.Repeat("]", n) }
	leaves := 0
	sc := &scanner{leaf: func(string, Path, int) { leaves++ }}
	if !sc.run(nest(har.MaxDepth)) || leaves != 1 {
		t.Errorf("at the limit: not read (%d leaves)", leaves)
	}
	for _, n := range []int{har.MaxDepth + 1, 2_000_000} {
		if sc.run(nest(n)) {
			t.Errorf("depth %d: read without error", n)
		}
	}
}
