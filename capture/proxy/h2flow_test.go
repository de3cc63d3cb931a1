package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/apitape/apitape/capture"
)

// flowPeer is one connection of an h2 upstream written on http2.Framer,
// so that a test decides every frame it sends and when it hangs up. It
// keeps to the flow-control windows the proxy grants, as a real server
// must, and can tell when it is held back for good: its window is
// empty and a PING it sends after its DATA comes back without a
// WINDOW_UPDATE ahead of it.
type flowPeer struct {
	tc  *tls.Conn
	fr  *http2.Framer
	wmu sync.Mutex // framer writes

	mu        sync.Mutex
	cond      *sync.Cond
	connWin   int64
	initWin   int64 // the proxy's SETTINGS_INITIAL_WINDOW_SIZE
	streamWin map[uint32]int64
	pings     map[[8]byte]chan struct{}
	pingSeq   uint64
	gone      bool          // the proxy hung up
	goneCh    chan struct{} // closed with gone
}

// newFlowServer starts an h2 upstream that calls serve, in a goroutine
// of its own, for each request.
func newFlowServer(t *testing.T, serve func(p *flowPeer, id uint32, path string)) *httptest.Server {
	t.Helper()
	return newFramerServer(t, func(tc *tls.Conn, fr *http2.Framer) {
		p := &flowPeer{tc: tc, fr: fr, connWin: 65535, initWin: 65535,
			streamWin: map[uint32]int64{}, pings: map[[8]byte]chan struct{}{}, goneCh: make(chan struct{})}
		p.cond = sync.NewCond(&p.mu)
		var wg sync.WaitGroup
		defer wg.Wait()
		p.readLoop(func(id uint32, path string) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				serve(p, id, path)
			}()
		})
	})
}

func (p *flowPeer) write(f func(*http2.Framer) error) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	return f(p.fr)
}

// readLoop reads the proxy's frames until it hangs up.
func (p *flowPeer) readLoop(request func(id uint32, path string)) {
	dec := hpack.NewDecoder(4096, nil)
	defer func() {
		p.mu.Lock()
		p.gone = true
		close(p.goneCh)
		p.cond.Broadcast()
		p.mu.Unlock()
	}()
	for {
		f, err := p.fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if f.IsAck() {
				continue
			}
			if v, ok := f.Value(http2.SettingInitialWindowSize); ok {
				p.mu.Lock()
				for id := range p.streamWin {
					p.streamWin[id] += int64(v) - p.initWin
				}
				p.initWin = int64(v)
				p.cond.Broadcast()
				p.mu.Unlock()
			}
			p.write(func(fr *http2.Framer) error { return fr.WriteSettingsAck() })
		case *http2.WindowUpdateFrame:
			p.mu.Lock()
			if f.StreamID == 0 {
				p.connWin += int64(f.Increment)
			} else if _, ok := p.streamWin[f.StreamID]; ok {
				p.streamWin[f.StreamID] += int64(f.Increment)
			}
			p.cond.Broadcast()
			p.mu.Unlock()
		case *http2.PingFrame:
			if !f.IsAck() {
				p.write(func(fr *http2.Framer) error { return fr.WritePing(true, f.Data) })
				continue
			}
			p.mu.Lock()
			if c, ok := p.pings[f.Data]; ok {
				close(c)
				delete(p.pings, f.Data)
			}
			p.mu.Unlock()
		case *http2.HeadersFrame:
			fields, err := dec.DecodeFull(f.HeaderBlockFragment())
			if err != nil {
				return
			}
			p.mu.Lock()
			p.streamWin[f.StreamID] = p.initWin
			p.mu.Unlock()
			request(f.StreamID, fieldValue(fields, ":path"))
		}
	}
}

