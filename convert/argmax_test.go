package convert

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/placeholder"
	"github.com/apitape/apitape/internal/selection"
	"github.com/apitape/apitape/internal/testtool"
)

func TestPlanArgs(t *testing.T) {
	big := strings.Repeat("x", maxArgValue)
	hs := func(values ...string) []header {
		var out []header
		for i, v := range values {
			out = append(out, header{"X-" + strconv.Itoa(i), literal(v)})
		}
		return out
	}
	tests := []struct {
		name    string
		c       call
		url     bool
		headers []int // indexes moved to files
		reason  string
	}{
		{"small", call{target: literal("/a?b=c"), headers: hs("1", "2")}, false, nil, "ordinary calls keep every argument"},
		{"header at the limit", call{target: literal("/"), headers: hs(big[:maxArgValue-5])}, false, nil, "name, colon and space count: X-0: is 5 bytes"},
		{"header over", call{target: literal("/"), headers: hs("a", big, "b")}, false, []int{1}, "only the big header moves"},
		{"url under", call{target: literal("/?" + big)}, false, nil, "a URL stays an argument up to 128 KiB"},
		{"url over", call{target: literal("/?" + strings.Repeat("u", maxArgURL))}, true, nil, "the URL moves to a config"},
		{"variable's recorded text", call{target: literal("/"), headers: []header{{"A", value{{Text: "Bearer "}, {Text: big, Env: "T"}}}}}, false, []int{0}, "a correlated value is as big as recorded"},
		{"total", call{target: literal("/"), headers: hs(strings.Repeat("y", 60<<10), strings.Repeat("y", 60<<10), strings.Repeat("y", 60<<10), strings.Repeat("y", 60<<10),
			strings.Repeat("y", 60<<10), strings.Repeat("y", 60<<10), strings.Repeat("y", 60<<10), strings.Repeat("y", 60<<10),
			strings.Repeat("y", 60<<10), strings.Repeat("y", 60<<10), strings.Repeat("y", 60<<10), strings.Repeat("y", 60<<10),
			strings.Repeat("y", 60<<10), strings.Repeat("y", 60<<10), strings.Repeat("y", 60<<10), strings.Repeat("y", 60<<10),
			strings.Repeat("y", 60<<10), strings.Repeat("y", 60<<10))}, false, []int{17}, "past 1 MiB together headers move too"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := planArgs(&tt.c, "http://127.0.0.1:1")
			var gotURL bool
			var got []int
			if p != nil {
				gotURL = p.url
				for i, h := range p.headers {
					if h {
						got = append(got, i)
					}
				}
				if !p.url && len(got) == 0 {
					t.Errorf("a plan that moves nothing: want nil")
				}
			}
			if gotURL != tt.url || fmt.Sprint(got) != fmt.Sprint(tt.headers) {
				t.Errorf("url %v headers %v, want url %v headers %v (%s)", gotURL, got, tt.url, tt.headers, tt.reason)
			}
		})
	}
}

func TestCurlConfigEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain":         "plain",
		`a"b`:           `a\"b`,
		`a\b`:           `a\\b`,
		"a\nb\rc\td #é": `a\nb\rc` + "\td #é",
		`\"`:            `\\\"`,
	} {
		if got := curlConfigEscape(in); got != want {
			t.Errorf("curlConfigEscape(%q) = %q, want %q", in, got, want)
		}
	}
}

