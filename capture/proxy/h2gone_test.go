package proxy

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/apitape/apitape/capture"
	"github.com/apitape/apitape/har"
)

// entryFor is the one entry recorded for url.
func entryFor(t *testing.T, es []*har.Entry, url string) *har.Entry {
	t.Helper()
	var found *har.Entry
	for _, e := range es {
		if e.Request.URL == url {
			if found != nil {
				t.Fatalf("two entries for %s", url)
			}
			found = e
		}
	}
	if found == nil {
		t.Fatalf("no entry for %s", url)
	}
	return found
}

// An upstream that hangs up, without a GOAWAY, while one answer (/big)
// waits in the relay for a client that does not read it yet and another
// (/cut) is half sent: a Go client gets the end of /cut at once (a
// RST_STREAM), not when the client has read /big and the connection
// closes; a request it makes then goes on a new connection (the relay
// said GOAWAY) and is answered; and /big still arrives whole. Each is
// recorded: /cut with what came of it and an _error.
func TestHTTP2UpstreamGoneGoClient(t *testing.T) {
	h := newHarness(t, nil, capture.Options{})
	var (
		mu    sync.Mutex
		sent  int
		sizes = make(chan int, 1)
	)
	up := newFlowServer(t, func(p *flowPeer, id uint32, path string) {
		switch path {
		case "/after":
			if p.headers(id, ":status", "200", "content-length", "2") == nil {
				p.write(func(fr *http2.Framer) error { return fr.WriteData(id, true, []byte("ok")) })
			}
			return
		case "/big":
			size := p.unread()
			sizes <- size
			if p.headers(id, ":status", "200", "content-length", strconv.Itoa(size)) != nil || p.body(id, size, nil) != nil {
				return
			}
		case "/cut":
			if p.headers(id, ":status", "200", "content-length", "100") != nil ||
				p.write(func(fr *http2.Framer) error { return fr.WriteData(id, false, []byte("partial")) }) != nil {
				return
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if sent++; sent == 2 {
			p.hangUp(false, 0)
		}
	})
	tr := smallWindows(h.h2Transport())
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	get := func(path string) (*http.Response, context.CancelFunc) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", up.URL+path, nil)
		res, err := c.Do(req)
		if err != nil {
			cancel()
			t.Fatalf("%s: %v", path, err)
		}
		if res.Proto != "HTTP/2.0" {
			t.Fatalf("%s: %s", path, res.Proto)
		}
		return res, cancel
	}
	big, cancelBig := get("/big")
	defer cancelBig()
	defer big.Body.Close()
	size := <-sizes
	cut, cancelCut := get("/cut")
	b, err := io.ReadAll(cut.Body)
	cut.Body.Close()
	expired := cut.Request.Context().Err() != nil
	cancelCut()
	if expired {
		t.Fatalf("/cut: no end 10s after the upstream hung up, %q read (%v): the relay holds the stream", b, err)
	}
	if err == nil || !strings.Contains(err.Error(), "stream error") || string(b) != "partial" {
		t.Fatalf("/cut: %q, %v; want \"partial\" and a stream error", b, err)
	}
	t.Logf("/cut: %q, then %v", b, err)
	after, cancelAfter := get("/after")
	b, err = io.ReadAll(after.Body)
	after.Body.Close()
	cancelAfter()
	if err != nil || string(b) != "ok" {
		t.Fatalf("/after: %q, %v", b, err)
	}
	if err := readPattern(big.Body, size); err != nil {
		t.Fatalf("/big: %v", err)
	}
	es := h.entries(t)
	if len(es) != 3 {
		t.Fatalf("%d entries, want 3", len(es))
	}
	if e := entryFor(t, es, up.URL+"/big"); e.Response.Status != 200 || e.Response.BodySize != int64(size) {
		t.Errorf("/big recorded %d with %d bytes of %d", e.Response.Status, e.Response.BodySize, size)
	}
	e := entryFor(t, es, up.URL+"/cut")
	if msg, _ := e.Response.Extra.Get("_error"); e.Response.Status != 200 || e.Response.BodySize != 7 || !strings.Contains(string(msg), "upstream") {
		t.Errorf("/cut recorded %d with %d bytes, _error %s", e.Response.Status, e.Response.BodySize, msg)
	}
	if e := entryFor(t, es, up.URL+"/after"); e.Response.Status != 200 || string(contentBytes(t, &e.Response.Content)) != "ok" {
		t.Errorf("/after recorded %d", e.Response.Status)
	}
}

// Once the upstream has hung up (without a GOAWAY) the relay says GOAWAY
// to the client at once, naming the last stream the upstream had, though
// an answer still waits for the client's window; a stream the client
// opens after it anyway (its frames crossed the GOAWAY) is refused
// (RST_STREAM REFUSED_STREAM, RFC 9113, 8.7) at once, so that the
// client may send it again elsewhere; and the waiting answer arrives
// whole when the client reads it.
func TestHTTP2NewStreamAfterUpstreamGone(t *testing.T) {
	h := newHarness(t, nil, capture.Options{})
	sizes := make(chan int, 1)
	up := newFlowServer(t, func(p *flowPeer, id uint32, path string) {
		size := p.unread()
		sizes <- size
		if p.headers(id, ":status", "200", "content-length", strconv.Itoa(size)) == nil && p.body(id, size, nil) == nil {
			p.hangUp(false, 0)
		}
	})
	c := dialRawH2(t, h, up.URL, 16<<10)
	if err := c.request(1, "GET", "/big", true); err != nil {
		t.Fatal(err)
	}
	size := <-sizes
	var body []byte
	keep := func(f rawFrame) {
		if f.typ == http2.FrameData && f.id == 1 {
			body = append(body, f.data...)
		}
	}
	g := c.next("a GOAWAY", func(f rawFrame) bool { keep(f); return f.typ == http2.FrameGoAway })
	if g.lastID != 1 || g.code != http2.ErrCodeNo {
		t.Errorf("GOAWAY naming stream %d (%v), want 1 (NO_ERROR)", g.lastID, g.code)
	}
	if err := c.request(3, "GET", "/late", true); err != nil {
		t.Fatal(err)
	}
	r := c.next("the answer to stream 3", func(f rawFrame) bool { keep(f); return f.id == 3 })
	if r.typ != http2.FrameRSTStream || r.code != http2.ErrCodeRefusedStream {
		t.Errorf("stream 3: %v, want RST_STREAM REFUSED_STREAM", r)
	}
	// Now the client reads: the rest of /big.
	c.autoWindow = false
	if err := c.write(func(fr *http2.Framer) error {
		fr.WriteWindowUpdate(0, uint32(size))
		return fr.WriteWindowUpdate(1, uint32(size))
	}); err != nil {
		t.Fatal(err)
	}
	for len(body) < size {
		f := c.next("the rest of /big", func(f rawFrame) bool { return f.id == 1 })
		keep(f)
		if f.end {
			break
		}
	}
	if err := checkPattern(body, size); err != nil {
		t.Errorf("/big: %v", err)
	}
	e := h.only(t)
	if e.Request.URL != up.URL+"/big" || e.Response.Status != 200 || e.Response.BodySize != int64(size) {
		t.Errorf("recorded %s → %d with %d bytes of %d", e.Request.URL, e.Response.Status, e.Response.BodySize, size)
	}
}

// checkPattern checks b is n bytes of pattern.
func checkPattern(b []byte, n int) error {
	return readPattern(strings.NewReader(string(b)), n)
}

// An upstream that says GOAWAY naming stream 1 while it still has stream
// 3, and stays connected to answer stream 1 later: the relay resets
// stream 3 toward the client (REFUSED_STREAM: the upstream did not take
// it) and lets go of it at once, not when the connection closes, refuses
// stream 5 which the client opens after, and stream 1 is still answered
// (when a PRIORITY frame for it says so).
// Stream 1 is recorded with its answer and stream 3 with the refusal.
func TestHTTP2StreamsAboveGoAway(t *testing.T) {
	h := newHarness(t, nil, capture.Options{})
	up := newFramerServer(t, func(tc *tls.Conn, fr *http2.Framer) {
		fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
		serveFrames(fr, func(f http2.Frame) {
			switch f := f.(type) {
			case *http2.MetaHeadersFrame:
				if f.StreamID == 3 {
					fr.WriteGoAway(1, http2.ErrCodeNo, nil)
				}
			case *http2.PriorityFrame: // the client's word to answer
				writeHead(fr, 1, false, ":status", "200", "content-length", "2")
				fr.WriteData(1, true, []byte("ok"))
			}
		})
	}).URL
	c := dialRawH2(t, h, up, 16<<10)
	if err := c.request(1, "GET", "/slow", true); err != nil {
		t.Fatal(err)
	}
	if err := c.request(3, "GET", "/ignored", true); err != nil {
		t.Fatal(err)
	}
	g := c.next("a GOAWAY", func(f rawFrame) bool { return f.typ == http2.FrameGoAway })
	if g.lastID != 1 {
		t.Errorf("GOAWAY names stream %d, want 1", g.lastID)
	}
	if f := c.next("the end of stream 3", func(f rawFrame) bool { return f.id == 3 }); f.typ != http2.FrameRSTStream || f.code != http2.ErrCodeRefusedStream {
		t.Errorf("stream 3: %v, want RST_STREAM REFUSED_STREAM", f)
	}
	if err := c.request(5, "GET", "/new", true); err != nil {
		t.Fatal(err)
	}
	if f := c.next("the end of stream 5", func(f rawFrame) bool { return f.id == 5 }); f.typ != http2.FrameRSTStream || f.code != http2.ErrCodeRefusedStream {
		t.Errorf("stream 5: %v, want RST_STREAM REFUSED_STREAM", f)
	}
	if err := c.write(func(fr *http2.Framer) error { return fr.WritePriority(1, http2.PriorityParam{Weight: 15}) }); err != nil {
		t.Fatal(err)
	}
	if status, body := c.answer(1); status != "200" || string(body) != "ok" {
		t.Fatalf("stream 1: %s %q", status, body)
	}
	if n := h.openStreams(); n != 0 {
		t.Errorf("%d streams in flight with every stream answered or refused, want 0", n)
	}
	es := h.entries(t)
	if len(es) != 2 {
		t.Fatalf("%d entries, want 2", len(es))
	}
	base := "https://" + c.authority
	if e := entryFor(t, es, base+"/slow"); e.Response.Status != 200 || string(contentBytes(t, &e.Response.Content)) != "ok" {
		t.Errorf("/slow recorded %d", e.Response.Status)
	}
	if e := entryFor(t, es, base+"/ignored"); e.Response.Status != 0 {
		t.Errorf("/ignored recorded %d", e.Response.Status)
	} else if msg, _ := e.Response.Extra.Get("_error"); !strings.Contains(string(msg), "REFUSED_STREAM") {
		t.Errorf("/ignored recorded with _error %s", msg)
	}
}
