package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/testtool"
)

// TestPageJS checks page.js with node: it parses, and it defines every
// function runStep calls. The steps tests run them in Chromium.
func TestPageJS(t *testing.T) {
	node := testtool.Need(t, "node")
	script := pageJS + `
for (const name of ["clear", "changed", "select", "hasText"]) {
  if (typeof eval(name) !== "function") throw new Error("page.js defines no function " + name);
}`
	if out, err := exec.Command(node, "-e", script).CombinedOutput(); err != nil {
		t.Errorf("node: %v\n%s", err, out)
	}
}

// formPage is a login form whose script posts what was typed as JSON, with
// how many input events each field fired (frameworks such as React only see
// a value through those events).
func formPage(t testing.TB) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html>
<form id="f">
  <input id="user" value="placeholder"> <input id="pass" type="password">
  <select id="region"><option value="us">United States</option><option value="eu">Europe</option></select>
  <button id="login">Log in</button>
</form>
<div id="msg"></div><a id="next" hidden href="/second">next</a>
<script>
const inputs = {user: 0, pass: 0}, changes = {region: 0};
for (const id of ['user', 'pass']) document.getElementById(id).addEventListener('input', () => inputs[id]++);
document.getElementById('region').addEventListener('change', () => changes.region++);
document.getElementById('f').addEventListener('submit', async e => {
  e.preventDefault();
  const body = {user: user.value, password: pass.value, region: region.value, inputs, changes};
  const r = await fetch('/api/login', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
  const j = await r.json();
  msg.textContent = 'Welcome ' + j.user;
  next.hidden = false;
});
</script>`)
	})
	mux.HandleFunc("/second", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		// #page2 shows once the ping's answer has arrived (its body is
		// never read), so the next step cannot navigate away first.
		io.WriteString(w, `<!doctype html><div id="page2" hidden>second page</div><script>fetch('/api/ping?from=second').then(() => { document.getElementById('page2').hidden = false })</script>`)
	})
	mux.HandleFunc("/api/login", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ User string }
		json.NewDecoder(r.Body).Decode(&body)
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "tok-" + body.User, Path: "/", HttpOnly: true})
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"user":%q}`, body.User)
	})
	mux.HandleFunc("/api/ping", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"pong":true}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestSteps(t *testing.T) {
	needBrowser(t)
	srv := formPage(t)
	env := map[string]string{"T_USER": "admin", "T_PASS": "s3cret pass"}
	steps, err := ParseSteps("steps.yaml", []byte(`
- fill: "#user"
  value: ${T_USER}
- fill: "#pass"
  value: ${T_PASS}
- select: "#region"
  value: Europe
- click: "#login"
- wait: "#msg"
  text: Welcome
- expect: Welcome admin
- click: "#next"
- wait: "#page2"
- navigate: /?again=1
- wait: "#login"
`))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "steps.har")
	res, err := Record(context.Background(), Options{
		URL: srv.URL, Steps: steps, StepsFile: "steps.yaml", Headless: true, Output: out,
		Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stopped != "steps done" {
		t.Errorf("stopped: %q", res.Stopped)
	}
	h := readHAR(t, out)
	var calls, docs []string
	var api []*har.Entry
	for _, e := range h.Log.Entries {
		call := e.Request.Method + " " + strings.TrimPrefix(e.Request.URL, srv.URL)
		if e.ResourceType() == "document" {
			docs = append(docs, call)
			continue
		}
		calls = append(calls, call)
		api = append(api, e)
	}
	if got, want := strings.Join(calls, ", "), "POST /api/login, GET /api/ping?from=second"; got != want {
		t.Fatalf("calls: %s, want %s (the favicon is neither an API call nor a document)", got, want)
	}
	if got, want := strings.Join(docs, ", "), "GET /, GET /second, GET /?again=1"; got != want {
		t.Errorf("documents: %s, want %s (every navigation is kept by default)", got, want)
	}
	login := api[0]
	var body struct {
		User, Password, Region string
		Inputs                 map[string]int
		Changes                map[string]int
	}
	if err := json.Unmarshal(login.Request.Body(), &body); err != nil {
		t.Fatalf("login body %q: %v", login.Request.Body(), err)
	}
	if body.User != "admin" || body.Password != "s3cret pass" || body.Region != "eu" {
		t.Errorf("the form posted %+v: fill must replace the old value, select must match the label", body)
	}
	if body.Inputs["user"] == 0 || body.Inputs["pass"] == 0 || body.Changes["region"] == 0 {
		t.Errorf("the page saw events %v %v: fill and select must fire input and change", body.Inputs, body.Changes)
	}
	if len(login.Response.Cookies) != 1 || login.Response.Cookies[0].Name != "session" || login.Response.Cookies[0].HTTPOnly == nil {
		t.Errorf("Set-Cookie was not recorded as a cookie: %+v", login.Response.Cookies)
	}
	ping := api[1]
	if c, ok := har.Header(ping.Request.Headers, "Cookie"); !ok || c != "session=tok-admin" {
		t.Errorf("the ping's Cookie header is %q, %v: the real headers come from requestWillBeSentExtraInfo", c, ok)
	}
	// The second page never reads the ping's body and is navigated away
	// from: Chrome never says the exchange ended, and the body is rescued
	// from the browser's store when the recording stops.
	if b, ok, _ := ping.Response.Content.Bytes(); !ok || string(b) != `{"pong":true}` {
		t.Errorf("ping body %q (%s)", b, extraString(ping.Response.Content.Extra, "_bodyUnavailable"))
	}
	if len(ping.Request.QueryString) != 1 || ping.Request.QueryString[0].Name != "from" {
		t.Errorf("query string %+v", ping.Request.QueryString)
	}
}

// TestStepFailure: a step that cannot be done fails the recording with one
// line naming the file, the line, the step and the selector, and the file
// keeps what was recorded before.
func TestStepFailure(t *testing.T) {
	needBrowser(t)
	srv := formPage(t)
	tests := []struct {
		name, steps, want string
	}{
		{"missing element", "- click: '#login'\n- wait: '#msg'\n  text: Welcome\n- click: '#nope'\n  timeout: 1s\n",
			"steps.yaml:4: step 3: click #nope: no visible element matched within 1s"},
		{"unset variable", "- click: '#login'\n- wait: '#msg'\n  text: Welcome\n- fill: '#pass'\n  value: ${T_UNSET_PASSWORD}\n",
			"steps.yaml:4: step 3: fill #pass: environment variable T_UNSET_PASSWORD is not set or empty"},
		{"missing option", "- click: '#login'\n- wait: '#msg'\n  text: Welcome\n- select: '#region'\n  value: Mars\n",
			"steps.yaml:4: step 3: select #region: no option with that value or label"},
		{"text never appears", "- click: '#login'\n- wait: '#msg'\n  text: Welcome\n- expect: Goodbye\n  timeout: 500ms\n",
			`steps.yaml:4: step 3: expect "Goodbye": the text did not appear within 500ms`},
		// Chrome says "DOM Error while querying (-32000)" or throws a
		// SyntaxError with a JavaScript stack for a selector it cannot parse.
		{"bad selector", "- click: '#login'\n- wait: '#msg'\n  text: Welcome\n- click: 'div['\n",
			`steps.yaml:4: step 3: click div[: "div[" is not a valid CSS selector`},
		{"bad selector to wait for", "- click: '#login'\n- wait: '#msg'\n  text: Welcome\n- wait: '##'\n  text: x\n",
			`steps.yaml:4: step 3: wait ## text "x": "##" is not a valid CSS selector`},
		{"bad selector to expect in", "- click: '#login'\n- wait: '#msg'\n  text: Welcome\n- expect: Welcome\n  in: '##'\n",
			`steps.yaml:4: step 3: expect "Welcome" in ##: "##" is not a valid CSS selector`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			steps, err := ParseSteps("steps.yaml", []byte(tt.steps))
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "fail.har")
			_, err = Record(context.Background(), Options{URL: srv.URL, Steps: steps, StepsFile: "steps.yaml", Headless: true, Output: out,
				Getenv: func(string) (string, bool) { return "", false }})
			var se *StepsError
			if !errors.As(err, &se) || err.Error() != tt.want {
				t.Fatalf("error %v (%T)\nwant %s", err, err, tt.want)
			}
			if got := apiCalls(readHAR(t, out)); strings.Join(got, ", ") != "POST /api/login" {
				t.Errorf("the file must keep the login call recorded before the failure, has %q", got)
			}
		})
	}
}

