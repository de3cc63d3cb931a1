package browser

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/selection"
)

// TestFramesWorkersPreflights records a page whose requests come from
// everywhere but the page itself: an iframe from another site (its own
// process and target), a dedicated worker, a popup window (a new page
// target), a CORS request with its preflight, and an EventSource stream.
func TestFramesWorkersPreflights(t *testing.T) {
	needBrowser(t)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	// localhost and 127.0.0.1 are different sites: the iframe runs in its
	// own renderer process, and the CORS call needs a preflight.
	other := "http://localhost:" + port

	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html>
<iframe src="%[1]s/frame"></iframe>
<div id="status"></div><button id="popup" onclick="window.open('/popup', 'pop')">open</button>
<script>
const done = {};
const mark = k => { done[k] = true; if (Object.keys(done).length === 5) document.getElementById('status').textContent = 'all done'; };
window.addEventListener('message', e => { if (e.data === 'frame done') mark('frame'); if (e.data === 'popup done') mark('popup'); });
const w = new Worker('/worker.js');
w.onmessage = () => mark('worker');
fetch('%[1]s/api/cors', {method: 'PUT', headers: {'X-Api-Csrf': 'csrf-123', 'Content-Type': 'application/json'}, body: '{"name":"c1"}'})
  .then(r => r.text()).then(() => mark('cors'));
const es = new EventSource('/api/events');
let n = 0;
es.onmessage = () => { if (++n === 3) { es.close(); mark('sse'); } };
</script>`, other)
	})
	mux.HandleFunc("/frame", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<script>fetch('/api/from-frame', {method: 'POST', body: 'frame body'}).then(r => r.text()).then(() => parent.postMessage('frame done', '*'))</script>`)
	})
	mux.HandleFunc("/popup", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<script>fetch('/api/from-popup').then(r => r.text()).then(() => opener.postMessage('popup done', '*'))</script>`)
	})
	mux.HandleFunc("/api/from-popup", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"popup":true}`)
	})
	mux.HandleFunc("/worker.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		io.WriteString(w, `fetch('/api/from-worker?x=1').then(r => r.json()).then(j => postMessage(j))`)
	})
	mux.HandleFunc("/api/cors", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", srv.URL)
		w.Header().Set("Access-Control-Allow-Methods", "PUT")
		w.Header().Set("Access-Control-Allow-Headers", "X-Api-Csrf, Content-Type")
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"updated":true}`)
	})
	mux.HandleFunc("/api/from-frame", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"frame":true}`)
	})
	mux.HandleFunc("/api/from-worker", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"worker":true}`)
	})
	mux.HandleFunc("/api/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 1; i <= 3; i++ {
			fmt.Fprintf(w, "id: %d\nevent: message\ndata: {\"tick\":%d}\n\n", i, i)
			w.(http.Flusher).Flush()
			time.Sleep(20 * time.Millisecond)
		}
		<-r.Context().Done() // the page closes the stream
	})

	h, _ := record(t, srv.URL, "- click: '#popup'\n- wait: '#status'\n  text: all done\n  timeout: 40s\n", selection.Filter{All: true})
	got := map[string]*har.Entry{}
	for _, e := range h.Log.Entries {
		got[e.Request.Method+" "+strings.TrimPrefix(strings.TrimPrefix(e.Request.URL, srv.URL), other)] = e
	}
	for _, k := range []string{"POST /api/from-frame", "GET /api/from-worker?x=1", "GET /api/from-popup", "OPTIONS /api/cors", "PUT /api/cors", "GET /api/events"} {
		if got[k] == nil {
			var have []string
			for k := range got {
				have = append(have, k)
			}
			t.Fatalf("%s is missing; recorded: %s", k, strings.Join(have, ", "))
		}
	}
	if b, ok, _ := got["POST /api/from-frame"].Response.Content.Bytes(); !ok || string(b) != `{"frame":true}` || string(got["POST /api/from-frame"].Request.Body()) != "frame body" {
		t.Errorf("the iframe's call was recorded without its bodies: %q", b)
	}
	if b, ok, _ := got["GET /api/from-worker?x=1"].Response.Content.Bytes(); !ok || string(b) != `{"worker":true}` {
		t.Errorf("the worker's call was recorded without its body: %q", b)
	}
	if b, ok, _ := got["GET /api/from-popup"].Response.Content.Bytes(); !ok || string(b) != `{"popup":true}` {
		t.Errorf("the popup's call was recorded without its body: %q", b)
	}
	pre := got["OPTIONS /api/cors"]
	if pre.ResourceType() != "preflight" || !har.IsPreflight(pre) || har.IsAPICall(pre) {
		t.Errorf("the preflight has _resourceType %q", pre.ResourceType())
	}
	put := got["PUT /api/cors"]
	if v, _ := har.Header(put.Request.Headers, "X-Api-Csrf"); v != "csrf-123" || string(put.Request.Body()) != `{"name":"c1"}` {
		t.Errorf("the PUT lost its header or body: %q %q", v, put.Request.Body())
	}
	es := got["GET /api/events"]
	if es.ResourceType() != "eventsource" {
		t.Errorf("EventSource _resourceType %q", es.ResourceType())
	}
	raw, _ := es.Extra.Get("_eventSourceMessages")
	var msgs []sseMessage
	json.Unmarshal(raw, &msgs)
	if len(msgs) != 3 || msgs[2].Data != `{"tick":3}` || msgs[2].ID != "3" {
		t.Errorf("_eventSourceMessages = %s", raw)
	}
}
