package main

import "github.com/apitape/apitape/internal/progress"

// newMeter is the progress of a batch command on stderr: a status line on
// a terminal after a second, and a summary line at the end either way.
func newMeter(st *streams, cmd string, liveEntries bool) *progress.Meter {
	return progress.New(st.err, cmd, progress.Options{Live: st.errTTY, NoLiveEntries: !liveEntries})
}

// newFileMeter counts files (scan reads HAR files and scripts alike).
func newFileMeter(st *streams, cmd string) *progress.Meter {
	return progress.New(st.err, cmd, progress.Options{Live: st.errTTY, Unit: "files", UnitOne: "file"})
}
