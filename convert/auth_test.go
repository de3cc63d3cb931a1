package convert

import (
	"bytes"
	"strings"
	"testing"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/selection"
)

// TestAuthReplacesSession: --auth sends one credential header instead of
// the browser session's cookies, CSRF header and browser User-Agent, and
// leaves out the login that opened the session (its password is not
// needed); a Rancher key recorded in Authorization becomes the whole
// RANCHER_TOKEN without --auth.
func TestAuthReplacesSession(t *testing.T) {
	const origin = "https://rancher.example"
	hdr := func(pairs ...string) []har.NameValue {
		var out []har.NameValue
		for i := 0; i+1 < len(pairs); i += 2 {
			out = append(out, har.NameValue{Name: pairs[i], Value: pairs[i+1]})
		}
		return out
	}
	browser := hdr("Cookie", "R_SESS=token-abcde:REDACTED-session-0a1b2c3d; CSRF=REDACTED-csrf-11223344",
		"X-Api-Csrf", "REDACTED-csrf-11223344", "User-Agent", "Mozilla/5.0 Chrome/130", "Accept", "application/json")
	login := &har.Entry{
		Request: har.Request{Method: "POST", URL: origin + "/v3-public/localProviders/local?action=login", HTTPVersion: "HTTP/1.1",
			Headers:  hdr("Content-Type", "application/json"),
			PostData: &har.PostData{MimeType: "application/json", Text: str(`{"username":"admin","password":"REDACTED-password-99aabbcc"}`)}},
		Response: har.Response{Status: 200, HTTPVersion: "HTTP/1.1", Headers: hdr("Set-Cookie", "R_SESS=token-abcde:REDACTED-session-0a1b2c3d; Path=/")},
	}
	list := &har.Entry{
		Request:  har.Request{Method: "GET", URL: origin + "/v3/clusters", HTTPVersion: "HTTP/1.1", Headers: browser},
		Response: har.Response{Status: 200, HTTPVersion: "HTTP/1.1"},
	}
	data := writeHAR(t, []*har.Entry{login, list})
	a, err := ParseAuth("Authorization: Bearer ${RANCHER_TOKEN}")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	st, err := Convert(har.NewReader(bytes.NewReader(data), "t.har"), &out, Options{Format: "bash", Auth: &a, Selection: selection.Filter{All: true}})
	if err != nil {
		t.Fatal(err)
	}
	script := out.String()
	if len(st.Env) != 1 || st.Env[0] != EnvRancherToken {
		t.Errorf("needs %q, want only RANCHER_TOKEN", st.Env)
	}
	for _, gone := range []string{"Cookie", "X-Api-Csrf", "Mozilla", "call 0 "} {
		if strings.Contains(script, gone) {
			t.Errorf("the script still has %q", gone)
		}
	}
	for _, want := range []string{`-H 'Authorization: Bearer '"${RANCHER_TOKEN}"`, "Leaves out the login --auth replaces: 0 (POST /v3-public/localProviders/local)"} {
		if !strings.Contains(script, want) {
			t.Errorf("the script lacks %q", want)
		}
	}

	// Without --auth, a Rancher key in Authorization is the whole key.
	key := &har.Entry{
		Request:  har.Request{Method: "GET", URL: origin + "/v3/clusters", HTTPVersion: "HTTP/1.1", Headers: hdr("Authorization", "Bearer token-l2c2r:REDACTED-rancher-0f0e0d0c")},
		Response: har.Response{Status: 200, HTTPVersion: "HTTP/1.1"},
	}
	out.Reset()
	if st, err = Convert(har.NewReader(bytes.NewReader(writeHAR(t, []*har.Entry{key})), "t.har"), &out, Options{Format: "bash", Selection: selection.Filter{All: true}}); err != nil {
		t.Fatal(err)
	}
	if len(st.Env) != 1 || st.Env[0] != EnvRancherToken || strings.Contains(out.String(), "token-l2c2r") {
		t.Errorf("a Rancher key: needs %q; output:\n%s", st.Env, out.String())
	}
}

func FuzzParseAuth(f *testing.F) {
	for _, s := range []string{"Authorization: Bearer $RANCHER_TOKEN", "PRIVATE-TOKEN: ${GITLAB}", "x", ": v", "A: \x00", "Cookie: a=b", "A: $lower"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAuth(s)
		if err != nil {
			return
		}
		for i := 0; i < len(a.Name); i++ {
			if !tokenChars[a.Name[i]] {
				t.Fatalf("name %q", a.Name)
			}
		}
		for _, p := range a.value() {
			if p.Env != "" && strings.Trim(p.Env, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != "" {
				t.Fatalf("variable %q", p.Env)
			}
			if strings.ContainsAny(p.Text, "\r\n\x00") {
				t.Fatalf("text %q", p.Text)
			}
		}
	})
}

// TestParseAuthErrorHidesValue: a name that is really a header line with
// its credential ("Bearer token-x:KEY: …") is quoted only up to its first
// bad byte.
func TestParseAuthErrorHidesValue(t *testing.T) {
	_, err := ParseAuth("Bearer s3cr3t-t0ken-value: x")
	if err == nil || strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), `"Bearer"`) {
		t.Errorf("ParseAuth: %v", err)
	}
}
