package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// net/http's server writes a response its own way: the reason phrase from
// its table, a Date header, header names canonical and sorted. A proxy
// that must hand the client what the upstream sent therefore reads
// requests with net/http's parser but writes every head itself: the
// response head as the upstream wrote it, the request head as the client
// wrote it (see headTap.Write), minus the hop-by-hop fields of each hop.

const (
	idleTimeout       = 5 * time.Minute
	readHeaderTimeout = time.Minute
)

// clientConn is one connection from a client, or the decrypted stream
// inside one CONNECT tunnel.
type clientConn struct {
	p    *Proxy
	conn net.Conn
	tap  *headTap
	br   *bufio.Reader
	bw   *bufio.Writer
	idle atomic.Bool // waiting for the next request: Close may hang up

	// Inside a tunnel, requests are in origin form and go to authority.
	scheme, authority string

	// wmu orders a 100 Continue, written when the upstream transport
	// starts reading the request body, with the response head.
	wmu       sync.Mutex
	headsDone bool
}

var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 16<<10) }}
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 16<<10) }}
)

// serveConn serves the requests on c until it closes, the client or the
// upstream asks to close, or the proxy closes.
func (p *Proxy) serveConn(c net.Conn, scheme, authority string) {
	defer c.Close()
	cc := &clientConn{p: p, conn: c, scheme: scheme, authority: authority, tap: newHeadTap(c)}
	cc.idle.Store(true)
	if !p.track(cc) {
		return
	}
	defer p.untrack(cc)
	cc.br = readerPool.Get().(*bufio.Reader)
	cc.br.Reset(cc.tap)
	cc.bw = writerPool.Get().(*bufio.Writer)
	cc.bw.Reset(c)
	defer func() {
		cc.br.Reset(nil)
		readerPool.Put(cc.br)
		cc.bw.Reset(nil)
		writerPool.Put(cc.bw)
	}()
	for {
		cc.idle.Store(true)
		if p.isClosed() {
			return
		}
		c.SetReadDeadline(time.Now().Add(idleTimeout))
		if _, err := cc.br.Peek(1); err != nil {
			return
		}
		cc.idle.Store(false)
		if p.isClosed() {
			return
		}
		c.SetReadDeadline(time.Now().Add(readHeaderTimeout))
		// A head already whole in the buffer is taken from there; that
		// covers pipelined requests, which the tap (armed only between
		// exchanges) misses.
		var fields []field
		if buf, _ := cc.br.Peek(cc.br.Buffered()); len(buf) > 0 {
			if i := bytes.Index(buf, []byte("\r\n\r\n")); i >= 0 {
				_, fields, _ = parseHead(bytes.TrimLeft(buf[:i+4], "\r\n"))
			}
		}
		req, err := http.ReadRequest(cc.br)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !isTimeout(err) {
				cc.writeError(http.StatusBadRequest, "apitape capture proxy: malformed request: "+err.Error())
			}
			return
		}
		c.SetReadDeadline(time.Time{})
		if !p.handle(cc, req, fields) {
			return
		}
		cc.tap.rearm()
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// writeError answers with a short plain-text error; the connection is
// closed after it.
func (cc *clientConn) writeError(code int, msg string) {
	cc.wmu.Lock()
	defer cc.wmu.Unlock()
	cc.headsDone = true
	fmt.Fprintf(cc.bw, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s\n",
		code, http.StatusText(code), len(msg)+1, msg)
	cc.bw.Flush()
}

// handle forwards one request and its response; it reports whether the
// connection can carry another request.
func (p *Proxy) handle(cc *clientConn, req *http.Request, fields []field) bool {
	if req.Method == http.MethodConnect {
		cc.tap.stop()
		p.connect(cc, req)
		return false
	}
	scheme, authority := cc.scheme, cc.authority
	if scheme == "" {
		if !req.URL.IsAbs() || req.URL.Host == "" {
			cc.writeError(http.StatusBadRequest, "apitape capture proxy: this is a proxy, not a server; send requests through it (for example curl --proxy http://"+req.Host+" URL)")
			return false
		}
		scheme, authority = strings.ToLower(req.URL.Scheme), req.URL.Host
	}
	if scheme != "http" && scheme != "https" {
		cc.writeError(http.StatusBadRequest, "apitape capture proxy: unsupported scheme "+scheme)
		return false
	}
	p.handlers.Add(1)
	defer p.handlers.Done()
	x := newExchange(p, req, scheme, authority)
	if fields != nil {
		x.reqFields = fields
		cc.tap.stop()
	} else {
		x.reqFields = cc.tap.takeRequest(req.Method + " " + req.RequestURI + " " + req.Proto)
	}
	// Deferred: an exchange cut anywhere is still recorded.
	defer x.finish()
	defer x.detach(cc)
	out := x.outbound(cc)
	res, err := x.roundTrip(out)
	if err != nil {
		p.upstreamError(cc, x, err)
		return false
	}
	return cc.writeResponse(x, req, res)
}

func (p *Proxy) upstreamError(cc *clientConn, x *exchange, err error) {
	if errors.Is(err, errLoop) {
		x.skipped.Store(true)
		p.logf("refused %s %s: it points at the proxy itself", x.in.Method, x.safeURL())
		cc.writeError(http.StatusLoopDetected, "apitape capture proxy: refusing to send a request to the proxy itself")
		return
	}
	x.fail(err)
	if !errors.Is(err, context.Canceled) {
		p.logf("%s %s: %v", x.in.Method, x.safeURL(), err)
	}
	var untrusted *tls.CertificateVerificationError
	if errors.As(err, &untrusted) && p.hintf != nil && p.hinted.CompareAndSwap(false, true) {
		p.hintf("the proxy does not trust the certificate of %s://%s: give it the server's CA with SSL_CERT_FILE=FILE, or record without checking with --insecure-upstream", x.scheme, x.host())
	}
	x.finish()
	cc.writeError(http.StatusBadGateway, "apitape capture proxy: upstream error: "+err.Error())
}

// Hop-by-hop fields (RFC 9110 §7.6.1), and the old Proxy-Connection and
// Keep-Alive: they describe one connection and are not forwarded; nor are
// the fields the Connection fields list.
func hopByHop(name string, listed []string) bool {
	return hasToken(hopByHopFields, name) || hasToken(listed, name)
}

var hopByHopFields = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authorization", "Proxy-Authenticate", "TE", "Upgrade"}

// connectionTokens lists the names in the Connection fields.
func connectionTokens(fields []field) []string {
	var out []string
	for _, f := range fields {
		if strings.EqualFold(f.name, "Connection") || strings.EqualFold(f.name, "Proxy-Connection") {
			for t := range strings.SplitSeq(f.value, ",") {
				if t = strings.TrimSpace(t); t != "" {
					out = append(out, t)
				}
			}
		}
	}
	return out
}

func hasToken(list []string, tok string) bool {
	return slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(s, tok) })
}