// TestTimeoutAndInterrupt: --timeout and Ctrl-C end a recording with a valid
// file holding what completed.
func TestTimeoutAndInterrupt(t *testing.T) {
	needBrowser(t)
	srv := formPage(t)
	steps, _ := ParseSteps("steps.yaml", []byte("- click: '#login'\n- wait: '#msg'\n  text: Welcome\n- sleep: 1m\n"))
	t.Run("timeout", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "t.har")
		start := time.Now()
		res, err := Record(context.Background(), Options{URL: srv.URL, Steps: steps, StepsFile: "steps.yaml", Headless: true, Output: out, Timeout: 3 * time.Second})
		if err == nil || !strings.Contains(err.Error(), "step 3: sleep 1m0s: the recording stopped before the step finished (timeout 3s reached)") {
			t.Errorf("error: %v", err)
		}
		if time.Since(start) > 15*time.Second {
			t.Errorf("took %s", time.Since(start))
		}
		if got := apiCalls(readHAR(t, out)); strings.Join(got, ", ") != "POST /api/login" || res.Written != 2 {
			t.Errorf("wrote %d entries, calls %q, want the page and the login", res.Written, got)
		}
	})
	t.Run("interrupt", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "i.har")
		ctx, cancel := context.WithCancel(context.Background())
		// Ctrl-C once the login is on disk.
		testHookAdded = func(e *har.Entry) {
			if path(e) == "/api/login" {
				cancel()
			}
		}
		defer func() { testHookAdded = nil }()
		res, err := Record(ctx, Options{URL: srv.URL, Steps: steps, StepsFile: "steps.yaml", Headless: true, Output: out})
		if err == nil || !strings.Contains(err.Error(), "(interrupted)") {
			t.Errorf("error: %v", err)
		}
		if got := apiCalls(readHAR(t, out)); res.Stopped != "interrupted" || strings.Join(got, ", ") != "POST /api/login" {
			t.Errorf("stopped %q, calls %q", res.Stopped, got)
		}
	})
}