// curlVersion is curl's version as major*100+minor (788 for 7.88).
func curlVersion(t testing.TB, curl string) int {
	out, err := exec.Command(curl, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`^curl (\d+)\.(\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("curl --version: %q", out)
	}
	major, _ := strconv.Atoi(string(m[1]))
	minor, _ := strconv.Atoi(string(m[2]))
	return major*100 + minor
}

// TestBigValuesRoundTrip: a 200 KiB header, a 200 KiB cookie and a 200
// KiB query, each over what Linux lets one argument be, and a big header
// beside a big body arrive byte for byte from every target that runs
// here. curl before 8.2 reads config lines of at most 100 KiB, so with it
// the query is 80 KiB for curl and bash, sent through the config all the
// same (the thresholds lowered to 64 KiB).
func TestBigValuesRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("runs curl, bash, http, python3, node and the go tool")
	}
	curl := testtool.Need(t, "curl")
	testtool.Need(t, "bash")
	rec := newRecorder(t)
	serverHost := strings.TrimPrefix(rec.url(), "http://")
	bigText := func(n int, seed string) string {
		var b strings.Builder
		for b.Len() < n {
			b.WriteString(seed)
		}
		return b.String()[:n]
	}
	const size = 200 << 10
	entry := func(url string, headers []har.NameValue, cookies []har.Cookie) *har.Entry {
		e := &har.Entry{StartedDateTime: "2026-01-01T00:00:00Z"}
		e.Request = har.Request{Method: "GET", URL: url, HTTPVersion: "HTTP/1.1", Headers: headers, Cookies: cookies, HeadersSize: -1, BodySize: 0}
		e.Response = har.Response{Status: 200, StatusText: "OK", HTTPVersion: "HTTP/1.1", HeadersSize: -1, BodySize: 0}
		return e
	}
	// Quotes, backslashes, #, spaces, $ and non-ASCII: nothing may be
	// interpreted on the way.
	header := bigText(size, `a"b\c#d $HOME é 'q' `+strings.Repeat("x", 200)) + "end"
	cookie := "big=" + bigText(size, `v%3D1;x`)
	// A body too big for an argument, on stdin (curl) or in a file (bash,
	// HTTPie), with a big header beside it.
	post := entry("http://h.example/p", []har.NameValue{{Name: "Content-Type", Value: "text/plain"}, {Name: "X-Big", Value: header}}, nil)
	post.Request.Method = "POST"
	postBody := bigText(100<<10, "body 'with' \"quotes\" \x01\n")
	post.Request.PostData = &har.PostData{MimeType: "text/plain", Text: &postBody}
	queryFor := func(n int) string { return "/q?" + bigText(n, `k=%2F[]{}é"\a&`) + "=end" }
	entries := func(query string) []*har.Entry {
		return []*har.Entry{
			entry("http://h.example/h", []har.NameValue{{Name: "X-Big", Value: header}, {Name: "X-After", Value: "1"}}, nil),
			entry("http://h.example/c", nil, []har.Cookie{{Name: "big", Value: cookie[len("big="):]}}),
			entry("http://h.example"+query, []har.NameValue{{Name: "X-Small", Value: "s"}}, nil),
			post,
		}
	}
	curlQuery := queryFor(size)
	oldCurl := false
	if v := curlVersion(t, curl); v < 802 {
		oldCurl = true
		curlQuery = queryFor(80 << 10)
		t.Logf("curl %d.%d reads config lines of at most 100 KiB: curl and bash get a %d-byte query, through a config all the same", v/100, v%100, len(curlQuery))
	}
	opts := Options{Exact: true, BaseURL: rec.url(), Selection: selection.Filter{All: true}}
	run := func(t *testing.T, format string, es []*har.Entry, exec func(out []byte), checkOne func(w want, got *received)) {
		data := writeHAR(t, es)
		o := opts
		o.Format = format
		out := convertBytes(t, data, o)
		rec.take()
		exec(out)
		got := rec.take()
		for _, p := range rec.problems() {
			t.Error("server:", p)
		}
		if len(got) != len(es) {
			t.Fatalf("server received %d requests, want %d", len(got), len(es))
		}
		for i, e := range es {
			checkOne(expectExact(i, e, e.Request.Body()), got[i])
		}
	}
	for _, format := range []string{"curl", "bash"} {
		t.Run(format, func(t *testing.T) {
			if oldCurl {
				lower(t, maxArgValue)
			}
			run(t, format, entries(curlQuery), func(out []byte) {
				if !bytes.Contains(out, []byte("-K <(")) || !bytes.Contains(out, []byte("-H @<(")) {
					t.Error("no config or header file in the output")
				}
				if format == "bash" {
					shellcheck(t, "big.sh", out)
				}
				runShell(t, out, nil)
			}, func(w want, got *received) { check(t, format, w, got, serverHost, true) })
		})
	}
	t.Run("httpie", func(t *testing.T) {
		testtool.Need(t, "http")
		es := entries(queryFor(size))
		data := writeHAR(t, es)
		o := opts
		o.Format = "httpie"
		out := convertBytes(t, data, o)
		shellcheck(t, "big.httpie.sh", out)
		// HTTPie cannot take the big URL from anywhere but its command
		// line: the script stops at that call and says why.
		dir, path := writeScript(t, "big.httpie.sh", out)
		cmd := exec.Command("bash", path)
		cmd.Dir, cmd.Env = dir, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + dir}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		rec.take()
		if err := cmd.Run(); err == nil || !strings.Contains(stderr.String(), "apitape: call 2 (GET /q): its URL is too long for HTTPie's command line") {
			t.Errorf("the HTTPie script with a 200 KiB URL: %v, stderr:\n%s", err, stderr.String())
		}
		if got := rec.take(); len(got) != 2 {
			t.Errorf("server received %d requests before the big URL, want 2", len(got))
		}
		// Under 128 KiB it goes as an argument (a query requests keeps as it is).
		long := entry("http://h.example/q?"+bigText(100<<10, "k=%2Fvw&"), nil, nil)
		run(t, "httpie", []*har.Entry{es[0], es[1], long, es[3]}, func(out []byte) { runShell(t, out, nil) }, func(w want, got *received) {
			g := without(got, func(name, value string) bool {
				return name == "user-agent" && strings.HasPrefix(value, "python-urllib3/") || name == "accept-encoding" && value == "identity"
			})
			check(t, "httpie", w, g, serverHost, false)
		})
	})
	t.Run("python", func(t *testing.T) {
		py := pythonWith(t, "requests")
		run(t, "python", entries(queryFor(size)), func(out []byte) {
			dir, path := writeScript(t, "calls.py", out)
			runTarget(t, dir, nil, py, path)
		}, func(w want, got *received) { check(t, "python", w, got, serverHost, true) })
	})
	t.Run("fetch", func(t *testing.T) {
		node := testtool.Need(t, "node")
		run(t, "fetch", entries(queryFor(size)), func(out []byte) {
			dir, path := writeScript(t, "calls.mjs", out)
			runTarget(t, dir, nil, node, path)
		}, func(w want, got *received) {
			g := without(got, func(name, value string) bool { return name == "connection" })
			for j, h := range g.headers {
				if h[0] == "host" {
					g.headers[j][0] = "Host"
				}
			}
			check(t, "fetch", w, g, serverHost, true)
		})
	})
	t.Run("go", func(t *testing.T) {
		run(t, "go", entries(queryFor(size)), func(out []byte) { runProgram(t, buildGo(t, out), nil) },
			func(w want, got *received) { check(t, "go", w, got, serverHost, false) })
	})
}

