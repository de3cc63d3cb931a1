package proxy

import (
	"testing"

	"golang.org/x/net/http2"

	"github.com/apitape/apitape/capture"
)

// okServer is an h2 upstream that answers every request "ok".
func okServer(t *testing.T) string {
	return newFlowServer(t, func(p *flowPeer, id uint32, path string) {
		if p.headers(id, ":status", "200", "content-length", "2") == nil {
			p.write(func(fr *http2.Framer) error { return fr.WriteData(id, true, []byte("ok")) })
		}
	}).URL
}

// A client may name streams it has not opened (idle) in PRIORITY frames
// (RFC 9113, 5.1 and 6.3), and WINDOW_UPDATE frames for them are only
// its error: 100,000 such frames for distinct streams leave the relay
// holding nothing for them (no stream in flight, the live heap where it
// was), and the requests before and after are relayed and recorded.
func TestHTTP2IdleStreamFramesHoldNothing(t *testing.T) {
	const n = 100_000
	frames := map[string]func(fr *http2.Framer, id uint32) error{
		"PRIORITY": func(fr *http2.Framer, id uint32) error {
			return fr.WritePriority(id, http2.PriorityParam{Weight: 15})
		},
		"WINDOW_UPDATE": func(fr *http2.Framer, id uint32) error { return fr.WriteWindowUpdate(id, 1000) },
	}
	for name, write := range frames {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, nil, capture.Options{})
			c := dialRawH2(t, h, okServer(t), 16<<10)
			if err := c.request(1, "GET", "/before", true); err != nil {
				t.Fatal(err)
			}
			if status, body := c.answer(1); status != "200" || string(body) != "ok" {
				t.Fatalf("before: %s %q", status, body)
			}
			before := liveHeap()
			// Streams 3 to 2n+1, then a request on the next one: its
			// answer comes after the relay has taken all of them.
			if err := c.write(func(fr *http2.Framer) error {
				for i := range n {
					if err := write(fr, uint32(3+2*i)); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			last := uint32(3 + 2*n)
			if err := c.request(last, "GET", "/after", true); err != nil {
				t.Fatal(err)
			}
			if status, body := c.answer(last); status != "200" || string(body) != "ok" {
				t.Fatalf("after: %s %q", status, body)
			}
			h.checkReleased(t, before, n, name+" frames for idle streams", 4<<20)
			es := h.entries(t)
			if len(es) != 2 {
				t.Fatalf("%d entries, want 2", len(es))
			}
			for i, path := range []string{"/before", "/after"} {
				e := es[i]
				if e.Request.URL != "https://"+c.authority+path || e.Response.Status != 200 || string(contentBytes(t, &e.Response.Content)) != "ok" {
					t.Errorf("entry %d: %s → %d %q", i, e.Request.URL, e.Response.Status, *e.Response.Content.Text)
				}
			}
		})
	}
}
