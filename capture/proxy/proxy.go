// Package proxy is apitape's capture proxy: an HTTP/1.1 forward proxy that
// decrypts HTTPS with apitape's certificate authority, forwards every
// request unchanged, and turns each finished exchange into a [har.Entry]
// with both bodies and with timings measured in the proxy.
//
// # How it is built
//
// One [net/http.Server] accepts the clients. A request in absolute form
// ("GET http://host/path") is forwarded as is. A CONNECT request is
// hijacked: the proxy answers 200, terminates the client's TLS with a
// certificate for the requested host signed by the CA (martian's mitm
// package signs and caches one per host), and hands the decrypted
// connection back to the same server through an in-memory listener, so
// requests inside a tunnel take the same path as plain ones. Forwarding is
// [net/http/httputil.ReverseProxy] over an [net/http.Transport] wrapped to
// take timings ([net/http/httptrace]) and to tap the bodies as they stream.
//
// Bodies are never held whole: each direction is copied into a buffer of at
// most MaxBody bytes while it flows, and the rest is only counted. An
// exchange is recorded when its response body has been read to the end,
// before the last bytes are handed to the client, so a client that has a
// complete response can count on its entry having been recorded.
//
// WebSocket upgrades pass through; their frames are recorded in Chrome's
// `_webSocketMessages` form when the socket closes.
//
// Nothing of martian leaves this package: callers see [har.Entry] only.
package proxy

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/http/httputil"
	"strings"
	"sync"
	"time"

	"github.com/apitape/apitape/har"
	"github.com/google/martian/v3/mitm"
)

// DefaultMaxBody is how much of each body is kept when Options.MaxBody is 0.
const DefaultMaxBody = 10 << 20

// Options configure a [Proxy].
type Options struct {
	// CACert and CAKey sign the certificates the proxy shows clients for
	// HTTPS hosts. Without them CONNECT is refused.
	CACert *x509.Certificate
	CAKey  crypto.Signer

	// MaxBody is how many bytes of each request and response body are
	// recorded; the rest is forwarded and counted but not kept
	// (DefaultMaxBody when 0, nothing when negative).
	MaxBody int64

	// InsecureUpstream skips the verification of upstream certificates.
	InsecureUpstream bool
	// UpstreamRoots verify upstream certificates instead of the system's.
	UpstreamRoots *x509.CertPool

	// Transport sends requests upstream. Nil means an HTTP/1.1
	// http.Transport that refuses to dial the proxy's own address. A custom
	// one must do its own loop protection.
	Transport http.RoundTripper

	// Record receives every finished exchange, from many goroutines at
	// once. Upgraded connections (WebSocket) are recorded when they close.
	Record func(*har.Entry)

	// Logf reports problems worth a user's attention (a client that does not
	// trust the CA, an unreachable upstream). Messages never hold a query
	// string or a body. Nil discards them.
	Logf func(format string, args ...any)
}

// Proxy is a capture proxy. Create it with [New], run it with
// [Proxy.Serve], stop it with [Proxy.Close].
type Proxy struct {
	maxBody int64
	record  func(*har.Entry)
	logf    func(format string, args ...any)
	mitm    *mitm.Config
	guard   *selfGuard
	rp      *httputil.ReverseProxy
	srv     *http.Server
	tr      *http.Transport // nil when the caller brought its own

	serveOnce sync.Once
	inner     *connListener

	handlers sync.WaitGroup // ServeHTTP calls in flight

	mu       sync.Mutex
	closed   bool
	upgrades map[*wsTap]struct{}
}

// New prepares a proxy; nothing listens until Serve.
func New(opts Options) (*Proxy, error) {
	p := &Proxy{
		maxBody:  opts.MaxBody,
		record:   opts.Record,
		logf:     opts.Logf,
		guard:    new(selfGuard),
		upgrades: make(map[*wsTap]struct{}),
	}
	switch {
	case p.maxBody == 0:
		p.maxBody = DefaultMaxBody
	case p.maxBody < 0:
		p.maxBody = 0
	}
	if p.record == nil {
		p.record = func(*har.Entry) {}
	}
	if p.logf == nil {
		p.logf = func(string, ...any) {}
	}
	if (opts.CACert == nil) != (opts.CAKey == nil) {
		return nil, errors.New("proxy: CACert and CAKey go together")
	}
	if opts.CACert != nil {
		cfg, err := mitm.NewConfig(opts.CACert, opts.CAKey)
		if err != nil {
			return nil, fmt.Errorf("proxy: %w", err)
		}
		cfg.SetOrganization("apitape capture proxy")
		cfg.SetValidity(24 * time.Hour)
		p.mitm = cfg
	}
	rt := opts.Transport
	if rt == nil {
		p.tr = newTransport(p.guard, opts.InsecureUpstream, opts.UpstreamRoots)
		rt = p.tr
	}
	quiet := log.New(io.Discard, "", 0)
	p.rp = &httputil.ReverseProxy{
		Rewrite:      rewrite,
		Transport:    &recorder{next: rt, p: p},
		ErrorHandler: p.upstreamError,
		ErrorLog:     quiet,
		BufferPool:   copyBuffers{},
	}
	p.srv = &http.Server{
		Handler:           p,
		ReadHeaderTimeout: time.Minute,
		IdleTimeout:       5 * time.Minute,
		ErrorLog:          quiet,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if t, ok := c.(*tunnelConn); ok {
				ctx = context.WithValue(ctx, tunnelKey{}, t)
				c = t.Conn
			}
			if tap, ok := c.(*headTap); ok {
				ctx = context.WithValue(ctx, tapKey{}, tap)
			}
			return ctx
		},
		// HTTP/1.1 only, to clients as to servers.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	return p, nil
}

