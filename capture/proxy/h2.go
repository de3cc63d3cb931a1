package proxy

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	mlog "github.com/google/martian/v3/log"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/apitape/apitape/capture"
	"github.com/apitape/apitape/capture/proxy/internal/h2"
	"github.com/apitape/apitape/har"
)

// HTTP/2 goes through martian's h2 relay (a copy, in internal/h2, that
// closes its connections when it ends), which passes frames between the
// client and the upstream (header blocks decoded and encoded again, so
// fields keep their order) and shows each stream to a processor; the
// processor here records the stream as a HAR entry, with the pseudo-header
// fields first, as Chrome records them.
//
// The proxy speaks h2 with a client only where the upstream speaks it
// too: at CONNECT time it asks the upstream which protocols it takes
// (ALPN, remembered per host for a while), and offers the client h2 only
// then. Where only one side offers h2, both sides speak HTTP/1.1.

// alpnTTL is how long an upstream's answer to "h2?" is believed.
const alpnTTL = 10 * time.Minute

type alpnAnswer struct {
	h2   bool
	when time.Time
}

type h2State struct {
	cfg      *h2.Config
	roots    *x509.CertPool
	insecure bool // the upstream's certificate is not verified
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)

	mu      sync.Mutex
	answers map[string]alpnAnswer
	conns   map[*url.URL]*h2Conn
}

// martian's h2 package logs relay errors (a client hanging up, say) on the
// process's standard error; the proxy says what matters through Logf.
var quietMartian sync.Once

func newH2State(roots *x509.CertPool, insecure bool, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *h2State {
	quietMartian.Do(func() { mlog.SetLevel(mlog.Silent) })
	s := &h2State{roots: roots, insecure: insecure, dial: dial, answers: map[string]alpnAnswer{}, conns: map[*url.URL]*h2Conn{}}
	s.cfg = &h2.Config{
		RootCAs: roots,
		StreamProcessorFactories: []h2.StreamProcessorFactory{func(u *url.URL, sinks *h2.Processors) (h2.Processor, h2.Processor) {
			s.mu.Lock()
			c := s.conns[u]
			s.mu.Unlock()
			if c == nil {
				return nil, nil
			}
			st := c.newStream()
			return &h2Side{Processor: sinks.ForDirection(h2.ClientToServer), st: st, client: true},
				&h2Side{Processor: sinks.ForDirection(h2.ServerToClient), st: st}
		}},
	}
	// The relay's upstream goes through the proxy's dialer and TLS
	// settings, as HTTP/1.1 does (loop guard, timeouts, roots or no
	// verification), and closes when the relay ends.
	s.cfg.Dial = func(ctx context.Context, authority string) (net.Conn, error) {
		tc, err := s.dialTLS(ctx, authority, "h2")
		if err != nil {
			return nil, err
		}
		if tc.ConnectionState().NegotiatedProtocol != "h2" {
			tc.Close()
			return nil, errors.New("the upstream no longer speaks h2")
		}
		return tc, nil
	}
	return s
}

// dialTLS connects to authority with TLS, offering protos (ALPN).
func (s *h2State) dialTLS(ctx context.Context, authority string, protos ...string) (*tls.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	raw, err := s.dial(ctx, "tcp", authority)
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(authority)
	tc := tls.Client(raw, &tls.Config{RootCAs: s.roots, InsecureSkipVerify: s.insecure, ServerName: host, NextProtos: protos})
	if err := tc.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, err
	}
	return tc, nil
}

