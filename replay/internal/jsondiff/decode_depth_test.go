package jsondiff

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/apitape/apitape/har"
)

// TestDecodeDepth: nesting is bounded by har.MaxDepth, the limit every
// reader in apitape shares; 2,000,000 levels are an error, not a stack
// overflow.
func TestDecodeDepth(t *testing.T) {
	nest := func(n int) []byte { return []byte(strings.Repeat("[", n) + strings.Repeat("]", n)) }
	if _, err := Decode(nest(har.MaxDepth)); err != nil {
		t.Errorf("at the limit: %v", err)
	}
	for _, n := range []int{har.MaxDepth + 1, 2_000_000} {
		_, err := Decode(nest(n))
		var se *jsontext.SyntacticError
		if !errors.As(err, &se) || se.ByteOffset != har.MaxDepth {
			t.Errorf("depth %d: %v, want a SyntaxError at offset %d", n, err, har.MaxDepth)
		}
	}
}
