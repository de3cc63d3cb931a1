// Package english writes counts the way people read them in apitape's
// messages and generated headers: "1 call", "2 calls", "1 entry".
package english

import "strconv"

// Count is n and the noun for it: one when n is 1, else many ("" for
// many adds an s to one).
func Count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	if many == "" {
		many = one + "s"
	}
	return strconv.Itoa(n) + " " + many
}
