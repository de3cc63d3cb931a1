package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/apitape/apitape/har"
)

const proxyAddrFileEnv = "APITAPE_TEST_PROXY_ADDR_FILE"

func init() {
	// In the apitape processes testscript starts, tell the script where
	// the proxy listens (it may have picked port 0).
	onProxyListening = func(addr string) {
		if f := os.Getenv(proxyAddrFileEnv); f != "" {
			os.WriteFile(f+".tmp", []byte(addr), 0o600)
			os.Rename(f+".tmp", f)
		}
	}
	scriptSetups = append(scriptSetups, func(env *testscript.Env) error {
		env.Setenv(proxyAddrFileEnv, filepath.Join(env.WorkDir, ".proxy-addr"))
		return nil
	})
	scriptCmds["upstream"] = cmdUpstream
	scriptCmds["waitproxy"] = cmdWaitProxy
}

// fixtureHandler is the API the capture tests record.
func fixtureHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/clusters", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		if r.Method == "POST" {
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, `{"created":true,"len":%d}`, len(body))
			return
		}
		fmt.Fprintf(w, `{"data":[{"id":%q,"name":"demo"}]}`, r.URL.Query().Get("id"))
	})
	mux.HandleFunc("/v1/login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "R_SESS", Value: "token-abcde:s3ss10nsecretvalue0123456789abcdefghij", Path: "/", HttpOnly: true})
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	})
	return mux
}

// cmdUpstream starts the fixture API over HTTP and HTTPS and exports
// UPSTREAM, UPSTREAM_TLS and UPSTREAM_CERT (the HTTPS server's certificate,
// for the proxy's SSL_CERT_FILE).
func cmdUpstream(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: upstream")
	}
	plain := httptest.NewServer(fixtureHandler())
	secure := httptest.NewTLSServer(fixtureHandler())
	ts.Defer(plain.Close)
	ts.Defer(secure.Close)
	cert := ts.MkAbs("upstream-cert.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: secure.Certificate().Raw})
	ts.Check(os.WriteFile(cert, pemBytes, 0o644))
	ts.Setenv("UPSTREAM", plain.URL)
	ts.Setenv("UPSTREAM_TLS", secure.URL)
	ts.Setenv("UPSTREAM_CERT", cert)
}