// headerFields is the fallback when a head could not be taken off the
// wire: the parsed header, sorted, names canonical.
func headerFields(h http.Header) []field {
	var out []field
	for _, k := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[k] {
			out = append(out, field{k, v})
		}
	}
	return out
}

// outbound builds the request for the upstream transport and, in
// x.upHead, the head that goes on the wire in place of the one the
// transport writes: the client's request line in origin form and the
// client's fields in their order and spelling, minus the hop-by-hop ones.
func (x *exchange) outbound(cc *clientConn) *http.Request {
	in := x.in
	raw := x.reqFields
	if raw == nil {
		raw = append([]field{{"Host", in.Host}}, headerFields(in.Header)...)
	}
	listed := connectionTokens(raw)
	upgrade := hasToken(listed, "upgrade") && in.Header.Get("Upgrade") != ""
	websocket := upgrade && strings.EqualFold(in.Header.Get("Upgrade"), "websocket")
	chunked := len(in.TransferEncoding) > 0
	hostSeen := false
	fields := make([]field, 0, len(raw)+1)
	for _, f := range raw {
		switch {
		case upgrade && (strings.EqualFold(f.name, "Connection") || strings.EqualFold(f.name, "Upgrade")):
			// An upgrade asks for it hop by hop; the proxy passes it on.
		case hopByHop(f.name, listed):
			continue
		case websocket && strings.EqualFold(f.name, "Sec-WebSocket-Extensions"):
			// No permessage-deflate: frames stay readable in the
			// recording. Servers must accept a client that offers none.
			continue
		case chunked && strings.EqualFold(f.name, "Content-Length"):
			continue // chunked wins (RFC 9112 §6.3), as net/http read it
		case strings.EqualFold(f.name, "Host"):
			if hostSeen {
				continue
			}
			hostSeen = true
		}
		fields = append(fields, f)
	}
	if !hostSeen {
		fields = append([]field{{"Host", x.host()}}, fields...)
	}
	x.upFields = fields

	target := in.RequestURI
	if cc.scheme == "" {
		target = originForm(target)
	}
	n := len(in.Method) + len(target) + 14
	for _, f := range fields {
		n += len(f.name) + len(f.value) + 4
	}
	b := make([]byte, 0, n)
	b = append(append(append(append(b, in.Method...), ' '), target...), " HTTP/1.1\r\n"...)
	for _, f := range fields {
		b = append(append(append(append(b, f.name...), ": "...), f.value...), "\r\n"...)
	}
	x.upHead = append(b, "\r\n"...)

	// What the transport decides from (connection reuse, framing,
	// upgrades) must agree with that head.
	h := in.Header
	for _, k := range []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authorization", "Te", "Upgrade"} {
		if upgrade && (k == "Connection" || k == "Upgrade") {
			continue
		}
		delete(h, k)
	}
	for _, l := range listed {
		if !upgrade || !strings.EqualFold(l, "upgrade") {
			h.Del(l)
		}
	}
	if websocket {
		h.Del("Sec-Websocket-Extensions")
	}
	if h.Get("User-Agent") == "" {
		h["User-Agent"] = []string{""} // net/http's way to send none
	}
	var body io.ReadCloser = http.NoBody
	if x.reqBody != nil {
		x.sent = &clientBody{rc: x.reqBody}
		body = x.sent
		if in.ProtoAtLeast(1, 1) && strings.EqualFold(in.Header.Get("Expect"), "100-continue") {
			body = &continueReader{rc: body, cc: cc}
		}
	}
	return (&http.Request{
		Method:           in.Method,
		URL:              &url.URL{Scheme: x.scheme, Host: x.authority, Path: "/"},
		Proto:            "HTTP/1.1",
		ProtoMajor:       1,
		ProtoMinor:       1,
		Header:           h,
		Body:             body,
		ContentLength:    in.ContentLength,
		TransferEncoding: in.TransferEncoding,
		Host:             x.host(),
		Trailer:          in.Trailer,
	}).WithContext(x.p.base)
}

