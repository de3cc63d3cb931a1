package proxy

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// rawH2 is a client of the proxy written on http2.Framer, so that a test
// decides every frame it sends and sees every frame it gets. It
// acknowledges SETTINGS and PING and, when autoWindow, gives back the
// windows each DATA frame took.
type rawH2 struct {
	t          *testing.T
	tc         *tls.Conn
	bw         *bufio.Writer
	fr         *http2.Framer
	authority  string
	autoWindow bool

	wmu   sync.Mutex // writes: fr, bw, enc
	block bytes.Buffer
	enc   *hpack.Encoder

	frames  chan rawFrame // what the proxy sent, in order; closed when it hangs up
	readErr error         // why the frames ended, once frames is closed
}

// rawFrame is what a test needs of a frame the proxy sent.
type rawFrame struct {
	typ      http2.FrameType
	id       uint32
	length   uint32 // the frame's payload, as on the wire
	end      bool   // END_STREAM
	data     []byte
	fields   []hpack.HeaderField
	code     http2.ErrCode // RST_STREAM, GOAWAY
	lastID   uint32        // GOAWAY
	settings []http2.Setting
}

func (f rawFrame) String() string {
	return fmt.Sprintf("%v stream %d len %d end %v code %v last %d", f.typ, f.id, f.length, f.end, f.code, f.lastID)
}

// dialRawH2 speaks h2 through the proxy with the upstream up: CONNECT,
// TLS with ALPN h2, the preface and SETTINGS (settings); the client
// reads frames of up to maxRead bytes, as it says when maxRead is not
// the protocol's first 16 KiB.
func dialRawH2(t *testing.T, h *harness, up string, maxRead uint32, settings ...http2.Setting) *rawH2 {
	t.Helper()
	u, err := url.Parse(up)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", h.proxyURL.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", u.Host, u.Host)
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"})
	if err != nil || res.StatusCode != 200 || br.Buffered() > 0 {
		t.Fatalf("CONNECT: %v %v", res, err)
	}
	tc := tls.Client(conn, &tls.Config{RootCAs: h.clientCA, ServerName: u.Hostname(), NextProtos: []string{"h2"}})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("the proxy spoke %q, want h2", p)
	}
	c := &rawH2{t: t, tc: tc, bw: bufio.NewWriterSize(tc, 64<<10), authority: u.Host, frames: make(chan rawFrame, 1024)}
	c.fr = http2.NewFramer(c.bw, tc)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.fr.SetMaxReadFrameSize(maxRead)
	c.enc = hpack.NewEncoder(&c.block)
	if maxRead != 16<<10 {
		settings = append(settings, http2.Setting{ID: http2.SettingMaxFrameSize, Val: maxRead})
	}
	if err := c.write(func(fr *http2.Framer) error {
		if _, err := c.bw.WriteString(http2.ClientPreface); err != nil {
			return err
		}
		return fr.WriteSettings(settings...)
	}); err != nil {
		t.Fatal(err)
	}
	go c.readLoop()
	return c
}

// write calls f with the framer and sends what it wrote.
func (c *rawH2) write(f func(*http2.Framer) error) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := f(c.fr); err != nil {
		return err
	}
	return c.bw.Flush()
}

func (c *rawH2) readLoop() {
	defer close(c.frames)
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			c.readErr = err
			return
		}
		rf := rawFrame{typ: f.Header().Type, id: f.Header().StreamID, length: f.Header().Length}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				f.ForeachSetting(func(s http2.Setting) error {
					rf.settings = append(rf.settings, s)
					return nil
				})
				c.write(func(fr *http2.Framer) error { return fr.WriteSettingsAck() })
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				c.write(func(fr *http2.Framer) error { return fr.WritePing(true, f.Data) })
			}
			rf.data = bytes.Clone(f.Data[:])
		case *http2.DataFrame:
			rf.end, rf.data = f.StreamEnded(), bytes.Clone(f.Data())
			if c.autoWindow && f.Length > 0 {
				c.write(func(fr *http2.Framer) error {
					fr.WriteWindowUpdate(0, f.Length)
					return fr.WriteWindowUpdate(f.StreamID, f.Length)
				})
			}
		case *http2.MetaHeadersFrame:
			rf.end, rf.fields = f.StreamEnded(), f.Fields
		case *http2.RSTStreamFrame:
			rf.code = f.ErrCode
		case *http2.GoAwayFrame:
			rf.code, rf.lastID = f.ErrCode, f.LastStreamID
		}
		c.frames <- rf
	}
}

// request opens stream id with a request for path, ending the stream
// unless a body follows.
func (c *rawH2) request(id uint32, method, path string, end bool) error {
	return c.write(func(fr *http2.Framer) error {
		c.block.Reset()
		for _, f := range [][2]string{{":method", method}, {":scheme", "https"}, {":authority", c.authority}, {":path", path}} {
			c.enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.block.Bytes(), EndHeaders: true, EndStream: end})
	})
}

// next returns the next frame that match accepts, failing the test when
// the proxy hangs up first or when none comes in 10 seconds.
func (c *rawH2) next(what string, match func(rawFrame) bool) rawFrame {
	c.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				c.t.Fatalf("waiting for %s: the proxy hung up (%v)", what, c.readErr)
			}
			if match(f) {
				return f
			}
		case <-timeout:
			c.t.Fatalf("waiting for %s: nothing in 10s", what)
		}
	}
}

// answer reads the answer on stream id to its end: its status and body.
func (c *rawH2) answer(id uint32) (status string, body []byte) {
	c.t.Helper()
	for {
		f := c.next(fmt.Sprintf("the answer on stream %d", id), func(f rawFrame) bool { return f.id == id })
		switch f.typ {
		case http2.FrameHeaders:
			if s := fieldValue(f.fields, ":status"); s != "" && s[0] != '1' {
				status = s
			}
		case http2.FrameData:
			body = append(body, f.data...)
		case http2.FrameRSTStream:
			c.t.Fatalf("stream %d reset: %v", id, f.code)
		}
		if f.end {
			return status, body
		}
	}
}

// openStreams is how many streams the proxy's h2 connections hold as
// in flight.
func (h *harness) openStreams() int {
	s := h.proxy.h2
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.conns {
		c.mu.Lock()
		n += len(c.open)
		c.mu.Unlock()
	}
	return n
}

// serveFrames reads fr's frames until the connection ends, answering
// SETTINGS and PING frames, and hands the others to handle.
func serveFrames(fr *http2.Framer, handle func(http2.Frame)) error {
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return err
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				fr.WritePing(true, f.Data)
			}
		default:
			handle(f)
		}
	}
}

// writeHead sends a header block of fields (name, value, ...) on stream
// id.
func writeHead(fr *http2.Framer, id uint32, end bool, fields ...string) error {
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for i := 0; i < len(fields); i += 2 {
		enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block.Bytes(), EndHeaders: true, EndStream: end})
}

// checkReleased fails t unless, after n frames or streams of what, the
// proxy holds no stream in flight and the live heap has grown by at most
// bound bytes since before.
func (h *harness) checkReleased(t *testing.T, before uint64, n int, what string, bound int64) {
	t.Helper()
	grew := int64(liveHeap()) - int64(before)
	open := h.openStreams()
	t.Logf("%d %s: live heap grew %d KiB, %d streams in flight", n, what, grew>>10, open)
	if open != 0 {
		t.Errorf("%d streams in flight after the last answer, want 0", open)
	}
	if grew > bound {
		t.Errorf("the live heap grew %d KiB over %d %s", grew>>10, n, what)
	}
}
