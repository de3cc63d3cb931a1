package proxy

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/apitape/apitape/capture"
	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/testtool"
)

// protoServer is a TLS upstream that notes the protocol each request came
// in with; with h2 it offers HTTP/2 (ALPN h2) besides HTTP/1.1.
type protoServer struct {
	*httptest.Server
	mu     sync.Mutex
	protos []string
}

func newProtoServer(t *testing.T, h2 bool) *protoServer {
	t.Helper()
	s := &protoServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.protos = append(s.protos, r.Proto)
		s.mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Upstream", "yes")
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "c00kie", Path: "/"})
		fmt.Fprintf(w, `{"proto":%q,"path":%q,"got":%d}`, r.Proto, r.URL.Path, len(body))
	}))
	s.EnableHTTP2 = h2
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // the proxy's ALPN probes hang up early
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func (s *protoServer) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.protos...)
}

// curl --http2 through the proxy: h2 on both sides when the upstream offers
// it, recorded as HTTP/2.0 with its pseudo-header fields; HTTP/1.1 on both
// sides when only one of them offers h2.
func TestHTTP2(t *testing.T) {
	curl := testtool.Need(t, "curl")
	tests := []struct {
		name     string
		upH2     bool
		curlFlag string
		want     string // the protocol on both sides
	}{
		{"both offer h2", true, "--http2", "HTTP/2.0"},
		{"only the upstream offers h2", true, "--http1.1", "HTTP/1.1"},
		{"only the client offers h2", false, "--http2", "HTTP/1.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil, capture.Options{})
			up := newProtoServer(t, tt.upH2)
			caFile := filepath.Join(t.TempDir(), "ca.pem")
			if err := os.WriteFile(caFile, h.caPEM, 0o644); err != nil {
				t.Fatal(err)
			}
			u := up.URL + "/v1/clusters?limit=5"
			out, err := exec.Command(curl, "-sS", "--fail", tt.curlFlag, "--proxy", h.proxyURL.String(), "--cacert", caFile,
				"-H", "x-MiXeD: 1", "--data-raw", `{"name":"c1"}`, "-w", "\n%{http_version}", u).CombinedOutput()
			if err != nil {
				t.Fatalf("curl: %v\n%s\nproxy log: %s", err, out, h.logs)
			}
			body, version, _ := strings.Cut(string(out), "\n")
			wantCurl := map[string]string{"HTTP/2.0": "2", "HTTP/1.1": "1.1"}[tt.want]
			if version != wantCurl {
				t.Errorf("curl spoke HTTP %s with the proxy, want %s", version, wantCurl)
			}
			if got := up.seen(); len(got) != 1 || got[0] != tt.want {
				t.Errorf("the upstream saw %v, want %s", got, tt.want)
			}
			if !strings.Contains(body, `"got":13`) {
				t.Errorf("body %q", body)
			}
			e := h.only(t)
			if e.Request.HTTPVersion != tt.want || e.Response.HTTPVersion != tt.want {
				t.Errorf("recorded versions %s / %s, want %s", e.Request.HTTPVersion, e.Response.HTTPVersion, tt.want)
			}
			if e.Request.URL != u || e.Request.Method != "POST" || e.Response.Status != 200 {
				t.Errorf("recorded %s %s → %d", e.Request.Method, e.Request.URL, e.Response.Status)
			}
			if string(contentBytes(t, &e.Response.Content)) != body || string(postBytes(t, &e.Request)) != `{"name":"c1"}` {
				t.Errorf("bodies: %q / %q", *e.Response.Content.Text, *e.Request.PostData.Text)
			}
			if len(e.Response.Cookies) != 1 || e.Response.Cookies[0].Value != "c00kie" {
				t.Errorf("response cookies %+v", e.Response.Cookies)
			}
			if tt.want != "HTTP/2.0" {
				return
			}
			// As Chrome records h2: the pseudo-header fields first, in
			// the order they were sent, names in lower case.
			req := fieldList(e.Request.Headers)
			pseudo := map[string]bool{}
			for i, nv := range e.Request.Headers[:min(4, len(e.Request.Headers))] {
				if !strings.HasPrefix(nv.Name, ":") {
					t.Errorf("field %d is %s, want the four pseudo-header fields first: %s", i, nv.Name, req)
				}
				pseudo[nv.Name+"="+nv.Value] = true
			}
			for _, want := range []string{":method=POST", ":path=/v1/clusters?limit=5", ":scheme=https", ":authority=" + up.Listener.Addr().String()} {
				if !pseudo[want] {
					t.Errorf("no %s in %s", want, req)
				}
			}
			if !strings.Contains(req, " x-mixed=1") {
				t.Errorf("request headers lack x-mixed: %s", req)
			}
			if res := fieldList(e.Response.Headers); !strings.HasPrefix(res, ":status=200 ") || !strings.Contains(res, "x-upstream=yes") {
				t.Errorf("response headers %s", res)
			}
			checkTimings(t, e)
		})
	}
}