// ping sends a PING and waits for its answer.
func (p *flowPeer) ping() error {
	p.mu.Lock()
	p.pingSeq++
	var data [8]byte
	copy(data[:], strconv.FormatUint(p.pingSeq, 16))
	ack := make(chan struct{})
	p.pings[data] = ack
	p.mu.Unlock()
	if err := p.write(func(fr *http2.Framer) error { return fr.WritePing(false, data) }); err != nil {
		return err
	}
	select {
	case <-ack:
		return nil
	case <-p.goneCh:
		return errors.New("the proxy hung up")
	}
}

func (p *flowPeer) headers(id uint32, fields ...string) error {
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for i := 0; i < len(fields); i += 2 {
		enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	return p.write(func(fr *http2.Framer) error {
		return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block.Bytes(), EndHeaders: true})
	})
}

// pattern is byte i of every test body: no run of it repeats soon, so a
// lost or repeated frame shows.
func pattern(i int) byte { return byte(i ^ i>>8 ^ i>>16) }

// body sends n bytes of pattern on stream id, in frames of at most 16
// KiB, as the windows allow, ending the stream. Each time it is held
// back for good (see flowPeer) it calls stalled with what it has sent.
func (p *flowPeer) body(id uint32, n int, stalled func(sent int)) error {
	buf := make([]byte, 16<<10)
	for sent := 0; sent < n || n == 0; {
		k, err := p.window(id, min(len(buf), n-sent), func() {
			if stalled != nil {
				stalled(sent)
			}
		})
		if err != nil {
			return err
		}
		for i := range k {
			buf[i] = pattern(sent + i)
		}
		if err := p.write(func(fr *http2.Framer) error { return fr.WriteData(id, sent+k == n, buf[:k]) }); err != nil {
			return err
		}
		sent += k
		if n == 0 {
			break
		}
	}
	return nil
}

// window takes up to want bytes of the windows, waiting for them.
func (p *flowPeer) window(id uint32, want int, stalled func()) (int, error) {
	if want == 0 {
		return 0, nil
	}
	for barrier := false; ; {
		p.mu.Lock()
		if p.gone {
			p.mu.Unlock()
			return 0, errors.New("the proxy hung up")
		}
		if k := min(int64(want), p.connWin, p.streamWin[id]); k > 0 {
			p.connWin -= k
			p.streamWin[id] -= k
			p.mu.Unlock()
			return int(k), nil
		}
		if barrier {
			// Held back for good: wait for a WINDOW_UPDATE.
			stalled()
			for !p.gone && min(p.connWin, p.streamWin[id]) <= 0 {
				p.cond.Wait()
			}
			p.mu.Unlock()
			barrier = false
			continue
		}
		p.mu.Unlock()
		if err := p.ping(); err != nil {
			return 0, err
		}
		barrier = true
	}
}

// hangUp ends the connection after what was sent, with a GOAWAY first
// when goAway, and reads what the proxy still sends until it hangs up
// too: closing with unread input would reset the connection, and the
// proxy would lose what it had not read yet.
// A PING first makes sure the proxy has read all the DATA before the
// hang-up: a client that reads only after it then finds what the relay
// did with it.
func (p *flowPeer) hangUp(goAway bool, lastID uint32) {
	p.ping()
	p.write(func(fr *http2.Framer) error {
		if goAway {
			fr.WriteGoAway(lastID, http2.ErrCodeNo, nil)
		}
		return p.tc.CloseWrite()
	})
	p.tc.SetReadDeadline(time.Now().Add(10 * time.Second))
}

// readPattern reads a body and checks it is n bytes of pattern.
func readPattern(r io.Reader, n int) error {
	buf := make([]byte, 32<<10)
	got := 0
	for {
		k, err := r.Read(buf)
		for i := range k {
			if buf[i] != pattern(got+i) {
				return fmt.Errorf("byte %d is %#x, want %#x", got+i, buf[i], pattern(got+i))
			}
		}
		got += k
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("after %d bytes of %d: %w", got, n, err)
		}
	}
	if got != n {
		return fmt.Errorf("%d bytes, want %d", got, n)
	}
	return nil
}

