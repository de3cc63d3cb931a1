// Package loginapp is a small web app for tests on 127.0.0.1 whose login
// is a page, as Jupyter's is: GET /login?token=T sets a session cookie
// named after the server's address and port (username-127-0-0-1-PORT)
// and an _xsrf cookie, and redirects to /app. Its API (/api/items) wants
// the session cookie, and on POST the _xsrf cookie repeated in the
// X-XSRFToken header. It proves that a recording made with default flags
// runs against a fresh instance (another port, another token) with only
// the token.
package loginapp

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
)

// App is one instance.
type App struct {
	URL        string
	CookieName string // the session cookie's name, with the port
	token      string
	srv        *httptest.Server

	mu       sync.Mutex
	sessions map[string]bool
	items    map[string]string
	posted   int
	asked    []string
}

// Start starts an instance on 127.0.0.1 that accepts token.
func Start(token string) *App {
	a := &App{token: token, sessions: map[string]bool{}, items: map[string]string{}}
	// Unstarted until its fields are set: the handler reads them.
	a.srv = httptest.NewUnstartedServer(a)
	_, port, _ := net.SplitHostPort(a.srv.Listener.Addr().String())
	a.CookieName = "username-127-0-0-1-" + port
	a.srv.Start()
	a.URL = a.srv.URL
	return a
}

// Close stops it.
func (a *App) Close() { a.srv.Close() }

// Items reports how many items were created, the ids GET /api/items/ID
// asked for, and the name of each created item by id.
func (a *App) Items() (posted int, asked []string, names map[string]string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.posted, slices.Clone(a.asked), maps.Clone(a.items)
}

func randomID(prefix string) string {
	var b [4]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if r.URL.Path == "/login" {
		if r.URL.Query().Get("token") != a.token {
			http.Error(w, "bad token", http.StatusForbidden)
			return
		}
		sess := randomID("2|1:0|10:") + randomID("|")
		a.sessions[sess] = true
		http.SetCookie(w, &http.Cookie{Name: a.CookieName, Value: sess, Path: "/", HttpOnly: true})
		http.SetCookie(w, &http.Cookie{Name: "_xsrf", Value: randomID("2|x"), Path: "/"})
		http.Redirect(w, r, "/app", http.StatusFound)
		return
	}
	ck, err := r.Cookie(a.CookieName)
	if err != nil || !a.sessions[ck.Value] {
		http.Error(w, `{"message":"log in first"}`, http.StatusForbidden)
		return
	}
	switch {
	case r.URL.Path == "/app":
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><script src=/app.js></script></html>")
	case r.URL.Path == "/api/items" && r.Method == "GET":
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"data":[]}`)
	case r.URL.Path == "/api/items" && r.Method == "POST":
		x, err := r.Cookie("_xsrf")
		if err != nil || r.Header.Get("X-XSRFToken") != x.Value {
			http.Error(w, `{"message":"'_xsrf' argument missing from POST"}`, http.StatusForbidden)
			return
		}
		var in map[string]string
		json.NewDecoder(r.Body).Decode(&in)
		id := randomID("it-")
		a.items[id] = in["name"]
		a.posted++
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		fmt.Fprintf(w, `{"id":%q,"name":%q}`, id, in["name"])
	case strings.HasPrefix(r.URL.Path, "/api/items/"):
		id := strings.TrimPrefix(r.URL.Path, "/api/items/")
		a.asked = append(a.asked, id)
		if _, ok := a.items[id]; !ok {
			http.Error(w, `{"message":"no such item"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":%q}`, id)
	default:
		http.NotFound(w, r)
	}
}
