package proxy

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/andybalholm/brotli"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apitape/apitape/capture"
	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/ca"
	"github.com/apitape/apitape/internal/selection"
	"github.com/apitape/apitape/internal/testtool"
)

// upstream is the real server the tests talk to through the proxy.
func upstreamHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":%q,"ok":true}`, r.URL.Query().Get("id"))
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		sum := sha256.Sum256(body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": r.URL.Query().Get("id"), "method": r.Method, "len": len(body), "sha256": hex.EncodeToString(sum[:]),
			"auth": r.Header.Get("Authorization"), "cookie": r.Header.Get("Cookie"),
		})
	})
	mux.HandleFunc("/gzip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		zw.Write(gzipPlain)
		zw.Close()
	})
	mux.HandleFunc("/br", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "br")
		w.Write(brotliBody)
	})
	mux.HandleFunc("/binary", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(binaryBody)
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/json?id=after", http.StatusFound)
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "s3cr3t", Path: "/", HttpOnly: true, Secure: true,
			Expires: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)})
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	})
	mux.HandleFunc("/nocontent", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		for i := range 5 {
			fmt.Fprintf(w, "line %d\n", i)
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; ; i++ {
			fmt.Fprintf(w, "data: %d\n\n", i)
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	mux.HandleFunc("/sink", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, `{"len":%d}`, n)
	})
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		io.CopyN(w, letters{}, n)
	})
	mux.HandleFunc("/hugebin", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.ParseInt(r.URL.Query().Get("n"), 10, 64)
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		io.CopyN(w, noise{}, n)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("Content-Type", "text/plain")
		w.Write(bytes.Repeat([]byte("x"), n))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		d, _ := time.ParseDuration(r.URL.Query().Get("d"))
		select {
		case <-time.After(d):
		case <-r.Context().Done():
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"slow":true}`)
	})
	return mux
}

var (
	gzipPlain  = bytes.Repeat([]byte(`{"name":"cluster","state":"active"},`), 200)
	binaryBody = func() []byte { b := make([]byte, 4096); rand.Read(b); b[0] = 0xff; return b }()
)

// harness is a proxy recording into a real HAR file, with plain and TLS
// upstream servers.
type harness struct {
	t        *testing.T
	proxy    *Proxy
	proxyURL *url.URL
	clientCA *x509.CertPool
	caPEM    []byte
	path     string
	app      *har.Appender
	sink     *capture.Sink
	plain    *httptest.Server
	secure   *httptest.Server
	logs     *logBuffer
	recorded chan struct{} // a token after each entry the sink took
}

type logBuffer struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{} // a token after each new line
}

func newLogBuffer() *logBuffer { return &logBuffer{changed: make(chan struct{}, 1)} }

func (l *logBuffer) logf(format string, args ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
	l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
}

// waitFor waits until a line holds s: the proxy logs from its own
// goroutines, after the client has already seen the failure.
func (l *logBuffer) waitFor(t *testing.T, s string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for !strings.Contains(l.String(), s) {
		select {
		case <-l.changed:
		case <-timeout:
			t.Fatalf("no log line with %q in 10s; log: %q", s, l.String())
		}
	}
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func newHarness(t testing.TB, tune func(*Options), copts capture.Options) *harness {
	t.Helper()
	authority, err := ca.Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{logs: newLogBuffer(), recorded: make(chan struct{}, 1)}
	if tt, ok := t.(*testing.T); ok {
		h.t = tt
	}
	h.plain = httptest.NewServer(upstreamHandler())
	h.secure = httptest.NewTLSServer(upstreamHandler())
	t.Cleanup(h.plain.Close)
	t.Cleanup(h.secure.Close)
	roots := x509.NewCertPool()
	roots.AddCert(h.secure.Certificate())

	h.path = filepath.Join(t.TempDir(), "capture.har")
	h.app, err = har.CreateAppender(h.path, har.NewLog("test"))
	if err != nil {
		t.Fatal(err)
	}
	if copts.Selection.Match == nil && !copts.Selection.All && len(copts.Selection.Entries) == 0 {
		copts.Selection.All = true
	}
	h.sink = capture.NewSink(h.app, copts)
	opts := Options{
		CACert: authority.Cert, CAKey: authority.Signer(), UpstreamRoots: roots,
		Record: func(e *har.Entry) {
			if err := h.sink.Add(e); err != nil {
				t.Errorf("sink: %v", err)
			}
			select {
			case h.recorded <- struct{}{}:
			default:
			}
		},
		Logf: h.logs.logf,
	}
	if tune != nil {
		tune(&opts)
	}
	h.proxy, err = New(opts)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- h.proxy.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.proxy.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		h.app.Close()
	})
	h.proxyURL = &url.URL{Scheme: "http", Host: l.Addr().String()}
	h.clientCA = x509.NewCertPool()
	h.clientCA.AddCert(authority.Cert)
	h.caPEM = authority.CertPEM()
	return h
}

func (h *harness) client() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               http.ProxyURL(h.proxyURL),
			TLSClientConfig:     &tls.Config{RootCAs: h.clientCA},
			MaxIdleConnsPerHost: 64,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
}

func (h *harness) base(scheme string) string {
	if scheme == "https" {
		return h.secure.URL
	}
	return h.plain.URL
}

// entries reads the HAR file as any consumer would.
func (h *harness) entries(t testing.TB) []*har.Entry {
	t.Helper()
	es, err := h.read()
	if err != nil {
		t.Fatalf("the capture is not a valid HAR: %v", err)
	}
	return es
}

func (h *harness) read() ([]*har.Entry, error) {
	f, err := os.Open(h.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	doc, err := har.ReadAll(f, h.path)
	if err != nil {
		return nil, err
	}
	return doc.Log.Entries, nil
}

func (h *harness) only(t *testing.T) *har.Entry {
	t.Helper()
	es := h.entries(t)
	if len(es) != 1 {
		t.Fatalf("got %d entries, want 1", len(es))
	}
	return es[0]
}

func contentBytes(t *testing.T, c *har.Content) []byte {
	t.Helper()
	b, ok, err := c.Bytes()
	if err != nil || !ok {
		t.Fatalf("content: ok=%v err=%v", ok, err)
	}
	return b
}

func postBytes(t *testing.T, r *har.Request) []byte {
	t.Helper()
	if r.PostData == nil || r.PostData.Text == nil {
		t.Fatal("request has no postData.text")
	}
	if enc, ok := r.PostData.Extra.Get("_encoding"); ok {
		if string(enc) != `"base64"` {
			t.Fatalf("postData._encoding = %s", enc)
		}
		b, err := base64Decode(*r.PostData.Text)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return []byte(*r.PostData.Text)
}

func checkTimings(t *testing.T, e *har.Entry) {
	t.Helper()
	tm := e.Timings
	if tm.Send <= 0 || tm.Wait <= 0 || tm.Receive <= 0 || e.Time <= 0 {
		t.Errorf("timings not all > 0: send=%v wait=%v receive=%v time=%v", tm.Send, tm.Wait, tm.Receive, e.Time)
	}
	sum := *tm.Blocked + tm.Send + tm.Wait + tm.Receive
	for _, d := range []*float64{tm.DNS, tm.Connect} {
		if *d > 0 {
			sum += *d
		}
	}
	if diff := sum - e.Time; diff > 1e-5 || diff < -1e-5 {
		t.Errorf("time %v is not the sum of the phases %v", e.Time, sum)
	}
}

func header(t *testing.T, hs []har.NameValue, name string) string {
	t.Helper()
	v, ok := har.Header(hs, name)
	if !ok {
		t.Errorf("header %s not recorded", name)
	}
	return v
}

const brotliPlain = `{"compressed":"with brotli","n":[1,2,3]}`

// brotliBody is brotliPlain compressed, as a server sends it.
var brotliBody = func() []byte {
	var b bytes.Buffer
	w := brotli.NewWriter(&b)
	w.Write([]byte(brotliPlain))
	w.Close()
	return b.Bytes()
}()

func TestExchanges(t *testing.T) {
	upload := make([]byte, 5<<20)
	rand.Read(upload)
	textUpload := bytes.Repeat([]byte(`{"k":"v"},`), 1000)
	tests := []struct {
		name   string
		method string
		path   string
		body   []byte
		hdr    map[string]string
		check  func(t *testing.T, e *har.Entry, res *http.Response, got []byte)
		reason string
	}{
		{"get json", "GET", "/json?id=a%20b&x=1&x=2", nil, map[string]string{"X-Api-Key": "k1"},
			func(t *testing.T, e *har.Entry, res *http.Response, got []byte) {
				if string(contentBytes(t, &e.Response.Content)) != `{"id":"a b","ok":true}` {
					t.Errorf("content %q", *e.Response.Content.Text)
				}
				if header(t, e.Request.Headers, "X-Api-Key") != "k1" {
					t.Error("request header value lost")
				}
				q := e.Request.QueryString
				if len(q) != 3 || q[0].Name != "id" || q[0].Value != "a b" || q[1].Value != "1" || q[2].Value != "2" {
					t.Errorf("queryString %v", q)
				}
				if e.Response.Content.MimeType != "application/json" || e.Response.StatusText != "OK" {
					t.Errorf("mimeType %q statusText %q", e.Response.Content.MimeType, e.Response.StatusText)
				}
			}, "the common case: query in order, headers, JSON body as text"},
		{"post json", "POST", "/echo", textUpload, map[string]string{"Content-Type": "application/json", "Authorization": "Bearer tok"},
			func(t *testing.T, e *har.Entry, res *http.Response, got []byte) {
				if !bytes.Equal(postBytes(t, &e.Request), textUpload) || e.Request.PostData.MimeType != "application/json" {
					t.Error("request body not recorded exactly")
				}
				if e.Request.BodySize != int64(len(textUpload)) {
					t.Errorf("bodySize %d", e.Request.BodySize)
				}
			}, "a text body is postData.text"},
		{"5 MiB binary upload", "PUT", "/echo", upload, map[string]string{"Content-Type": "application/octet-stream"},
			func(t *testing.T, e *har.Entry, res *http.Response, got []byte) {
				if !bytes.Equal(postBytes(t, &e.Request), upload) {
					t.Error("5 MiB upload not recorded byte for byte")
				}
				sum := sha256.Sum256(upload)
				if !strings.Contains(string(got), hex.EncodeToString(sum[:])) {
					t.Errorf("server did not get the upload intact: %s", got)
				}
			}, "binary bodies survive as base64 with _encoding"},
		{"gzip response", "GET", "/gzip", nil, nil,
			func(t *testing.T, e *har.Entry, res *http.Response, got []byte) {
				if !bytes.Equal(contentBytes(t, &e.Response.Content), gzipPlain) {
					t.Error("gzip body not decoded in the HAR")
				}
				if !bytes.Equal(got, gzipPlain) {
					t.Error("client did not get the body")
				}
				c := e.Response.Content
				if c.Size != int64(len(gzipPlain)) || c.Compression == nil || *c.Compression <= 0 || e.Response.BodySize >= c.Size {
					t.Errorf("size %d compression %v bodySize %d", c.Size, c.Compression, e.Response.BodySize)
				}
				if header(t, e.Response.Headers, "Content-Encoding") != "gzip" {
					t.Error("Content-Encoding header lost")
				}
			}, "text is decoded; bodySize is the wire size"},
		{"br response", "GET", "/br", nil, map[string]string{"Accept-Encoding": "br"},
			func(t *testing.T, e *har.Entry, res *http.Response, got []byte) {
				c := e.Response.Content
				if c.Text == nil || *c.Text != brotliPlain || c.Encoding != "" {
					t.Errorf("br body recorded as %v (encoding %q, comment %q), want it decoded", c.Text, c.Encoding, c.Comment)
				}
				if _, ok := c.Extra.Get("_contentEncoding"); ok {
					t.Error("a decoded body is marked _contentEncoding")
				}
				if !bytes.Equal(got, brotliBody) {
					t.Error("the client did not get the brotli bytes as sent")
				}
			}, "brotli is decoded for the HAR; the client gets the bytes as sent"},
		{"binary response", "GET", "/binary", nil, nil,
			func(t *testing.T, e *har.Entry, res *http.Response, got []byte) {
				if e.Response.Content.Encoding != "base64" || !bytes.Equal(contentBytes(t, &e.Response.Content), binaryBody) {
					t.Error("binary body not base64 exact")
				}
			}, "invalid UTF-8 is base64"},
		{"redirect", "GET", "/redirect", nil, nil,
			func(t *testing.T, e *har.Entry, res *http.Response, got []byte) {
				if e.Response.Status != 302 || e.Response.RedirectURL != "/json?id=after" {
					t.Errorf("status %d redirectURL %q", e.Response.Status, e.Response.RedirectURL)
				}
			}, "redirectURL from Location"},
		{"cookies", "POST", "/login", []byte("user=a&pass=b"), map[string]string{"Cookie": "a=1; b=2", "Content-Type": "application/x-www-form-urlencoded"},
			func(t *testing.T, e *har.Entry, res *http.Response, got []byte) {
				rc := e.Request.Cookies
				if len(rc) != 2 || rc[0].Name != "a" || rc[1].Value != "2" {
					t.Errorf("request cookies %v", rc)
				}
				sc := e.Response.Cookies
				if len(sc) != 1 || sc[0].Name != "session" || sc[0].Value != "s3cr3t" || sc[0].Path != "/" ||
					sc[0].HTTPOnly == nil || !*sc[0].HTTPOnly || sc[0].Secure == nil || !*sc[0].Secure || sc[0].Expires != "2030-01-02T03:04:05Z" {
					t.Errorf("response cookies %+v", sc)
				}
			}, "cookies parsed both ways"},
		{"no content", "DELETE", "/nocontent", nil, nil,
			func(t *testing.T, e *har.Entry, res *http.Response, got []byte) {
				if e.Response.Status != 204 || e.Response.Content.Text == nil || *e.Response.Content.Text != "" {
					t.Errorf("204: status %d text %v", e.Response.Status, e.Response.Content.Text)
				}
			}, "a response without body is recorded at the end of the handler"},
		{"chunked stream", "GET", "/stream", nil, nil,
			func(t *testing.T, e *har.Entry, res *http.Response, got []byte) {
				want := "line 0\nline 1\nline 2\nline 3\nline 4\n"
				if string(got) != want || string(contentBytes(t, &e.Response.Content)) != want {
					t.Errorf("stream: client %q har %q", got, *e.Response.Content.Text)
				}
			}, "no Content-Length: complete at EOF"},
	}
	for _, scheme := range []string{"http", "https"} {
		for _, tt := range tests {
			t.Run(scheme+"/"+tt.name, func(t *testing.T) {
				h := newHarness(t, nil, capture.Options{})
				var body io.Reader
				if tt.body != nil {
					body = bytes.NewReader(tt.body)
				}
				req, err := http.NewRequest(tt.method, h.base(scheme)+tt.path, body)
				if err != nil {
					t.Fatal(err)
				}
				for k, v := range tt.hdr {
					req.Header.Set(k, v)
				}
				if tt.hdr["Accept-Encoding"] != "" {
					req.Header.Set("Accept-Encoding", tt.hdr["Accept-Encoding"])
				}
				res, err := h.client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(res.Body)
				res.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				e := h.only(t)
				if e.Request.Method != tt.method || e.Request.URL != h.base(scheme)+tt.path {
					t.Errorf("request %s %s, want %s %s", e.Request.Method, e.Request.URL, tt.method, h.base(scheme)+tt.path)
				}
				if e.Response.Status != res.StatusCode || e.Response.HTTPVersion != "HTTP/1.1" || e.Request.HTTPVersion != "HTTP/1.1" {
					t.Errorf("status %d (client saw %d), versions %s %s", e.Response.Status, res.StatusCode, e.Request.HTTPVersion, e.Response.HTTPVersion)
				}
				if e.ServerIPAddress != "127.0.0.1" {
					t.Errorf("serverIPAddress %q", e.ServerIPAddress)
				}
				if _, err := time.Parse(time.RFC3339Nano, e.StartedDateTime); err != nil {
					t.Errorf("startedDateTime: %v", err)
				}
				if e.Response.Status != 204 {
					checkTimings(t, e)
				}
				tt.check(t, e, res, got)
				if t.Failed() {
					t.Logf("why this case exists: %s; proxy log: %s", tt.reason, h.logs)
				}
			})
		}
	}
}

// The first request over a new upstream connection measures connect (and
// TLS); the next one reuses the connection.
func TestTimingsConnectAndReuse(t *testing.T) {
	h := newHarness(t, nil, capture.Options{})
	c := h.client()
	for range 2 {
		get(t, c, h.secure.URL+"/json")
	}
	es := h.entries(t)
	if len(es) != 2 {
		t.Fatalf("%d entries", len(es))
	}
	first, second := es[0].Timings, es[1].Timings
	if *first.Connect <= 0 || *first.SSL <= 0 || *first.Connect < *first.SSL {
		t.Errorf("first exchange: connect %v ssl %v; want connect >= ssl > 0", *first.Connect, *first.SSL)
	}
	if *second.Connect != -1 || *second.SSL != -1 || *second.DNS != -1 {
		t.Errorf("reused connection: connect %v ssl %v dns %v; want -1", *second.Connect, *second.SSL, *second.DNS)
	}
	if es[0].Connection == "" || es[0].Connection != es[1].Connection {
		t.Errorf("connection ids %q %q: want the same upstream connection", es[0].Connection, es[1].Connection)
	}
}

func TestMaxBody(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.MaxBody = 1000 }, capture.Options{})
	res, err := h.client().Post(h.plain.URL+"/echo", "text/plain", strings.NewReader(strings.Repeat("u", 5000)))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	res, err = h.client().Get(h.plain.URL + "/big?n=5000")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if len(got) != 5000 {
		t.Fatalf("client got %d bytes, want 5000: truncation must only affect the recording", len(got))
	}
	es := h.entries(t)
	if len(es) != 2 {
		t.Fatalf("%d entries", len(es))
	}
	pd := es[0].Request.PostData
	if len(*pd.Text) != 1000 || es[0].Request.BodySize != 5000 {
		t.Errorf("request: kept %d bytes, bodySize %d", len(*pd.Text), es[0].Request.BodySize)
	}
	if v, _ := pd.Extra.Get("_truncated"); string(v) != "true" {
		t.Errorf("request _truncated = %s", v)
	}
	if v, _ := pd.Extra.Get("_originalSize"); string(v) != "5000" {
		t.Errorf("request _originalSize = %s", v)
	}
	c := es[1].Response.Content
	if len(*c.Text) != 1000 || c.Size != 5000 {
		t.Errorf("response: kept %d bytes, size %d", len(*c.Text), c.Size)
	}
	if v, _ := c.Extra.Get("_truncated"); string(v) != "true" {
		t.Errorf("response _truncated = %s", v)
	}
}

func TestLoopRefused(t *testing.T) {
	h := newHarness(t, nil, capture.Options{})
	_, port, _ := net.SplitHostPort(h.proxyURL.Host)
	for _, target := range []string{"http://" + h.proxyURL.Host + "/x", "http://localhost:" + port + "/x", "https://127.0.0.1:" + port + "/x"} {
		res := get(t, h.client(), target)
		if res.StatusCode != http.StatusLoopDetected {
			t.Errorf("%s: status %d, want 508", target, res.StatusCode)
		}
	}
	if n := len(h.entries(t)); n != 0 {
		t.Errorf("%d entries recorded for refused loops", n)
	}
}

func TestNotAProxyRequest(t *testing.T) {
	h := newHarness(t, nil, capture.Options{})
	res, err := http.Get(h.proxyURL.String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 400 || !strings.Contains(string(body), "this is a proxy") {
		t.Errorf("status %d body %q", res.StatusCode, body)
	}
}

func TestUpstreamErrors(t *testing.T) {
	h := newHarness(t, nil, capture.Options{})
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close()
	untrusted := untrustedServer(t)

	for _, target := range []string{"http://" + dead + "/gone?token=SECRET", untrusted.URL + "/json?token=SECRET"} {
		res := get(t, h.client(), target)
		if res.StatusCode != http.StatusBadGateway {
			t.Errorf("%s: status %d, want 502", target, res.StatusCode)
		}
	}
	es := h.entries(t)
	if len(es) != 2 {
		t.Fatalf("%d entries, want 2", len(es))
	}
	for _, e := range es {
		msg, ok := e.Response.Extra.Get("_error")
		if e.Response.Status != 0 || !ok {
			t.Errorf("%s: status %d _error %s: a failed exchange is status 0 with _error", e.Request.URL, e.Response.Status, msg)
		}
	}
	if !strings.Contains(string(must(es[1].Response.Extra.Get("_error"))), "certificate") {
		t.Errorf("untrusted upstream: _error does not name the certificate problem: %s", must(es[1].Response.Extra.Get("_error")))
	}
	if strings.Contains(h.logs.String(), "SECRET") {
		t.Errorf("log shows the query string: %s", h.logs)
	}
}

func must(raw json.RawMessage, _ bool) json.RawMessage { return raw }

func TestInsecureUpstream(t *testing.T) {
	untrusted := untrustedServer(t)
	h := newHarness(t, func(o *Options) { o.InsecureUpstream = true; o.UpstreamRoots = nil }, capture.Options{})
	res, err := h.client().Get(untrusted.URL + "/json")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("status %d with InsecureUpstream", res.StatusCode)
	}
}

// A client that does not trust the CA fails its handshake, and the user is
// told why.
func TestUntrustingClient(t *testing.T) {
	h := newHarness(t, nil, capture.Options{})
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(h.proxyURL)}}
	if _, err := c.Get(h.secure.URL + "/json"); err == nil {
		t.Fatal("a client without the CA connected")
	}
	h.logs.waitFor(t, "does not trust apitape's CA")
}

// Selection decides what is written; everything is still forwarded.
func TestSelection(t *testing.T) {
	h := newHarness(t, nil, capture.Options{Selection: selection.Filter{Methods: []string{"POST"}}})
	c := h.client()
	for _, m := range []string{"GET", "POST", "GET", "POST"} {
		req, _ := http.NewRequest(m, h.plain.URL+"/echo", strings.NewReader("{}"))
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("%s not forwarded: %d", m, res.StatusCode)
		}
	}
	es := h.entries(t)
	if len(es) != 2 || es[0].Request.Method != "POST" || es[1].Request.Method != "POST" {
		t.Errorf("recorded %d entries; want the 2 POSTs", len(es))
	}
	if h.sink.Seen() != 4 || h.sink.Recorded() != 2 {
		t.Errorf("seen %d recorded %d", h.sink.Seen(), h.sink.Recorded())
	}
}

// Redaction runs before the disk: a hook that replaces the token leaves no
// token in the file. (The real redactor plugs into the same hook.)
func TestRedactHook(t *testing.T) {
	const token = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.dG9rZW4"
	redact := func(index int, raw []byte) ([]byte, error) {
		raw = bytes.ReplaceAll(raw, []byte(token), []byte("REDACTED-token-00000000"))
		return bytes.ReplaceAll(raw, []byte("s3cr3t"), []byte("REDACTED-cookie-00000000")), nil
	}
	h := newHarness(t, nil, capture.Options{Redact: redact})
	req, _ := http.NewRequest("POST", h.secure.URL+"/login", strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := h.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	raw, err := os.ReadFile(h.path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(token)) || bytes.Contains(raw, []byte("s3cr3t")) {
		t.Fatal("a secret reached the disk")
	}
	if !bytes.Contains(raw, []byte("REDACTED-token-")) {
		t.Fatal("the redact hook did not run")
	}
}

// Close while an exchange is in flight: it still ends up in the file.
// The upstream holds its answer until Close has begun.
func TestCloseRecordsInFlight(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	held := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
		io.WriteString(w, `{"held":true}`)
	}))
	defer held.Close()
	h := newHarness(t, nil, capture.Options{})
	done := make(chan error, 1)
	go func() {
		res, err := h.client().Get(held.URL + "/held")
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		done <- err
	}()
	<-arrived
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- h.proxy.Close(ctx) }()
	<-h.proxy.quit // Close has begun: nothing new is accepted
	close(release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("in-flight request failed during a graceful close: %v", err)
	}
	if es := h.entries(t); len(es) != 1 || es[0].Response.Status != 200 {
		t.Fatalf("entries after close: %d", len(es))
	}
}

// A stream that never ends is cut when Close's grace period is over, and
// recorded with what had arrived and an _error.
func TestCloseCutsEndlessStream(t *testing.T) {
	h := newHarness(t, nil, capture.Options{})
	res, err := h.client().Get(h.plain.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	first := make([]byte, 9)
	if _, err := io.ReadFull(res.Body, first); err != nil || string(first) != "data: 0\n\n" {
		t.Fatalf("stream start %q %v", first, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := h.proxy.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Close took %v", d)
	}
	es := h.entries(t)
	if len(es) != 1 {
		t.Fatalf("%d entries", len(es))
	}
	c := es[0].Response.Content
	if _, ok := es[0].Response.Extra.Get("_error"); !ok || !strings.HasPrefix(*c.Text, "data: 0\n\ndata: 1") {
		t.Errorf("cut stream: _error missing or content %q", *c.Text)
	}
}

// noise is an endless body of bytes that are not UTF-8 text (recorded as
// base64) and do not compress.
type noise struct{}

func (noise) Read(p []byte) (int, error) {
	rand.Read(p)
	for i := 0; i < len(p); i += 64 {
		p[i] = 0xff
	}
	return len(p), nil
}

// letters is an endless body of 'x'.
type letters struct{}

func (letters) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// 64 MiB each way with MaxBody 1 MiB: the proxy keeps 1 MiB per body, it
// never holds either body whole.
func TestLargeBodiesBoundedMemory(t *testing.T) {
	const size, keep = 64 << 20, 1 << 20
	h := newHarness(t, func(o *Options) { o.MaxBody = keep }, capture.Options{})
	c := h.client()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err := c.Post(h.plain.URL+"/sink", "application/octet-stream", io.LimitReader(letters{}, size))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	res, err = c.Get(h.secure.URL + "/huge?n=" + strconv.Itoa(size))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	runtime.ReadMemStats(&after)
	if n != size {
		t.Fatalf("client got %d bytes", n)
	}
	// Everything allocated in this process (client, servers, proxy, HAR
	// encoding of the kept MiB) while 128 MiB went through: the bodies
	// were not held.
	alloc := after.TotalAlloc - before.TotalAlloc
	if alloc > 48<<20 {
		t.Errorf("allocated %d MiB for two 64 MiB bodies", alloc>>20)
	}
	t.Logf("allocated %.1f MiB in all while 2 × 64 MiB went through", float64(alloc)/(1<<20))
	es := h.entries(t)
	if len(es) != 2 || es[0].Request.BodySize != size || es[1].Response.BodySize != size {
		t.Fatalf("entries %d; sizes recorded wrong", len(es))
	}
	if len(*es[0].Request.PostData.Text) > 2*keep || len(*es[1].Response.Content.Text) > 2*keep {
		t.Error("more than --max-body kept")
	}
}

// 32 clients, 5,000 requests: exactly 5,000 entries, none duplicated, none
// malformed.
func TestConcurrency(t *testing.T) {
	const clients, total = 32, 5000
	h := newHarness(t, nil, capture.Options{})
	c := h.client()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	next := make(chan int)
	go func() {
		for i := range total {
			next <- i
		}
		close(next)
	}()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				base := h.plain.URL
				if i%4 == 0 {
					base = h.secure.URL
				}
				var res *http.Response
				var err error
				if i%3 == 0 {
					res, err = c.Post(base+"/echo?id="+strconv.Itoa(i), "application/json", strings.NewReader(`{"i":`+strconv.Itoa(i)+`}`))
				} else {
					res, err = c.Get(base + "/json?id=" + strconv.Itoa(i))
				}
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	es := h.entries(t)
	if len(es) != total {
		t.Fatalf("%d entries, want %d", len(es), total)
	}
	seen := make(map[string]bool, total)
	for _, e := range es {
		u, err := url.Parse(e.Request.URL)
		if err != nil {
			t.Fatal(err)
		}
		id := u.Query().Get("id")
		if seen[id] {
			t.Fatalf("entry for id %s twice", id)
		}
		seen[id] = true
		if e.Response.Status != 200 || !strings.Contains(*e.Response.Content.Text, id) {
			t.Fatalf("entry %s: status %d content %q", id, e.Response.Status, *e.Response.Content.Text)
		}
	}
}

// A raw HTTP/1.1 client: writes exactly what it is given, reads one
// response.
func rawExchange(t *testing.T, conn net.Conn, req string) *http.Response {
	t.Helper()
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// HTTP/1.0 with a body and no keep-alive, and a request in absolute form
// with an explicit Host header, straight from bytes.
func TestRawClient(t *testing.T) {
	h := newHarness(t, nil, capture.Options{})
	conn, err := net.Dial("tcp", h.proxyURL.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	u := h.plain.URL + "/echo"
	res := rawExchange(t, conn, "POST "+u+" HTTP/1.0\r\nHost: "+h.plain.Listener.Addr().String()+"\r\nContent-Length: 5\r\nProxy-Connection: close\r\n\r\nhello")
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.Contains(string(body), `"len":5`) {
		t.Fatalf("status %d body %s", res.StatusCode, body)
	}
	e := h.only(t)
	if e.Request.HTTPVersion != "HTTP/1.0" || string(postBytes(t, &e.Request)) != "hello" {
		t.Errorf("version %s body %q", e.Request.HTTPVersion, postBytes(t, &e.Request))
	}
	if _, ok := har.Header(e.Request.Headers, "Proxy-Connection"); ok {
		t.Error("hop-by-hop Proxy-Connection recorded as sent upstream")
	}
}

func base64Decode(s string) ([]byte, error) {
	return base64Std.DecodeString(s)
}

var base64Std = base64.StdEncoding

// untrustedServer is an HTTPS server whose certificate comes from a CA
// nobody trusts (httptest's own certificate is the same for every server).
func untrustedServer(t *testing.T) *httptest.Server {
	t.Helper()
	other, err := ca.Create(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, other.Cert, other.Signer().Public(), other.Signer())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(upstreamHandler())
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: other.Signer()}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// Real curl through the proxy, trusting the CA with --cacert: a 5 MiB
// upload and a gzip response (curl --compressed), over HTTP and HTTPS.
func TestCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		testtool.Missing(t, "curl is not installed")
	}
	h := newHarness(t, nil, capture.Options{})
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	upload := filepath.Join(dir, "upload.bin")
	payload := make([]byte, 5<<20)
	rand.Read(payload)
	if err := os.WriteFile(caFile, h.caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(upload, payload, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(payload)
	var want int
	for _, scheme := range []string{"http", "https"} {
		base := h.base(scheme)
		runs := []struct {
			args []string
			out  string
		}{
			{[]string{"-X", "PUT", "-H", "Content-Type: application/octet-stream", "--data-binary", "@" + upload, base + "/echo?id=" + scheme}, hex.EncodeToString(sum[:])},
			{[]string{"--compressed", base + "/gzip"}, string(gzipPlain[:40])},
		}
		for _, r := range runs {
			args := append([]string{"-sS", "--fail", "--proxy", h.proxyURL.String(), "--cacert", caFile}, r.args...)
			out, err := exec.Command(curl, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("curl %v: %v\n%s", r.args, err, out)
			}
			if !strings.Contains(string(out), r.out) {
				t.Fatalf("curl %v: output %.200q lacks %q", r.args, out, r.out)
			}
			want++
		}
	}
	es := h.entries(t)
	if len(es) != want {
		t.Fatalf("%d entries, want %d", len(es), want)
	}
	for _, e := range es {
		checkTimings(t, e)
		if _, ok := har.Header(e.Request.Headers, "User-Agent"); !ok {
			t.Errorf("%s: curl's User-Agent not recorded", e.Request.URL)
		}
		switch {
		case e.Request.Method == "PUT":
			if !bytes.Equal(postBytes(t, &e.Request), payload) {
				t.Errorf("%s: the 5 MiB upload is not recorded exactly", e.Request.URL)
			}
		default:
			if !bytes.Equal(contentBytes(t, &e.Response.Content), gzipPlain) {
				t.Errorf("%s: gzip response not decoded exactly", e.Request.URL)
			}
			if ae, _ := har.Header(e.Request.Headers, "Accept-Encoding"); !strings.Contains(ae, "gzip") {
				t.Errorf("%s: Accept-Encoding %q", e.Request.URL, ae)
			}
		}
	}
}

// rawUpstream answers every request with a fixed head, headers in an order
// and case no Go server would write, and keeps the connection alive.
func rawUpstream(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg != nil {
		l = tls.NewListener(l, cfg)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					io.WriteString(c, "HTTP/1.1 200 OK\r\nx-zeta: last-letter\r\nContent-Type: application/json\r\nSet-Cookie: a=1\r\nx-ALPHA: first-letter\r\nSet-Cookie: b=2\r\nContent-Length: 2\r\n\r\n{}")
				}
			}()
		}
	}()
	return l.Addr().String()
}

// Headers are recorded in the order and spelling they had on the wire,
// both ways, not in net/http's map order.
func TestHeaderOrderAndCase(t *testing.T) {
	for _, scheme := range []string{"http", "https"} {
		t.Run(scheme, func(t *testing.T) {
			h := newHarness(t, nil, capture.Options{})
			var up, target string
			conn, err := net.Dial("tcp", h.proxyURL.Host)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			br := bufio.NewReader(conn)
			if scheme == "https" {
				up = rawUpstream(t, &tls.Config{Certificates: h.secure.TLS.Certificates})
				fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", up, up)
				if res, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"}); err != nil || res.StatusCode != 200 {
					t.Fatalf("CONNECT: %v", err)
				}
				tc := tls.Client(conn, &tls.Config{RootCAs: h.clientCA, ServerName: "127.0.0.1"})
				conn, br = tc, bufio.NewReader(tc)
				target = "/order"
			} else {
				up = rawUpstream(t, nil)
				target = "http://" + up + "/order"
			}
			for i := range 2 { // twice on one connection: the tap re-arms
				fmt.Fprintf(conn, "GET %s?i=%d HTTP/1.1\r\nHost: %s\r\nzebra: 1\r\nx-csrf-token: abc\r\nAccept: */*\r\nx-multi: one\r\nx-Multi: two\r\nx-folded: a\r\n  b\r\nProxy-Connection: keep-alive\r\n\r\n", target, i, up)
				res, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
			es := h.entries(t)
			if len(es) != 2 {
				t.Fatalf("%d entries", len(es))
			}
			names := func(hs []har.NameValue) string {
				var s []string
				for _, nv := range hs {
					s = append(s, nv.Name+"="+nv.Value)
				}
				return strings.Join(s, " ")
			}
			for _, e := range es {
				if e.Request.URL != scheme+"://"+up+"/order?i=0" && e.Request.URL != scheme+"://"+up+"/order?i=1" {
					t.Errorf("url %s", e.Request.URL)
				}
				if got, want := names(e.Request.Headers), "Host="+up+" zebra=1 x-csrf-token=abc Accept=*/* x-multi=one x-Multi=two x-folded=a b"; got != want {
					t.Errorf("request headers\n got %s\nwant %s", got, want)
				}
				if got, want := names(e.Response.Headers), "x-zeta=last-letter Content-Type=application/json Set-Cookie=a=1 x-ALPHA=first-letter Set-Cookie=b=2 Content-Length=2"; got != want {
					t.Errorf("response headers\n got %s\nwant %s", got, want)
				}
			}
		})
	}
}

// get fetches url and reads the whole body, as a client that got its
// response does.
func get(t testing.TB, c *http.Client, url string) *http.Response {
	t.Helper()
	res, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}
