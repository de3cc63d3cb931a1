package proxy

import (
	"cmp"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/apitape/apitape/capture"
	"github.com/apitape/apitape/har"
)

// The moments of an exchange, as offsets from its start.
const (
	stDNSStart = iota
	stDNSDone
	stConnStart
	stConnDone
	stTLSStart
	stTLSDone
	stGotConn
	stWroteHeaders
	stWrote
	stFirstByte
	stInterim // a 1xx response (100 Continue) arrived
	stDone
	nStamps
)

// exchange is one request and its response on their way through the proxy.
type exchange struct {
	p         *Proxy
	start     time.Time
	scheme    string
	authority string
	in        *http.Request

	// Set by roundTrip before it returns, read after it.
	res       *http.Response
	reused    bool
	remote    string
	connID    string
	reqFields []field  // the request head as the client wrote it
	upFields  []field  // the request head as forwarded
	upHead    []byte   // the same, as bytes for the wire
	resStart  string   // the response's status line as the server wrote it
	resFields []field  // the response head as the server wrote it
	upTap     *headTap // the upstream connection's
	reqBody   *bodyTap
	sent      *clientBody // reqBody as the upstream transport reads it
	resBody   *bodyTap
	ws        *wsTap
	stamps    [nStamps]atomic.Int64 // ns since start; 0 = never happened
	mu        sync.Mutex
	err       error
	skipped   atomic.Bool // not recorded: a request refused as a loop
	finished  sync.Once
}

func newExchange(p *Proxy, r *http.Request, scheme, authority string) *exchange {
	x := &exchange{p: p, start: time.Now(), scheme: scheme, authority: authority, in: r}
	if r.Body != nil && r.Body != http.NoBody {
		x.reqBody = newBodyTap(r.Body, p.maxBody, r.ContentLength, nil)
		r.Body = x.reqBody
	}
	return x
}

func (x *exchange) stamp(i int) {
	x.stamps[i].Store(max(int64(time.Since(x.start)), 1)) // 0 is "never"
}

func (x *exchange) fail(err error) {
	x.mu.Lock()
	if x.err == nil {
		x.err = err
	}
	x.mu.Unlock()
}

// host is the host the client addressed, as it wrote it.
func (x *exchange) host() string { return cmp.Or(x.in.Host, x.authority) }

// url is the request's URL as the client meant it (no fragment: it never
// travels).
func (x *exchange) url() string {
	return x.scheme + "://" + x.host() + x.in.URL.RequestURI()
}

// safeURL is for messages: no query string, which may hold a token.
func (x *exchange) safeURL() string {
	return x.scheme + "://" + x.host() + x.in.URL.EscapedPath()
}

func (x *exchange) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		DNSStart:             func(httptrace.DNSStartInfo) { x.stamp(stDNSStart) },
		DNSDone:              func(httptrace.DNSDoneInfo) { x.stamp(stDNSDone) },
		ConnectStart:         func(string, string) { x.stamp(stConnStart) },
		ConnectDone:          func(string, string, error) { x.stamp(stConnDone) },
		TLSHandshakeStart:    func() { x.stamp(stTLSStart) },
		TLSHandshakeDone:     func(tls.ConnectionState, error) { x.stamp(stTLSDone) },
		WroteHeaders:         func() { x.stamp(stWroteHeaders) },
		WroteRequest:         func(httptrace.WroteRequestInfo) { x.stamp(stWrote) },
		GotFirstResponseByte: func() { x.stamp(stFirstByte) },
		Got1xxResponse: func(int, textproto.MIMEHeader) error {
			x.stamp(stInterim)
			return nil
		},
		GotConn: func(info httptrace.GotConnInfo) {
			x.stamp(stGotConn)
			x.reused = info.Reused
			if tap, ok := info.Conn.(*headTap); ok {
				x.upTap = tap
				tap.rearm()
				tap.replaceHead(x.upHead)
			}
			if c := info.Conn; c != nil {
				if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
					x.remote = a.IP.String()
				}
				if a, ok := c.LocalAddr().(*net.TCPAddr); ok {
					x.connID = strconv.Itoa(a.Port)
				}
			}
		},
	}
}