// lower sets both thresholds to n for the test.
func lower(t *testing.T, n int) {
	oldValue, oldURL := maxArgValue, maxArgURL
	maxArgValue, maxArgURL = n, n
	t.Cleanup(func() { maxArgValue, maxArgURL = oldValue, oldURL })
}

// TestBigValueVariables: a big header and URL that hold variables (a
// redaction placeholder, BASE_URL) still arrive exactly, the variables'
// values escaped for curl's config at run time; the threshold is lowered
// so that the values stay small enough for the environment.
func TestBigValueVariables(t *testing.T) {
	if testing.Short() {
		t.Skip("runs curl and bash")
	}
	testtool.Need(t, "curl")
	testtool.Need(t, "bash")
	lower(t, 64)
	rec := newRecorder(t)
	ph := placeholder.Make("token", []byte{1, 2, 3, 4})
	env := placeholder.EnvName(ph)
	// No space or #: curl refuses the one in a URL and cuts at the other.
	secret := `s"e\c'x$y` + "`id`"
	tail := strings.Repeat("t", 100)
	es := []*har.Entry{{
		StartedDateTime: "2026-01-01T00:00:00Z",
		Request: har.Request{Method: "GET", URL: "http://h.example/p?a=" + tail + ph + "&b=1", HTTPVersion: "HTTP/1.1", HeadersSize: -1,
			Headers: []har.NameValue{{Name: "X-Token", Value: "pre " + tail + ph + " post"}}},
		Response: har.Response{Status: 200, HTTPVersion: "HTTP/1.1", HeadersSize: -1},
	}}
	data := writeHAR(t, es)
	for _, format := range []string{"curl", "bash"} {
		t.Run(format, func(t *testing.T) {
			out := convertBytes(t, data, Options{Format: format, Exact: true, BaseURL: rec.url(), Selection: selection.Filter{All: true}})
			if !bytes.Contains(out, []byte("-K <(")) || !bytes.Contains(out, []byte("-H @<(")) {
				t.Fatalf("no config or header file:\n%s", out)
			}
			if format == "bash" {
				shellcheck(t, "vars.sh", out)
			}
			rec.take()
			runShell(t, out, []string{env + "=" + secret})
			got := rec.take()
			if len(got) != 1 {
				t.Fatalf("server received %d requests", len(got))
			}
			if want := "/p?a=" + tail + secret + "&b=1"; got[0].target != want {
				t.Errorf("target %q, want %q", got[0].target, want)
			}
			if v, _ := got[0].header("X-Token"); v != "pre "+tail+secret+" post" {
				t.Errorf("X-Token %q, want %q", v, "pre "+tail+secret+" post")
			}
		})
	}
}

