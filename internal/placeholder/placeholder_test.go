package placeholder

import (
	"reflect"
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
	if got := Make("jwtsig", "0123456789abcdef"); got != "REDACTED-jwtsig-01234567" {
		t.Errorf("Make = %q", got)
	}
}
