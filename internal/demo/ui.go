package demo

import (
	"bytes"
	"embed"
	"html"
	"io/fs"
	"net/http"
	"time"
)

//go:embed ui
var uiFiles embed.FS

// loginPrefill is the username input as ui/index.html has it.
const loginPrefill = `name="username" autocomplete="username" value="admin"`

// uiHandler serves the web UI: plain files, no build step. The login form
// is filled with the server's username, so that with demo serve --user the
// printed password works as typed.
func uiHandler(user string) http.Handler {
	sub, err := fs.Sub(uiFiles, "ui")
	if err != nil {
		panic(err)
	}
	files := http.FileServerFS(sub)
	index, err := fs.ReadFile(sub, "index.html")
	if err != nil || !bytes.Contains(index, []byte(loginPrefill)) {
		panic("demo: ui/index.html has no username input to fill")
	}
	index = bytes.Replace(index, []byte(loginPrefill),
		[]byte(`name="username" autocomplete="username" value="`+html.EscapeString(user)+`"`), 1)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		// The UI is tiny; never caching it means a restarted server with a
		// newer UI is picked up at once.
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'")
		if r.URL.Path == "/" {
			http.ServeContent(w, r, "index.html", time.Time{}, bytes.NewReader(index))
			return
		}
		files.ServeHTTP(w, r)
	})
}