// unread is how much the upstream can send on a stream, at least, while
// the client reads nothing: the client's stream window (which is the
// proxy's initial window, as the relay passes SETTINGS on) less what a
// frame too large for the rest of it leaves, and as much again queued
// in the relay.
func (p *flowPeer) unread() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return 2*int(p.initWin) - 16<<10
}

// smallWindows makes tr's h2 receive windows small (256 KiB a stream), so
// that a test fills them, and the relay's queue behind them, with little.
func smallWindows(tr *http.Transport) *http.Transport {
	tr.HTTP2 = &http.HTTP2Config{MaxReceiveBufferPerStream: 256 << 10}
	return tr
}

// An upstream that sends a response larger than the h2 windows and hangs
// up right after its last DATA frame (with or without a GOAWAY first):
// the response waits in the relay for the client's window, and the
// client still gets every byte of it, whether it reads as the response
// comes or only after the upstream has hung up.
func TestHTTP2UpstreamHangsUpAfterLargeAnswer(t *testing.T) {
	for _, goAway := range []bool{false, true} {
		for _, late := range []bool{false, true} {
			t.Run(fmt.Sprintf("goaway=%v/late=%v", goAway, late), func(t *testing.T) {
				h := newHarness(t, nil, capture.Options{})
				hungUp := make(chan struct{})
				sizes := make(chan int, 1)
				up := newFlowServer(t, func(p *flowPeer, id uint32, path string) {
					// 8 MiB is more than the relay may queue; a late
					// reader gets what the windows let the upstream send
					// without it.
					size := 8 << 20
					if late {
						size = p.unread()
					}
					sizes <- size
					if p.headers(id, ":status", "200", "content-length", strconv.Itoa(size)) != nil || p.body(id, size, nil) != nil {
						return
					}
					p.hangUp(goAway, id)
					close(hungUp)
				})
				tr := smallWindows(h.h2Transport())
				defer tr.CloseIdleConnections()
				res, err := (&http.Client{Transport: tr}).Get(up.URL + "/big")
				if err != nil {
					t.Fatal(err)
				}
				size := <-sizes
				if late {
					<-hungUp
				}
				err = readPattern(res.Body, size)
				res.Body.Close()
				if err != nil || res.Proto != "HTTP/2.0" {
					t.Fatalf("%s: %v", res.Proto, err)
				}
				if e := h.only(t); e.Response.BodySize != int64(size) {
					t.Fatalf("recorded %d bytes of %d", e.Response.BodySize, size)
				}
			})
		}
	}
}

