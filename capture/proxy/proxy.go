// Package proxy is apitape's capture proxy: a forward proxy that decrypts
// HTTPS with apitape's certificate authority, hands each side exactly what
// the other sent, and turns each finished exchange into a [har.Entry] with
// both bodies and with timings measured in the proxy.
//
// # How it is built
//
// Each client connection is served by the proxy's own HTTP/1.1 loop:
// requests are parsed with net/http's parser, but every head is written by
// the proxy, so the client gets the upstream's status line and fields in
// their order and spelling (no reason phrase of Go's, no Date), and the
// upstream gets the client's fields as the client wrote them; only the
// hop-by-hop fields of each hop are left out. A CONNECT request is
// answered 200, the client's TLS is terminated with a certificate for the
// requested host signed by the CA (martian's mitm package signs and caches
// one per host), and the decrypted stream is served by the same loop. When
// both the client and the upstream offer HTTP/2, the tunnel goes through
// martian's h2 frame relay instead (a copy in internal/h2; see h2.go). Upstream requests go
// through an [net/http.Transport], its request heads replaced on the wire
// by the client's (see headTap), with timings from [net/http/httptrace].
//
// Bodies are never held whole: each direction is copied into a buffer of at
// most MaxBody bytes while it flows, and the rest is only counted. An
// exchange is recorded when its response body has been read to the end,
// before the last bytes are handed to the client, so a client that has a
// complete response can count on its entry having been recorded. Large
// entries are built and recorded one at a time.
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
	"maps"
	"net"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/apitape/apitape/har"
	"github.com/google/martian/v3/mitm"
)

// DefaultMaxBody is how much of each body is kept when Options.MaxBody is 0.
const DefaultMaxBody = 10 << 20

// MemoryLimit is the soft memory limit (runtime/debug.SetMemoryLimit) a
// program running a proxy should set. The proxy holds up to MaxBody of
// each body in flight, and that is what it needs; the garbage collector's
// default pacing would let the heap grow to twice that before collecting.
const MemoryLimit = 200 << 20

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

	// Record receives every finished exchange, from many goroutines at
	// once. Upgraded connections (WebSocket) are recorded when they close.
	Record func(*har.Entry)

	// Logf reports problems worth a user's attention (a client that does not
	// trust the CA, an unreachable upstream). Messages never hold a query
	// string or a body. Nil discards them.
	Logf func(format string, args ...any)
	// Hintf, when set, says once how to get past an upstream certificate
	// the proxy does not trust.
	Hintf func(format string, args ...any)
}

// Proxy is a capture proxy. Create it with [New], run it with
// [Proxy.Serve], stop it with [Proxy.Close].
type Proxy struct {
	maxBody int64
	record  func(*har.Entry)
	logf    func(format string, args ...any)
	hintf   func(format string, args ...any)
	hinted  atomic.Bool // the untrusted upstream hint was given
	mitm    *mitm.Config
	guard   *selfGuard
	tr      *http.Transport // HTTP/1.1 upstream; refuses to dial the proxy's own address
	h2      *h2State        // nil: HTTP/1.1 only

	served atomic.Bool
	quit   chan struct{} // closed when Close begins
	// base is every exchange's context; cut cancels it when Close's grace
	// period is over, which aborts upstream reads still waiting.
	base context.Context
	cut  context.CancelFunc

	big chan struct{} // one large entry recorded at a time

	handlers sync.WaitGroup // exchanges in flight
	conns    sync.WaitGroup // client connections being served

	mu       sync.Mutex
	closed   bool
	listener net.Listener
	clients  map[*clientConn]struct{}
	upgrades map[*wsTap]struct{}
}

// New prepares a proxy; nothing listens until Serve.
func New(opts Options) (*Proxy, error) {
	p := &Proxy{
		maxBody:  opts.MaxBody,
		record:   opts.Record,
		logf:     opts.Logf,
		hintf:    opts.Hintf,
		guard:    new(selfGuard),
		quit:     make(chan struct{}),
		big:      make(chan struct{}, 1),
		clients:  make(map[*clientConn]struct{}),
		upgrades: make(map[*wsTap]struct{}),
	}
	p.base, p.cut = context.WithCancel(context.Background())
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
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: p.guard.control}
	p.tr = newTransport(d, opts.InsecureUpstream, opts.UpstreamRoots)
	if p.mitm != nil {
		p.h2 = newH2State(opts.UpstreamRoots, opts.InsecureUpstream, d.DialContext)
	}
	return p, nil
}

