package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/apitape/apitape/capture"
)

// connCounter is an h2 upstream that counts the connections it has open.
type connCounter struct {
	*httptest.Server
	mu   sync.Mutex
	open map[net.Conn]bool
}

func newConnCounter(t *testing.T) *connCounter {
	t.Helper()
	s := &connCounter{open: map[net.Conn]bool{}}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, `{"proto":%q}`, r.Proto)
	}))
	s.EnableHTTP2 = true
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.Config.ConnState = func(c net.Conn, st http.ConnState) {
		s.mu.Lock()
		defer s.mu.Unlock()
		switch st {
		case http.StateNew:
			s.open[c] = true
		case http.StateClosed, http.StateHijacked:
			delete(s.open, c)
		}
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func (s *connCounter) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.open)
}

// h2Transport is a client that speaks h2 through the proxy when it can.
func (h *harness) h2Transport() *http.Transport {
	return &http.Transport{
		Proxy:             http.ProxyURL(h.proxyURL),
		TLSClientConfig:   &tls.Config{RootCAs: h.clientCA},
		ForceAttemptHTTP2: true,
	}
}

// h2Goroutines counts the goroutines that relay HTTP/2 for the proxy.
func h2Goroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for g := range bytes.SplitSeq(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("(*Proxy).serveH2")) || bytes.Contains(g, []byte("/h2.(*relay)")) ||
			bytes.Contains(g, []byte("/h2.(*Config).Proxy")) {
			count++
		}
	}
	return count
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// The upstream connections the h2 relay opens, and its goroutines, end
// when the client hangs up, when the proxy closes, and when the upstream
// hangs up (without a GOAWAY, as when it crashes); a long capture must not
// pile them up.
func TestHTTP2UpstreamClosed(t *testing.T) {
	for _, end := range []string{"client hangs up", "proxy closes", "upstream hangs up"} {
		t.Run(end, func(t *testing.T) {
			h := newHarness(t, nil, capture.Options{})
			up := newConnCounter(t)
			before := h2Goroutines()
			const clients = 3
			var trs []*http.Transport
			for i := range clients {
				tr := h.h2Transport()
				t.Cleanup(tr.CloseIdleConnections)
				trs = append(trs, tr)
				for j := range 2 {
					res, err := (&http.Client{Transport: tr}).Get(fmt.Sprintf("%s/c%d/r%d", up.URL, i, j))
					if err != nil {
						t.Fatal(err)
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.Proto != "HTTP/2.0" {
						t.Fatalf("the client spoke %s with the proxy, want HTTP/2.0", res.Proto)
					}
				}
			}
			// One upstream connection per client once the ALPN probe has
			// gone; the count also shows h2Goroutines sees the relay.
			if !waitFor(10*time.Second, func() bool { return up.count() == clients }) {
				t.Fatalf("%d upstream connections open, want %d", up.count(), clients)
			}
			during := h2Goroutines()
			if during <= before {
				t.Fatalf("%d relay goroutines while relaying, %d before: the count sees nothing", during, before)
			}
			switch end {
			case "client hangs up":
				for _, tr := range trs {
					tr.CloseIdleConnections()
				}
			case "upstream hangs up":
				up.CloseClientConnections()
			case "proxy closes":
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if err := h.proxy.Close(ctx); err != nil {
					t.Fatal(err)
				}
			}
			ok := waitFor(10*time.Second, func() bool { return up.count() == 0 && h2Goroutines() == before })
			t.Logf("upstream connections: %d while relaying, %d after; relay goroutines: %d before, %d while relaying, %d after",
				clients, up.count(), before, during, h2Goroutines())
			if !ok {
				t.Errorf("after the %s, %d upstream connections are still open and %d relay goroutines run (%d before)",
					end, up.count(), h2Goroutines(), before)
			}
		})
	}
}

// newHangUpServer is an h2 upstream that answers each connection's first
// request with n bytes in DATA frames of 1 KiB and hangs up right after
// the last one, without a GOAWAY.
func newHangUpServer(t *testing.T, n int) *httptest.Server {
	return newFramerServer(t, func(tc *tls.Conn, fr *http2.Framer) {
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			hf, ok := f.(*http2.HeadersFrame)
			if !ok {
				continue
			}
			var block bytes.Buffer
			enc := hpack.NewEncoder(&block)
			enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
			enc.WriteField(hpack.HeaderField{Name: "content-length", Value: strconv.Itoa(n)})
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: hf.StreamID, BlockFragment: block.Bytes(), EndHeaders: true})
			chunk := bytes.Repeat([]byte("x"), 1024)
			for sent := 0; sent < n; sent += len(chunk) {
				fr.WriteData(hf.StreamID, sent+len(chunk) >= n, chunk[:min(len(chunk), n-sent)])
			}
			// Hang up, but read what the proxy still sends: closing
			// with unread input would reset the connection, and the
			// proxy would lose what it had not read yet.
			tc.CloseWrite()
			tc.SetReadDeadline(time.Now().Add(10 * time.Second))
			io.Copy(io.Discard, tc)
			return
		}
	})
}

// newFramerServer starts an h2 upstream whose connections serve runs,
// with the client's preface read and the server's SETTINGS sent: a test
// decides every frame it sends, and when it hangs up.
func newFramerServer(t *testing.T, serve func(tc *tls.Conn, fr *http2.Framer)) *httptest.Server {
	t.Helper()
	s := httptest.NewUnstartedServer(http.NotFoundHandler())
	s.TLS = &tls.Config{NextProtos: []string{"h2"}}
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.Config.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){
		"h2": func(_ *http.Server, tc *tls.Conn, _ http.Handler) {
			defer tc.Close()
			preface := make([]byte, len(http2.ClientPreface))
			if _, err := io.ReadFull(tc, preface); err != nil {
				return // the proxy's ALPN probe
			}
			fr := http2.NewFramer(tc, tc)
			if fr.WriteSettings() != nil {
				return
			}
			serve(tc, fr)
		},
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

// An upstream that hangs up right after its last DATA frame: the client
// still gets every byte of the response, and the entry holds them all.
func TestHTTP2UpstreamHangsUpAfterAnswer(t *testing.T) {
	const size = 30 << 10 // more frames than the relay queues
	for i := range 10 {
		h := newHarness(t, nil, capture.Options{})
		up := newHangUpServer(t, size)
		tr := h.h2Transport()
		res, err := (&http.Client{Transport: tr}).Get(up.URL + "/big")
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		tr.CloseIdleConnections()
		if err != nil || len(b) != size || res.Proto != "HTTP/2.0" {
			t.Fatalf("run %d: %s, %d bytes of %d (%v)", i, res.Proto, len(b), size, err)
		}
		if e := h.only(t); e.Response.BodySize != size {
			t.Fatalf("run %d: recorded %d bytes of %d", i, e.Response.BodySize, size)
		}
	}
}
