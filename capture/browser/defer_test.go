package browser

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apitape/apitape/internal/selection"
)

// TestBodiesWaitAcrossNavigation: a page's bodies wait until none of its
// calls is loading (see deferBody). Here a call that never ends keeps the
// page busy while twenty others finish, then the page navigates to
// another site, which puts it in a new renderer process and cancels the
// open call: the twenty bodies are asked for only after the document that
// loaded them is gone, and must all be there, byte for byte.
func TestBodiesWaitAcrossNavigation(t *testing.T) {
	needBrowser(t)
	const calls = 20
	body := func(i int) []byte {
		return bytes.Repeat([]byte(`{"call":`+strconv.Itoa(i)+`,"pad":"`+strings.Repeat("x", 1000)+`"},`), 100)
	}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	other := "http://localhost:" + port // another site: another renderer

	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><script>
fetch('/api/hold').catch(() => {});
Promise.all(Array.from({length: %d}, (_, i) => fetch('/api/item/' + i).then(r => r.text())))
  .then(() => { location.href = '%s/next'; });
</script>`, calls, other)
	})
	mux.HandleFunc("/next", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><div id="finished">finished</div>`)
	})
	mux.HandleFunc("/api/hold", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	})
	mux.HandleFunc("/api/item/", func(w http.ResponseWriter, r *http.Request) {
		i, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/api/item/"))
		w.Header().Set("Content-Type", "application/json")
		w.Write(body(i))
	})

	var waited atomic.Int64
	testHookFlush = func(n int) { waited.Add(int64(n)) }
	defer func() { testHookFlush = nil }()
	h, _ := record(t, srv.URL, "- wait: '#finished'\n  timeout: 30s\n", selection.Filter{})
	if n := waited.Load(); n < calls {
		t.Errorf("%d bodies waited for a quiet network, want at least %d: the test does not test waiting", n, calls)
	}
	seen := map[string]bool{}
	for _, e := range h.Log.Entries {
		p := path(e)
		if !strings.HasPrefix(p, "/api/item/") {
			continue
		}
		i, _ := strconv.Atoi(strings.TrimPrefix(p, "/api/item/"))
		if seen[p] {
			t.Errorf("%s: recorded twice", p)
		}
		seen[p] = true
		got, ok, err := e.Response.Content.Bytes()
		switch {
		case err != nil || !ok:
			t.Errorf("%s: no response body (%s)", p, extraString(e.Response.Content.Extra, "_bodyUnavailable"))
		case !bytes.Equal(got, body(i)):
			t.Errorf("%s: response body of %d bytes, server sent %d", p, len(got), len(body(i)))
		}
	}
	if len(seen) != calls {
		t.Errorf("%d of the %d calls recorded", len(seen), calls)
	}
}