// FuzzCurlFiles: what curl sends from a header file (appendHeaderFile)
// and a config (appendConfig: curlConfigEscape now, and the run-time
// escaping of a variable's value) is the value itself, checked with real
// bash and curl against the recorder. The config sets the body
// (data-raw), which carries every byte a config can.
func FuzzCurlFiles(f *testing.F) {
	for _, s := range []string{"plain", `"`, `\`, `\"`, `\\n`, "#comment", " lead and trail ", "tab\there", "é ü 日本",
		"a\nb", "cr\rlf\r\n", "\x01\x1b[31m\x7f", `$HOME $(id) ` + "`id`", "'single'", "\\t\\v\\r", "url = \"x\""} {
		f.Add(s)
	}
	curl := testtool.Need(f, "curl")
	bash := testtool.Need(f, "bash")
	rec := newRecorder(f)
	f.Fuzz(func(t *testing.T, v string) {
		if strings.IndexByte(v, 0) >= 0 || len(v) > 4096 {
			return // no shell word, environment or config line holds a NUL
		}
		var script bytes.Buffer
		script.WriteString("set -euo pipefail\n")
		send := func(args []byte) {
			script.WriteString(curl + " -s -o /dev/null -H 'Content-Type:' -H 'Accept:' -H 'User-Agent:' ")
			script.Write(args)
			script.WriteString(" " + rec.url() + "/x\n")
		}
		send(appendConfig(nil, configOpt{"data-raw", literal(v)}))
		send(appendConfig(nil, configOpt{"data-raw", value{{Text: "<"}, {Env: "V"}, {Text: ">"}}}))
		hdr := !strings.ContainsFunc(v, isControl) && utf8.ValidString(v)
		if hdr {
			send(appendHeaderFile(nil, header{"X-Test", literal(v)}))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		dir := t.TempDir()
		path := filepath.Join(dir, "s.sh")
		if err := os.WriteFile(path, script.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.CommandContext(ctx, bash, path)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "V=" + v, "LC_ALL=C.UTF-8"}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s\n%s", err, out, script.Bytes())
		}
		got := rec.take()
		for _, p := range rec.problems() {
			t.Fatal("server:", p)
		}
		want := 2
		if hdr {
			want = 3
		}
		if len(got) != want {
			t.Fatalf("server received %d requests, want %d", len(got), want)
		}
		if string(got[0].body) != v {
			t.Errorf("config literal: body %q, want %q\n%s", got[0].body, v, script.Bytes())
		}
		if string(got[1].body) != "<"+v+">" {
			t.Errorf("config variable: body %q, want %q\n%s", got[1].body, "<"+v+">", script.Bytes())
		}
		if hdr {
			// The recorder trims the optional white space around a value.
			if h, _ := got[2].header("X-Test"); h != strings.Trim(v, " \t") {
				t.Errorf("header file: X-Test %q, want %q", h, strings.Trim(v, " \t"))
			}
		}
	})
}
