package browser

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/selection"
)

// pixel is a 1×1 transparent PNG.
var pixel, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")

// loginSite logs in the old way: a form POST answered by a redirect that
// sets the session cookie. The page it lands on loads an image that sets a
// second cookie, an image and a script that set none, data: and blob: URLs,
// and one API call.
func loginSite(t testing.TB) *httptest.Server {
	mux := http.NewServeMux()
	html := func(w http.ResponseWriter, s string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, s)
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		html(w, `<!doctype html><form method="post" action="/login">
<input id="user" name="user"> <input id="pass" name="pass" type="password"> <button id="go">Log in</button></form>`)
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		http.SetCookie(w, &http.Cookie{Name: "sess", Value: "s-" + r.PostForm.Get("user"), Path: "/", HttpOnly: true})
		http.Redirect(w, r, "/home", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /home", func(w http.ResponseWriter, r *http.Request) {
		html(w, `<!doctype html><img src="/pixel.png"><img src="/plain.png">
<img src="data:image/png;base64,`+base64.StdEncoding.EncodeToString(pixel)+`">
<script src="/app.js"></script>
<div id="done"></div>`)
	})
	mux.HandleFunc("GET /app.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		io.WriteString(w, `(async () => {
  await (await fetch('data:text/plain,inline')).text();
  await (await fetch(URL.createObjectURL(new Blob(['from a blob'])))).text();
  const me = await (await fetch('/api/me')).text();
  document.getElementById('done').textContent = me;
})()`)
	})
	png := func(cookie bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if cookie {
				http.SetCookie(w, &http.Cookie{Name: "tracker", Value: "t1", Path: "/"})
			}
			w.Header().Set("Content-Type", "image/png")
			w.Write(pixel)
		}
	}
	mux.HandleFunc("GET /pixel.png", png(true))
	mux.HandleFunc("GET /plain.png", png(false))
	mux.HandleFunc("GET /api/me", func(w http.ResponseWriter, r *http.Request) {
		c, _ := r.Cookie("sess")
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"session":"`+c.Value+`"}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

const loginSteps = `
- fill: "#user"
  value: ada
- fill: "#pass"
  value: pw
- click: "#go"
- wait: "#done"
  text: s-ada
`

// TestDefaultSelection: by default a recording keeps what a script needs
// to log in as the page did (the form POST and its redirect, which set the
// session cookie, the page it lands on, an image that sets a cookie) with
// the API calls, and drops the other assets; with --all those are kept
// too. data: and blob: URLs are never recorded.
func TestDefaultSelection(t *testing.T) {
	needBrowser(t)
	srv := loginSite(t)
	for _, tc := range []struct {
		sel  selection.Filter
		want []string
	}{
		{selection.Filter{}, []string{
			"GET / document 200", "POST /login document 303", "GET /home document 200",
			"GET /pixel.png image 200", "GET /api/me fetch 200",
		}},
		{selection.Filter{All: true}, []string{
			"GET / document 200", "POST /login document 303", "GET /home document 200",
			"GET /pixel.png image 200", "GET /plain.png image 200", "GET /app.js script 200", "GET /api/me fetch 200",
		}},
	} {
		h, _ := record(t, srv.URL, loginSteps, tc.sel)
		var got []string
		byPath := map[string]*har.Entry{}
		for _, e := range h.Log.Entries {
			if !strings.HasPrefix(e.Request.URL, srv.URL) {
				t.Errorf("all=%v: %s %.40s (httpVersion %q) must not be recorded", tc.sel.All, e.Request.Method, e.Request.URL, e.Request.HTTPVersion)
				continue
			}
			if path(e) == "/favicon.ico" && tc.sel.All {
				continue // Chrome asks for it whenever it likes
			}
			got = append(got, e.Request.Method+" "+path(e)+" "+e.ResourceType()+" "+itoa(e.Response.Status))
			byPath[path(e)] = e
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(tc.want))
		if !slices.Equal(got, want) {
			t.Errorf("all=%v:\n got %q\nwant %q", tc.sel.All, got, want)
			continue
		}
		login := byPath["/login"]
		if string(login.Request.Body()) != "user=ada&pass=pw" {
			t.Errorf("all=%v: the form POST's body is %q", tc.sel.All, login.Request.Body())
		}
		if c, _ := har.Header(login.Response.Headers, "Set-Cookie"); !strings.HasPrefix(c, "sess=s-ada") {
			t.Errorf("all=%v: the redirect's Set-Cookie is %q", tc.sel.All, c)
		}
		if c, _ := har.Header(byPath["/pixel.png"].Response.Headers, "Set-Cookie"); !strings.HasPrefix(c, "tracker=t1") {
			t.Errorf("all=%v: the image's Set-Cookie is %q", tc.sel.All, c)
		}
		if b, ok, _ := byPath["/home"].Response.Content.Bytes(); !ok || !strings.Contains(string(b), `id="done"`) {
			t.Errorf("all=%v: the page's body %q (%s)", tc.sel.All, b, extraString(byPath["/home"].Response.Content.Extra, "_bodyUnavailable"))
		}
		b, ok, _ := byPath["/pixel.png"].Response.Content.Bytes()
		switch {
		case tc.sel.All && string(b) != string(pixel):
			t.Errorf("all: the image's body is %q", b)
		case !tc.sel.All && (ok || extraString(byPath["/pixel.png"].Response.Content.Extra, "_bodyUnavailable") == ""):
			t.Errorf("default: the body of an image kept for its cookie is not fetched, and the entry must say so")
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