func newTransport(guard *selfGuard, insecure bool, roots *x509.CertPool) *http.Transport {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: guard.control}
	tlsConfig := &tls.Config{InsecureSkipVerify: insecure, RootCAs: roots, NextProtos: []string{"http/1.1"}}
	return &http.Transport{
		// Never chain to $HTTP_PROXY: it may well point at this proxy.
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return newHeadTap(c), nil
		},
		// TLS is done here rather than by the Transport so that the tap
		// sees the decrypted response heads.
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialTLS(ctx, d, tlsConfig, network, addr)
		},
		ForceAttemptHTTP2:     false,
		TLSNextProto:          map[string]func(string, *tls.Conn) http.RoundTripper{},
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: 0, // the client already waited for our 100 Continue
		// Pass the client's Accept-Encoding through and the encoded body
		// back: the proxy must not change what the client receives.
		DisableCompression: true,
	}
}

func dialTLS(ctx context.Context, d *net.Dialer, base *tls.Config, network, addr string) (net.Conn, error) {
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	cfg := base.Clone()
	if host, _, err := net.SplitHostPort(addr); err == nil {
		cfg.ServerName = host
	}
	trace := httptrace.ContextClientTrace(ctx)
	if trace != nil && trace.TLSHandshakeStart != nil {
		trace.TLSHandshakeStart()
	}
	tc := tls.Client(raw, cfg)
	hctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	err = tc.HandshakeContext(hctx)
	cancel()
	if trace != nil && trace.TLSHandshakeDone != nil {
		trace.TLSHandshakeDone(tc.ConnectionState(), err)
	}
	if err != nil {
		raw.Close()
		return nil, err
	}
	return newHeadTap(tc), nil
}

// Serve accepts connections on l until Close. It returns nil after Close.
func (p *Proxy) Serve(l net.Listener) error {
	first := false
	p.serveOnce.Do(func() { first = true })
	if !first {
		return errors.New("proxy: Serve called twice")
	}
	p.guard.set(l.Addr())
	p.inner = newConnListener(l.Addr())
	go p.srv.Serve(p.inner)
	err := p.srv.Serve(tapListener{l})
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops accepting, lets exchanges in flight finish until ctx is done,
// then cuts the rest; every exchange that started is recorded (cut ones
// with an `_error`) before Close returns.
func (p *Proxy) Close(ctx context.Context) error {
	p.mu.Lock()
	p.closed = true
	ups := make([]*wsTap, 0, len(p.upgrades))
	for t := range p.upgrades {
		ups = append(ups, t)
	}
	p.mu.Unlock()
	// A WebSocket has no natural end; close it so its entry is written.
	for _, t := range ups {
		t.Close()
	}
	err := p.srv.Shutdown(ctx)
	if err != nil {
		p.srv.Close()
	}
	done := make(chan struct{})
	go func() { p.handlers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		err = errors.New("proxy: exchanges still running after close")
	}
	if p.tr != nil {
		p.tr.CloseIdleConnections()
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		err = nil // cut on purpose
	}
	return err
}

type tunnelKey struct{}

type tapKey struct{}

// tunnelConn is a connection that arrived through CONNECT: its requests
// are in origin form and go to authority.
type tunnelConn struct {
	net.Conn
	authority string // host:port from the CONNECT line
	scheme    string // https once TLS is terminated, http for plain tunnels
}

// ServeHTTP handles one request from a client.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.handlers.Add(1)
	defer p.handlers.Done()
	if r.Method == http.MethodConnect {
		p.connect(w, r)
		return
	}
	var scheme, authority string
	if t, ok := r.Context().Value(tunnelKey{}).(*tunnelConn); ok {
		scheme, authority = t.scheme, t.authority
	} else if r.URL.IsAbs() && r.URL.Host != "" {
		scheme, authority = strings.ToLower(r.URL.Scheme), r.URL.Host
	} else {
		http.Error(w, "apitape capture proxy: this is a proxy, not a server; send requests through it (for example curl --proxy http://"+r.Host+" URL)", http.StatusBadRequest)
		return
	}
	if scheme != "http" && scheme != "https" {
		http.Error(w, "apitape capture proxy: unsupported scheme "+scheme, http.StatusBadRequest)
		return
	}
	x := newExchange(p, r, scheme, authority)
	if tap, ok := r.Context().Value(tapKey{}).(*headTap); ok {
		x.reqFields = tap.takeRequest(r.Method + " " + r.RequestURI + " " + r.Proto)
		defer tap.rearm() // the next request on this connection
	}
	// Deferred: ReverseProxy aborts with a panic when a body copy fails, and
	// that exchange must still be recorded.
	defer x.finish()
	p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), exchangeKey{}, x)))
}