// originForm turns an absolute-form request target into the origin form
// a server expects, keeping the path and query as the client wrote them.
func originForm(target string) string {
	i := strings.Index(target, "://")
	if i < 0 {
		return target
	}
	rest := target[i+3:]
	j := strings.IndexAny(rest, "/?")
	switch {
	case j < 0:
		return "/"
	case rest[j] == '?':
		return "/" + rest[j:]
	}
	return rest[j:]
}

// clientBody is the request body as the upstream transport reads it. The
// transport may read and close it from a goroutine of its own after the
// exchange is over (when the upstream answered before reading it all),
// by which time the connection's reader serves the next exchange or
// another connection: detach cuts it off before.
type clientBody struct {
	mu  sync.Mutex
	rc  io.ReadCloser
	off bool
}

var errDetached = errors.New("the exchange is over")

func (b *clientBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.off {
		return 0, errDetached
	}
	return b.rc.Read(p)
}

func (b *clientBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.off {
		return nil
	}
	b.off = true
	return b.rc.Close()
}

// detach takes the request body away from the upstream transport. A read
// of the client still in progress is ended first (the connection closes
// after an exchange that did not read its body whole).
func (x *exchange) detach(cc *clientConn) {
	b := x.sent
	if b == nil {
		return
	}
	if !x.reqBody.whole() {
		cc.conn.SetReadDeadline(time.Unix(1, 0))
	}
	b.mu.Lock()
	b.off = true
	b.mu.Unlock()
}

// continueReader sends the client its 100 Continue when the request body
// is first wanted, as net/http's server would.
type continueReader struct {
	rc   io.ReadCloser
	cc   *clientConn
	once sync.Once
}

