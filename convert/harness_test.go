package convert

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/testtool"
)

// received is one request as it arrived on the wire.
type received struct {
	method, target string
	headers        [][2]string // raw names and values, in order
	body           []byte
}

func (r *received) header(name string) (string, bool) {
	for _, h := range r.headers {
		if strings.EqualFold(h[0], name) {
			return h[1], true
		}
	}
	return "", false
}

// recorder is an HTTP/1.1 server on 127.0.0.1 that parses the raw request
// head itself: net/http would canonicalise header names and hide their
// order, which is exactly what the tests must see.
type recorder struct {
	ln   net.Listener
	mu   sync.Mutex
	reqs []*received
	errs []string
}

func newRecorder(t testing.TB) *recorder {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go rec.serve(c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return rec
}

func (rec *recorder) url() string { return "http://" + rec.ln.Addr().String() }

func (rec *recorder) take() []*received {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	r := rec.reqs
	rec.reqs = nil
	return r
}

func (rec *recorder) problems() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.errs
}

func (rec *recorder) fail(format string, args ...any) {
	rec.mu.Lock()
	rec.errs = append(rec.errs, fmt.Sprintf(format, args...))
	rec.mu.Unlock()
}

func (rec *recorder) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReaderSize(c, 64<<10)
	for {
		c.SetReadDeadline(time.Now().Add(60 * time.Second))
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		parts := strings.Split(strings.TrimSuffix(line, "\r\n"), " ")
		if len(parts) != 3 {
			rec.fail("bad request line %q", line)
			return
		}
		r := &received{method: parts[0], target: parts[1]}
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				rec.fail("reading headers: %v", err)
				return
			}
			if l == "\r\n" {
				break
			}
			if !strings.HasSuffix(l, "\r\n") {
				rec.fail("header line without CRLF: %q", l)
			}
			name, v, ok := strings.Cut(strings.TrimSuffix(l, "\r\n"), ":")
			if !ok {
				rec.fail("header line without colon: %q", l)
			}
			r.headers = append(r.headers, [2]string{name, strings.Trim(v, " \t")})
		}
		if v, ok := r.header("Expect"); ok && strings.EqualFold(v, "100-continue") {
			io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n")
		}
		if te, ok := r.header("Transfer-Encoding"); ok {
			rec.fail("%s %s: unexpected Transfer-Encoding %q", r.method, r.target, te)
			return
		}
		if cl, ok := r.header("Content-Length"); ok {
			n, err := strconv.Atoi(cl)
			if err != nil {
				rec.fail("bad Content-Length %q", cl)
				return
			}
			r.body = make([]byte, n)
			if _, err := io.ReadFull(br, r.body); err != nil {
				rec.fail("reading body: %v", err)
				return
			}
		}
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, r)
		n := len(rec.reqs)
		rec.mu.Unlock()
		body := fmt.Sprintf(`{"ok":true,"n":%d}`, n)
		status := "200 OK"
		if strings.Contains(r.target, "/fail500") {
			status = "500 Internal Server Error"
		}
		resp := "HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
		if r.method != "HEAD" {
			resp += body
		}
		if _, err := io.WriteString(c, resp); err != nil {
			return
		}
	}
}

// want is what the server must receive for one entry.
type want struct {
	index   int
	method  string
	target  string
	headers [][2]string // Host excluded
	host    string      // "" when the URL's host is expected
	// hostName is the recorded spelling of the Host header's name ("" when
	// none was recorded: then "Host").
	hostName string
	body     []byte
	// compressed: curl must send its own Accept-Encoding (--compressed),
	// Go none.
	compressed bool
}

