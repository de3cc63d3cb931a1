package convert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/apitape/apitape/har"
)

// chainSession is a recorded session whose later calls use values from
// every kind of source: a cookie (sent back in Cookie), a login token (in
// Authorization), a list's .data[0].id (in a path, a query and a JSON
// body), a Location header's last segment (in a query) and a composite id
// (percent-encoded in a path).
func chainSession() []*har.Entry {
	const origin = "https://chain.example"
	nv := func(pairs ...string) []har.NameValue {
		var out []har.NameValue
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, har.NameValue{Name: pairs[i], Value: pairs[i+1]})
		}
		return out
	}
	entry := func(method, path string, headers []har.NameValue, body string, status int, respHeaders []har.NameValue, resp string) *har.Entry {
		e := &har.Entry{
			Request:  har.Request{Method: method, URL: origin + path, HTTPVersion: "HTTP/1.1", Headers: headers},
			Response: har.Response{Status: status, HTTPVersion: "HTTP/1.1", Headers: respHeaders, Content: har.Content{MimeType: "application/json", Text: str(resp)}},
		}
		if body != "" {
			e.Request.PostData = &har.PostData{MimeType: "application/json", Text: str(body)}
			e.Request.Headers = append(e.Request.Headers, har.NameValue{Name: "Content-Type", Value: "application/json"})
		}
		return e
	}
	auth := func(extra ...string) []har.NameValue {
		return nv(append([]string{"Authorization", "Bearer tok-rec-123456"}, extra...)...)
	}
	return []*har.Entry{
		entry("POST", "/login", nil, `{"user":"u1"}`, 200, nv("Set-Cookie", "SID=sid-rec-1234; Path=/; HttpOnly"), `{"token":"tok-rec-123456"}`),
		entry("GET", "/things", auth("Cookie", "SID=sid-rec-1234"), "", 200, nil, `{"data":[{"id":"th-rec-1234"}]}`),
		entry("POST", "/things", auth(), `{"name":"x"}`, 201, nv("Location", "/things/loc-rec-1234/"), `{"id":"ns:obj-rec-1234"}`),
		entry("GET", "/things/th-rec-1234?loc=loc-rec-1234", auth(), "", 200, nil, `{}`),
		entry("POST", "/refs", auth(), `{"ref":"th-rec-1234","obj":"ns:obj-rec-1234"}`, 200, nil, `{}`),
		entry("GET", "/objs/ns%3Aobj-rec-1234", auth(), "", 200, nil, `{}`),
	}
}

// chainServer answers chainSession's calls with new values each time, or
// with a broken value (mode), and keeps what it received.
type chainServer struct {
	mu   sync.Mutex
	n    int
	mode string // "", "missing", "quote", "control"
	got  []*http.Request
	body [][]byte
}

func (s *chainServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, _ := io.ReadAll(r.Body)
	s.got, s.body = append(s.got, r), append(s.body, b)
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == "POST" && r.URL.Path == "/login":
		s.n++
		token := fmt.Sprintf("tok-live-%d-abcdef", s.n)
		if s.mode == "control" {
			token = "tok\x01live"
		}
		http.SetCookie(w, &http.Cookie{Name: "SID", Value: fmt.Sprintf("sid-live-%d", s.n), Path: "/"})
		json.NewEncoder(w).Encode(map[string]string{"token": token})
	case r.Method == "GET" && r.URL.Path == "/things":
		switch s.mode {
		case "missing":
			io.WriteString(w, `{"data":[]}`)
		case "quote":
			io.WriteString(w, `{"data":[{"id":"th\"live"}]}`)
		default:
			fmt.Fprintf(w, `{"data":[{"id":"th-live-%d"}]}`, s.n)
		}
	case r.Method == "POST" && r.URL.Path == "/things":
		w.Header().Set("Location", fmt.Sprintf("http://%s/things/loc-live-%d?x=1", r.Host, s.n))
		w.WriteHeader(201)
		fmt.Fprintf(w, `{"id":"ns:obj-live-%d"}`, s.n)
	default:
		io.WriteString(w, `{}`)
	}
}

// setMode and logins keep the race detector informed: the handler runs on
// the server's goroutines, driven by another process.
func (s *chainServer) setMode(mode string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = mode
}

func (s *chainServer) logins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func (s *chainServer) take() ([]*http.Request, [][]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	got, body := s.got, s.body
	s.got, s.body = nil, nil
	return got, body
}

