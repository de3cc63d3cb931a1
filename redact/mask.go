package redact

import "strings"

// MaskTokens replaces every token the detectors find in s (Rancher keys,
// JWTs, private keys, and the vendor shapes of gitleaks' rules) with
// mask. It is for text shown to a person that never went through
// redaction, such as what a live server answered in a replay report.
func MaskTokens(s, mask string) string {
	hits := basePolicy.detect(s) // the built-in rules: gitleaks' defaults included
	if len(hits) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for _, h := range hits {
		if h.start < last {
			continue
		}
		b.WriteString(s[last:h.start])
		b.WriteString(mask)
		last = h.end
	}
	b.WriteString(s[last:])
	return b.String()
}
