package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestStatePersistence(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")

	s1, err := New(Options{StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	if len(s1.Password()) < 16 {
		t.Fatalf("generated password %q is too weak", s1.Password())
	}
	f1 := &fixture{t: t, srv: s1, ts: httptest.NewServer(s1)}
	defer f1.ts.Close()
	c := f1.createCluster("lab", nil)
	cc := f1.must(201, req{method: "POST", path: "/v3/cloudcredentials", body: map[string]any{"name": "aws",
		"amazonec2credentialConfig": map[string]any{"secretKey": "s3cr3t"}}}).json(t)

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, want 0600 (it holds tokens)", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left beside the state: %v", entries)
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), s1.Password()) {
		t.Errorf("state file holds the plaintext password")
	}

	// A restart without --password keeps the stored password and API key.
	s2, err := New(Options{StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	if s2.APIKey() != s1.APIKey() || s2.Password() != "" {
		t.Errorf("restart: key %q (want %q), password %q (want \"\": kept)", s2.APIKey(), s1.APIKey(), s2.Password())
	}
	f2 := &fixture{t: t, srv: s2, ts: httptest.NewServer(s2)}
	defer f2.ts.Close()
	got := f2.must(200, req{path: "/v3/clusters/" + c["id"].(string)}).json(t)
	if got["name"] != "lab" || got["uuid"] != c["uuid"] || got["created"] != c["created"] {
		t.Errorf("cluster after restart: %v", got)
	}
	if m := f2.must(200, req{path: "/v3/cloudcredentials/" + cc["id"].(string)}).json(t); get(m, "amazonec2credentialConfig", "secretKey") != nil {
		t.Errorf("secret shown after restart")
	}
	login := func(f *fixture, pass string) int {
		return f.do(req{method: "POST", path: "/v3-public/localProviders/local?action=login", auth: "-",
			body: map[string]any{"username": "admin", "password": pass, "responseType": "token"}}).status
	}
	if st := login(f2, s1.Password()); st != 201 {
		t.Errorf("login with the kept password: %d", st)
	}

	// --password replaces the stored one.
	s3, err := New(Options{StatePath: path, Password: "replacement-pass"})
	if err != nil {
		t.Fatal(err)
	}
	f3 := &fixture{t: t, srv: s3, ts: httptest.NewServer(s3)}
	defer f3.ts.Close()
	if login(f3, s1.Password()) != 401 || login(f3, "replacement-pass") != 201 {
		t.Errorf("--password did not replace the stored password")
	}
}

func TestStateFileErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content, want string
	}{
		{"not json", `{"tokens": token-abcde:secretsecret`, "not valid JSON"},
		{"other version", `{"version": 99}`, "version 99"},
	}
	for _, tt := range tests {
		path := filepath.Join(dir, tt.name)
		if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := New(Options{StatePath: path})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want %q", tt.name, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "secretsecret") {
			t.Errorf("%s: the error quotes the file, which holds tokens: %v", tt.name, err)
		}
	}
	if _, err := New(Options{StatePath: filepath.Join(dir, "missing", "state.json")}); err == nil {
		t.Errorf("unwritable state path accepted")
	}
}

// TestStateConcurrentWrites runs parallel writes with a state file, so that
// the race detector sees the save path.
func TestStateConcurrentWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	f := newFixture(t, Options{StatePath: path, Password: testPass})
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() { f.createCluster(fmt.Sprintf("c%d", i), nil) })
	}
	wg.Wait()
	s2, err := New(Options{StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s2.st.Objects["cluster"]); n != 10 {
		t.Errorf("%d clusters after restart, want 10", n)
	}
}

func TestStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logMu sync.Mutex
	var logs []string
	r, err := Start(ctx, "", Options{Logf: func(format string, args ...any) {
		logMu.Lock()
		logs = append(logs, fmt.Sprintf(format, args...))
		logMu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !regexp.MustCompile(`^http://127\.0\.0\.1:\d+$`).MatchString(r.URL) {
		t.Errorf("URL %q", r.URL)
	}
	if r.User != "admin" || len(r.Password) < 16 || r.APIKey != r.Server.APIKey() || !reToken.MatchString(r.APIKey) {
		t.Errorf("Running %+v", r)
	}
	hreq, _ := http.NewRequest("GET", r.URL+"/v3/clusters?marker=secret-query", nil)
	hreq.Header.Set("Authorization", "Bearer "+r.APIKey)
	res, err := http.DefaultClient.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	logMu.Lock()
	joined := strings.Join(logs, "\n")
	logMu.Unlock()
	if !strings.Contains(joined, "GET /v3/clusters 200") || strings.Contains(joined, "secret-query") || strings.Contains(joined, r.APIKey) {
		t.Errorf("request log %q: want method, path and status, never the query or credentials", joined)
	}

	cancel() // ctx done: the server stops
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := http.Get(r.URL + "/")
		if err != nil && errors.Is(err, syscall.ECONNREFUSED) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server still answers after ctx was cancelled (last error %v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestStartErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := Start(context.Background(), ln.Addr().String(), Options{}); err == nil {
		t.Errorf("Start on a busy port succeeded")
	}
	if _, err := Start(context.Background(), "", Options{Variant: "nope"}); err == nil {
		t.Errorf("Start with an unknown variant succeeded")
	}
}

func TestDialAddr(t *testing.T) {
	tests := []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80}, "127.0.0.1:80"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 81}, "127.0.0.1:81"},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 82}, "127.0.0.1:82"},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 83}, "[::1]:83"},
	}
	for _, tt := range tests {
		if got := dialAddr(tt.addr); got != tt.want {
			t.Errorf("dialAddr(%v) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

func TestIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 2000 {
		id := newName("c-")
		if !reCluster.MatchString(id) {
			t.Fatalf("id %q outside the alphabet", id)
		}
		seen[id] = true
	}
	if len(seen) < 1990 {
		t.Errorf("only %d distinct ids out of 2000", len(seen))
	}
	// Every character of the alphabet shows up (no modulo bias leaving
	// some out).
	all := randomString(5000)
	for _, c := range idAlphabet {
		if !strings.ContainsRune(all, c) {
			t.Errorf("%q never generated", c)
		}
	}
	if strings.ContainsAny(all, "aeiou013") {
		t.Errorf("generated a character outside the alphabet")
	}
	if !reUUID.MatchString(newUUID()) || !reCSRF.MatchString(newCSRF()) {
		t.Errorf("uuid %q csrf %q", newUUID(), newCSRF())
	}
}

func TestPasswordHash(t *testing.T) {
	h := hashPassword("pw-1")
	if !checkPassword(h, "pw-1") || checkPassword(h, "pw-2") || checkPassword("garbage", "pw-1") || h == hashPassword("pw-1") {
		t.Errorf("hash %q does not check, or is unsalted", h)
	}
}

// TestStateFileEmpty: an empty file, as `--state "$(mktemp)"` or `touch`
// leaves it, is a new state, not a JSON error; the server then fills it.
func TestStateFileEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{StatePath: path, Password: testPass})
	if err != nil {
		t.Fatalf("empty state file: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(data), s.APIKey()[:len("token-xxxxx")]) {
		t.Errorf("state file not written with the new state (err %v): %d bytes", err, len(data))
	}
}
