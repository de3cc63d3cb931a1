//go:build !linux

package browser

// yieldToPage is a no-op here: only Linux is measured (see
// priority_linux.go).
func yieldToPage(pid int) {}
