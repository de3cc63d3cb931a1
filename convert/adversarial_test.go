package convert

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/demo"
	"github.com/apitape/apitape/internal/loginapp"
	"github.com/apitape/apitape/internal/selection"
	"github.com/apitape/apitape/internal/testtool"
	"github.com/apitape/apitape/redact"
)

// The adversarial sessions of issue 13, each recorded from a real server
// on 127.0.0.1, converted to bash and Go, and run against fresh servers
// (other ids, other tokens, another port) on 127.0.0.1.

// generated is one session's bash script and Go program, ready to run.
type generated struct {
	dir   string
	tools [][]string // {"bash", script} and {program}
	stats Stats
	bash  []byte
	gosrc []byte
}

func generate(t *testing.T, data []byte, opts Options) *generated {
	t.Helper()
	for _, tool := range []string{"bash", "curl", "jq", "go"} {
		testtool.Need(t, tool)
	}
	g := &generated{dir: t.TempDir()}
	var out bytes.Buffer
	var err error
	opts.Format = "bash"
	if g.stats, err = Convert(har.NewReader(bytes.NewReader(data), "adversarial.har"), &out, opts); err != nil {
		t.Fatalf("convert --to bash: %v", err)
	}
	g.bash = out.Bytes()
	checkBash(t, "bash", g.bash)
	shellcheck(t, "bash", g.bash)
	opts.Format = "go"
	g.gosrc = convertBytes(t, data, opts)
	checkGoFormat(t, "go", g.gosrc)
	script := filepath.Join(g.dir, "provision.sh")
	if err := os.WriteFile(script, g.bash, 0o700); err != nil {
		t.Fatal(err)
	}
	g.tools = [][]string{{"bash", script}, {buildGo(t, g.gosrc)}}
	return g
}

// run runs one tool with only env (PATH, TMPDIR aside).
func (g *generated) run(tool []string, env []string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool[0], tool[1:]...)
	cmd.Dir = g.dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "TMPDIR=" + g.dir, "LC_ALL=C.UTF-8"}, env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

func toolName(tool []string) string {
	if tool[0] == "bash" {
		return "bash"
	}
	return "go"
}

// mustRun runs a tool that must succeed with the summary line of n calls.
func (g *generated) mustRun(t *testing.T, tool []string, env []string, n int) {
	t.Helper()
	stdout, stderr, err := g.run(tool, env)
	if err != nil {
		t.Fatalf("%s: %v\n%s", toolName(tool), err, stderr)
	}
	calls := "calls"
	if n == 1 {
		calls = "call"
	}
	if want := fmt.Sprintf("%d %s sent, every status as recorded\n", n, calls); stdout != want {
		t.Errorf("%s: stdout %q, want %q", toolName(tool), stdout, want)
	}
}

// recordWith returns a client whose calls are recorded as HAR entries.
func recordWith(jar http.CookieJar) (*http.Client, *harRecorder) {
	rec := &harRecorder{}
	return &http.Client{Transport: rec, Jar: jar}, rec
}

