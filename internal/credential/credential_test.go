package credential

import "testing"

func TestNames(t *testing.T) {
	type tc struct {
		kind, name, class string // class "" means not a credential
	}
	cases := []tc{
		{"header", "Authorization", "auth"}, {"header", "authorization", "auth"}, {"header", "AUTHORIZATION", "auth"},
		{"header", "X-Api-Csrf", "csrf"}, {"header", "X-CSRFToken", "csrf"}, {"header", "Anti-CSRF", "csrf"},
		{"header", "Ocp-Apim-Subscription-Key", "token"}, {"header", "X-Auth-Key", "token"}, {"header", "X-Functions-Key", "token"},
		{"header", "X-Access-Key", "token"}, {"header", "X-Session-Id", "token"}, {"header", "X-Hub-Signature-256", "signature"},
		{"header", "Idempotency-Key", ""}, {"header", "X-Idempotency-Key", ""}, {"header", "Sec-WebSocket-Key", ""},
		{"header", "X-Cache-Key", ""}, {"header", "X-Request-Id", ""}, {"header", "Content-Type", ""},
		{"cookie", "R_SESS", "cookie"}, {"cookie", "CSRF", "csrf"}, {"cookie", "XSRF-TOKEN", "csrf"}, {"cookie", "csrftoken", "csrf"},
		{"cookie", "PHPSESSID", "cookie"}, {"cookie", "R_LOCALE", ""}, {"cookie", "theme", ""},
		{"key", "password", "password"}, {"key", "DB_PASSWORD", "password"}, {"key", "clientSecret", "secret"},
		{"key", "client_secret", "secret"}, {"key", "pw", "password"}, {"key", "pin", "password"}, {"key", "otp", "password"},
		{"key", "passcode", "password"}, {"key", "mustChangePassword", ""}, {"key", "tokenSecretName", ""},
		{"key", "nextPageToken", ""}, {"key", "pageToken", ""}, {"key", "clientToken", ""}, {"key", "idempotencyToken", ""},
		{"key", "tokenEndpoint", ""}, {"key", "username", ""},
		{"key", "ADMIN_PASS", "password"}, {"key", "rootPass", "password"}, {"key", "db-pass", "password"},
		{"key", "bypass", ""}, {"key", "compass", ""}, {"key", "BYPASS", ""},
		{"param", "access_key", "apikey"}, {"param", "key", "apikey"}, {"param", "sessid", "secret"}, {"param", "signing_key", "secret"},
		{"param", "sas", "signature"}, {"param", "pageToken", ""}, {"param", "state", ""}, {"param", "limit", ""},
	}
	for _, c := range cases {
		var class string
		var ok bool
		switch c.kind {
		case "header":
			class, ok = Header(c.name)
		case "cookie":
			class, ok = Cookie(c.name)
		case "key":
			class, ok = Key(c.name)
		case "param":
			class, ok = Param(c.name, false)
		}
		if ok != (c.class != "") || class != c.class {
			t.Errorf("%s %q: class %q, credential %v; want %q", c.kind, c.name, class, ok, c.class)
		}
	}
	if c, ok := Param("code", true); !ok || c != "oauth" {
		t.Errorf("code on an OAuth callback: %q %v", c, ok)
	}
	if !CSRFHeader("x-xsrf-token") || CSRFHeader("authorization") || !CSRFCookie("CSRF") || CSRFCookie("R_SESS") {
		t.Error("CSRF helpers disagree with Header and Cookie")
	}
}
