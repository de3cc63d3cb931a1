package browser

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/websocket"
)

// busyPage is the completeness fixture: one page that does everything a
// recorder can lose. Its script fires 200 fetches (193 small JSON answers,
// three 5 MiB JSON answers, a three-hop redirect chain, a 300 KiB POST
// that Chrome does not put inline, a fetch answered by a service worker
// and a last fetch followed at once by a navigation), talks over a
// WebSocket (text and binary frames), then posts what the browser's own
// Resource Timing API saw to /api/report and navigates to /done.
//
// The server keeps its own log of everything it received and answered, so
// the test compares the HAR with two views that owe nothing to the
// recorder: the server's and Chrome's.
type busyPage struct {
	*httptest.Server
	small, big int

	mu       sync.Mutex
	received []served // in arrival order
	perf     []byte   // the page's Resource Timing report
}

type served struct {
	method, path string
	status       int
	reqBody      []byte
	respBody     []byte
}

const (
	busySmall   = 193
	busyBig     = 3
	bigSize     = 5 << 20
	uploadSize  = 300 << 10
	redirectHop = 3
)

func newBusyPage(t testing.TB) *busyPage {
	p := &busyPage{small: busySmall, big: busyBig}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, busyHTML, p.small, p.big, uploadSize, redirectHop)
	})
	mux.HandleFunc("/done", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><title>done</title><div id="finished">finished</div>`)
	})
	mux.HandleFunc("/sw.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		io.WriteString(w, busySW)
	})
	// frame keeps the type of each received frame, which the Message
	// codec forgets.
	type frame struct {
		data []byte
		typ  byte
	}
	codec := websocket.Codec{
		Marshal: func(v any) ([]byte, byte, error) { f := v.(frame); return f.data, f.typ, nil },
		Unmarshal: func(data []byte, typ byte, v any) error {
			*v.(*frame) = frame{append([]byte(nil), data...), typ}
			return nil
		},
	}
	mux.Handle("/ws", websocket.Handler(func(ws *websocket.Conn) {
		codec.Send(ws, frame{[]byte("welcome"), websocket.TextFrame})
		for {
			var f frame
			if err := codec.Receive(ws, &f); err != nil {
				return
			}
			msg := f.data
			if f.typ == websocket.BinaryFrame {
				rev := make([]byte, len(msg))
				for i, b := range msg {
					rev[len(msg)-1-i] = b
				}
				codec.Send(ws, frame{rev, websocket.BinaryFrame})
			} else {
				codec.Send(ws, frame{[]byte("echo:" + string(msg)), websocket.TextFrame})
			}
		}
	}))
	mux.HandleFunc("/api/", p.api)
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	return p
}

// bigBody is a deterministic JSON document of about 5 MiB.
func bigBody(i int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"index":` + strconv.Itoa(i) + `,"rows":[`)
	for n := 0; b.Len() < bigSize; n++ {
		if n > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"name":"row-%d-%d","value":"%032x"}`, n, i, n, n*7919+i)
	}
	b.WriteString("]}")
	return b.Bytes()
}

func (p *busyPage) api(w http.ResponseWriter, r *http.Request) {
	reqBody, _ := io.ReadAll(r.Body)
	path := r.URL.Path
	status := 200
	var body []byte
	w.Header().Set("Content-Type", "application/json")
	switch {
	case strings.HasPrefix(path, "/api/item/"):
		http.SetCookie(w, &http.Cookie{Name: "seen", Value: strings.TrimPrefix(path, "/api/item/"), Path: "/"})
		body = []byte(`{"item":"` + strings.TrimPrefix(path, "/api/item/") + `","ok":true}`)
	case strings.HasPrefix(path, "/api/big/"):
		n, _ := strconv.Atoi(strings.TrimPrefix(path, "/api/big/"))
		body = bigBody(n)
	case strings.HasPrefix(path, "/api/redirect/"):
		n, _ := strconv.Atoi(strings.TrimPrefix(path, "/api/redirect/"))
		next := "/api/redirect/" + strconv.Itoa(n-1)
		if n <= 1 {
			next = "/api/final"
		}
		w.Header().Set("Location", next)
		status = http.StatusFound
	case path == "/api/final":
		body = []byte(`{"final":true}`)
	case path == "/api/upload":
		sum := sha256.Sum256(reqBody)
		body = []byte(`{"size":` + strconv.Itoa(len(reqBody)) + `,"sha256":"` + hex.EncodeToString(sum[:]) + `"}`)
	case strings.HasPrefix(path, "/api/swnet/"):
		body = []byte(`{"via":"service worker","path":"` + path + `"}`)
	case path == "/api/last":
		body = []byte(`{"last":true}`)
	case path == "/api/report":
		p.mu.Lock()
		p.perf = reqBody
		p.mu.Unlock()
		body = []byte(`{"thanks":true}`)
	default:
		status = 404
		body = []byte(`{"error":"not found"}`)
	}
	p.mu.Lock()
	p.received = append(p.received, served{r.Method, path, status, reqBody, body})
	p.mu.Unlock()
	w.WriteHeader(status)
	w.Write(body)
}

func (p *busyPage) log() []served {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]served(nil), p.received...)
}

const busyHTML = `<!doctype html>
<title>busy</title>
<div id="status">starting</div>
<script>
const SMALL = %d, BIG = %d, UPLOAD = %d, HOPS = %d;
const status = s => document.getElementById('status').textContent = s;
performance.setResourceTimingBufferSize(2000);