func mustDo(t *testing.T, c *http.Client, method, target string, header map[string]string, body string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func randomID(prefix string) string {
	var b [4]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// markTypes sets Chrome's _resourceType on the entries, by URL path.
func markTypes(t *testing.T, entries []*har.Entry, document func(path string) bool) {
	for _, e := range entries {
		typ := "xhr"
		_, path, _, _ := splitForTest(e.Request.URL)
		if document(path) {
			typ = "document"
		}
		if err := e.Extra.Set("_resourceType", typ); err != nil {
			t.Fatal(err)
		}
	}
}

func splitForTest(u string) (origin, path, query, frag string) {
	rest := u[strings.Index(u, "://")+3:]
	i := strings.IndexAny(rest, "/?#")
	origin, rest = u[:len(u)-len(rest)+i], rest[i:]
	rest, frag, _ = strings.Cut(rest, "#")
	path, query, _ = strings.Cut(rest, "?")
	return
}

// clusterServer lists and creates clusters the way Rancher's /v3 does.
type clusterServer struct {
	mu       sync.Mutex
	clusters []map[string]string
	gets     []string // ids asked for by GET /v3/clusters/ID
}

func (s *clusterServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == "GET" && r.URL.Path == "/v3/clusters":
		json.NewEncoder(w).Encode(map[string]any{"type": "collection", "data": s.clusters})
	case r.Method == "POST" && r.URL.Path == "/v3/cluster":
		var in map[string]string
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			w.WriteHeader(422)
			return
		}
		c := map[string]string{"id": randomID("c-"), "type": "cluster", "name": in["name"],
			"kubernetesVersion": in["kubernetesVersion"], "description": in["description"]}
		s.clusters = append(s.clusters, c)
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(c)
	case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/v3/clusters/"):
		id := strings.TrimPrefix(r.URL.Path, "/v3/clusters/")
		s.gets = append(s.gets, id)
		for _, c := range s.clusters {
			if c["id"] == id {
				json.NewEncoder(w).Encode(c)
				return
			}
		}
		w.WriteHeader(404)
		io.WriteString(w, `{"type":"error","code":"NotFound"}`)
	default:
		w.WriteHeader(404)
	}
}

// TestAdversarialListBeforeCreate: the user listed clusters on a server
// whose first cluster runs v1.31.4, then created one typing v1.31.4 and
// the same description. The typed values must be sent as typed, on an
// empty server and on one whose first cluster runs v1.29.12; the id the
// create produced is taken from its answer.
func TestAdversarialListBeforeCreate(t *testing.T) {
	rs := &clusterServer{clusters: []map[string]string{{"id": "c-exist1", "type": "cluster", "name": "old",
		"kubernetesVersion": "v1.31.4", "description": "lab cluster for the team"}}}
	recorded := httptest.NewServer(rs)
	c, rec := recordWith(nil)
	mustDo(t, c, "GET", recorded.URL+"/v3/clusters", nil, "")
	_, b := mustDo(t, c, "POST", recorded.URL+"/v3/cluster", map[string]string{"Content-Type": "application/json"},
		`{"name":"rawone","kubernetesVersion":"v1.31.4","description":"lab cluster for the team"}`)
	var made map[string]string
	json.Unmarshal(b, &made)
	mustDo(t, c, "GET", recorded.URL+"/v3/clusters/"+made["id"], nil, "")
	recorded.Close()

	g := generate(t, writeHAR(t, rec.entries), Options{})
	if !slices.Equal(g.stats.Chained, []string{"CLUSTER_ID"}) {
		t.Errorf("chained %q, want only CLUSTER_ID (the typed version and description stay literal)", g.stats.Chained)
	}
	for _, first := range []map[string]string{nil, {"id": "c-other1", "type": "cluster", "name": "other",
		"kubernetesVersion": "v1.29.12", "description": "something else entirely"}} {
		for _, tool := range g.tools {
			fs := &clusterServer{}
			if first != nil {
				fs.clusters = append(fs.clusters, first)
			}
			fresh := httptest.NewServer(fs)
			g.mustRun(t, tool, []string{"BASE_URL=" + fresh.URL}, 3)
			fresh.Close()
			made := fs.clusters[len(fs.clusters)-1]
			if made["name"] != "rawone" || made["kubernetesVersion"] != "v1.31.4" || made["description"] != "lab cluster for the team" {
				t.Errorf("%s, first cluster %v: created %v, want the typed v1.31.4 and description", toolName(tool), first["id"], made)
			}
			if !slices.Equal(fs.gets, []string{made["id"]}) {
				t.Errorf("%s: asked for %q, want the created %s", toolName(tool), fs.gets, made["id"])
			}
		}
	}
}

// echoServer answers like httpbin's /anything: the request repeated, with
// headers as [name, value] pairs, and a trace id of its own.
type echoServer struct {
	mu     sync.Mutex
	bodies []string
}

