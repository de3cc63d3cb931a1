package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/chromium"
	"github.com/apitape/apitape/internal/demo"
	"github.com/apitape/apitape/internal/testtool"
	"github.com/apitape/apitape/redact"
	"github.com/rogpeppe/go-internal/testscript"
)

// har-calls FILE prints one line per entry, "METHOD PATH?QUERY STATUS TYPE",
// so scripts can check a recording with stdout patterns.
func init() {
	scriptCmds["har-calls"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: har-calls FILE")
		}
		f, err := os.Open(ts.MkAbs(args[0]))
		ts.Check(err)
		defer f.Close()
		h, err := har.ReadAll(f, args[0])
		ts.Check(err)
		for _, e := range h.Log.Entries {
			target := e.Request.URL
			if u, err := url.Parse(e.Request.URL); err == nil && u.Host != "" {
				target = u.RequestURI()
			}
			fmt.Fprintf(ts.Stdout(), "%s %s %d %s\n", e.Request.Method, target, e.Response.Status, e.ResourceType())
		}
	}
}

// closed-url NAME sets $NAME to a loopback URL where nothing listens (a
// port just released); error-page NAME STATUS sets $NAME to a server that
// answers every request with STATUS.
func init() {
	scriptCmds["closed-url"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: closed-url NAME")
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		ts.Check(err)
		ts.Setenv(args[0], "http://"+l.Addr().String()+"/")
		l.Close()
	}
	scriptCmds["error-page"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 2 {
			ts.Fatalf("usage: error-page NAME STATUS")
		}
		status, err := strconv.Atoi(args[1])
		ts.Check(err)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(status)
			fmt.Fprintf(w, "<!doctype html><h1>%d</h1>", status)
		}))
		ts.Setenv(args[0], srv.URL+"/")
		ts.Defer(srv.Close)
	}
}

