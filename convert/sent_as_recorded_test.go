package convert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/correlate"
	"github.com/apitape/apitape/internal/selection"
	"github.com/apitape/apitape/internal/testtool"
)

// TestUserinfoNotSent: user info in a recorded URL (http://user:pw@host/)
// never went over the wire, the request's header lines say what did. The
// outputs leave it out: curl, requests and Go turn it into an
// Authorization: Basic line the recording did not have (and Node's fetch
// refuses such a URL), and the password stood in the script as it was.
func TestUserinfoNotSent(t *testing.T) {
	if testing.Short() {
		t.Skip("runs bash, curl, python3, node and the go tool")
	}
	rec := newRecorder(t)
	host := strings.TrimPrefix(rec.url(), "http://")
	data := writeHAR(t, []*har.Entry{
		{Request: har.Request{Method: "GET", URL: "http://user:pa55w0rd-R8xk2Lm9@" + host + "/g?q=1",
			Headers: []har.NameValue{{Name: "Accept", Value: "*/*"}}}, Response: har.Response{Status: 200}},
		{Request: har.Request{Method: "GET", URL: "http://" + host + "/h",
			Headers: []har.NameValue{{Name: "Accept", Value: "*/*"}}}, Response: har.Response{Status: 200}},
	})
	runners := map[string]func(t *testing.T, out []byte){
		"curl": func(t *testing.T, out []byte) { runShell(t, out, nil) },
		"bash": func(t *testing.T, out []byte) { runShell(t, out, nil) },
		"python": func(t *testing.T, out []byte) {
			py := pythonWith(t, "requests")
			dir, path := writeScript(t, "calls.py", out)
			runTarget(t, dir, nil, py, path)
		},
		"fetch": func(t *testing.T, out []byte) {
			node := testtool.Need(t, "node")
			dir, path := writeScript(t, "calls.mjs", out)
			runTarget(t, dir, nil, node, path)
		},
		"go": func(t *testing.T, out []byte) { runProgram(t, buildGo(t, out), nil) },
	}
	for _, format := range []string{"curl", "bash", "python", "fetch", "go"} {
		t.Run(format, func(t *testing.T) {
			out := convertBytes(t, data, Options{Format: format, Exact: true})
			if strings.Contains(string(out), "pa55w0rd") {
				t.Errorf("the password is in the output:\n%s", out)
			}
			rec.take()
			runners[format](t, out)
			got := rec.take()
			for _, p := range rec.problems() {
				t.Error("server:", p)
			}
			if len(got) != 2 {
				t.Fatalf("server received %d requests, want 2", len(got))
			}
			if got[0].target != "/g?q=1" {
				t.Errorf("target %q, want /g?q=1", got[0].target)
			}
			for i, r := range got {
				if v, ok := r.header("Authorization"); ok {
					t.Errorf("call %d sent Authorization: %s, which the recording did not have", i, v)
				}
			}
		})
	}
}

