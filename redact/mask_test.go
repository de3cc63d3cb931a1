package redact

import "testing"

// TestMaskTokens: what a report shows of a live answer loses every token
// the detectors know, vendor shapes from gitleaks' rules included, and
// keeps the text around it.
func TestMaskTokens(t *testing.T) {
	const m = "‹token›"
	for _, tc := range []struct{ in, want string }{
		{"no secret here, just words", "no secret here, just words"},
		{"short", "short"},
		{"token ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d here", "token " + m + " here"},
		{`{"key":"sk-ant-api03-YgCfrL1spNxnyVmihA_2O76UMFxFkM_R5Kjp1vRt-1fjORS_6ilI8ihN5KXSc7Tvo_hBKqFYY_kv5ZJr3J1TWDtkwtDDbAA"}`, `{"key":"` + m + `"}`},
		{"a: token-abcde:t9xhlmbgrwpzxng5vz246cs748wqqqqft2qcjdjshfnzcfbxgwfpzb b", "a: token-abcde:" + m + " b"},
		// A placeholder is what a redacted recording holds: kept.
		{"Bearer REDACTED-bearer-0a1b2c3d", "Bearer REDACTED-bearer-0a1b2c3d"},
	} {
		if got := MaskTokens(tc.in, m); got != tc.want {
			t.Errorf("MaskTokens(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
