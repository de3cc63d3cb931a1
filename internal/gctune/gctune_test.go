package gctune

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestForBatch(t *testing.T) {
	tests := []struct {
		reason         string
		env            map[string]string
		percent, limit int64
	}{
		{"nothing set: the batch settings", nil, Percent, Limit},
		{"GOGC set: left alone", map[string]string{"GOGC": "50"}, 100, math.MaxInt64},
		{"GOMEMLIMIT set: left alone", map[string]string{"GOMEMLIMIT": "1GiB"}, 100, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			debug.SetGCPercent(100)
			debug.SetMemoryLimit(math.MaxInt64)
			restore := ForBatch(func(k string) string { return tt.env[k] })
			percent := int64(debug.SetGCPercent(-1))
			debug.SetGCPercent(int(percent))
			limit := debug.SetMemoryLimit(-1)
			restore()
			if percent != tt.percent || limit != tt.limit {
				t.Errorf("GOGC %d, limit %d; want %d, %d", percent, limit, tt.percent, tt.limit)
			}
			if p := debug.SetGCPercent(-1); p != 100 {
				t.Errorf("restore left GOGC at %d", p)
			}
			debug.SetGCPercent(100)
			if l := debug.SetMemoryLimit(-1); l != math.MaxInt64 {
				t.Errorf("restore left the limit at %d", l)
			}
		})
	}
}
