package proxy

import (
	"crypto/tls"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/apitape/apitape/capture"
)

// Frames of types the relay does not know (extensions, RFC 9113, 5.5:
// the upstream's ALTSVC or ORIGIN, say) are dropped, and PRIORITY_UPDATE
// frames (RFC 9218, which a client sends when the upstream's SETTINGS
// say NO_RFC7540_PRIORITIES, as Go's server does) go on to the upstream;
// the relay ended the connection at either. Requests before and after
// are answered and recorded.
func TestHTTP2ExtensionFrames(t *testing.T) {
	h := newHarness(t, nil, capture.Options{})
	updates := make(chan string, 1)
	up := newFramerServer(t, func(tc *tls.Conn, fr *http2.Framer) {
		fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
		serveFrames(fr, func(f http2.Frame) {
			switch f := f.(type) {
			case *http2.MetaHeadersFrame:
				// An ORIGIN frame (0xc) and an unknown one before each
				// answer.
				fr.WriteRawFrame(0xc, 0, 0, []byte{0, 9, 'e', 'x', 'a', 'm', 'p', 'l', 'e'})
				fr.WriteRawFrame(0xfa, 0, f.StreamID, []byte("?"))
				writeHead(fr, f.StreamID, false, ":status", "200", "content-length", "2")
				fr.WriteData(f.StreamID, true, []byte("ok"))
			case *http2.PriorityUpdateFrame:
				updates <- f.Priority
			}
		})
	}).URL
	c := dialRawH2(t, h, up, 16<<10)
	if err := c.request(1, "GET", "/first", true); err != nil {
		t.Fatal(err)
	}
	if status, body := c.answer(1); status != "200" || string(body) != "ok" {
		t.Fatalf("first: %s %q", status, body)
	}
	if err := c.write(func(fr *http2.Framer) error {
		if err := fr.WritePriorityUpdate(3, "u=1, i"); err != nil {
			return err
		}
		return fr.WriteRawFrame(0xfb, 0, 0, []byte("unknown"))
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.request(3, "GET", "/second", true); err != nil {
		t.Fatal(err)
	}
	if status, body := c.answer(3); status != "200" || string(body) != "ok" {
		t.Fatalf("second: %s %q", status, body)
	}
	select {
	case p := <-updates:
		if p != "u=1, i" {
			t.Errorf("the upstream got PRIORITY_UPDATE %q", p)
		}
	case <-time.After(10 * time.Second):
		t.Error("no PRIORITY_UPDATE reached the upstream in 10s")
	}
	es := h.entries(t)
	if len(es) != 2 {
		t.Fatalf("%d entries, want 2", len(es))
	}
	for _, e := range es {
		if e.Response.Status != 200 || string(contentBytes(t, &e.Response.Content)) != "ok" {
			t.Errorf("%s recorded %d", e.Request.URL, e.Response.Status)
		}
	}
}
