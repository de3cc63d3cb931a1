package proxy

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apitape/apitape/capture"
	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/testtool"
)

// tapeUpstream is a raw TCP (or TLS) server: it records the bytes of every
// request head it receives and answers each with a fixed response, byte
// for byte, keeping the connection open.
type tapeUpstream struct {
	addr  string
	mu    sync.Mutex
	heads []string
}

func newTapeUpstream(t *testing.T, cfg *tls.Config, response string) *tapeUpstream {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg != nil {
		l = tls.NewListener(l, cfg)
	}
	u := &tapeUpstream{addr: l.Addr().String()}
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
					var head strings.Builder
					for {
						line, err := br.ReadString('\n')
						if err != nil {
							return
						}
						head.WriteString(line)
						if line == "\r\n" {
							break
						}
					}
					u.mu.Lock()
					u.heads = append(u.heads, head.String())
					u.mu.Unlock()
					if _, err := io.WriteString(c, response); err != nil {
						return
					}
				}
			}()
		}
	}()
	return u
}

func (u *tapeUpstream) received() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.heads)
}

// What the upstream writes, as no Go server would: a reason phrase of its
// own, no Date, names in odd case and order, repeated fields.
const oddResponse = "HTTP/1.1 404 X\r\nx-Zeta: last\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nx-ALPHA: first\r\nSet-Cookie: b=2\r\nContent-Length: 5\r\n\r\nnope!"

// A raw client through the proxy gets exactly the bytes the upstream sent,
// and the upstream gets the client's head with only the hop-by-hop fields
// gone and the target in origin form; over plain HTTP and inside a
// CONNECT tunnel.
func TestTransparentRaw(t *testing.T) {
	for _, scheme := range []string{"http", "https"} {
		t.Run(scheme, func(t *testing.T) {
			h := newHarness(t, nil, capture.Options{})
			var cfg *tls.Config
			if scheme == "https" {
				cfg = &tls.Config{Certificates: h.secure.TLS.Certificates}
			}
			up := newTapeUpstream(t, cfg, oddResponse)
			conn, err := net.Dial("tcp", h.proxyURL.Host)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			var rw io.ReadWriter = conn
			target := "http://" + up.addr + "/v1/x?q=%2F&b"
			if scheme == "https" {
				fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", up.addr, up.addr)
				br := bufio.NewReader(conn)
				line, _ := br.ReadString('\n')
				blank, _ := br.ReadString('\n')
				if !strings.HasPrefix(line, "HTTP/1.1 200") || blank != "\r\n" || br.Buffered() != 0 {
					t.Fatalf("CONNECT answered %q %q", line, blank)
				}
				tc := tls.Client(conn, &tls.Config{RootCAs: h.clientCA, ServerName: "127.0.0.1"})
				rw = tc
				target = "/v1/x?q=%2F&b"
			}
			for i := range 2 { // the second on the same connection
				sent := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nx-MiXeD-Case: v%d\r\naccept: */*\r\nProxy-Connection: keep-alive\r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n", target, up.addr, i)
				if _, err := io.WriteString(rw, sent); err != nil {
					t.Fatal(err)
				}
				got := make([]byte, len(oddResponse))
				if _, err := io.ReadFull(rw, got); err != nil {
					t.Fatalf("reading the response: %v (got %q)", err, got)
				}
				if string(got) != oddResponse {
					t.Errorf("the client got\n%q\nthe upstream sent\n%q", got, oddResponse)
				}
				want := fmt.Sprintf("GET /v1/x?q=%%2F&b HTTP/1.1\r\nHost: %s\r\nx-MiXeD-Case: v%d\r\naccept: */*\r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n", up.addr, i)
				if heads := up.received(); len(heads) != i+1 || heads[i] != want {
					t.Errorf("the upstream got\n%q\nwant\n%q", heads, want)
				}
			}
			es := h.entries(t)
			if len(es) != 2 {
				t.Fatalf("%d entries", len(es))
			}
			e := es[1]
			if e.Response.Status != 404 || e.Response.StatusText != "X" {
				t.Errorf("recorded status %d %q", e.Response.Status, e.Response.StatusText)
			}
			if got, want := fieldList(e.Request.Headers), "Host="+up.addr+" x-MiXeD-Case=v1 accept=*/* X-Dup=1 x-dup=2"; got != want {
				t.Errorf("recorded request headers\n got %s\nwant %s", got, want)
			}
			if got, want := fieldList(e.Response.Headers), "x-Zeta=last Content-Type=text/plain Set-Cookie=a=1 x-ALPHA=first Set-Cookie=b=2 Content-Length=5"; got != want {
				t.Errorf("recorded response headers\n got %s\nwant %s", got, want)
			}
		})
	}
}

func fieldList(hs []har.NameValue) string {
	var s []string
	for _, nv := range hs {
		s = append(s, nv.Name+"="+nv.Value)
	}
	return strings.Join(s, " ")
}