// A Go client over h2 through the proxy, many requests on one connection
// at once: each is recorded once, with its own answer.
func TestHTTP2GoClient(t *testing.T) {
	h := newHarness(t, nil, capture.Options{})
	up := newProtoServer(t, true)
	tr := h.h2Transport()
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.Get(fmt.Sprintf("%s/item/%d", up.URL, i))
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.Proto != "HTTP/2.0" || !strings.Contains(string(b), fmt.Sprintf(`"/item/%d"`, i)) {
				t.Errorf("item %d: %s %s", i, res.Proto, b)
			}
		}()
	}
	wg.Wait()
	es := h.entries(t)
	if len(es) != n {
		t.Fatalf("%d entries, want %d", len(es), n)
	}
	for _, e := range es {
		path := strings.TrimPrefix(e.Request.URL, up.URL)
		if e.Request.HTTPVersion != "HTTP/2.0" || !strings.Contains(*e.Response.Content.Text, `"`+path+`"`) {
			t.Errorf("%s: %s %q", e.Request.URL, e.Request.HTTPVersion, *e.Response.Content.Text)
		}
		if _, ok := har.Header(e.Request.Headers, ":authority"); !ok {
			t.Errorf("%s: no :authority", e.Request.URL)
		}
	}
}

// With InsecureUpstream, an upstream whose certificate nothing vouches
// for still gets h2 when it and the client offer it.
func TestHTTP2InsecureUpstream(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.InsecureUpstream, o.UpstreamRoots = true, nil }, capture.Options{})
	up := newProtoServer(t, true)
	tr := h.h2Transport()
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Get(up.URL + "/v1/self-signed")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.Proto != "HTTP/2.0" || !strings.Contains(string(b), `"proto":"HTTP/2.0"`) {
		t.Fatalf("the client spoke %s with the proxy, the upstream answered %s (%v)", res.Proto, b, err)
	}
	if e := h.only(t); e.Request.HTTPVersion != "HTTP/2.0" {
		t.Errorf("recorded %s", e.Request.HTTPVersion)
	}
}

// A request whose header block needs CONTINUATION frames (a 40 KiB cookie
// is over the 16 KiB frame size) keeps its body: the relay used to
// forward every continued header block as the end of its stream.
func TestHTTP2ContinuedHeadersKeepBody(t *testing.T) {
	h := newHarness(t, nil, capture.Options{})
	up := newProtoServer(t, true)
	tr := h.h2Transport()
	defer tr.CloseIdleConnections()
	body := strings.Repeat("b", 100_000)
	req, err := http.NewRequest("POST", up.URL+"/v1/big-cookie", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Cookie", "big="+strings.Repeat("c", 40<<10))
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if want := fmt.Sprintf(`"got":%d`, len(body)); err != nil || res.Proto != "HTTP/2.0" || !strings.Contains(string(b), want) {
		t.Fatalf("%s, upstream answered %s (%v); want %s", res.Proto, b, err, want)
	}
	if e := h.only(t); e.Request.PostData == nil || e.Request.PostData.Text == nil || len(*e.Request.PostData.Text) != len(body) {
		t.Errorf("recorded request body: %+v", e.Request.PostData)
	}
}

// The same for an answer: a 40 KiB header field before a body.
func TestHTTP2ContinuedAnswerHeadersKeepBody(t *testing.T) {
	h := newHarness(t, nil, capture.Options{})
	body := strings.Repeat("a", 100_000)
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Big", strings.Repeat("h", 40<<10))
		io.WriteString(w, body)
	}))
	up.EnableHTTP2 = true
	up.Config.ErrorLog = log.New(io.Discard, "", 0) // the proxy's ALPN probes hang up early
	up.StartTLS()
	defer up.Close()
	tr := h.h2Transport()
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Get(up.URL + "/v1/big-header")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.Proto != "HTTP/2.0" || string(b) != body || len(res.Header.Get("X-Big")) != 40<<10 {
		t.Fatalf("%s: %d of %d bytes, X-Big %d bytes (%v)", res.Proto, len(b), len(body), len(res.Header.Get("X-Big")), err)
	}
	if e := h.only(t); len(contentBytes(t, &e.Response.Content)) != len(body) {
		t.Errorf("recorded %d bytes", len(contentBytes(t, &e.Response.Content)))
	}
}
