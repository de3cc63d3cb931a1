package proxy

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/apitape/apitape/capture"
)

// paddedBody sends n bytes of pattern on stream id in DATA frames of at
// most 1 KiB each padded with 255 bytes, as the windows allow, ending the
// stream. The padding and its length octet count against the windows as
// the data does (RFC 9113, 6.1).
func (p *flowPeer) paddedBody(id uint32, n int) error {
	const chunk, pad = 1 << 10, 255
	buf := make([]byte, chunk)
	for sent := 0; sent < n; {
		w, err := p.window(id, min(chunk, n-sent)+1+pad, func() {})
		if err != nil {
			return err
		}
		padLen := min(pad, w-1)
		k := min(n-sent, w-1-padLen)
		for i := range k {
			buf[i] = pattern(sent + i)
		}
		if err := p.write(func(fr *http2.Framer) error {
			return fr.WriteDataPadded(id, sent+k == n, buf[:k], make([]byte, padLen))
		}); err != nil {
			return err
		}
		sent += k
	}
	return nil
}

// An upstream whose DATA frames carry padding: the relay gives the
// upstream back the window the whole frames took, padding included, so
// that an answer whose padding alone is larger than the connection's
// first window (2 MiB in 1 KiB frames, 512 KiB of padding, 64 KiB
// window) reaches the client whole, with client windows large (the
// connection's window decides) and small (the stream's too).
func TestHTTP2PaddedAnswer(t *testing.T) {
	const size = 2 << 20
	for _, small := range []bool{false, true} {
		t.Run("small windows "+strconv.FormatBool(small), func(t *testing.T) {
			h := newHarness(t, nil, capture.Options{})
			up := newFlowServer(t, func(p *flowPeer, id uint32, path string) {
				if p.headers(id, ":status", "200", "content-length", strconv.Itoa(size)) == nil {
					p.paddedBody(id, size)
				}
			})
			tr := h.h2Transport()
			if small {
				tr = smallWindows(tr)
			}
			defer tr.CloseIdleConnections()
			// A stalled stream shows as the client's timeout.
			res, err := (&http.Client{Transport: tr, Timeout: 20 * time.Second}).Get(up.URL + "/padded")
			if err != nil {
				t.Fatal(err)
			}
			err = readPattern(res.Body, size)
			res.Body.Close()
			if err != nil {
				t.Fatalf("the client's answer: %v", err)
			}
			if e := h.only(t); e.Response.BodySize != size {
				t.Errorf("recorded %d bytes of %d", e.Response.BodySize, size)
			}
		})
	}
}
