package redact

import (
	"strings"
	"sync"
)

// defaultPolicy is the policy of a Redactor with no options: apitape's
// own token detectors and gitleaks' default rules.
var defaultPolicy = sync.OnceValue(func() *policy { return newPolicy(nil, nil, false) })

// MaskTokens replaces every token the detectors find in s (Rancher keys,
// JWTs, private keys, and the vendor shapes of gitleaks' rules) with
// mask. It is for text shown to a person that never went through
// redaction, such as what a live server answered in a replay report.
func MaskTokens(s, mask string) string {
	hits := defaultPolicy().detect(s)
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
