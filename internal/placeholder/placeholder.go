// Package placeholder defines the one shape of the values redact puts where a
// secret was, `REDACTED-<class>-<8 letters>`, and the environment variable each
// becomes in generated scripts and at replay, so that redact, convert and
// replay agree on both without depending on each other.
package placeholder

import (
	"regexp"
	"strings"
)

// Prefix starts every placeholder.
const Prefix = "REDACTED-"

// EnvPrefix starts every environment variable that stands for a placeholder.
const EnvPrefix = "APITAPE_SECRET_"

// pattern matches a placeholder: a lower-case class and 8 letters a–p,
// one for each hex digit of the start of an HMAC of the secret. Only
// [A-Za-z0-9-], so it is valid unescaped in JSON, URLs, cookies, headers
// and YAML. Letters, not the hex digits themselves: secret scanners take a
// string of letters and dashes for a word, and one with digits and
// entropy after `token…:` or `secret=` for a key (gitleaks' generic rule
// flagged REDACTED-bearer-9b40b96d in every redacted Rancher call), so a
// redacted file failed the scan its repository's CI ran. The digit
// spelling of earlier versions is still read.
var pattern = regexp.MustCompile(`REDACTED-([a-z0-9]+)-([a-p]{8}|[0-9a-f]{8})`)

// Make returns the placeholder for a class ("cookie", "bearer", …) and a
// digest of the secret (only its first 4 bytes are used). The class should
// be letters only (see pattern).
func Make(class string, digest []byte) string {
	b := make([]byte, 0, len(Prefix)+len(class)+1+8)
	b = append(append(append(b, Prefix...), class...), '-')
	for _, c := range digest[:min(4, len(digest))] {
		b = append(b, 'a'+c>>4, 'a'+c&15)
	}
	return string(b)
}

// FindAll returns the [start, end) byte offsets of every placeholder in s.
func FindAll(s string) [][]int { return pattern.FindAllStringIndex(s, -1) }

// Contains reports whether s holds a placeholder.
func Contains(s string) bool { return strings.Contains(s, Prefix) && pattern.MatchString(s) }

// EnvName is the environment variable that stands for a placeholder:
// REDACTED-cookie-bkcldmen → APITAPE_SECRET_COOKIE_BKCLDMEN.
func EnvName(ph string) string {
	m := pattern.FindStringSubmatch(ph)
	if m == nil {
		return ""
	}
	return EnvPrefix + strings.ToUpper(m[1]) + "_" + strings.ToUpper(m[2])
}

// Split cuts s into literal text and placeholders, in order, for emitters
// that quote the literal parts and reference the placeholders' variables.
func Split(s string) []Part {
	var parts []Part
	last := 0
	for _, loc := range FindAll(s) {
		if loc[0] > last {
			parts = append(parts, Part{Text: s[last:loc[0]]})
		}
		parts = append(parts, Part{Text: s[loc[0]:loc[1]], Env: EnvName(s[loc[0]:loc[1]])})
		last = loc[1]
	}
	if last < len(s) || len(parts) == 0 {
		parts = append(parts, Part{Text: s[last:]})
	}
	return parts
}

// Part is a piece of a string: literal text (Env empty) or a placeholder
// and its variable.
type Part struct {
	Text string
	Env  string
}