// cmdWaitProxy waits until the proxy started in the background listens and
// exports its address as PROXY.
func cmdWaitProxy(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: waitproxy")
	}
	file := ts.Getenv(proxyAddrFileEnv)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if b, err := os.ReadFile(file); err == nil && len(b) > 0 {
			ts.Setenv("PROXY", string(b))
			os.Remove(file)
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("the proxy did not start listening within 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var listenLine = regexp.MustCompile(`apitape: proxy listening on (\S+)`)

// proxyProcess is 'apitape capture proxy' running as its own process.
type proxyProcess struct {
	cmd      *exec.Cmd
	addr     string
	stderr   *bytes.Buffer
	mu       *sync.Mutex
	readDone chan struct{} // closed when all of stderr has been read
}

// wait waits for the process, after reading all it wrote: Wait closes the
// stderr pipe, so calling it first can lose the last lines.
func (p *proxyProcess) wait() error {
	select {
	case <-p.readDone:
	case <-time.After(30 * time.Second):
	}
	return p.cmd.Wait()
}

func startProxyProcess(t *testing.T, env []string, args ...string) *proxyProcess {
	t.Helper()
	bin, err := exec.LookPath("apitape")
	if err != nil {
		t.Fatalf("the apitape test binary is not on PATH: %v", err)
	}
	cmd := exec.Command(bin, append([]string{"capture", "proxy", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	p := &proxyProcess{cmd: cmd, stderr: new(bytes.Buffer), mu: new(sync.Mutex), readDone: make(chan struct{})}
	addrc := make(chan string, 1)
	go func() {
		defer close(p.readDone)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if m := listenLine.FindStringSubmatch(sc.Text()); m != nil {
				addrc <- m[1]
			}
		}
	}()
	select {
	case p.addr = <-addrc:
	case <-time.After(20 * time.Second):
		t.Fatalf("no 'proxy listening' line; stderr: %s", p.log())
	}
	return p
}

func (p *proxyProcess) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

func (p *proxyProcess) client(caPEM []byte) *http.Client {
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               http.ProxyURL(&url.URL{Scheme: "http", Host: p.addr}),
			TLSClientConfig:     &tls.Config{RootCAs: roots},
			MaxIdleConnsPerHost: 16,
		},
		Timeout: 10 * time.Second,
	}
}

func readHAR(t *testing.T, path string) []*har.Entry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := har.ReadAll(f, path)
	if err != nil {
		t.Fatalf("not a valid HAR: %v", err)
	}
	return doc.Log.Entries
}

// certFile writes an httptest server's certificate for SSL_CERT_FILE.
func certFile(t *testing.T, srv *httptest.Server) string {
	path := filepath.Join(t.TempDir(), "upstream.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// readKilledHAR reads a capture ended by kill -9 (har.ReadKilled): every
// entry but the last is whole, and the last may be cut off where the kill
// stopped its write; cut is its index, or -1.
func readKilledHAR(t *testing.T, path string) (entries []*har.Entry, cut int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries, cut, err = har.ReadKilled(f, path)
	if err != nil {
		t.Fatalf("not a valid HAR: %v", err)
	}
	return entries, cut
}

// kill -9 at any moment leaves a HAR holding every call whose response
// had reached its client, whole, except at most the one being written at
// the kill, which is cut off at the end of the file.
func TestCaptureProxyCrash(t *testing.T) {
	plain := httptest.NewServer(fixtureHandler())
	defer plain.Close()
	secure := httptest.NewTLSServer(fixtureHandler())
	defer secure.Close()
	caDir := t.TempDir()
	for round, after := range []time.Duration{150 * time.Millisecond, 400 * time.Millisecond, 700 * time.Millisecond} {
		t.Run(fmt.Sprintf("kill after %v", after), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "crash.har")
			p := startProxyProcess(t, []string{"SSL_CERT_FILE=" + certFile(t, secure)}, "-o", out, "--ca-dir", caDir, "--all")
			caPEM, err := os.ReadFile(filepath.Join(caDir, "ca.pem"))
			if err != nil {
				t.Fatal(err)
			}
			c := p.client(caPEM)
			var (
				mu       sync.Mutex
				complete = map[string]bool{}
				next     atomic.Int64
				wg       sync.WaitGroup
				stop     = make(chan struct{})
			)
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						id := fmt.Sprintf("r%d-%d", round, next.Add(1))
						base := plain.URL
						if w%2 == 1 {
							base = secure.URL
						}
						var res *http.Response
						var err error
						if w%3 == 2 {
							res, err = c.Post(base+"/v1/clusters?id="+id, "application/json", strings.NewReader(strings.Repeat(`{"x":1}`, 500)))
						} else {
							res, err = c.Get(base + "/v1/clusters?id=" + id)
						}
						if err != nil {
							return // the proxy is gone
						}
						_, err = io.ReadAll(res.Body)
						res.Body.Close()
						if err == nil {
							mu.Lock()
							complete[id] = true
							mu.Unlock()
						}
					}
				}()
			}
			time.Sleep(after)
			if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			close(stop)
			wg.Wait()
			p.wait()

			es, cut := readKilledHAR(t, out)
			recorded := map[string]bool{}
			for _, e := range es {
				u, _ := url.Parse(e.Request.URL)
				id := u.Query().Get("id")
				if recorded[id] {
					t.Errorf("id %s recorded twice", id)
				}
				recorded[id] = true
			}
			mu.Lock()
			defer mu.Unlock()
			if len(complete) == 0 {
				t.Fatalf("no request completed before the kill; proxy log: %s", p.log())
			}
			missing := 0
			for id := range complete {
				if !recorded[id] {
					missing++
					if cut < 0 || missing > 1 {
						t.Errorf("call %s reached its client but is not in the HAR", id)
					}
				}
			}
			if cut >= 0 {
				t.Logf("%d calls completed, %d recorded whole, entry %d cut off by the kill", len(complete), len(es), cut)
			} else {
				t.Logf("%d calls completed, %d recorded, file valid after kill -9", len(complete), len(es))
			}
		})
	}
}

// SIGTERM, like SIGINT, flushes and exits 0.
func TestCaptureProxySIGTERM(t *testing.T) {
	plain := httptest.NewServer(fixtureHandler())
	defer plain.Close()
	out := filepath.Join(t.TempDir(), "term.har")
	p := startProxyProcess(t, nil, "-o", out, "--ca-dir", t.TempDir())
	res, err := p.client(nil).Get(plain.URL + "/v1/clusters?id=t1")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v; stderr: %s", err, p.log())
	}
	if es := readHAR(t, out); len(es) != 1 {
		t.Fatalf("%d entries", len(es))
	}
	if !strings.Contains(p.log(), "recorded 1 call to "+out) {
		t.Errorf("no summary line: %s", p.log())
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("capture file mode: %v %v; want 0600 (it may hold secrets)", fi.Mode(), err)
	}
}

// captureInProcess runs 'apitape capture proxy' through run() and returns
// its address and a function that stops it (as Ctrl-C would) and returns
// the exit code and stderr.
func captureInProcess(t *testing.T, args ...string) (addr string, stop func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var errBuf bytes.Buffer
	st := &streams{in: strings.NewReader(""), out: io.Discard, err: pw, getenv: os.Getenv}
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, st, append([]string{"capture", "proxy", "--listen", "127.0.0.1:0"}, args...))
		pw.Close()
	}()
	addrc := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			errBuf.WriteString(sc.Text() + "\n")
			if m := listenLine.FindStringSubmatch(sc.Text()); m != nil {
				addrc <- m[1]
			}
		}
	}()
	select {
	case addr = <-addrc:
	case c := <-code:
		pw.Close()
		<-done
		t.Fatalf("capture exited %d: %s", c, errBuf.String())
	}
	return addr, func() (int, string) {
		cancel()
		c := <-code
		<-done
		return c, errBuf.String()
	}
}