// upstreamH2 reports whether the upstream at authority speaks h2.
func (s *h2State) upstreamH2(ctx context.Context, authority string) bool {
	s.mu.Lock()
	a, ok := s.answers[authority]
	s.mu.Unlock()
	if ok && time.Since(a.when) < alpnTTL {
		return a.h2
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	tc, err := s.dialTLS(ctx, authority, "h2", "http/1.1")
	if err != nil {
		// HTTP/1.1 then: its path reports the failure with the request.
		return false
	}
	h2 := tc.ConnectionState().NegotiatedProtocol == "h2"
	tc.Close()
	s.mu.Lock()
	s.answers[authority] = alpnAnswer{h2, time.Now()}
	s.mu.Unlock()
	return h2
}

// serveH2 relays an h2 connection from the client to authority until
// either side closes or the proxy does; every stream is recorded, those
// still open at the end with an `_error`.
func (p *Proxy) serveH2(tc *tls.Conn, authority string) {
	u := &url.URL{Scheme: "https", Host: authority}
	c := &h2Conn{p: p, authority: authority, open: map[*h2Stream]struct{}{}}
	if host, _, err := net.SplitHostPort(authority); err == nil && net.ParseIP(host) != nil {
		c.remote = host
	}
	s := p.h2
	s.mu.Lock()
	s.conns[u] = c
	s.mu.Unlock()
	// The relay ends when the proxy closes or the client goes: martian
	// would otherwise wait for the upstream to hang up too.
	closing, gone := make(chan bool), make(chan struct{})
	go func() {
		select {
		case <-p.quit:
		case <-gone:
		}
		close(closing)
	}()
	cc := &settingsFirst{Conn: tc, preface: len(http2.ClientPreface), wrote: make(chan struct{}), quit: p.quit, gone: gone}
	err := s.cfg.Proxy(closing, cc, u)
	cc.end()
	s.mu.Lock()
	delete(s.conns, u)
	s.mu.Unlock()
	if err != nil {
		p.logf("HTTP/2 to %s: %v", authority, err)
	}
	c.closeAll(err)
}

// settingsFirst holds the client's frames back, after its preface, until
// the upstream's first frame (its SETTINGS) has gone to the client.
// martian's relay answers a client's DATA with a WINDOW_UPDATE at once,
// and when that overtakes the upstream's SETTINGS the client hangs up
// ("SETTINGS expected", as curl's nghttp2 says).
type settingsFirst struct {
	net.Conn
	preface int // bytes of the client's preface still to read
	wrote   chan struct{}
	once    sync.Once
	quit    chan struct{}
	gone    chan struct{} // closed when the client's side ends
	goneOne sync.Once

	// The relay may end with a read of the client's connection still
	// blocked (martian abandons it); readMu lets end wait for it, as the
	// connection's buffered reader goes back to its pool after serveH2.
	readMu sync.Mutex
	ended  bool
}

func (c *settingsFirst) hangUp() { c.goneOne.Do(func() { close(c.gone) }) }

// end closes the client's connection and returns once nothing reads it.
// It says close_notify first and reads until the client hangs up too (for
// a second at most): closing with the client's last frames unread would
// reset the connection, and the client would lose the end of responses
// it has not read yet.
func (c *settingsFirst) end() {
	c.hangUp()
	if tc, ok := c.Conn.(*tls.Conn); ok {
		tc.CloseWrite()
	}
	c.Conn.SetReadDeadline(time.Now().Add(time.Second))
	c.readMu.Lock()
	c.ended = true
	c.readMu.Unlock()
	io.Copy(io.Discard, c.Conn)
	c.Conn.Close()
}

func (c *settingsFirst) Read(p []byte) (int, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	if c.ended {
		return 0, net.ErrClosed
	}
	if c.preface > 0 {
		n, err := c.Conn.Read(p[:min(len(p), c.preface)])
		c.preface -= n
		if err != nil {
			c.hangUp()
		}
		return n, err
	}
	select {
	case <-c.wrote:
	case <-c.quit:
		return 0, net.ErrClosed
	case <-c.gone: // the upstream went before it said anything
		return 0, net.ErrClosed
	}
	n, err := c.Conn.Read(p)
	if err != nil {
		c.hangUp()
	}
	return n, err
}

func (c *settingsFirst) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.once.Do(func() { close(c.wrote) })
	return n, err
}

// h2Conn is one relayed connection: its streams in flight.
type h2Conn struct {
	p         *Proxy
	authority string
	remote    string
	mu        sync.Mutex
	open      map[*h2Stream]struct{}
}

func (c *h2Conn) newStream() *h2Stream {
	st := &h2Stream{c: c, start: time.Now()}
	c.p.handlers.Add(1)
	c.mu.Lock()
	c.open[st] = struct{}{}
	c.mu.Unlock()
	return st
}

func (c *h2Conn) closeAll(err error) {
	c.mu.Lock()
	open := slices.Collect(maps.Keys(c.open))
	c.mu.Unlock()
	if err == nil {
		err = errors.New("the connection closed before the stream ended")
	}
	for _, st := range open {
		st.finish(err)
	}
}

// h2Stream is one request and its response.
type h2Stream struct {
	c     *h2Conn
	start time.Time

	mu         sync.Mutex
	reqFields  []hpack.HeaderField
	resFields  []hpack.HeaderField
	reqBody    bodyBuf
	resBody    bodyBuf
	sent       time.Duration // request complete
	firstByte  time.Duration // final response head
	reqEnded   bool
	errMsg     string
	recordOnce sync.Once
}

// h2Side is a stream's processor in one direction: it notes what passes
// and hands it on to the next one; Priority and PushPromise only pass.
type h2Side struct {
	h2.Processor // the next
	st           *h2Stream
	client       bool
}

func (s *h2Side) Header(fields []hpack.HeaderField, ended bool, pri http2.PriorityParam) error {
	st := s.st
	st.mu.Lock()
	if s.client {
		if st.reqFields == nil {
			st.reqFields = fields
		}
		if ended {
			st.reqEnded, st.sent = true, time.Since(st.start)
		}
		st.mu.Unlock()
		return s.Processor.Header(fields, ended, pri)
	}
	if st.resFields == nil {
		if status := fieldValue(fields, ":status"); len(status) == 3 && status[0] != '1' {
			st.resFields, st.firstByte = fields, time.Since(st.start)
		}
	}
	complete := ended && st.resFields != nil
	st.mu.Unlock()
	if complete {
		// Recorded before the client has the end of the stream.
		st.finish(nil)
	}
	return s.Processor.Header(fields, ended, pri)
}