// roundTrip sends req upstream, taking timings, and puts taps on the
// response body.
func (x *exchange) roundTrip(req *http.Request) (*http.Response, error) {
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), x.trace()))
	res, err := x.p.tr.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	x.res = res
	if x.upTap != nil {
		x.resStart, x.resFields = x.upTap.takeResponse(res.StatusCode)
	}
	if x.stamps[stInterim].Load() != 0 {
		// The first byte was a 100 Continue, before the body was even
		// sent: wait ends with the final response's head instead.
		x.stamp(stFirstByte)
	}
	switch {
	case res.StatusCode == http.StatusSwitchingProtocols:
		if rwc, ok := res.Body.(io.ReadWriteCloser); ok {
			x.ws = &wsTap{rwc: rwc, max: x.p.maxBody}
			if !x.p.addUpgrade(x.ws) {
				rwc.Close()
			}
			res.Body = x.ws
		}
	case res.Body != nil && res.Body != http.NoBody && x.in.Method != http.MethodHead:
		x.resBody = newBodyTap(res.Body, x.p.maxBody, res.ContentLength, x.finish)
		res.Body = x.resBody
	}
	return res, nil
}

// finish records the exchange, once. It runs when the response body is
// complete, or when ServeHTTP ends, whichever comes first.
func (x *exchange) finish() {
	x.finished.Do(func() {
		x.stamp(stDone)
		if x.ws != nil {
			x.p.removeUpgrade(x.ws)
		}
		if x.skipped.Load() {
			return
		}
		// Building, encoding and redacting an entry takes a few times its
		// bodies' size: one large entry at a time, so that many large
		// downloads ending together cost their kept bodies and no more.
		if x.reqBody.kept()+x.resBody.kept() > bigEntry {
			x.p.big <- struct{}{}
			defer func() { <-x.p.big }()
		}
		x.p.record(x.entry())
	})
}

// bigEntry is the size of kept bodies over which entries are recorded one
// at a time.
const bigEntry = 1 << 20

func (x *exchange) entry() *har.Entry {
	e := &har.Entry{
		StartedDateTime: x.start.UTC().Format("2006-01-02T15:04:05.000Z"),
		Request:         x.request(),
		Response:        x.response(),
		Cache:           []byte("{}"),
		ServerIPAddress: x.remote,
		Connection:      x.connID,
	}
	e.Timings, e.Time = x.timings()
	if x.ws != nil {
		e.Extra.Set("_resourceType", "websocket")
		x.ws.addTo(e)
	}
	return e
}

func (x *exchange) request() har.Request {
	r := x.in
	h := r.Header // hop-by-hop fields removed: what the server got
	req := har.Request{
		Method:      r.Method,
		URL:         x.url(),
		HTTPVersion: r.Proto,
		Headers:     nameValues(x.upFields),
		QueryString: capture.QueryString(r.URL.RawQuery),
		Cookies:     requestCookies(h),
		HeadersSize: -1,
	}
	if x.reqBody != nil {
		snap := x.reqBody.snapshot()
		req.BodySize = snap.total
		req.PostData = postData(h.Get("Content-Type"), snap.data, !snap.complete || snap.truncated(), max(snap.total, r.ContentLength))
	}
	return req
}

// postData is a request body as HAR keeps it; truncated: data is not the
// whole body, which was size bytes.
func postData(mimeType string, data []byte, truncated bool, size int64) *har.PostData {
	pd := &har.PostData{MimeType: mimeType}
	if utf8.Valid(data) {
		pd.Text = har.String(bytesText(data))
	} else {
		// HAR has no encoding for request bodies; "_encoding" follows
		// content.encoding so the bytes survive exactly.
		pd.Text = har.String(base64Encode(data))
		pd.Extra.Set("_encoding", "base64")
	}
	if truncated {
		pd.Extra.Set("_truncated", true)
		pd.Extra.Set("_originalSize", size)
	}
	return pd
}

func (x *exchange) response() har.Response {
	x.mu.Lock()
	err := x.err
	x.mu.Unlock()
	out := har.Response{HeadersSize: -1, BodySize: -1}
	if res := x.res; res != nil {
		statusText := strings.TrimSpace(strings.TrimPrefix(res.Status, strconv.Itoa(res.StatusCode)))
		out = responseHead(res.StatusCode, statusText, res.Proto, nameValues(x.responseFields()), res.Header)
		if x.resBody != nil {
			snap := x.resBody.snapshot()
			out.BodySize = snap.total
			setContent(&out.Content, snap, res.Header.Get("Content-Encoding"), x.p.maxBody)
			if !snap.complete {
				msg := "the response body did not arrive whole"
				if snap.err != nil {
					msg += ": " + snap.err.Error()
				}
				out.Extra.Set("_error", msg)
			}
		} else if x.ws == nil {
			out.Content.Text = har.String("")
		}
	}
	if err != nil {
		out.Extra.Set("_error", err.Error())
	}
	return out
}