func newTransport(d *net.Dialer, insecure bool, roots *x509.CertPool) *http.Transport {
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
	if !p.served.CompareAndSwap(false, true) {
		return errors.New("proxy: Serve called twice")
	}
	p.guard.set(l.Addr())
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.listener = l
	p.mu.Unlock()
	var backoff time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if p.isClosed() {
				return nil
			}
			if isTimeout(err) || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				// Out of file descriptors, say: wait for some to close
				// rather than spin.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		go p.serveConn(c, "", "")
	}
}

func (p *Proxy) isClosed() bool {
	select {
	case <-p.quit:
		return true
	default:
		return false
	}
}

// Close stops accepting, lets exchanges in flight finish until ctx is done,
// then cuts the rest; every exchange that started is recorded (cut ones
// with an `_error`) before Close returns.
func (p *Proxy) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.quit)
	if p.listener != nil {
		p.listener.Close()
	}
	ups := slices.Collect(maps.Keys(p.upgrades))
	p.mu.Unlock()
	// A WebSocket has no natural end; close it so its entry is written.
	for _, t := range ups {
		t.Close()
	}
	p.closeClients(true)
	done := make(chan struct{})
	go func() { p.conns.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		// Grace is over: abort what still waits upstream and hang up on
		// every client, so each exchange ends, and is recorded, now.
		p.cut()
		p.closeClients(false)
	}
	var err error
	handled := make(chan struct{})
	go func() { p.handlers.Wait(); close(handled) }()
	select {
	case <-handled:
	case <-time.After(10 * time.Second):
		err = errors.New("proxy: exchanges still running after close")
	}
	p.cut()
	p.tr.CloseIdleConnections()
	return err
}

// closeClients hangs up on the client connections waiting for a request
// (idleOnly) or on all of them.
func (p *Proxy) closeClients(idleOnly bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.clients {
		if !idleOnly || c.idle.Load() {
			c.conn.Close()
		}
	}
}

func (p *Proxy) track(c *clientConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.clients[c] = struct{}{}
	p.conns.Add(1)
	return true
}

func (p *Proxy) untrack(c *clientConn) {
	p.mu.Lock()
	delete(p.clients, c)
	p.mu.Unlock()
	p.conns.Done()
}

// connect answers a CONNECT on cc: accept, decrypt with a certificate for
// the host, and serve the requests inside like any other, on this
// goroutine, until the tunnel closes.
func (p *Proxy) connect(cc *clientConn, r *http.Request) {
	if p.mitm == nil {
		cc.writeError(http.StatusNotImplemented, "apitape capture proxy: CONNECT needs a CA")
		return
	}
	authority := r.Host
	if _, _, err := net.SplitHostPort(authority); err != nil {
		authority = net.JoinHostPort(strings.Trim(authority, "[]"), "443")
	}
	cc.bw.WriteString("HTTP/1.1 200 Connection established\r\n\r\n") // an error sticks until Flush
	if cc.bw.Flush() != nil {
		return
	}
	// Bytes the client sent right after the CONNECT head may already sit in
	// the buffer: read through it.
	conn := cc.conn
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	first, err := cc.br.Peek(1)
	if err != nil {
		return
	}
	var inner net.Conn = &bufferedConn{Conn: conn, r: cc.br}
	scheme := "http"
	if first[0] == 0x16 { // a TLS handshake record
		host, _, _ := net.SplitHostPort(authority)
		cfg := p.mitm.TLSForHost(host)
		cfg.NextProtos = []string{"http/1.1"}
		if p.h2 != nil && p.h2.upstreamH2(p.base, authority) {
			cfg.NextProtos = []string{"h2", "http/1.1"}
		}
		tc := tls.Server(inner, cfg)
		ctx, cancel := context.WithTimeout(p.base, 30*time.Second)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			p.handshakeFailed(host, err)
			return
		}
		conn.SetReadDeadline(time.Time{})
		if tc.ConnectionState().NegotiatedProtocol == "h2" {
			p.serveH2(tc, authority)
			return
		}
		inner, scheme = tc, "https"
	}
	conn.SetReadDeadline(time.Time{})
	p.serveConn(inner, scheme, authority)
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

// copyBufferPool lends body copies their buffers instead of a fresh 32 KiB
// per response.
var copyBufferPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

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