func (s *h2Side) Data(data []byte, ended bool) error {
	st := s.st
	max := st.c.p.maxBody
	st.mu.Lock()
	if s.client {
		st.reqBody.add(data, max)
		if ended {
			st.reqEnded, st.sent = true, time.Since(st.start)
		}
		st.mu.Unlock()
		return s.Processor.Data(data, ended)
	}
	st.resBody.add(data, max)
	st.mu.Unlock()
	if ended {
		st.finish(nil)
	}
	return s.Processor.Data(data, ended)
}

// UpstreamGone notes why the relay resets the stream next.
func (s *h2Side) UpstreamGone() {
	s.st.finish(errors.New("the upstream hung up before the answer ended"))
}

func (s *h2Side) RSTStream(code http2.ErrCode) error {
	s.st.finish(errors.New("stream reset: " + code.String()))
	return s.Processor.RSTStream(code)
}

func fieldValue(fields []hpack.HeaderField, name string) string {
	for _, f := range fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// finish records the stream, once.
func (st *h2Stream) finish(err error) {
	st.recordOnce.Do(func() {
		c := st.c
		c.mu.Lock()
		delete(c.open, st)
		c.mu.Unlock()
		defer c.p.handlers.Done()
		done := time.Since(st.start)
		st.mu.Lock()
		defer st.mu.Unlock()
		if err != nil {
			st.errMsg = err.Error()
		}
		if st.reqFields == nil {
			return // nothing was asked
		}
		if int64(len(st.reqBody.buf)+len(st.resBody.buf)) > bigEntry {
			c.p.big <- struct{}{} // as for HTTP/1.1: one large entry at a time
			defer func() { <-c.p.big }()
		}
		c.p.record(st.entry(done))
	})
}

func (st *h2Stream) entry(done time.Duration) *har.Entry {
	c := st.c
	path := fieldValue(st.reqFields, ":path")
	scheme := cmp.Or(fieldValue(st.reqFields, ":scheme"), "https")
	authority := cmp.Or(fieldValue(st.reqFields, ":authority"), c.authority)
	_, rawQuery, _ := strings.Cut(path, "?")
	reqHeader := fieldsHeader(st.reqFields)
	req := har.Request{
		Method:      fieldValue(st.reqFields, ":method"),
		URL:         scheme + "://" + authority + path,
		HTTPVersion: "HTTP/2.0",
		Headers:     h2NameValues(st.reqFields),
		QueryString: capture.QueryString(rawQuery),
		Cookies:     requestCookies(reqHeader),
		HeadersSize: -1,
		BodySize:    st.reqBody.total,
	}
	if b := &st.reqBody; b.total > 0 {
		req.PostData = postData(reqHeader.Get("Content-Type"), b.buf, int64(len(b.buf)) < b.total || !st.reqEnded, b.total)
	}
	res := har.Response{HeadersSize: -1, BodySize: -1}
	if st.resFields != nil {
		resHeader := fieldsHeader(st.resFields)
		status, _ := strconv.Atoi(fieldValue(st.resFields, ":status"))
		// HTTP/2 has no reason phrase.
		res = responseHead(status, http.StatusText(status), "HTTP/2.0", h2NameValues(st.resFields), resHeader)
		res.BodySize = st.resBody.total
		setContent(&res.Content, st.resBody.snapshot(st.errMsg == ""), resHeader.Get("Content-Encoding"), c.p.maxBody)
	}
	if st.errMsg != "" {
		res.Extra.Set("_error", st.errMsg)
	}
	e := &har.Entry{
		StartedDateTime: st.start.UTC().Format("2006-01-02T15:04:05.000Z"),
		Request:         req,
		Response:        res,
		Cache:           []byte("{}"),
		ServerIPAddress: c.remote,
	}
	ms := func(d time.Duration) float64 { return round(float64(d) / 1e6) }
	sent := st.sent
	if sent == 0 || st.firstByte != 0 && sent > st.firstByte {
		sent = st.firstByte // answered before the request was complete
	}
	first := cmp.Or(st.firstByte, done)
	neg := -1.0
	e.Timings = har.Timings{Blocked: har.Float(0), DNS: &neg, Connect: &neg, SSL: &neg,
		Send: ms(sent), Wait: ms(first - sent), Receive: ms(done - first)}
	e.Time = round(e.Timings.Send + e.Timings.Wait + e.Timings.Receive)
	return e
}

func fieldsHeader(fields []hpack.HeaderField) http.Header {
	h := http.Header{}
	for _, f := range fields {
		if !strings.HasPrefix(f.Name, ":") {
			h.Add(f.Name, f.Value)
		}
	}
	return h
}

func h2NameValues(fields []hpack.HeaderField) []har.NameValue {
	out := make([]har.NameValue, len(fields))
	for i, f := range fields {
		out[i] = har.NameValue{Name: f.Name, Value: f.Value}
	}
	return out
}
