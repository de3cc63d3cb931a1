package replay

import "testing"

// maskURL adds the token shapes reports mask everywhere to
// credential.MaskURL.
func TestMaskURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"/x?token=abcd&q=1", "/x?token=‹secret›&q=1"},
		{"/v3/x?x=" + "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig", "/v3/x?x=‹token›"},
	} {
		if got := maskURL(c.in); got != c.want {
			t.Errorf("maskURL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
