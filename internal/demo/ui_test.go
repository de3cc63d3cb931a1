package demo

import (
	"html"
	"strings"
	"testing"
)

// TestUIPrefillsTheUser: the login form comes filled with the username the
// server was started with (demo serve --user), so the printed password
// works as typed; the name is HTML-escaped.
func TestUIPrefillsTheUser(t *testing.T) {
	for _, user := range []string{"", "bob", `o"<b>x`} {
		f := newFixture(t, Options{User: user, Password: testPass})
		want := user
		if want == "" {
			want = "admin"
		}
		for _, path := range []string{"/", "/index.html"} {
			res := f.do(req{path: path, auth: "-"})
			if res.status != 200 && !(path == "/index.html" && res.status == 301) {
				t.Fatalf("user %q: GET %s: status %d", user, path, res.status)
			}
			if res.status != 200 {
				continue
			}
			body := string(res.body)
			if !strings.Contains(body, `name="username" autocomplete="username" value="`+html.EscapeString(want)+`"`) {
				t.Errorf("user %q: GET %s: login form not filled with the user", user, path)
			}
			if strings.Contains(user, "<b>") && strings.Contains(body, "<b>") {
				t.Errorf("user %q: GET %s: the name is not escaped", user, path)
			}
		}
	}
}