func (s *echoServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.bodies = append(s.bodies, string(b))
	s.mu.Unlock()
	var hs [][2]string
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range r.Header {
			if !yield(k) {
				return
			}
		}
	}) {
		hs = append(hs, [2]string{k, r.Header.Get(k)})
	}
	hs = append(hs, [2]string{"X-Echo-Trace", randomID("trace-")})
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "url": "http://" + r.Host + r.URL.String(),
		"headers": hs, "data": string(b)})
}

// TestAdversarialEcho: an echo server repeats header names and values and
// adds a trace id; none of it is a value the client must take from the
// answer, and the second call's multipart body (which holds a header
// name, a value the first call sent, and the echo's trace id) is sent
// byte for byte.
func TestAdversarialEcho(t *testing.T) {
	es := &echoServer{}
	recorded := httptest.NewServer(es)
	c, rec := recordWith(nil)
	_, b := mustDo(t, c, "POST", recorded.URL+"/anything?run=7f3k2", map[string]string{"X-Form-Field": "note-a1b2c3",
		"Content-Type": "text/plain"}, "first call note-a1b2c3")
	var echo struct{ Headers [][2]string }
	json.Unmarshal(b, &echo)
	trace := echo.Headers[len(echo.Headers)-1][1]
	multipart := "--XyZ\r\nContent-Disposition: form-data; name=\"X-Form-Field\"\r\nContent-Type: text/plain\r\n\r\nnote-a1b2c3 " + trace +
		"\r\n--XyZ\r\nContent-Disposition: form-data; name=\"h\"\r\n\r\nContent-Length\r\n--XyZ--\r\n"
	mustDo(t, c, "POST", recorded.URL+"/anything", map[string]string{"Content-Type": "multipart/form-data; boundary=XyZ"}, multipart)
	recorded.Close()

	g := generate(t, writeHAR(t, rec.entries), Options{})
	if len(g.stats.Chained) != 0 {
		t.Errorf("an echo bound %q", g.stats.Chained)
	}
	for _, tool := range g.tools {
		fs := &echoServer{}
		fresh := httptest.NewServer(fs)
		g.mustRun(t, tool, []string{"BASE_URL=" + fresh.URL}, 2)
		fresh.Close()
		if len(fs.bodies) != 2 || fs.bodies[1] != multipart {
			t.Errorf("%s: the multipart body arrived as %q, want %q", toolName(tool), fs.bodies, multipart)
		}
	}
}

// selectServer answers GET /v1/select with the cluster it selects (the
// X-Cluster header on the recording server, its own on a fresh one) and
// records the targets of later calls.
type selectServer struct {
	mu      sync.Mutex
	own     string
	targets []string
}

func (s *selectServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/v1/select" {
		id := s.own
		if id == "" {
			id = r.Header.Get("X-Cluster")
		}
		fmt.Fprintf(w, `{"id":%q,"type":"cluster"}`, id)
		return
	}
	s.targets = append(s.targets, r.URL.RequestURI())
	io.WriteString(w, `{}`)
}

// TestAdversarialOneTokenHeader: a header that is exactly one token
// (X-Cluster: c-q7x2m9) is what the user typed; an answer holding the
// same id later does not make it a produced value (the aff9c0a
// regression), so a fresh server answering another id changes nothing.
func TestAdversarialOneTokenHeader(t *testing.T) {
	recorded := httptest.NewServer(&selectServer{})
	c, rec := recordWith(nil)
	hdr := map[string]string{"X-Cluster": "c-q7x2m9"}
	mustDo(t, c, "GET", recorded.URL+"/v1/select", hdr, "")
	mustDo(t, c, "GET", recorded.URL+"/v1/clusters/c-q7x2m9/nodes", hdr, "")
	recorded.Close()

	g := generate(t, writeHAR(t, rec.entries), Options{})
	if len(g.stats.Chained) != 0 {
		t.Errorf("bound %q: the header's value was typed", g.stats.Chained)
	}
	for _, tool := range g.tools {
		fs := &selectServer{own: "c-fresh55"}
		fresh := httptest.NewServer(fs)
		g.mustRun(t, tool, []string{"BASE_URL=" + fresh.URL}, 2)
		fresh.Close()
		if !slices.Equal(fs.targets, []string{"/v1/clusters/c-q7x2m9/nodes"}) {
			t.Errorf("%s: sent %q, want the typed id", toolName(tool), fs.targets)
		}
	}
}

