package convert

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/chromium"
	"github.com/apitape/apitape/internal/demo"
	"github.com/apitape/apitape/internal/testtool"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// targetRunner runs one format's output: the command line for a file.
type targetRunner struct {
	format, file string
	cmd          func(path string) []string
}

// scriptRunners are the runners of the Python script, the fetch module
// and the HTTPie script, after checking that their tools are installed.
func scriptRunners(t *testing.T) []targetRunner {
	t.Helper()
	if testing.Short() {
		t.Skip("runs python3, node and http")
	}
	py := pythonWith(t, "requests")
	node := testtool.Need(t, "node")
	testtool.Need(t, "http")
	testtool.Need(t, "jq")
	return []targetRunner{
		{"python", "calls.py", func(p string) []string { return []string{py, p} }},
		{"fetch", "calls.mjs", func(p string) []string { return []string{node, p} }},
		{"httpie", "calls.sh", func(p string) []string { return []string{"bash", p} }},
	}
}

// TestTargetsDemo runs the Python script, the fetch module and the HTTPie
// script made from the demo session (testdata/demo-session.har, recorded
// by TestDemoSession) twice each against one fresh demo server: every run
// creates its own credential, template, cluster and node pool, referring
// to each other, from the ids its own answers gave.
func TestTargetsDemo(t *testing.T) {
	runners := scriptRunners(t)
	data := mustRead(t, filepath.Join("testdata", "demo-session.har"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fresh, err := demo.Start(ctx, "127.0.0.1:0", demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	env := []string{"BASE_URL=" + fresh.URL, "RANCHER_TOKEN=" + fresh.APIKey}
	api := &demoClient{t: t, base: fresh.URL, apiKey: fresh.APIKey, client: http.DefaultClient}
	n := 0
	for _, r := range runners {
		src := convertBytes(t, data, Options{Format: r.format, Name: "demo-session.har"})
		dir, path := writeScript(t, r.file, src)
		for i := 1; i <= 2; i++ {
			out := runTarget(t, dir, env, r.cmd(path)...)
			if want := "10 calls sent, every status as recorded\n"; out != want {
				t.Errorf("%s run %d printed %q, want %q", r.format, i, out, want)
			}
			n++
			checkDemoState(t, api, r.format+" run "+strconv.Itoa(i), n)
		}
	}
}

// TestTargetsFailure: a call that fails stops each output with a message
// that names it, its status and the first 2 KiB of the answer, with every
// secret masked; the answers kept in APITAPE_RESPONSES are 0600 files in
// a 0700 folder. The demo refuses the recorded cloud credential's id (the
// session is converted with --no-correlate), and the answer echoes the
// bearer token the script sent.
func TestTargetsFailure(t *testing.T) {
	runners := scriptRunners(t)
	data := mustRead(t, filepath.Join("testdata", "demo-session.har"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fresh, err := demo.Start(ctx, "127.0.0.1:0", demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	for _, r := range runners {
		t.Run(r.format, func(t *testing.T) {
			src := convertBytes(t, data, Options{Format: r.format, Name: "demo-session.har", NoCorrelate: true})
			dir, path := writeScript(t, r.file, src)
			// A folder that is there already, readable by others: the
			// answers hold live tokens, so it must end up 0700 all the same.
			responses := filepath.Join(dir, "answers")
			if err := os.Mkdir(responses, 0o755); err != nil || os.Chmod(responses, 0o755) != nil {
				t.Fatal(err)
			}
			env := []string{"BASE_URL=" + fresh.URL, "RANCHER_TOKEN=" + fresh.APIKey, "APITAPE_RESPONSES=" + responses}
			stderr, err := runTool(dir, env, r.cmd(path)...)
			if err == nil {
				t.Fatalf("the run succeeded; want call 1 to fail")
			}
			msg := string(stderr)
			for _, want := range []string{
				"apitape: call 1 (POST /v3/nodetemplate) failed: HTTP 422 (recorded 201)\n",
				"secrets masked):\n",
				"cloudCredentialId",
				"apitape: the whole answer is in " + responses + "/resp-1.body",
			} {
				if !strings.Contains(msg, want) {
					t.Errorf("stderr lacks %q:\n%s", want, msg)
				}
			}
			key := fresh.APIKey[strings.LastIndex(fresh.APIKey, ":")+1:]
			if strings.Contains(msg, key) {
				t.Errorf("stderr shows the API key's secret:\n%s", msg)
			}
			fi, err := os.Stat(responses)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o700 {
				t.Errorf("%s: mode %v, want 0700", responses, fi.Mode().Perm())
			}
			files, _ := filepath.Glob(filepath.Join(responses, "resp-*"))
			if len(files) < 2 {
				t.Errorf("answers kept: %v", files)
			}
			for _, f := range files {
				if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
					t.Errorf("%s: %v, mode %v, want 0600", f, err, fi.Mode().Perm())
				}
			}
		})
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// TestLocustDistributed runs the locustfile made from the demo session
// the way a load test runs on many machines: a Locust master and one
// worker, on loopback, three users for a few seconds against a fresh
// demo server. Each user creates clusters named after it (APITAPE_UNIQUE),
// with ids from its own answers. There must be no failure, every call
// must show in Locust's CSV under its route, each step at most as often
// as the one before it, and the demo must hold one node pool for each
// round that created one.
func TestLocustDistributed(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a Locust master and worker")
	}
	locust := testtool.Need(t, "locust")
	pythonWith(t, "locust", "requests")
	data := mustRead(t, filepath.Join("testdata", "demo-session.har"))
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	fresh, err := demo.Start(ctx, "127.0.0.1:0", demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	src := convertBytes(t, data, Options{Format: "locust", Name: "demo-session.har"})
	dir, path := writeScript(t, "locustfile.py", src)
	port := freePort(t)
	env := append(os.Environ(), "RANCHER_TOKEN="+fresh.APIKey, "APITAPE_UNIQUE=lab", "HOME="+dir)
	start := func(args ...string) (*exec.Cmd, *strings.Builder) {
		cmd := exec.CommandContext(ctx, locust, append([]string{"-f", path}, args...)...)
		cmd.Dir, cmd.Env = dir, env
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &out
	}
	master, masterOut := start("--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", port,
		"--headless", "--expect-workers", "1", "--expect-workers-max-wait", "60",
		"-u", "3", "-r", "3", "-t", "4s", "--stop-timeout", "20", "--host", fresh.URL, "--csv", filepath.Join(dir, "run"), "--only-summary")
	worker, workerOut := start("--worker", "--master-host", "127.0.0.1", "--master-port", port)
	masterErr := master.Wait()
	workerDone := make(chan error, 1)
	go func() { workerDone <- worker.Wait() }()
	select {
	case <-workerDone:
	case <-time.After(30 * time.Second):
		worker.Process.Kill()
		<-workerDone
		t.Errorf("the worker did not stop with the master")
	}
	if masterErr != nil {
		t.Fatalf("locust master: %v\n%s\nworker:\n%s", masterErr, masterOut, workerOut)
	}

	f, err := os.Open(filepath.Join(dir, "run_stats.csv"))
	if err != nil {
		t.Fatalf("%v\n%s", err, masterOut)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	counts := map[string]int{}
	for _, row := range rows[1:] {
		n, _ := strconv.Atoi(row[col["Request Count"]])
		failures, _ := strconv.Atoi(row[col["Failure Count"]])
		if failures != 0 {
			t.Errorf("%s %s: %d failures\n%s", row[col["Type"]], row[col["Name"]], failures, masterOut)
		}
		counts[row[col["Type"]]+" "+row[col["Name"]]] = n
	}
	flow := []string{
		"POST /v3/cloudcredential", "POST /v3/nodetemplate", "POST /v3/cluster", "PUT /v3/clusters/[id]",
		"POST /v3/nodepool", "GET /v3/nodepools/[id]", "POST /v3/clusters/[id]", "GET /v3/clusters",
		"GET /v3/clusters/[id]/nodepools", "GET /v3/nodetemplates/[id]",
	}
	for i, step := range flow {
		if counts[step] == 0 {
			t.Errorf("no %s in Locust's statistics: %v", step, counts)
		}
		if i > 0 && counts[step] > counts[flow[i-1]] {
			t.Errorf("%s sent %d times, more than %s (%d)", step, counts[step], flow[i-1], counts[flow[i-1]])
		}
	}
	t.Logf("Locust, master and one worker, 3 users for 4 s: %v", counts)
	api := &demoClient{t: t, base: fresh.URL, apiKey: fresh.APIKey, client: http.DefaultClient}
	if pools := api.list("/v3/nodepools"); len(pools) != counts["POST /v3/nodepool"] {
		t.Errorf("the demo holds %d node pools, Locust sent %d POST /v3/nodepool", len(pools), counts["POST /v3/nodepool"])
	}
}

// TestTargetsMaskSecrets: an answer that echoes the credential the call
// sent is printed with the credential masked, whole or as the token after
// "Bearer ".
func TestTargetsMaskSecrets(t *testing.T) {
	runners := scriptRunners(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		w.WriteHeader(500)
		fmt.Fprintf(w, "{\"sent\":%q,\"token\":%q,\"pad\":%q}\n", auth, strings.TrimPrefix(auth, "Bearer "), strings.Repeat("x", 3000))
	}))
	defer srv.Close()
	data := writeHAR(t, []*har.Entry{{
		StartedDateTime: "2025-01-01T00:00:00.000Z",
		Request: har.Request{Method: "GET", URL: srv.URL + "/v3/echo", HTTPVersion: "HTTP/1.1",
			Headers: []har.NameValue{{Name: "Authorization", Value: "Bearer recorded-token-1234"}}},
		Response: har.Response{Status: 200, StatusText: "OK"},
	}})
	const token = "s3cr3t-live-token-5678"
	for _, r := range runners {
		src := convertBytes(t, data, Options{Format: r.format})
		dir, path := writeScript(t, r.file, src)
		stderr, err := runTool(dir, []string{"AUTHORIZATION=Bearer " + token}, r.cmd(path)...)
		msg := string(stderr)
		if err == nil || !strings.Contains(msg, "apitape: call 0 (GET /v3/echo) failed: HTTP 500 (recorded 200)\n") {
			t.Errorf("%s: %v\n%s", r.format, err, msg)
		}
		if strings.Contains(msg, token) || !strings.Contains(msg, `{"sent":"***","token":"***"`) {
			t.Errorf("%s: the secret is not masked:\n%s", r.format, msg)
		}
		if !strings.Contains(msg, "bytes, the first 2 KiB; secrets masked):") || len(msg) > 2600 {
			t.Errorf("%s: %d bytes of stderr, want the answer cut at 2 KiB", r.format, len(msg))
		}
	}
}

// TestFetchInBrowserConsole pastes the fetch module made from the demo
// session into headless Chromium's console (Runtime.evaluate in REPL
// mode, as DevTools' console runs what is typed) on a page of a fresh
// demo server: with the variables in globalThis.APITAPE_ENV it creates
// the demo's resources there, under the browser's own rules for headers.
// A browser sends its own User-Agent, so Rancher's (and the demo's) CSRF
// check applies: the session is recorded as a browser sends it, with
// X-Api-Csrf, and CSRF_TOKEN is the page's CSRF cookie, as the module's
// head says.
func TestFetchInBrowserConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Chromium")
	}
	exe, err := chromium.Find()
	if err != nil {
		testtool.Missing(t, "no Chromium: %v", err)
	}
	session, err := har.ReadAll(bytes.NewReader(mustRead(t, filepath.Join("testdata", "demo-session.har"))), "demo-session.har")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range session.Log.Entries {
		e.Request.Headers = append(e.Request.Headers, har.NameValue{Name: "X-Api-Csrf", Value: "recorded-csrf"})
	}
	src := convertBytes(t, writeHAR(t, session.Log.Entries), Options{Format: "fetch", Name: "demo-session.har"})
	if !bytes.Contains(src, []byte(`s.line("CSRF_TOKEN")`)) {
		t.Fatalf("the module does not send CSRF_TOKEN:\n%s", src)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	fresh, err := demo.Start(ctx, "127.0.0.1:0", demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, chromium.AllocatorOptions(exe, "", true)...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if err := chromedp.Do(bctx, chromedp.Navigate(fresh.URL+"/")); err != nil {
		t.Fatal(err)
	}
	yes := true
	console := func(p *runtime.EvaluateParams) { p.ReplMode, p.AwaitPromise = &yes, &yes }
	// Any API answer gives a browser its CSRF cookie.
	csrf, err := chromedp.Run(bctx, chromedp.Evaluate[string](`await fetch("/v3/clusters", { headers: { Authorization: "Bearer `+fresh.APIKey+`" } });
document.cookie.match(/(?:^|; )CSRF=([^;]+)/)[1];`, console))
	if err != nil {
		t.Fatal(err)
	}
	env, _ := json.Marshal(map[string]string{"BASE_URL": fresh.URL, "RANCHER_TOKEN": fresh.APIKey, "CSRF_TOKEN": csrf})
	api := &demoClient{t: t, base: fresh.URL, apiKey: fresh.APIKey, client: http.DefaultClient}
	for i := 1; i <= 2; i++ {
		got, err := chromedp.Run(bctx, chromedp.Evaluate[string]("globalThis.APITAPE_ENV = "+string(env)+";\n"+string(src)+"\n\"pasted\";", console))
		if err != nil || got != "pasted" {
			t.Fatalf("run %d in the console: %q, %v", i, got, err)
		}
		checkDemoState(t, api, "browser run "+strconv.Itoa(i), i)
	}
}

// TestLocustThinkTime: a user waits between two calls the recording's
// gap (from the first call's end to the second's start) times
// APITAPE_THINK_SCALE.
func TestLocustThinkTime(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Locust")
	}
	locust := testtool.Need(t, "locust")
	pythonWith(t, "locust", "requests")
	var mu sync.Mutex
	var arrivals []time.Time
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrivals, paths = append(arrivals, time.Now()), append(paths, r.URL.Path)
		mu.Unlock()
	}))
	defer srv.Close()
	entry := func(started string, elapsed float64, path string) *har.Entry {
		return &har.Entry{StartedDateTime: started, Time: elapsed,
			Request:  har.Request{Method: "GET", URL: recordedOrigin + path, HTTPVersion: "HTTP/1.1"},
			Response: har.Response{Status: 200, StatusText: "OK"}}
	}
	// The first call ends at 00:00:00.500, the second starts 2 s later.
	data := writeHAR(t, []*har.Entry{entry("2025-01-01T00:00:00.000Z", 500, "/first"), entry("2025-01-01T00:00:02.500Z", 10, "/second")})
	dir, path := writeScript(t, "locustfile.py", convertBytes(t, data, Options{Format: "locust"}))
	runLocustOneUser(t, locust, dir, path, srv.URL, "3s", "0.5")
	mu.Lock()
	defer mu.Unlock()
	if len(paths) < 2 || paths[0] != "/first" || paths[1] != "/second" {
		t.Fatalf("received %v", paths)
	}
	if gap := arrivals[1].Sub(arrivals[0]); gap < time.Second {
		t.Errorf("the user waited %v between the calls, want at least 1s (2 s recorded, scale 0.5)", gap)
	}
}

// A call the recording answered with an error status (the UI asking who is
// logged in before the login: 401) is a success when it gets that status
// again. Locust counts every 4xx and 5xx that the script does not mark as a
// success, so such a call used to fail every round; locust exits 1 when
// anything failed.
func TestLocustRecordedErrorStatus(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Locust")
	}
	locust := testtool.Need(t, "locust")
	pythonWith(t, "locust", "requests")
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		if r.URL.Path == "/me" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	entry := func(path string, status int) *har.Entry {
		return &har.Entry{StartedDateTime: "2025-01-01T00:00:00.000Z", Time: 1,
			Request:  har.Request{Method: "GET", URL: recordedOrigin + path, HTTPVersion: "HTTP/1.1"},
			Response: har.Response{Status: status}}
	}
	data := writeHAR(t, []*har.Entry{entry("/me", 401), entry("/after", 200)})
	dir, path := writeScript(t, "locustfile.py", convertBytes(t, data, Options{Format: "locust"}))
	runLocustOneUser(t, locust, dir, path, srv.URL, "2s", "0")
	mu.Lock()
	defer mu.Unlock()
	if len(paths) < 2 || paths[0] != "/me" || paths[1] != "/after" {
		t.Fatalf("received %v", paths[:min(len(paths), 4)])
	}
}

// runLocustOneUser runs the locustfile at path headless with one user for
// duration against host; locust exits non-zero when any call failed.
func runLocustOneUser(t *testing.T, locust, dir, path, host, duration, thinkScale string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, locust, "-f", path, "--headless", "-u", "1", "-r", "1", "-t", duration, "--stop-timeout", "10",
		"--host", host, "--only-summary")
	cmd.Dir, cmd.Env = dir, append(os.Environ(), "HOME="+dir, "APITAPE_THINK_SCALE="+thinkScale)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("locust: %v\n%s", err, out)
	}
}
