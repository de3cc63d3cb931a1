package placeholder

import (
	"reflect"
	"strings"
	"testing"
)

func TestSplitAndEnvName(t *testing.T) {
	tests := []struct {
		in   string
		want []Part
	}{
		{"plain", []Part{{Text: "plain"}}},
		{"", []Part{{Text: ""}}},
		{"Bearer token-fkx2q:REDACTED-bearer-0a1b2c3d", []Part{
			{Text: "Bearer token-fkx2q:"},
			{Text: "REDACTED-bearer-0a1b2c3d", Env: "APITAPE_SECRET_BEARER_0A1B2C3D"},
		}},
		{"a=REDACTED-cookie-00000000; b=REDACTED-csrf-ffffffff", []Part{
			{Text: "a="},
			{Text: "REDACTED-cookie-00000000", Env: "APITAPE_SECRET_COOKIE_00000000"},
			{Text: "; b="},
			{Text: "REDACTED-csrf-ffffffff", Env: "APITAPE_SECRET_CSRF_FFFFFFFF"},
		}},
		// Not placeholders: upper-case hex, short digest, no class.
		{"REDACTED-cookie-0A1B2C3D REDACTED-x-123 REDACTED--12345678", []Part{{Text: "REDACTED-cookie-0A1B2C3D REDACTED-x-123 REDACTED--12345678"}}},
	}
	for _, tt := range tests {
		if got := Split(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Split(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
	if got := Make("jwtsig", []byte{0x01, 0x23, 0x45, 0x67, 0x89}); got != "REDACTED-jwtsig-abcdefgh" {
		t.Errorf("Make = %q", got)
	}
}

// TestMakeReadsBack: every placeholder Make writes is found whole by
// FindAll and has a variable, and its digest is letters only (what secret
// scanners' generic rules let pass); the hex digest earlier versions
// wrote is still read.
func TestMakeReadsBack(t *testing.T) {
	for _, d := range [][]byte{{0, 0, 0, 0}, {0xff, 0xff, 0xff, 0xff}, {0x9b, 0x40, 0xb9, 0x6d, 0x11}} {
		ph := Make("bearer", d)
		if loc := FindAll("x" + ph + "\""); len(loc) != 1 || loc[0][0] != 1 || loc[0][1] != 1+len(ph) {
			t.Errorf("FindAll(%q) = %v", ph, loc)
		}
		if EnvName(ph) == "" || !Contains(ph) {
			t.Errorf("%q: not read back", ph)
		}
		if strings.ContainsAny(ph, "0123456789") {
			t.Errorf("%q has digits", ph)
		}
	}
	if got := EnvName("REDACTED-bearer-9b40b96d"); got != "APITAPE_SECRET_BEARER_9B40B96D" {
		t.Errorf("hex placeholder: EnvName = %q", got)
	}
	// Neither spelling: letters past p, or letters and digits mixed
	// outside hex.
	for _, s := range []string{"REDACTED-bearer-abcdefgq", "REDACTED-bearer-abcdefg1x", "REDACTED-bearer-a1b2c3dz"} {
		if loc := FindAll(s); len(loc) != 0 && s[loc[0][0]:loc[0][1]] == s {
			t.Errorf("%q read as a placeholder", s)
		}
	}
}