// curl through the proxy, over HTTP and HTTPS, sees the upstream's head as
// the upstream wrote it (curl -D writes the head as received), and the
// upstream sees curl's header names as curl wrote them.
func TestTransparentCurl(t *testing.T) {
	curl := testtool.Need(t, "curl")
	h := newHarness(t, nil, capture.Options{})
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, h.caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	plain := newTapeUpstream(t, nil, oddResponse)
	secure := newTapeUpstream(t, &tls.Config{Certificates: h.secure.TLS.Certificates}, oddResponse)
	oddHead := oddResponse[:strings.Index(oddResponse, "\r\n\r\n")+4]
	for _, c := range []struct {
		scheme string
		up     *tapeUpstream
	}{{"http", plain}, {"https", secure}} {
		headFile := filepath.Join(dir, c.scheme+".head")
		bodyFile := filepath.Join(dir, c.scheme+".body")
		u := c.scheme + "://" + c.up.addr + "/v1/clusters"
		out, err := exec.Command(curl, "-sS", "--proxy", h.proxyURL.String(), "--cacert", caFile,
			"-H", "x-MiXeD-Case: yes", "-D", headFile, "-o", bodyFile, u).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %s: %v\n%s", u, err, out)
		}
		head, _ := os.ReadFile(headFile)
		if !strings.HasSuffix(string(head), oddHead) {
			t.Errorf("%s: curl got the head\n%q\nthe upstream sent\n%q", c.scheme, head, oddHead)
		}
		if body, _ := os.ReadFile(bodyFile); string(body) != "nope!" {
			t.Errorf("%s: body %q", c.scheme, body)
		}
		heads := c.up.received()
		if len(heads) != 1 || !strings.Contains(heads[0], "\r\nx-MiXeD-Case: yes\r\n") || !strings.HasPrefix(heads[0], "GET /v1/clusters HTTP/1.1\r\nHost: "+c.up.addr+"\r\nUser-Agent: curl/") {
			t.Errorf("%s: the upstream got %q", c.scheme, heads)
		}
		if strings.Contains(strings.ToLower(heads[0]), "proxy-connection") {
			t.Errorf("%s: hop-by-hop Proxy-Connection forwarded: %q", c.scheme, heads[0])
		}
	}
	// And a Go client sees the status text and no Date either.
	res, err := h.client().Get("http://" + plain.addr + "/go")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.Status != "404 X" || res.Header.Get("Date") != "" {
		t.Errorf("Go client: status %q, Date %q", res.Status, res.Header.Get("Date"))
	}
}

// A chunked response reaches the client chunked, with its fields in order;
// the HAR has its Transfer-Encoding, and its Host.
func TestTransparentChunked(t *testing.T) {
	const chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\ncontent-type: application/json\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n"
	h := newHarness(t, nil, capture.Options{})
	up := newTapeUpstream(t, nil, chunked)
	conn, err := net.Dial("tcp", h.proxyURL.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET http://%s/c HTTP/1.1\r\nHost: %s\r\n\r\n", up.addr, up.addr)
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil || string(body) != `{"a":1}` || len(res.TransferEncoding) != 1 {
		t.Fatalf("client: body %q %v, transfer-encoding %v", body, err, res.TransferEncoding)
	}
	e := h.only(t)
	if got, want := fieldList(e.Response.Headers), "Transfer-Encoding=chunked content-type=application/json"; got != want {
		t.Errorf("response headers %s, want %s", got, want)
	}
	if v, ok := har.Header(e.Request.Headers, "Host"); !ok || v != up.addr {
		t.Errorf("Host %q %v", v, ok)
	}
	if string(contentBytes(t, &e.Response.Content)) != `{"a":1}` {
		t.Errorf("content %q", *e.Response.Content.Text)
	}
}

// Two requests in one write (pipelining): both reach the upstream with the
// client's heads as written, and both answers come back in order.
func TestTransparentPipelined(t *testing.T) {
	h := newHarness(t, nil, capture.Options{})
	up := newTapeUpstream(t, nil, oddResponse)
	conn, err := net.Dial("tcp", h.proxyURL.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	one := fmt.Sprintf("GET http://%s/one HTTP/1.1\r\nHost: %s\r\nx-First: 1\r\n\r\n", up.addr, up.addr)
	two := fmt.Sprintf("GET http://%s/two HTTP/1.1\r\nHost: %s\r\nx-sEcOnD: 2\r\n\r\n", up.addr, up.addr)
	if _, err := io.WriteString(conn, one+two); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 2*len(oddResponse))
	if _, err := io.ReadFull(conn, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != oddResponse+oddResponse {
		t.Errorf("the client got %q", got)
	}
	want := []string{
		fmt.Sprintf("GET /one HTTP/1.1\r\nHost: %s\r\nx-First: 1\r\n\r\n", up.addr),
		fmt.Sprintf("GET /two HTTP/1.1\r\nHost: %s\r\nx-sEcOnD: 2\r\n\r\n", up.addr),
	}
	if heads := up.received(); !slices.Equal(heads, want) {
		t.Errorf("the upstream got\n%q\nwant\n%q", heads, want)
	}
}