// redirectServer is a redirect chain (/ → /a → /b) whose first answer
// sets a tracking cookie when setCookie; /a wants the cookie.
type redirectServer struct {
	setCookie bool
	mu        sync.Mutex
	cookies   []string
}

func (s *redirectServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.cookies = append(s.cookies, r.Header.Get("Cookie"))
	s.mu.Unlock()
	switch r.URL.Path {
	case "/":
		if s.setCookie {
			http.SetCookie(w, &http.Cookie{Name: "vmidv1", Value: randomID("v1-"), Path: "/"})
		}
		http.Redirect(w, r, "/a", http.StatusFound)
	case "/a":
		if _, err := r.Cookie("vmidv1"); err != nil {
			http.Error(w, "no vmidv1", http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, "/b", http.StatusFound)
	default:
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<p>done</p>")
	}
}

// TestAdversarialRedirectExact: --exact sends the recorded bytes, the
// tracking cookie included, and takes nothing from the answers: the
// chain works on a server that no longer sets the cookie (before, the
// script stopped with "call 0 (GET /) produced no cookie:vmidv1").
func TestAdversarialRedirectExact(t *testing.T) {
	recorded := httptest.NewServer(&redirectServer{setCookie: true})
	jar, _ := cookiejar.New(nil)
	c, rec := recordWith(jar)
	mustDo(t, c, "GET", recorded.URL+"/", nil, "")
	recorded.Close()
	if len(rec.entries) != 3 {
		t.Fatalf("recorded %d hops, want 3", len(rec.entries))
	}
	markTypes(t, rec.entries, func(string) bool { return true })
	data := writeHAR(t, rec.entries)

	g := generate(t, data, Options{Exact: true, Selection: selection.Filter{All: true}})
	if len(g.stats.Chained) != 0 {
		t.Errorf("--exact took %q from answers", g.stats.Chained)
	}
	recordedCookie, _ := har.Header(rec.entries[1].Request.Headers, "Cookie")
	for _, tool := range g.tools {
		fs := &redirectServer{}
		fresh := httptest.NewServer(fs)
		g.mustRun(t, tool, []string{"BASE_URL=" + fresh.URL}, 3)
		fresh.Close()
		if len(fs.cookies) != 3 || fs.cookies[1] != recordedCookie {
			t.Errorf("%s: cookies %q, want the recorded %q on the second hop", toolName(tool), fs.cookies, recordedCookie)
		}
	}
}

// testRedactor is the redaction stage convert runs by default, with a
// fixed key.
func testRedactor(t testing.TB) func(int, []byte) ([]byte, error) {
	r, err := redact.New(redact.Options{Key: []byte("adversarial-test-key-0123456789")})
	if err != nil {
		t.Fatal(err)
	}
	return func(index int, raw []byte) ([]byte, error) {
		out, _, err := r.Entry(index, raw)
		return out, err
	}
}

// TestAdversarialRancherKey: a session recorded with a Rancher API key
// (any client through capture proxy) runs with another server's whole
// key, RANCHER_TOKEN=token-…:…, as its owner pastes it.
func TestAdversarialRancherKey(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	recorded, err := demo.Start(ctx, "127.0.0.1:0", demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, rec := recordWith(nil)
	auth := map[string]string{"Authorization": "Bearer " + recorded.APIKey, "Accept": "application/json", "Content-Type": "application/json"}
	mustDo(t, c, "GET", recorded.URL+"/v3/clusters", auth, "")
	resp, b := mustDo(t, c, "POST", recorded.URL+"/v3/cluster?_replace=true", auth,
		`{"type":"cluster","name":"keyed","dockerRootDir":"/var/lib/docker","rancherKubernetesEngineConfig":{"network":{"plugin":"canal"}}}`)
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, b)
	}
	var made map[string]any
	json.Unmarshal(b, &made)
	mustDo(t, c, "GET", recorded.URL+"/v3/clusters/"+made["id"].(string), auth, "")
	recorded.Close()

	g := generate(t, writeHAR(t, rec.entries), Options{Redact: testRedactor(t)})
	if !slices.Equal(g.stats.Env, []string{EnvRancherToken}) {
		t.Errorf("the outputs need %q, want only RANCHER_TOKEN", g.stats.Env)
	}
	name, _, _ := strings.Cut(recorded.APIKey, ":")
	for _, src := range [][]byte{g.bash, g.gosrc} {
		if bytes.Contains(src, []byte(name)) {
			t.Errorf("an output keeps the recording's token name %s", name)
		}
	}
	for _, tool := range g.tools {
		fresh, err := demo.Start(ctx, "127.0.0.1:0", demo.Options{})
		if err != nil {
			t.Fatal(err)
		}
		g.mustRun(t, tool, []string{"BASE_URL=" + fresh.URL, "RANCHER_TOKEN=" + fresh.APIKey}, 3)
		fresh.Close()
	}
}