async function serviceWorker() {
  await navigator.serviceWorker.register('/sw.js');
  await navigator.serviceWorker.ready;
  if (!navigator.serviceWorker.controller) {
    await new Promise(r => navigator.serviceWorker.addEventListener('controllerchange', r, {once: true}));
  }
}

function socket() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket('ws://' + location.host + '/ws');
    ws.binaryType = 'arraybuffer';
    let got = 0;
    ws.onopen = () => { ws.send('hello'); ws.send(new Uint8Array([1, 2, 3])); };
    ws.onmessage = () => { if (++got === 3) { ws.close(); } };
    ws.onclose = () => resolve();
    ws.onerror = reject;
  });
}

async function main() {
  await serviceWorker();
  status('fetching');
  let upload = '';
  for (let i = 0; upload.length < UPLOAD; i++) upload += 'chunk-' + i + ';';
  const jobs = [];
  for (let i = 0; i < SMALL; i++) jobs.push(fetch('/api/item/' + i).then(r => r.text()));
  for (let i = 0; i < BIG; i++) jobs.push(fetch('/api/big/' + i).then(r => r.text()));
  jobs.push(fetch('/api/redirect/' + HOPS).then(r => r.text()));
  jobs.push(fetch('/api/upload', {method: 'POST', headers: {'Content-Type': 'text/plain'}, body: upload}).then(r => r.text()));
  jobs.push(fetch('/api/sw/echo').then(r => r.text()));
  jobs.push(socket());
  await Promise.all(jobs);
  await (await fetch('/api/last')).text();
  const perf = performance.getEntriesByType('resource').map(e => ({
    url: e.name, type: e.initiatorType, status: e.responseStatus, size: e.decodedBodySize}));
  const r = await fetch('/api/report', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(perf)});
  await r.text();
  location.href = '/done';
}
main().catch(e => status('error: ' + e));
</script>`

const busySW = `
self.addEventListener('install', e => self.skipWaiting());
self.addEventListener('activate', e => e.waitUntil(clients.claim()));
self.addEventListener('fetch', e => {
  const u = new URL(e.request.url);
  if (u.pathname.startsWith('/api/sw/')) {
    e.respondWith(fetch('/api/swnet/' + u.pathname.slice('/api/sw/'.length)));
  }
});`