// TestChainSources runs the bash script and the Go program of
// chainSession against a server that issues other values: each later call
// must carry the live ones where the recording had the recorded ones, and
// an answer without a value, or with one the later calls cannot send as
// recorded, stops the run with the same message in bash and in Go.
func TestChainSources(t *testing.T) {
	needScriptTools(t, "runs bash, curl, jq and the go tool")
	data := writeHAR(t, chainSession())
	script := convertBytes(t, data, Options{Format: "bash"})
	checkBash(t, "chain bash", script)
	shellcheck(t, "chain bash", script)
	src := convertBytes(t, data, Options{Format: "go"})
	checkGoFormat(t, "chain go", src)
	prog := buildGo(t, src)
	dir := t.TempDir()
	scriptPath := filepath.Join(dir, "chain.sh")
	os.WriteFile(scriptPath, script, 0o700)
	srv := &chainServer{}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	env := []string{"BASE_URL=" + ts.URL}
	for _, c := range [][]byte{script, src} {
		for _, recorded := range []string{"tok-rec-123456", "sid-rec-1234"} {
			if bytes.Contains(c, []byte(recorded)) {
				t.Errorf("output holds the recorded secret %s", recorded)
			}
		}
	}

	tools := []struct {
		name string
		cmd  []string
	}{{"bash", []string{"bash", scriptPath}}, {"go", []string{prog}}}
	for _, tool := range tools {
		t.Run(tool.name, func(t *testing.T) {
			srv.take()
			srv.setMode("")
			if out, err := runTool(dir, env, tool.cmd...); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			got, body := srv.take()
			if len(got) != 6 {
				t.Fatalf("server got %d calls, want 6", len(got))
			}
			n := srv.logins()
			want := []struct {
				call            int
				what, got, want string
			}{
				{1, "Cookie", got[1].Header.Get("Cookie"), fmt.Sprintf("SID=sid-live-%d", n)},
				{1, "Authorization", got[1].Header.Get("Authorization"), fmt.Sprintf("Bearer tok-live-%d-abcdef", n)},
				{3, "target", got[3].RequestURI, fmt.Sprintf("/things/th-live-%d?loc=loc-live-%d", n, n)},
				{4, "body", string(body[4]), fmt.Sprintf(`{"ref":"th-live-%d","obj":"ns:obj-live-%d"}`, n, n)},
				{5, "target", got[5].RequestURI, fmt.Sprintf("/objs/ns%%3Aobj-live-%d", n)},
				{5, "Authorization", got[5].Header.Get("Authorization"), fmt.Sprintf("Bearer tok-live-%d-abcdef", n)},
			}
			for _, w := range want {
				if w.got != w.want {
					t.Errorf("call %d %s: %q, want %q", w.call, w.what, w.got, w.want)
				}
			}

			for _, tt := range []struct{ mode, msg string }{
				{"missing", "apitape: call 1 (GET /things) produced no .data[0].id for THING_ID\n"},
				{"quote", "apitape: call 1 (GET /things): the .data[0].id for THING_ID holds a quote or a backslash, which the JSON body of a later call cannot carry as recorded\n"},
				{"control", "apitape: call 0 (POST /login): the .token for LOGIN_TOKEN holds a control character, which later calls cannot send\n"},
			} {
				srv.setMode(tt.mode)
				out, err := runTool(dir, env, tool.cmd...)
				if err == nil || !strings.HasPrefix(string(out), tt.msg) {
					t.Errorf("%s: %v, stderr %q, want %q", tt.mode, err, out, tt.msg)
				}
				if tt.mode == "missing" {
					checkShownAnswer(t, string(out), `{"data":[]}`)
				}
				if got, _ := srv.take(); len(got) > 2 {
					t.Errorf("%s: %d calls sent, want the run to stop after the producing call", tt.mode, len(got))
				}
			}
		})
	}
}

// TestCurlKeepsRecordedValues: correlation only adds comments to curl
// commands (secret values aside), so that each stays paste-ready and
// sends what the recording sent.
func TestCurlKeepsRecordedValues(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "demo-session.har"))
	if err != nil {
		t.Fatal(err)
	}
	code := func(out []byte) string {
		var b strings.Builder
		for _, line := range strings.SplitAfter(string(out), "\n") {
			if !strings.HasPrefix(line, "#") {
				b.WriteString(line)
			}
		}
		return b.String()
	}
	on := convertBytes(t, data, Options{Format: "curl"})
	off := convertBytes(t, data, Options{Format: "curl", NoCorrelate: true})
	if code(on) != code(off) {
		t.Errorf("correlation changed the curl commands:\n%s", on)
	}
	if !bytes.Contains(on, []byte("#   c-00001 is CLUSTER_ID, the .id of entry 2's answer\n")) {
		t.Errorf("no comment on the cluster id:\n%s", on)
	}

	// A login's token is a secret: a variable in curl too, never written.
	chain := convertBytes(t, writeHAR(t, chainSession()), Options{Format: "curl"})
	for _, s := range []string{"tok-rec-123456", "sid-rec-1234"} {
		if bytes.Contains(chain, []byte(s)) {
			t.Errorf("curl output holds the recorded secret %s:\n%s", s, chain)
		}
	}
	if !bytes.Contains(chain, []byte(`-H 'Authorization: Bearer '"${LOGIN_TOKEN}"`)) || !bytes.Contains(chain, []byte("(needs LOGIN_TOKEN)")) {
		t.Errorf("the token is not a variable in curl:\n%s", chain)
	}
	checkBash(t, "chain curl", chain)
	exact := convertBytes(t, writeHAR(t, chainSession()), Options{Format: "curl", Exact: true})
	if !bytes.Contains(exact, []byte("Bearer tok-rec-123456")) {
		t.Errorf("--exact curl does not keep the recorded token:\n%s", exact)
	}
}

// checkShownAnswer checks what a run that failed printed: the start of
// the answer, and where the whole answer is kept (a file of mode 0600 in
// a folder of mode 0700 that holds it).
func checkShownAnswer(t *testing.T, stderr, answer string) {
	t.Helper()
	if !strings.Contains(stderr, "apitape: the answer (first 2 KiB, secrets masked):\n"+answer+"\n") {
		t.Errorf("the answer is not shown: %q", stderr)
	}
	_, rest, ok := strings.Cut(stderr, "the whole answer is in ")
	path, _, ok2 := strings.Cut(rest, " (headers")
	if !ok || !ok2 {
		t.Fatalf("no path to the whole answer in %q", stderr)
	}
	data, err := os.ReadFile(path)
	if err != nil || strings.TrimRight(string(data), "\n") != answer {
		t.Errorf("kept answer %s: %q, %v; want %q", path, data, err, answer)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		if fi, err := os.Stat(p); err != nil {
			t.Error(err)
		} else if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
		}
	}
}
