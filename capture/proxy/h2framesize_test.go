package proxy

import (
	"bytes"
	"crypto/tls"
	"strconv"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/apitape/apitape/capture"
)

// newEchoServer is an h2 upstream that reads frames of up to maxRead
// bytes, saying so in a SETTINGS frame unless that is the protocol's
// first 16 KiB, and answers each request with its body in DATA frames of
// sendFrame bytes. It reports the lengths of the DATA frames it got, or
// why it could not read them.
func newEchoServer(t *testing.T, maxRead, sendFrame uint32, got chan<- []uint32, failed chan<- error) string {
	return newFramerServer(t, func(tc *tls.Conn, fr *http2.Framer) {
		fr.SetMaxReadFrameSize(maxRead)
		fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
		if maxRead != 16<<10 && fr.WriteSettings(http2.Setting{ID: http2.SettingMaxFrameSize, Val: maxRead}) != nil {
			return
		}
		bodies, sizes := map[uint32][]byte{}, map[uint32][]uint32{}
		answer := func(id uint32) {
			got <- sizes[id]
			body := bodies[id]
			writeHead(fr, id, false, ":status", "200", "content-length", strconv.Itoa(len(body)))
			for len(body) > 0 {
				k := min(len(body), int(sendFrame))
				fr.WriteData(id, k == len(body), body[:k])
				body = body[k:]
			}
		}
		err := serveFrames(fr, func(f http2.Frame) {
			switch f := f.(type) {
			case *http2.MetaHeadersFrame:
				bodies[f.StreamID] = []byte{}
				if f.StreamEnded() {
					answer(f.StreamID)
				}
			case *http2.DataFrame:
				sizes[f.StreamID] = append(sizes[f.StreamID], f.Length)
				bodies[f.StreamID] = append(bodies[f.StreamID], f.Data()...)
				if f.StreamEnded() {
					answer(f.StreamID)
				}
			}
		})
		select {
		case failed <- err:
		default:
		}
	}).URL
}

// The relay passes each side's SETTINGS to the other unchanged, and cuts
// the DATA frames it sends to the limit (SETTINGS_MAX_FRAME_SIZE) the
// receiver advertised (RFC 9113, 4.2): peers that advertise different
// limits each get frames within their own, a sender's frames as large as
// the receiver allows pass whole, and frames larger than the receiver
// allows, which a sender should not send, reach it cut to its limit.
// Every client and upstream reads frames no larger than it advertised.
func TestHTTP2MaxFrameSize(t *testing.T) {
	const size, big = 60_000, 1 << 20
	tests := []struct {
		name                    string
		clientMax, upMax        uint32 // what each reads (and advertises)
		clientFrame, upFrame    uint32 // the DATA frames each sends
		wantUpFrames, wantFrame uint32 // the largest each should get
	}{
		{"client 16 KiB, upstream 1 MiB", 16 << 10, big, size, 16 << 10, size, 16 << 10},
		{"client 1 MiB, upstream 16 KiB", big, 16 << 10, 16 << 10, size, 16 << 10, size},
		{"frames over the receiver's limit", 16 << 10, 16 << 10, size, size, 16 << 10, 16 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil, capture.Options{})
			got, failed := make(chan []uint32, 1), make(chan error, 1)
			c := dialRawH2(t, h, newEchoServer(t, tt.upMax, tt.upFrame, got, failed), tt.clientMax)
			if tt.upMax != 16<<10 {
				// The upstream's limit reaches the client before its
				// request, as a client would wait for it.
				c.next("the upstream's SETTINGS", func(f rawFrame) bool {
					for _, s := range f.settings {
						if s.ID == http2.SettingMaxFrameSize && s.Val == tt.upMax {
							return true
						}
					}
					return false
				})
			}
			body := make([]byte, size)
			for i := range body {
				body[i] = pattern(i)
			}
			if err := c.request(1, "POST", "/echo", false); err != nil {
				t.Fatal(err)
			}
			if err := c.write(func(fr *http2.Framer) error {
				for rest := body; len(rest) > 0; {
					k := min(len(rest), int(tt.clientFrame))
					if err := fr.WriteData(1, k == len(rest), rest[:k]); err != nil {
						return err
					}
					rest = rest[k:]
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			var largest uint32
			var answer []byte
			for {
				f := c.next("the answer", func(f rawFrame) bool { return f.id == 1 })
				if f.typ == http2.FrameRSTStream {
					t.Fatalf("stream reset: %v", f.code)
				}
				if f.typ == http2.FrameData {
					largest = max(largest, f.length)
					answer = append(answer, f.data...)
				}
				if f.end {
					break
				}
			}
			var upSizes []uint32
			select {
			case upSizes = <-got:
			case err := <-failed:
				t.Fatalf("the upstream: %v", err)
			}
			t.Logf("the upstream got DATA frames of %v; the client's largest was %d", upSizes, largest)
			if m := maxOf(upSizes); m != tt.wantUpFrames {
				t.Errorf("the upstream's largest DATA frame was %d bytes, want %d", m, tt.wantUpFrames)
			}
			if largest != tt.wantFrame {
				t.Errorf("the client's largest DATA frame was %d bytes, want %d", largest, tt.wantFrame)
			}
			if !bytes.Equal(answer, body) {
				t.Errorf("the answer is %d bytes, not the %d sent", len(answer), len(body))
			}
			e := h.only(t)
			if e.Response.Status != 200 || !bytes.Equal(postBytes(t, &e.Request), body) || !bytes.Equal(contentBytes(t, &e.Response.Content), body) {
				t.Errorf("recorded %d, a request body of %d bytes and an answer of %d", e.Response.Status,
					len(postBytes(t, &e.Request)), len(contentBytes(t, &e.Response.Content)))
			}
		})
	}
}

func maxOf(s []uint32) uint32 {
	var m uint32
	for _, v := range s {
		m = max(m, v)
	}
	return m
}
