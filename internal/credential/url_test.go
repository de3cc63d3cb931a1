package credential

import "testing"

func TestMaskURL(t *testing.T) {
	const tok = "ghp_R8xk2Lm9Qw3Zt7Yp4Vn6Bc1Df5Gh0Jk2Ls9T"
	for _, c := range []struct{ in, want string }{
		{"/v3/clusters?limit=-1&sort=name", "/v3/clusters?limit=-1&sort=name"},
		{"/x?token=" + tok, "/x?token=‹secret›"},
		{"/x?token=" + tok + " y", "/x?token=‹secret›"},
		{"/x?a=1&api_key=k3y-value&b=2", "/x?a=1&api_key=‹secret›&b=2"},
		{"/x?%61ccess_token=abcd", "/x?%61ccess_token=‹secret›"},
		{"/x?token=REDACTED-token-0a1b2c3d", "/x?token=REDACTED-token-0a1b2c3d"},
		{"/x?state=active", "/x?state=active"},
		{"/oauth/callback?code=abcdef&state=xyz123", "/oauth/callback?code=‹secret›&state=‹secret›"},
		{"/x?token=", "/x?token="},
		{"https://user:pa55word@host.example/x?q=1", "https://‹secret›@host.example/x?q=1"},
		{"https://host.example/a@b", "https://host.example/a@b"},
	} {
		if got := MaskURL(c.in); got != c.want {
			t.Errorf("MaskURL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