// rewrite makes the outbound request: the same request, to the host the
// client asked for.
func rewrite(pr *httputil.ProxyRequest) {
	x := exchangeOf(pr.Out.Context())
	pr.Out.URL.Scheme = x.scheme
	pr.Out.URL.Host = x.authority
	// ReverseProxy drops X-Forwarded-* before Rewrite; a forward proxy
	// passes the client's own through untouched and adds none.
	for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
		if v, ok := pr.In.Header[h]; ok {
			pr.Out.Header[h] = v
		}
	}
	if strings.EqualFold(pr.Out.Header.Get("Upgrade"), "websocket") {
		// No permessage-deflate: frames stay readable in the recording.
		// Servers must accept a client that offers no extension.
		pr.Out.Header.Del("Sec-Websocket-Extensions")
	}
}

func (p *Proxy) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	x := exchangeOf(r.Context())
	if errors.Is(err, errLoop) {
		x.skip()
		p.logf("refused %s %s: it points at the proxy itself", r.Method, x.safeURL())
		http.Error(w, "apitape capture proxy: refusing to send a request to the proxy itself", http.StatusLoopDetected)
		return
	}
	x.fail(err)
	if !errors.Is(err, context.Canceled) {
		p.logf("%s %s: %v", r.Method, x.safeURL(), err)
	}
	http.Error(w, "apitape capture proxy: upstream error: "+err.Error(), http.StatusBadGateway)
}

// connect answers a CONNECT: accept, decrypt with a certificate for the
// host, and serve the requests inside like any other.
func (p *Proxy) connect(w http.ResponseWriter, r *http.Request) {
	if p.mitm == nil {
		http.Error(w, "apitape capture proxy: CONNECT needs a CA", http.StatusNotImplemented)
		return
	}
	authority := r.Host
	if _, _, err := net.SplitHostPort(authority); err != nil {
		authority = net.JoinHostPort(strings.Trim(authority, "[]"), "443")
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		conn.Close()
		return
	}
	// Bytes the client sent right after the CONNECT head may already sit in
	// brw's buffer: read through it.
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	first, err := brw.Reader.Peek(1)
	if err != nil {
		conn.Close()
		return
	}
	bc := &bufferedConn{Conn: conn, r: brw.Reader}
	t := &tunnelConn{Conn: bc, authority: authority, scheme: "http"}
	if first[0] == 0x16 { // a TLS handshake record
		host, _, _ := net.SplitHostPort(authority)
		tc := tls.Server(bc, p.mitm.TLSForHost(host))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			p.handshakeFailed(host, err)
			tc.Close()
			return
		}
		t.Conn, t.scheme = tc, "https"
	}
	t.Conn = newHeadTap(t.Conn)
	conn.SetReadDeadline(time.Time{})
	if !p.inner.push(t) {
		t.Close()
	}
}

func (p *Proxy) handshakeFailed(host string, err error) {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "unknown certificate authority"), strings.Contains(msg, "bad certificate"),
		strings.Contains(msg, "certificate unknown"):
		p.logf("TLS with the client for %s failed: the client does not trust apitape's CA (%v); 'apitape ca init' shows how", host, err)
	case errors.Is(err, io.EOF), strings.Contains(msg, "connection reset"):
		// Clients often reject a certificate by just hanging up.
		p.logf("TLS with the client for %s failed: the client closed the connection; does it trust apitape's CA? 'apitape ca init' shows how", host)
	default:
		p.logf("TLS with the client for %s failed: %v; does it trust apitape's CA? 'apitape ca init' shows how", host, err)
	}
}

// bufferedConn reads through the bufio.Reader the server had filled.
type bufferedConn struct {
	net.Conn
	r io.Reader
}

func (c *bufferedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// connListener hands tunnelled connections to the server.
type connListener struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newConnListener(addr net.Addr) *connListener {
	return &connListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *connListener) Addr() net.Addr { return l.addr }

func (l *connListener) push(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

// copyBuffers lends ReverseProxy its copy buffers instead of a fresh 32 KiB
// per response.
type copyBuffers struct{}

var copyBufferPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (copyBuffers) Get() []byte  { return *copyBufferPool.Get().(*[]byte) }
func (copyBuffers) Put(b []byte) { copyBufferPool.Put(&b) }

func (p *Proxy) addUpgrade(t *wsTap) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.upgrades[t] = struct{}{}
	return true
}

func (p *Proxy) removeUpgrade(t *wsTap) {
	p.mu.Lock()
	delete(p.upgrades, t)
	p.mu.Unlock()
}