// An upstream that ends two streams on one connection at once, says
// GOAWAY letting both finish, and hangs up: the client, reading only
// then, gets all of both before the connection ends.
func TestHTTP2GoAwayAfterData(t *testing.T) {
	h := newHarness(t, nil, capture.Options{})
	var (
		mu     sync.Mutex
		ids    []uint32
		done   int
		ready  = make(chan struct{})
		hungUp = make(chan struct{})
		sizes  = make(chan int, 2)
	)
	up := newFlowServer(t, func(p *flowPeer, id uint32, path string) {
		if path == "/first" {
			p.headers(id, ":status", "204")
			p.write(func(fr *http2.Framer) error { return fr.WriteData(id, true, nil) })
			return
		}
		size := p.unread()
		sizes <- size
		if p.headers(id, ":status", "200", "content-length", strconv.Itoa(size)) != nil {
			return
		}
		mu.Lock()
		ids = append(ids, id)
		if len(ids) == 2 {
			close(ready)
		}
		mu.Unlock()
		<-ready
		if p.body(id, size, nil) != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if done++; done == 2 { // the last stream to end says GOAWAY, letting both finish
			p.hangUp(true, max(ids[0], ids[1]))
			close(hungUp)
		}
	})
	tr := smallWindows(h.h2Transport())
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	// One connection first, so that both requests go on it.
	res, err := c.Get(up.URL + "/first")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.Get(fmt.Sprintf("%s/big/%d", up.URL, i))
			if err != nil {
				t.Error(err)
				return
			}
			defer res.Body.Close()
			size := <-sizes
			<-hungUp
			if err := readPattern(res.Body, size); err != nil {
				t.Errorf("response %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
}

// A client that reads a large response slowly while the upstream keeps
// sending: the relay takes from the upstream no more than the client's
// windows and its own queue hold (one stream window each), and meanwhile
// another request on the same connection and other clients of the proxy
// get their answers. Then the client reads it all, every byte in order.
func TestHTTP2SlowClient(t *testing.T) {
	const size = 24 << 20
	h := newHarness(t, nil, capture.Options{})
	stalled := make(chan int, 1)
	sentAll := make(chan struct{})
	var initWin int64
	up := newFlowServer(t, func(p *flowPeer, id uint32, path string) {
		if path != "/big" {
			p.headers(id, ":status", "200", "content-length", "2")
			p.write(func(fr *http2.Framer) error { return fr.WriteData(id, true, []byte("ok")) })
			return
		}
		p.mu.Lock()
		initWin = p.initWin
		p.mu.Unlock()
		if p.headers(id, ":status", "200", "content-length", strconv.Itoa(size)) != nil {
			return
		}
		err := p.body(id, size, func(sent int) {
			select {
			case stalled <- sent:
			default:
			}
		})
		if err == nil {
			close(sentAll)
		}
	})
	other := newProtoServer(t, true)
	tr := smallWindows(h.h2Transport())
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	res, err := c.Get(up.URL + "/big")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	select {
	case sent := <-stalled:
		// What the client's stream window took and what the relay
		// queued: the upstream's stream window twice over.
		if limit := 2 * int(initWin); sent > limit {
			t.Fatalf("the upstream sent %d bytes before it was held back, more than %d", sent, limit)
		}
		t.Logf("the upstream was held back after %d bytes (stream window %d)", sent, initWin)
	case <-sentAll:
		t.Fatalf("the upstream sent all %d bytes while the client read none: the relay holds them", size)
	}
	get := func(c *http.Client, url, want string) {
		t.Helper()
		res, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || !bytes.Contains(b, []byte(want)) || res.Proto != "HTTP/2.0" {
			t.Fatalf("%s: %s %q (%v)", url, res.Proto, b, err)
		}
	}
	get(c, up.URL+"/small", "ok")
	tr2 := h.h2Transport()
	defer tr2.CloseIdleConnections()
	for i := range 5 {
		get(&http.Client{Transport: tr2}, fmt.Sprintf("%s/other/%d", other.URL, i), "HTTP/2.0")
	}
	if err := readPattern(res.Body, size); err != nil {
		t.Fatal(err)
	}
}

// A net/http h2 server shut down while it sends a large answer: it says
// GOAWAY, sends the rest and closes the connection right after its last
// DATA frame; the client gets every byte.
func TestHTTP2ServerShutdown(t *testing.T) {
	const size = 8 << 20
	h := newHarness(t, nil, capture.Options{})
	started := make(chan struct{})
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		close(started)
		buf := make([]byte, 16<<10)
		for sent := 0; sent < size; sent += len(buf) {
			for i := range buf {
				buf[i] = pattern(sent + i)
			}
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	}))
	up.EnableHTTP2 = true
	up.Config.ErrorLog = log.New(io.Discard, "", 0)
	up.StartTLS()
	t.Cleanup(up.Close)
	tr := smallWindows(h.h2Transport())
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Get(up.URL + "/big")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	<-started
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		shut <- up.Config.Shutdown(ctx)
	}()
	if err := readPattern(res.Body, size); err != nil {
		t.Fatal(err)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
}
