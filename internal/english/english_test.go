package english

import "testing"

func TestCount(t *testing.T) {
	for _, tt := range []struct {
		n         int
		one, many string
		want      string
	}{
		{0, "call", "", "0 calls"},
		{1, "call", "", "1 call"},
		{2, "call", "", "2 calls"},
		{1, "entry", "entries", "1 entry"},
		{10000, "entry", "entries", "10000 entries"},
		{-1, "value", "", "-1 values"},
	} {
		if got := Count(tt.n, tt.one, tt.many); got != tt.want {
			t.Errorf("Count(%d, %q, %q) = %q, want %q", tt.n, tt.one, tt.many, got, tt.want)
		}
	}
}