// Redaction is on by default: a Bearer token and a session cookie never
// reach the disk.
func TestCaptureProxyRedactsByDefault(t *testing.T) {
	const token = "kubeconfig-u-abc123:zq8r7w6t5y4u3i2o1p0lkjhgfdsamnbvcxzq8r7w6t5y4u3i2o1"
	plain := httptest.NewServer(fixtureHandler())
	defer plain.Close()
	out := filepath.Join(t.TempDir(), "redacted.har")
	addr, stop := captureInProcess(t, "-o", out, "--ca-dir", t.TempDir())
	c := (&proxyProcess{addr: addr}).client(nil)
	req, _ := http.NewRequest("POST", plain.URL+"/v1/login", strings.NewReader(`{"password":"hunter2"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	code, stderr := stop()
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{token, "s3ss10nsecretvalue0123456789abcdefghij", "hunter2"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("secret %.12s… is in the capture file", secret)
		}
		if strings.Contains(stderr, secret) {
			t.Errorf("secret %.12s… printed on stderr", secret)
		}
	}
	if !bytes.Contains(raw, []byte("REDACTED-")) {
		t.Error("no placeholder in the capture")
	}
	if es := readHAR(t, out); len(es) != 1 || es[0].Response.Status != 200 {
		t.Fatalf("capture: %d entries", len(es))
	}
}

// Listening beyond loopback must be asked for and is warned about.
func TestCaptureProxyListenWarning(t *testing.T) {
	_, stop := captureInProcess(t, "--listen", "0.0.0.0:0", "-o", filepath.Join(t.TempDir(), "x.har"), "--ca-dir", t.TempDir(), "--no-redact")
	code, stderr := stop()
	if code != 0 || !strings.Contains(stderr, "apitape: warning: listening on 0.0.0.0:") {
		t.Fatalf("exit %d, stderr: %s", code, stderr)
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in     string
		want   int64
		ok     bool
		reason string
	}{
		{"0", 0, true, "zero keeps no body"},
		{"512", 512, true, "bare bytes"},
		{"10MiB", 10 << 20, true, "the default"},
		{"10mib", 10 << 20, true, "units ignore case"},
		{"64K", 64 << 10, true, "K is KiB"},
		{"1MB", 1e6, true, "MB is decimal"},
		{"2 GiB", 2 << 30, true, "a space before the unit"},
		{"", 0, false, "empty"},
		{"MiB", 0, false, "unit without number"},
		{"-1", 0, false, "negative"},
		{"1.5MiB", 0, false, "fractions are not taken"},
		{"10XB", 0, false, "unknown unit"},
		{"99999999999999999999", 0, false, "overflow"},
		{"9999999999GiB", 0, false, "overflow after the unit"},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d ok=%v (%s)", tt.in, got, err, tt.want, tt.ok, tt.reason)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "10MiB", "1gb", " 7 k ", "x", "18446744073709551615"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseSize(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if n < 0 {
			t.Fatalf("parseSize(%q) = %d", s, n)
		}
		if _, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil && n != mustAtoi(strings.TrimSpace(s)) {
			t.Fatalf("plain number %q parsed as %d", s, n)
		}
	})
}

func mustAtoi(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }

// A secret first seen in an answer, under a name that says nothing, is
// written in clear with that call; once a later request uses it as a
// credential it is known, and a clean stop (SIGTERM here) redacts the
// whole file again, in place, atomically and still mode 0600.
func TestCaptureProxyReRedactsOnStop(t *testing.T) {
	const token = "ses_8f3a-9b2c-4d5e_7f60a1b2c3d4e5f6a7b8c9d0e1f2"
	plain := httptest.NewServer(lateTokenMux(token))
	defer plain.Close()
	out := filepath.Join(t.TempDir(), "late.har")
	p := startProxyProcess(t, nil, "-o", out, "--ca-dir", t.TempDir())
	c := p.client(nil)
	res, err := c.Get(plain.URL + "/v1/handshake")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	req, _ := http.NewRequest("GET", plain.URL+"/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if res, err = c.Do(req); err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	// While the capture runs, the first answer holds the token in clear:
	// it was redacted before anything said the value was secret.
	if before, err := os.ReadFile(out); err != nil || !bytes.Contains(before, []byte(token)) {
		t.Fatalf("the scenario does not hold: the token is not in clear during the capture (%v)", err)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v; stderr: %s", err, p.log())
	}
	checkReRedacted(t, out, p.log(), token)
	es := readHAR(t, out)
	if len(es) != 2 {
		t.Fatalf("%d entries, want 2", len(es))
	}
	body, _, _ := es[0].Response.Content.Bytes()
	if text := string(body); !strings.Contains(text, `"value":"REDACTED-`) {
		t.Errorf("first answer after the stop: %s", text)
	}
}