// TestShellcheckBackslashQuote: a value with a backslash before a quote
// ('\” after a '\') is what shellcheck's SC1003 asks about; the bash and
// HTTPie scripts, which README says pass shellcheck, must still pass it.
func TestShellcheckBackslashQuote(t *testing.T) {
	body := `{"path":"C:\\","q":"it's"}`
	data := writeHAR(t, []*har.Entry{
		{Request: har.Request{Method: "POST", URL: "http://127.0.0.1:9/a?x=%5C",
			Headers:  []har.NameValue{{Name: "X-Q", Value: `a\`}, {Name: "X-R", Value: `b\'c`}, {Name: "Content-Type", Value: "application/json"}},
			PostData: &har.PostData{MimeType: "application/json", Text: &body}},
			Response: har.Response{Status: 200}},
	})
	for _, format := range []string{"bash", "httpie"} {
		for _, exact := range []bool{true, false} {
			out := convertBytes(t, data, Options{Format: format, Exact: exact, Selection: selection.Filter{All: true}})
			shellcheck(t, format, out)
		}
	}
}

// TestGoDoubleSlashPath: the Go program sends a recorded path that starts
// with "//" as that path. net/http writes an Opaque that starts with "//"
// as "http://…", so the server read the first segment as the host:
// "GET http://double//x HTTP/1.1".
func TestGoDoubleSlashPath(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go tool")
	}
	rec := newRecorder(t)
	host := strings.TrimPrefix(rec.url(), "http://")
	cases := []struct{ url, want string }{
		{"/double//x/../y/./z?q=1", "//double//x/../y/./z?q=1"},
		{"/a:b@c/%2F", "//a:b@c/%2F"},
		// Not a valid encoding of itself as a path: the absolute form,
		// which names the server's host.
		{"/a{b}/%zz", "http://" + host + "//a{b}/%zz"},
	}
	var entries []*har.Entry
	for _, c := range cases {
		entries = append(entries, &har.Entry{Request: har.Request{Method: "GET", URL: rec.url() + "/" + c.url}, Response: har.Response{Status: 200}})
	}
	out := convertBytes(t, writeHAR(t, entries), Options{Format: "go", Exact: true})
	rec.take()
	runProgram(t, buildGo(t, out), nil)
	got := rec.take()
	for _, p := range rec.problems() {
		t.Error("server:", p)
	}
	if len(got) != len(cases) {
		t.Fatalf("server received %d requests, want %d", len(got), len(cases))
	}
	for i, c := range cases {
		if got[i].target != c.want {
			t.Errorf("%s: target %q, want %q", c.url, got[i].target, c.want)
		}
	}
}

// TestHTTPieMethodNotLetters: HTTPie reads a first argument that is not
// all letters (M-SEARCH, VERSION-CONTROL) as the URL, so the call went to
// a host named after the method and the script said "no answer from the
// server". The script stops at such a call and says why.
func TestHTTPieMethodNotLetters(t *testing.T) {
	if testing.Short() {
		t.Skip("runs bash and HTTPie")
	}
	testtool.Need(t, "bash")
	testtool.Need(t, "http")
	rec := newRecorder(t)
	var entries []*har.Entry
	for _, m := range []string{"GET", "M-SEARCH", "GET"} {
		entries = append(entries, &har.Entry{Request: har.Request{Method: m, URL: rec.url() + "/" + m}, Response: har.Response{Status: 200}})
	}
	out := convertBytes(t, writeHAR(t, entries), Options{Format: "httpie", Exact: true})
	shellcheck(t, "httpie", out)
	dir, path := writeScript(t, "calls.httpie.sh", out)
	cmd := exec.Command("bash", path)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + dir, "LC_ALL=C.UTF-8"}
	stderr, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the script succeeded:\n%s", stderr)
	}
	want := "apitape: call 1 (M-SEARCH /M-SEARCH): HTTPie sends only methods made of letters; --to bash or --to python sends it\n"
	if !strings.Contains(string(stderr), want) {
		t.Errorf("the script said\n%s\nwant it to say\n%s", stderr, want)
	}
	if got := rec.take(); len(got) != 1 || got[0].target != "/GET" {
		t.Errorf("server received %d requests, want only the first call", len(got))
	}
}