// Hop-by-hop and framing headers: the test's own list, not the package's.
var testHopByHop = []string{"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "content-length"}

// expectExact computes, from the entry alone, what --exact must deliver.
func expectExact(index int, e *har.Entry, body []byte) want {
	w := want{index: index, method: e.Request.Method}
	u := e.Request.URL
	_, rest, _ := strings.Cut(u, "://")
	i := strings.IndexAny(rest, "/?#")
	host := rest
	w.target = "/"
	if i >= 0 {
		host = rest[:i]
		w.target = rest[i:]
	}
	w.target, _, _ = strings.Cut(w.target, "#")
	if w.target == "" || w.target[0] == '?' {
		w.target = "/" + w.target
	}
	var authority string
	hasCookie := false
	for _, h := range e.Request.Headers {
		lower := strings.ToLower(h.Name)
		switch {
		case lower == ":authority":
			authority = h.Value
		case strings.HasPrefix(lower, ":"), containsString(testHopByHop, lower):
		case lower == "host":
			w.host, w.hostName = h.Value, h.Name
		default:
			if lower == "cookie" {
				hasCookie = true
			}
			w.headers = append(w.headers, [2]string{h.Name, h.Value})
		}
	}
	if w.host == "" && authority != "" && authority != host {
		w.host = authority
	}
	if !hasCookie && len(e.Request.Cookies) > 0 {
		var parts []string
		for _, c := range e.Request.Cookies {
			parts = append(parts, c.Name+"="+c.Value)
		}
		w.headers = append(w.headers, [2]string{"Cookie", strings.Join(parts, "; ")})
	}
	w.body = body
	return w
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// check compares what arrived with what was wanted, header names byte for
// byte. ordered: header order across names must match too (curl); Go
// writes headers sorted by name, so there only the order of each name's
// values counts.
func check(t *testing.T, label string, w want, got *received, serverHost string, ordered bool) {
	t.Helper()
	prefix := fmt.Sprintf("%s entry %d (%s %.60q)", label, w.index, w.method, w.target)
	if got.method != w.method {
		t.Errorf("%s: method %q, want %q", prefix, got.method, w.method)
	}
	if got.target != w.target {
		t.Errorf("%s: target\n got %q\nwant %q", prefix, got.target, w.target)
	}
	if !bytes.Equal(got.body, w.body) && !(len(got.body) == 0 && len(w.body) == 0) {
		t.Errorf("%s: body differs: got %d bytes %.80q, want %d bytes %.80q", prefix, len(got.body), got.body, len(w.body), w.body)
	}
	var rest [][2]string
	sawEncoding := false
	for _, h := range got.headers {
		switch strings.ToLower(h[0]) {
		case "host":
			wantHost := w.host
			if wantHost == "" {
				wantHost = serverHost
			}
			if h[1] != wantHost {
				t.Errorf("%s: Host %q, want %q", prefix, h[1], wantHost)
			}
			wantName := w.hostName
			if wantName == "" {
				wantName = "Host"
			}
			if h[0] != wantName {
				t.Errorf("%s: Host header sent as %q, recorded as %q", prefix, h[0], wantName)
			}
		case "accept-encoding":
			if !w.compressed {
				rest = append(rest, h)
			} else if !ordered {
				t.Errorf("%s: Go sent Accept-Encoding %q", prefix, h[1])
			}
			sawEncoding = true
		case "content-length":
			if h[1] != strconv.Itoa(len(w.body)) {
				t.Errorf("%s: Content-Length %s for a %d-byte body", prefix, h[1], len(w.body))
			}
		default:
			rest = append(rest, h)
		}
	}
	if w.compressed && ordered && !sawEncoding {
		t.Errorf("%s: curl sent no Accept-Encoding despite --compressed", prefix)
	}
	if ordered {
		if fmt.Sprint(rest) != fmt.Sprint(w.headers) {
			t.Errorf("%s: headers differ\n got %q\nwant %q", prefix, rest, w.headers)
		}
		return
	}
	if g, wt := groupHeaders(rest), groupHeaders(w.headers); fmt.Sprint(g) != fmt.Sprint(wt) {
		t.Errorf("%s: headers differ\n got %q\nwant %q", prefix, g, wt)
	}
}

func groupHeaders(hs [][2]string) map[string][]string {
	m := map[string][]string{}
	for _, h := range hs {
		m[h[0]] = append(m[h[0]], h[1])
	}
	return m
}

// writeHAR writes entries as a HAR file.
func writeHAR(t testing.TB, entries []*har.Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := har.NewWriter(&buf, har.NewLog("test"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func convertBytes(t testing.TB, input []byte, opts Options) []byte {
	t.Helper()
	var out bytes.Buffer
	if _, err := Convert(har.NewReader(bytes.NewReader(input), "test.har"), &out, opts); err != nil {
		t.Fatalf("convert --to %s: %v", opts.Format, err)
	}
	return out.Bytes()
}

// runShell runs a generated script with bash in an empty directory.
func runShell(t *testing.T, script []byte, env []string) {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		testtool.Missing(t, "bash not found")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		testtool.Missing(t, "curl not found")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "script.sh")
	if err := os.WriteFile(path, script, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bash, path)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + dir, "LC_ALL=C.UTF-8"}, env...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("bash: %v\n%s", err, stderr.String())
	}
	// curl's progress meter is fine; errors are not.
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, "curl:") || strings.Contains(line, "apitape:") || strings.Contains(line, "line ") {
			t.Errorf("bash wrote an error: %s", line)
		}
	}
}

// buildGo compiles a generated program in its own module and returns the
// binary's path.
func buildGo(t *testing.T, src []byte) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(gobin); err != nil {
			testtool.Missing(t, "go not found")
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module generated\n\ngo 1.22\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), src, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"vet", "."}, {"build", "-o", "prog", "."}} {
		cmd := exec.Command(gobin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", args[0], err, out)
		}
	}
	return filepath.Join(dir, "prog")
}

func runProgram(t *testing.T, bin string, env []string) {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("generated program: %v\n%s", err, stderr.String())
	}
}
