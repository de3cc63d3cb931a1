package proxy

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"strings"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/apitape/apitape/capture"
)

// newResetServer is an h2 upstream that answers by path: /ok with "ok",
// /reset with a RST_STREAM (CANCEL) at once; /hold not at all, and
// /late not until the client has reset the stream, and then with a
// HEADERS and a DATA frame all the same (they were on their way). It
// answers PINGs, after what it sent before.
func newResetServer(t *testing.T) string {
	return newFramerServer(t, func(tc *tls.Conn, fr *http2.Framer) {
		fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
		late := map[uint32]bool{}
		serveFrames(fr, func(f http2.Frame) {
			switch f := f.(type) {
			case *http2.MetaHeadersFrame:
				switch path := fieldValue(f.Fields, ":path"); {
				case path == "/ok":
					writeHead(fr, f.StreamID, false, ":status", "200", "content-length", "2")
					fr.WriteData(f.StreamID, true, []byte("ok"))
				case path == "/reset":
					fr.WriteRSTStream(f.StreamID, http2.ErrCodeCancel)
				case strings.HasPrefix(path, "/late"):
					late[f.StreamID] = true
				}
			case *http2.RSTStreamFrame:
				if late[f.StreamID] {
					delete(late, f.StreamID)
					writeHead(fr, f.StreamID, false, ":status", "200", "content-length", "1024")
					fr.WriteData(f.StreamID, true, make([]byte, 1024))
				}
			}
		})
	}).URL
}

// Streams that end without an answer, reset by the upstream or by the
// client before the answer, and streams whose answer is still on its way
// when the client resets them: the relay lets go of each (nothing in
// flight, the live heap within 256 KiB of where it was after 10,000 of them), and records
// each with the reset as its _error.
func TestHTTP2ResetStreamsReleased(t *testing.T) {
	const n = 10_000
	for _, mode := range []string{"upstream resets", "client resets", "client resets, answer late"} {
		t.Run(mode, func(t *testing.T) {
			h := newHarness(t, nil, capture.Options{})
			c := dialRawH2(t, h, newResetServer(t), 16<<10)
			c.autoWindow = true
			if err := c.request(1, "GET", "/ok", true); err != nil {
				t.Fatal(err)
			}
			if status, body := c.answer(1); status != "200" || string(body) != "ok" {
				t.Fatalf("first: %s %q", status, body)
			}
			before := liveHeap()
			path := map[string]string{"upstream resets": "/reset", "client resets": "/hold", "client resets, answer late": "/late"}[mode]
			for i := range n {
				id := uint32(3 + 2*i)
				if err := c.request(id, "GET", path, true); err != nil {
					t.Fatal(err)
				}
				if mode == "upstream resets" {
					f := c.next("the reset", func(f rawFrame) bool { return f.id == id })
					if f.typ != http2.FrameRSTStream || f.code != http2.ErrCodeCancel {
						t.Fatalf("stream %d: %v, want RST_STREAM CANCEL", id, f)
					}
					continue
				}
				// The upstream answers the PING after what it sends for
				// the reset stream.
				var ping [8]byte
				binary.BigEndian.PutUint64(ping[:], uint64(id))
				if err := c.write(func(fr *http2.Framer) error {
					if err := fr.WriteRSTStream(id, http2.ErrCodeCancel); err != nil {
						return err
					}
					return fr.WritePing(false, ping)
				}); err != nil {
					t.Fatal(err)
				}
				c.next("the PING's answer", func(f rawFrame) bool {
					return f.typ == http2.FramePing && f.id == 0 && bytes.Equal(f.data, ping[:])
				})
			}
			last := uint32(3 + 2*n)
			if err := c.request(last, "GET", "/ok", true); err != nil {
				t.Fatal(err)
			}
			if status, body := c.answer(last); status != "200" || string(body) != "ok" {
				t.Fatalf("last: %s %q", status, body)
			}
			h.checkReleased(t, before, n, "streams reset", 256<<10)
			es := h.entries(t)
			if len(es) != n+2 {
				t.Fatalf("%d entries, want %d", len(es), n+2)
			}
			for i, e := range es {
				errMsg, _ := e.Response.Extra.Get("_error")
				if i == 0 || i == n+1 {
					if e.Response.Status != 200 || len(errMsg) != 0 {
						t.Errorf("entry %d: %d %s", i, e.Response.Status, errMsg)
					}
				} else if !strings.Contains(string(errMsg), "stream reset: CANCEL") || e.Response.Status != 0 {
					t.Errorf("entry %d: %s → %d, _error %s", i, e.Request.URL, e.Response.Status, errMsg)
					break
				}
			}
		})
	}
}