// TestVarNotScriptVariable: a --var may not take a name the bash or
// HTTPie script uses itself. "sent", say, was accepted: the script's call
// counter then overwrote the id (sent=$((sent + 1)), which also evaluates
// the answer's value as arithmetic) and later calls sent "1" for it.
// The names are read from the scripts' runtime sources, so a variable
// added there is covered too.
func TestVarNotScriptVariable(t *testing.T) {
	srcs := strings.Join([]string{bashPrelude, bashSummary, bashTakeHelpers, bashURIHelper, httpiePrelude, httpieSummary, httpieNotExact}, "\n")
	srcs = regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(srcs, "")                                         // comments
	names := map[string]bool{"secrets": true, "secret_vars": true, "required": true, "missing": true, "v": true} // written by bash.go, httpie.go
	ident := `[a-z_][a-z0-9_]*`
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)(?:^|[\s;(])(` + ident + `)\+?=`),
		regexp.MustCompile(`\bfor (` + ident + `) in\b`),
	} {
		for _, m := range re.FindAllStringSubmatchIndex(srcs, -1) {
			if !strings.HasSuffix(srcs[:m[2]], "-v ") { // awk's -v name=…
				names[srcs[m[2]:m[3]]] = true
			}
		}
	}
	for _, m := range regexp.MustCompile(`(?m)\blocal ([^\n]*)`).FindAllStringSubmatch(srcs, -1) {
		for _, w := range strings.Fields(m[1]) {
			if n, _, _ := strings.Cut(w, "="); regexp.MustCompile(`^` + ident + `$`).MatchString(n) {
				names[n] = true
			}
		}
	}
	for _, must := range []string{"sent", "finished", "differ", "out", "text", "value"} {
		if !names[must] {
			t.Fatalf("the runtime sources no longer assign %s: the pattern is wrong", must)
		}
	}
	body := `{"id":"c-q7x2m"}`
	data := writeHAR(t, []*har.Entry{
		{Request: har.Request{Method: "POST", URL: "http://127.0.0.1:9/v3/clusters"},
			Response: har.Response{Status: 201, Content: har.Content{MimeType: "application/json", Text: &body}}},
		{Request: har.Request{Method: "GET", URL: "http://127.0.0.1:9/v3/clusters/c-q7x2m"}, Response: har.Response{Status: 200}},
	})
	for name := range names {
		mv, err := correlate.ParseManual(name + "=.id@0")
		if err != nil {
			continue // refused already
		}
		for _, format := range []string{"bash", "httpie"} {
			var out bytes.Buffer
			_, err := Convert(har.NewReader(bytes.NewReader(data), "test.har"), &out, Options{Format: format, Vars: []correlate.Manual{mv}, Selection: selection.Filter{All: true}})
			if err == nil {
				t.Errorf("--to %s --var %s=.id@0: accepted, but the script uses %s itself", format, name, name)
			}
		}
	}
}

// TestTakenValueNotURL: an id an answer produced that a later call sends
// as it is in its URL cannot hold a space or a #: curl refused the URL
// and the script said "no answer from the server", requests and fetch
// failed alike, Go sent a request line the server rejected, and HTTPie
// cut the URL at the # and sent the call to another path. The outputs
// stop at the answer, as for a control character, saying why; such a
// value used only in a header is sent.
func TestTakenValueNotURL(t *testing.T) {
	if testing.Short() {
		t.Skip("runs bash, curl, jq, python3, node, HTTPie and the go tool")
	}
	var mu sync.Mutex
	var id string
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, r.Method+" "+r.RequestURI)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Id", id)
		if r.Method == "POST" {
			w.WriteHeader(201)
			json.NewEncoder(w).Encode(map[string]string{"id": id})
			return
		}
		w.Write([]byte("{}"))
	}))
	defer srv.Close()
	created := `{"id":"c-q7x2m"}`
	mk := func(useInURL bool) []byte {
		second := har.Request{Method: "GET", URL: "http://127.0.0.1:9/v3/clusters", Headers: []har.NameValue{{Name: "X-Ref", Value: "c-q7x2m"}}}
		if useInURL {
			second.URL = "http://127.0.0.1:9/v3/clusters/c-q7x2m"
		}
		return writeHAR(t, []*har.Entry{
			{Request: har.Request{Method: "POST", URL: "http://127.0.0.1:9/v3/clusters"},
				Response: har.Response{Status: 201, Headers: []har.NameValue{{Name: "Content-Type", Value: "application/json"}},
					Content: har.Content{MimeType: "application/json", Text: &created}}},
			{Request: second, Response: har.Response{Status: 200}},
		})
	}
	py := pythonWith(t, "requests")
	node := testtool.Need(t, "node")
	testtool.Need(t, "bash")
	testtool.Need(t, "curl")
	testtool.Need(t, "jq")
	testtool.Need(t, "http")
	run := map[string]func(out []byte) (string, error){}
	script := func(name string, args ...string) func(out []byte) (string, error) {
		return func(out []byte) (string, error) {
			dir, path := writeScript(t, name, out)
			cmd := exec.Command(args[0], append(args[1:], path)...)
			cmd.Dir = dir
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + dir, "LC_ALL=C.UTF-8", "BASE_URL=" + srv.URL}
			b, err := cmd.CombinedOutput()
			return string(b), err
		}
	}
	run["bash"] = script("calls.sh", "bash")
	run["httpie"] = script("calls.httpie.sh", "bash")
	run["python"] = script("calls.py", py)
	run["fetch"] = script("calls.mjs", node)
	for _, format := range []string{"bash", "httpie", "python", "fetch", "go"} {
		for _, live := range []string{"c-a b", "c-a#b"} {
			for _, inURL := range []bool{true, false} {
				out := convertBytes(t, mk(inURL), Options{Format: format, Exact: false})
				mu.Lock()
				id, got = live, nil
				mu.Unlock()
				var said string
				var err error
				if format == "go" {
					bin := buildGo(t, out)
					cmd := exec.Command(bin)
					cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "BASE_URL=" + srv.URL}
					b, e := cmd.CombinedOutput()
					said, err = string(b), e
				} else {
					said, err = run[format](out)
				}
				mu.Lock()
				sent := len(got)
				mu.Unlock()
				name := fmt.Sprintf("%s, id %q in the URL: %v", format, live, inURL)
				if !inURL {
					if err != nil || sent != 2 {
						t.Errorf("%s: %v, %d calls sent, want both\n%s", name, err, sent, said)
					}
					continue
				}
				want := "apitape: call 0 (POST /v3/clusters): the .id for CLUSTER_ID holds a space or a #, which the URL of a later call cannot carry as recorded"
				if err == nil || sent != 1 || !strings.Contains(said, want) {
					t.Errorf("%s: %v, %d calls sent, want 1 and the message %q; it said\n%s", name, err, sent, want, said)
				}
			}
		}
	}
}
