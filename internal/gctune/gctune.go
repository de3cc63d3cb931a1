// Package gctune sets Go's garbage collector for apitape's batch commands
// (redact, scan, convert, inspect, replay): they read a file once, hold
// what they learn from it, and exit. The runtime's default (collect when
// the heap has doubled) is made for servers that live for days; for a
// batch run that keeps tens of megabytes of calls and values, it marks
// that live heap over and over, about a tenth of a conversion's CPU.
//
// A batch command collects when the heap has tripled instead, under a
// soft limit that makes the collector work harder as the heap nears it,
// so memory stays bounded whatever the size of the input. GOGC or
// GOMEMLIMIT in the environment leave the runtime as the user set it.
package gctune

import (
	"runtime/debug"
)

const (
	// Percent is GOGC for batch commands.
	Percent = 200
	// Limit is the soft memory limit for batch commands.
	Limit = 256 << 20
)

// ForBatch applies the batch settings unless getenv reports GOGC or
// GOMEMLIMIT, and returns what puts the previous ones back.
func ForBatch(getenv func(string) string) (restore func()) {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	percent := debug.SetGCPercent(Percent)
	limit := debug.SetMemoryLimit(Limit)
	return func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	}
}