func (r *continueReader) Read(p []byte) (int, error) {
	r.once.Do(func() {
		cc := r.cc
		cc.wmu.Lock()
		if !cc.headsDone {
			cc.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
			cc.bw.Flush()
		}
		cc.wmu.Unlock()
	})
	return r.rc.Read(p)
}

func (r *continueReader) Close() error { return r.rc.Close() }

// writeResponse hands the client the upstream's response: its status line
// and fields as they came, minus the hop-by-hop ones, and its body in the
// same framing. It reports whether the connection can carry another
// request.
func (cc *clientConn) writeResponse(x *exchange, req *http.Request, res *http.Response) bool {
	defer res.Body.Close()
	fields := x.responseFields()
	start := x.resStart
	if start == "" {
		start = res.Proto + " " + res.Status
	}
	switching := res.StatusCode == http.StatusSwitchingProtocols
	chunked := len(res.TransferEncoding) > 0 && res.TransferEncoding[0] == "chunked"
	noBody := req.Method == http.MethodHead || res.StatusCode/100 == 1 || res.StatusCode == 204 || res.StatusCode == 304
	old := !req.ProtoAtLeast(1, 1)
	// An HTTP/1.0 client cannot read chunks: it gets the body up to the
	// end of the connection instead.
	unchunk := chunked && old
	closeAfter := req.Close || res.Close || old || unchunk ||
		!noBody && !chunked && res.ContentLength < 0
	listed := connectionTokens(fields)

	b := cc.bw
	cc.wmu.Lock()
	cc.headsDone = true
	cc.wmu.Unlock()
	b.WriteString(start)
	b.WriteString("\r\n")
	for _, f := range fields {
		switch {
		case switching && (strings.EqualFold(f.name, "Connection") || strings.EqualFold(f.name, "Upgrade")):
		case strings.EqualFold(f.name, "Connection") && res.Close && hasToken(listed, "close"):
			// The upstream closes after this response, and so does the
			// proxy: the field says what will happen on this hop too.
		case hopByHop(f.name, listed):
			continue
		case unchunk && strings.EqualFold(f.name, "Transfer-Encoding"):
			continue
		case chunked && strings.EqualFold(f.name, "Content-Length"):
			continue // chunked wins (RFC 9112 §6.3); both would let a client misframe
		}
		b.WriteString(f.name)
		b.WriteString(": ")
		b.WriteString(f.value)
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	if switching {
		if err := b.Flush(); err != nil {
			return false
		}
		if rwc, ok := res.Body.(io.ReadWriteCloser); ok {
			cc.relay(rwc)
		}
		return false
	}
	if noBody {
		// Recorded before the client has its answer, so that a client
		// that has it can count on the entry being in the file.
		x.finish()
		return b.Flush() == nil && !closeAfter && x.reqBody.whole()
	}
	bufp := copyBufferPool.Get().(*[]byte)
	defer copyBufferPool.Put(bufp)
	buf := *bufp
	for {
		n, rerr := res.Body.Read(buf)
		if n > 0 {
			if chunked && !unchunk {
				b.WriteString(strconv.FormatInt(int64(n), 16))
				b.WriteString("\r\n")
				b.Write(buf[:n])
				b.WriteString("\r\n")
			} else {
				b.Write(buf[:n])
			}
			// Flush every piece as it comes: a stream (server-sent
			// events, a long poll) must reach the client as it is sent.
			if err := b.Flush(); err != nil {
				x.fail(err)
				return false
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			x.fail(rerr)
			return false
		}
	}
	if chunked && !unchunk {
		b.WriteString("0\r\n")
		res.Trailer.Write(b)
		b.WriteString("\r\n")
	}
	if b.Flush() != nil {
		return false
	}
	// A request body the upstream did not read would be taken for the
	// next request.
	return !closeAfter && x.reqBody.whole()
}

// relay joins an upgraded connection (a WebSocket) to the client until
// either side closes.
func (cc *clientConn) relay(up io.ReadWriteCloser) {
	errc := make(chan error, 2)
	go func() {
		_, err := io.Copy(up, cc.br) // what the client had already sent, then the rest
		errc <- err
	}()
	go func() {
		_, err := io.Copy(cc.conn, up)
		errc <- err
	}()
	<-errc
	up.Close()
	cc.conn.Close()
	<-errc
}