// responseFields are the response's fields as the server sent them,
// hop-by-hop ones (Connection, Transfer-Encoding) included, as a browser
// records them; the parsed header, sorted, when the head was not taken off
// the wire.
func (x *exchange) responseFields() []field {
	if x.resFields != nil {
		return x.resFields
	}
	fields := headerFields(x.res.Header)
	if te := x.res.TransferEncoding; len(te) > 0 {
		fields = append(fields, field{"Transfer-Encoding", strings.Join(te, ", ")})
	}
	return fields
}

func nameValues(fields []field) []har.NameValue {
	out := make([]har.NameValue, len(fields))
	for i, f := range fields {
		out[i] = har.NameValue{Name: f.name, Value: f.value}
	}
	return out
}

// timings turns the stamps into HAR phases in milliseconds. The proxy's
// own work before it asked for an upstream connection counts as blocked.
func (x *exchange) timings() (har.Timings, float64) {
	ms := func(i int) float64 { return float64(x.stamps[i].Load()) / 1e6 }
	has := func(i int) bool { return x.stamps[i].Load() != 0 }
	span := func(a, b int) float64 {
		if !has(a) || !has(b) || ms(b) < ms(a) {
			return -1
		}
		return round(ms(b) - ms(a))
	}
	t := har.Timings{}
	dns, connect, ssl := -1.0, -1.0, -1.0
	if !x.reused {
		dns = span(stDNSStart, stDNSDone)
		connect = span(stConnStart, stConnDone)
		if ssl = span(stTLSStart, stTLSDone); ssl >= 0 && has(stConnStart) {
			connect = span(stConnStart, stTLSDone) // HAR: connect includes ssl
		}
	}
	blocked := -1.0
	if has(stGotConn) {
		blocked = ms(stGotConn)
		for _, d := range []float64{dns, connect} {
			if d > 0 {
				blocked -= d
			}
		}
		blocked = round(max(blocked, 0))
	}
	t.Blocked, t.DNS, t.Connect, t.SSL = har.Float(blocked), har.Float(dns), har.Float(connect), har.Float(ssl)
	// The server may answer before the body is sent (or before the
	// transport's goroutine gets to say it was): then sending ends, as far
	// as the server is concerned, with the headers, which are always
	// stamped before they leave.
	sent := stWrote
	if !has(stWrote) || has(stFirstByte) && ms(stWrote) > ms(stFirstByte) {
		sent = stWroteHeaders
	}
	t.Send = max(span(stGotConn, sent), 0)
	t.Wait = max(span(sent, stFirstByte), 0)
	if x.ws == nil {
		t.Receive = max(span(stFirstByte, stDone), 0)
	}
	total := 0.0
	for _, d := range []float64{blocked, dns, connect, t.Send, t.Wait, t.Receive} {
		if d > 0 {
			total += d
		}
	}
	return t, round(total)
}

// round keeps nanoseconds: loopback phases are often under a microsecond.
func round(ms float64) float64 {
	return float64(int64(ms*1e6+0.5)) / 1e6
}

func requestCookies(h http.Header) []har.Cookie {
	if len(h["Cookie"]) == 0 {
		return nil
	}
	r := &http.Request{Header: http.Header{"Cookie": h["Cookie"]}}
	var out []har.Cookie
	for _, c := range r.Cookies() {
		out = append(out, har.Cookie{Name: c.Name, Value: c.Value})
	}
	return out
}

// responseHead is a response without its body: what HAR takes from the
// status line and header, given as fields for the headers and as h for
// the ones HAR repeats.
func responseHead(status int, statusText, proto string, fields []har.NameValue, h http.Header) har.Response {
	res := har.Response{
		Status:      status,
		StatusText:  statusText,
		HTTPVersion: proto,
		Headers:     fields,
		Cookies:     responseCookies(h),
		RedirectURL: h.Get("Location"),
		HeadersSize: -1,
	}
	res.Content.MimeType = h.Get("Content-Type")
	return res
}

func responseCookies(h http.Header) []har.Cookie {
	if len(h["Set-Cookie"]) == 0 {
		return nil
	}
	var out []har.Cookie
	for _, c := range (&http.Response{Header: h}).Cookies() {
		hc := har.Cookie{Name: c.Name, Value: c.Value, Path: c.Path, Domain: c.Domain}
		if !c.Expires.IsZero() {
			hc.Expires = c.Expires.UTC().Format(time.RFC3339)
		}
		httpOnly, secure := c.HttpOnly, c.Secure
		hc.HTTPOnly, hc.Secure = &httpOnly, &secure
		out = append(out, hc)
	}
	return out
}