// TestCaptureBrowserDemoToBash is the whole path for a browser recording:
// record the demo flow (redacted, the default), convert it to a bash
// script, and run the script against a fresh demo server, where it must
// create the cluster.
func TestCaptureBrowserDemoToBash(t *testing.T) {
	if !chromium.Available() {
		testtool.Missing(t, "no Chromium or Chrome installed")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		testtool.Missing(t, "no bash")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		testtool.Missing(t, "no curl")
	}
	ctx := context.Background()
	rec, err := demo.Start(ctx, "127.0.0.1:0", demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	dir := t.TempDir()
	harFile, script := filepath.Join(dir, "session.har"), filepath.Join(dir, "provision.sh")

	env := map[string]string{"DEMO_USER": rec.User, "DEMO_PASSWORD": rec.Password}
	var stderr bytes.Buffer
	// stderr plays a terminal: the live progress line is drawn on it.
	st := &streams{in: strings.NewReader(""), out: &bytes.Buffer{}, err: &stderr, errTTY: true, getenv: func(k string) string { return env[k] }}
	flow := filepath.Join("..", "..", "capture", "browser", "testdata", "demo-flow.yaml")
	if code := run(ctx, st, []string{"capture", "browser", "--steps", flow, "-o", harFile, rec.URL}); code != 0 {
		t.Fatalf("capture browser exited %d:\n%s", code, stderr.String())
	}
	if !regexp.MustCompile(`(?m)^(\r\x1b\[K)?apitape: recorded \d+ calls \(\d+ requests seen\) to .*session\.har \(steps done\)$`).MatchString(stderr.String()) {
		t.Errorf("stderr:\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "\r\x1b[Kapitape: recorded ") {
		t.Errorf("no progress line on a terminal:\n%q", stderr.String())
	}

	// Redacted before it reached the disk: the password, the CSRF token and
	// the session cookie are placeholders.
	raw, err := os.ReadFile(harFile)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(rec.Password)) {
		t.Errorf("the recording holds the password")
	}
	h, err := har.ReadAll(bytes.NewReader(raw), harFile)
	if err != nil {
		t.Fatal(err)
	}
	var sawCreate bool
	for _, e := range h.Log.Entries {
		if e.Request.Method != "POST" || !strings.HasSuffix(e.Request.URL, "/v3/cluster?_replace=true") {
			continue
		}
		sawCreate = true
		csrf, _ := har.Header(e.Request.Headers, "X-Api-Csrf")
		cookie, _ := har.Header(e.Request.Headers, "Cookie")
		if !strings.HasPrefix(csrf, "REDACTED-") || !regexp.MustCompile(`R_SESS=[^;]*REDACTED-`).MatchString(cookie) {
			t.Errorf("create: X-Api-Csrf %q, Cookie %q: want placeholders", csrf, cookie)
		}
		var body map[string]any
		if err := json.Unmarshal(e.Request.Body(), &body); err != nil || body["name"] != "lab" {
			t.Errorf("create body %q", e.Request.Body())
		}
	}
	if !sawCreate {
		t.Fatalf("no POST /v3/cluster?_replace=true in the recording")
	}

	stderr.Reset()
	st.errTTY = false
	if code := run(ctx, st, []string{"convert", harFile, "--to", "bash", "-o", script}); code != 0 {
		t.Fatalf("convert exited %d:\n%s", code, stderr.String())
	}

	// A fresh server, and only what the person typed: the script gets the
	// server's address and the login password from the environment, and
	// takes the session cookie and the CSRF token from the answers of the
	// login it replays (issue 13, section 3).
	fresh, err := demo.Start(ctx, "127.0.0.1:0", demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	src, _ := os.ReadFile(script)
	cmd := exec.Command(bash, script)
	cmd.Env = append(os.Environ(), "BASE_URL="+fresh.URL)
	for _, v := range regexp.MustCompile(`APITAPE_SECRET_[A-Z]+_[A-P]+`).FindAllString(string(src), -1) {
		if !strings.Contains(v, "_PASSWORD_") {
			t.Errorf("the script asks for %s besides the password", v)
			continue
		}
		cmd.Env = append(cmd.Env, v+"="+fresh.Password)
	}
	if m := regexp.MustCompile(`(?m)^required=\((.*)\)$`).FindSubmatch(src); m == nil || regexp.MustCompile(`^(APITAPE_SECRET_PASSWORD_[A-P]+ ?)+$`).Find(m[1]) == nil {
		t.Errorf("the script requires more than the password: %q", m)
	}
	out, runErr := cmd.CombinedOutput()
	if runErr != nil {
		t.Fatalf("the script failed on a fresh server with only BASE_URL and the password: %v\n%s", runErr, out)
	}
	if !regexp.MustCompile(`(?m)^\d+ calls sent, every status as recorded$`).Match(out) {
		t.Errorf("no summary line:\n%s", out)
	}

	req, _ := http.NewRequest("GET", fresh.URL+"/v3/clusters?name=lab", nil)
	req.Header.Set("Authorization", "Bearer "+fresh.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Data []map[string]any `json:"data"`
	}
	json.NewDecoder(resp.Body).Decode(&list)
	if len(list.Data) != 1 {
		t.Fatalf("the script did not create cluster lab on the fresh server:\n%s", out)
	}
}

// TestCaptureBrowserReRedactsOnStop: a page learns a token from one answer
// and then sends it as a Bearer credential. The answer was redacted when it
// completed, before anything said the value was secret; once the recording
// stops cleanly, the whole file is redacted again with everything learned,
// so the token is in clear nowhere.
func TestCaptureBrowserReRedactsOnStop(t *testing.T) {
	if !chromium.Available() {
		testtool.Missing(t, "no Chromium or Chrome installed")
	}
	const token = "ses_8f3a-9b2c-4d5e_7f60a1b2c3d4e5f6a7b8c9d0e1f2"
	// The scenario: the answer alone, redacted first, keeps the token.
	r, err := redact.New(redact.Options{})
	if err != nil {
		t.Fatal(err)
	}
	first := fmt.Sprintf(`{"request":{"method":"GET","url":"http://127.0.0.1/v1/handshake","httpVersion":"HTTP/1.1","headers":[],"queryString":[],"cookies":[],"headersSize":-1,"bodySize":0},`+
		`"response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[],"cookies":[],"content":{"size":0,"mimeType":"application/json","text":%q},"redirectURL":"","headersSize":-1,"bodySize":-1},`+
		`"startedDateTime":"2026-01-01T00:00:00Z","time":1,"cache":{},"timings":{"send":0,"wait":1,"receive":0}}`,
		fmt.Sprintf(`{"kind":"handshake","value":%q}`, token))
	if out, _, err := r.Entry(0, []byte(first)); err != nil || !bytes.Contains(out, []byte(token)) {
		t.Fatalf("the scenario does not hold: the answer redacted alone hides the token (%v)", err)
	}

	out, log := recordPage(t, lateTokenMux(token), `fetch('/v1/handshake').then(r => r.json())
  .then(j => fetch('/v1/me', {headers: {Authorization: 'Bearer ' + j.value}}))`)
	checkReRedacted(t, out, log, token)
	var answer, auth string
	for _, e := range readHAR(t, out) {
		switch {
		case strings.HasSuffix(e.Request.URL, "/v1/handshake"):
			body, _, _ := e.Response.Content.Bytes()
			answer = string(body)
		case strings.HasSuffix(e.Request.URL, "/v1/me"):
			auth, _ = har.Header(e.Request.Headers, "Authorization")
		}
	}
	placeholder := strings.TrimPrefix(auth, "Bearer ")
	if !strings.HasPrefix(placeholder, "REDACTED-") || !strings.Contains(answer, `"value":"`+placeholder+`"`) {
		t.Errorf("want the same placeholder in the answer and the later request: answer %s, Authorization %q", answer, auth)
	}
}

// recordPage records, with capture browser as a user runs it, a page that
// runs script (a promise chain of fetches to mux) and then shows "done",
// which the steps wait for. It returns the HAR file and what was printed.
func recordPage(t *testing.T, mux *http.ServeMux, script string) (string, string) {
	t.Helper()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, `<!doctype html><p id="s">working</p><script>
`+script+`
  .then(r => r.text()).then(() => { document.getElementById('s').textContent = 'done'; });
</script>`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	dir := t.TempDir()
	out, steps := filepath.Join(dir, "page.har"), filepath.Join(dir, "steps.yaml")
	if err := os.WriteFile(steps, []byte("- wait: \"#s\"\n  text: done\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	st := &streams{in: strings.NewReader(""), out: &bytes.Buffer{}, err: &stderr, getenv: func(string) string { return "" }}
	if code := run(context.Background(), st, []string{"capture", "browser", "--headless", "--steps", steps, "-o", out, srv.URL + "/"}); code != 0 {
		t.Fatalf("capture browser exited %d:\n%s", code, stderr.String())
	}
	return out, stderr.String()
}

// TestCaptureBrowserUsesGitleaksConfig: capture finds the user's own token
// shapes, from .gitleaks.toml in the current folder, as redact, scan and
// convert do. The made-up vendor's token is in clear without the config.
func TestCaptureBrowserUsesGitleaksConfig(t *testing.T) {
	if !chromium.Available() {
		testtool.Missing(t, "no Chromium or Chrome installed")
	}
	const token = "acme_q8w7e6r5t4y3u2i1o9p8a7s6d5f4g3"
	mux := func() *http.ServeMux {
		m := http.NewServeMux()
		m.HandleFunc("/v1/hook", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"name":"deploy","note":%q}`, token)
		})
		return m
	}
	const script = `fetch('/v1/hook')`
	t.Chdir(t.TempDir())
	out, _ := recordPage(t, mux(), script)
	if raw, err := os.ReadFile(out); err != nil || !bytes.Contains(raw, []byte(token)) {
		t.Fatalf("the scenario does not hold: without the config the token is not in clear (%v)", err)
	}
	config := "[extend]\nuseDefault = true\n\n[[rules]]\nid = \"acme-token\"\nregex = '''acme_[a-z0-9]{30}'''\nkeywords = [\"acme_\"]\n"
	if err := os.WriteFile(".gitleaks.toml", []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	out, log := recordPage(t, mux(), script)
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(token)) || strings.Contains(log, token) {
		t.Error("the token is in clear with .gitleaks.toml naming its shape")
	}
	if !regexp.MustCompile(`"note\\":\\"REDACTED-acme-[a-p]{8}`).Match(raw) {
		t.Errorf("no acme placeholder in the answer:\n%s", raw)
	}
}

// lateTokenMux serves the late-token scenario's API: /v1/handshake answers
// with token, which the client then sends to /v1/me as a Bearer credential.
func lateTokenMux(token string) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/handshake", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"kind":"handshake","value":%q}`, token)
	})
	mux.HandleFunc("/v1/me", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"user":"admin"}`)
	})
	return mux
}

// checkReRedacted checks a capture file after a clean stop: token in clear
// neither there nor in what the command printed, mode 0600, and no
// temporary file of the second pass left beside it.
func checkReRedacted(t *testing.T, out, log, token string) {
	t.Helper()
	after, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(after, []byte(token)) {
		t.Error("the token is still in clear after a clean stop")
	}
	if strings.Contains(log, token) {
		t.Error("the token was printed")
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("capture file mode: %v %v; want 0600", fi.Mode(), err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*tmp*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