// TestAdversarialLoginPage: recorded with the default flags, a session
// that logged in through a page (a token in its URL, a session cookie
// whose name holds the port) gives a script and a program that need only
// that token and BASE_URL, and they work against a fresh instance on
// another port with another token.
func TestAdversarialLoginPage(t *testing.T) {
	const recordedToken = "c0ffee4d1e5e7a1b2c3d4e5f60718293a4b5c6d7e8f90a1b"
	app := loginapp.Start(recordedToken)
	defer app.Close()
	srv := app
	jar, _ := cookiejar.New(nil)
	c, rec := recordWith(jar)
	mustDo(t, c, "GET", srv.URL+"/login?token="+recordedToken, nil, "")
	mustDo(t, c, "GET", srv.URL+"/api/items", nil, "")
	var xsrf string
	for _, ck := range jar.Cookies(mustURL(t, srv.URL)) {
		if ck.Name == "_xsrf" {
			xsrf = ck.Value
		}
	}
	_, b := mustDo(t, c, "POST", srv.URL+"/api/items", map[string]string{"Content-Type": "application/json", "X-XSRFToken": xsrf}, `{"name":"notebook-1"}`)
	var made map[string]string
	json.Unmarshal(b, &made)
	mustDo(t, c, "GET", srv.URL+"/api/items/"+made["id"], nil, "")
	if posted, _, _ := app.Items(); posted != 1 {
		t.Fatalf("recording: %d items posted", posted)
	}
	markTypes(t, rec.entries, func(p string) bool { return p == "/login" || p == "/app" })
	data := writeHAR(t, rec.entries)

	g := generate(t, data, Options{Redact: testRedactor(t), AddProducers: true})
	if len(g.stats.Env) != 1 || !strings.HasPrefix(g.stats.Env[0], "APITAPE_SECRET_") {
		t.Fatalf("the outputs need %q, want only the login token's variable", g.stats.Env)
	}
	tokenVar := g.stats.Env[0]
	for _, src := range [][]byte{g.bash, g.gosrc} {
		if bytes.Contains(src, []byte(recordedToken)) {
			t.Error("an output holds the recorded token")
		}
		for _, want := range []string{"query parameter `token` that call 0 (GET /login) sent", "Also sends"} {
			if !bytes.Contains(src, []byte(want)) {
				t.Errorf("the header does not say %q", want)
			}
		}
	}
	vars := convertBytes(t, data, Options{Format: "vars", Redact: testRedactor(t), AddProducers: true})
	if !bytes.Contains(vars, []byte("sent too, although not API calls: their answers give the selected calls a value:\n  #0 GET /login\n")) {
		t.Errorf("inspect does not say the login page is added:\n%s", vars)
	}
	const freshToken = "feedface0123456789abcdef0123456789abcdef01234567"
	for _, tool := range g.tools {
		fresh := loginapp.Start(freshToken)
		defer fresh.Close()
		if fresh.CookieName == app.CookieName {
			t.Fatal("the fresh app got the recording's port")
		}
		g.mustRun(t, tool, []string{"BASE_URL=" + fresh.URL, tokenVar + "=" + freshToken}, 4)
		if posted, asked, names := fresh.Items(); posted != 1 || len(asked) != 1 || names[asked[0]] != "notebook-1" {
			t.Errorf("%s: posted %d, asked for %q", toolName(tool), posted, asked)
		}
		// With a wrong token the page refuses, and the run says why.
		_, stderr, err := g.run(tool, []string{"BASE_URL=" + fresh.URL, tokenVar + "=wrong-token-value"})
		if err == nil || !strings.Contains(stderr, "call 0 (GET /login) failed: HTTP 403 (recorded 302)") || !strings.Contains(stderr, "bad token") {
			t.Errorf("%s with a wrong token: %v\n%s", toolName(tool), err, stderr)
		}
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestFirstRunOutput: a call that fails shows the start of its answer
// with the secrets the run holds masked, and where the whole answer is;
// APITAPE_RESPONSES keeps every answer in a private folder.
func TestFirstRunOutput(t *testing.T) {
	const recordedKey = "token-abcde:recordedsecretrecordedsecret"
	e := &har.Entry{
		Request:  har.Request{Method: "POST", URL: "http://api.invalid/v3/cluster", HTTPVersion: "HTTP/1.1", Headers: []har.NameValue{{Name: "Authorization", Value: "Bearer " + recordedKey}}},
		Response: har.Response{Status: 201, HTTPVersion: "HTTP/1.1"},
	}
	g := generate(t, writeHAR(t, []*har.Entry{e}), Options{Redact: testRedactor(t)})
	const liveKey = "token-fghij:livesecretlivesecretlivesecret"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(422)
		fmt.Fprintf(w, `{"code":"NotUnique","fieldName":"Cluster name","yourToken":%q}`, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	}))
	defer srv.Close()
	for _, tool := range g.tools {
		responses := filepath.Join(g.dir, "responses-"+toolName(tool))
		if len(g.stats.Env) != 1 {
			t.Fatalf("needs %q", g.stats.Env)
		}
		_, stderr, err := g.run(tool, []string{"BASE_URL=" + srv.URL, g.stats.Env[0] + "=" + liveKey, "APITAPE_RESPONSES=" + responses})
		if err == nil || !strings.Contains(stderr, "call 0 (POST /v3/cluster) failed: HTTP 422 (recorded 201)") {
			t.Fatalf("%s: %v\n%s", toolName(tool), err, stderr)
		}
		if strings.Contains(stderr, "livesecret") || !strings.Contains(stderr, `"yourToken":"***"`) || !strings.Contains(stderr, "NotUnique") {
			t.Errorf("%s: the answer is not shown with its secret masked:\n%s", toolName(tool), stderr)
		}
		if !strings.Contains(stderr, "the whole answer is in "+filepath.Join(responses, "resp-0.body")) {
			t.Errorf("%s: no path to the kept answer:\n%s", toolName(tool), stderr)
		}
		for p, want := range map[string]os.FileMode{responses: 0o700, filepath.Join(responses, "resp-0.body"): 0o600, filepath.Join(responses, "resp-0.headers"): 0o600} {
			if fi, err := os.Stat(p); err != nil {
				t.Errorf("%s: %v", toolName(tool), err)
			} else if fi.Mode().Perm() != want {
				t.Errorf("%s: %s has mode %v, want %v", toolName(tool), p, fi.Mode().Perm(), want)
			}
		}
	}
}
