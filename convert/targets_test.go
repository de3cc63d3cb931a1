package convert

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/selection"
	"github.com/apitape/apitape/internal/testtool"
)

// pythonWith returns a python3 that imports every module given: Debian's
// /usr/bin/python3 has requests and locust from its packages, the first
// python3 on PATH may be another one that has neither.
func pythonWith(t testing.TB, modules ...string) string {
	t.Helper()
	cands := []string{"/usr/bin/python3"}
	if p, err := exec.LookPath("python3"); err == nil {
		cands = append(cands, p)
	}
	for _, c := range cands {
		if exec.Command(c, "-c", "import "+strings.Join(modules, ", ")).Run() == nil {
			return c
		}
	}
	testtool.Missing(t, "no python3 that imports %s (Debian: python3-requests, python3-locust)", strings.Join(modules, ", "))
	return ""
}

// writeScript writes a generated file into a fresh directory.
func writeScript(t testing.TB, name string, src []byte) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, name)
	if err := os.WriteFile(path, src, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir, path
}

// runTarget runs a generated script with only env (PATH, HOME and TMPDIR
// besides) and fails the test when it fails; it returns its standard
// output.
func runTarget(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + dir, "LC_ALL=C.UTF-8"}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", filepath.Base(args[len(args)-1]), err, stderr.String())
	}
	return stdout.String()
}

// httpieTargetExact reports whether HTTPie (requests and urllib3) sends
// a request target as it is: not when it has characters they
// percent-encode, percent-escapes they rewrite (lower-case or invalid
// ones, escaped unreserved characters) or an empty query.
func httpieTargetExact(target string) bool {
	if strings.HasSuffix(target, "?") {
		return false
	}
	for i := 0; i < len(target); i++ {
		c := target[i]
		switch {
		case c >= 0x80 || strings.IndexByte("{}[]|\"<>\\^`", c) >= 0:
			return false
		case c == '%':
			if i+2 >= len(target) || !isUpperHex(target[i+1]) || !isUpperHex(target[i+2]) {
				return false
			}
			if d := unhex(target[i+1])<<4 | unhex(target[i+2]); d < 0x80 && (d >= 'a' && d <= 'z' || d >= 'A' && d <= 'Z' || d >= '0' && d <= '9' || strings.IndexByte("-._~", d) >= 0) {
				return false
			}
		}
	}
	return true
}

func isUpperHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'A' + 10
}

// without returns got with the header lines drop matches removed.
func without(got *received, drop func(name, value string) bool) *received {
	r := *got
	r.headers = nil
	for _, h := range got.headers {
		if !drop(strings.ToLower(h[0]), h[1]) {
			r.headers = append(r.headers, h)
		}
	}
	return &r
}

func hasHeader(hs [][2]string, name string) bool {
	for _, h := range hs {
		if strings.EqualFold(h[0], name) {
			return true
		}
	}
	return false
}

// TestTargetsRoundTrip is the fidelity harness of the new formats: the
// round-trip corpus converted with --exact, run against the raw TCP
// recorder. The Python script and the fetch module must deliver every
// entry byte for byte, header lines in order (fetch adds only undici's
// "connection: keep-alive", or close after a HEAD, and writes its Host
// line in lower case); the HTTPie script every entry it can send
// (see httpieNotExact): header lines compared per name, its own
// User-Agent and Accept-Encoding: identity allowed when the recording
// had none, the method in upper case, and the target compared where
// requests leaves it alone.
func TestTargetsRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("runs python3, node and http")
	}
	data, wants := buildCorpus(t, roundTripCases())
	rec := newRecorder(t)
	serverHost := strings.TrimPrefix(rec.url(), "http://")
	opts := Options{Exact: true, BaseURL: rec.url(), Selection: selection.Filter{All: true}}

	run := func(t *testing.T, format string, exec func(out []byte)) []*received {
		opts := opts
		opts.Format = format
		out := convertBytes(t, data, opts)
		rec.take()
		exec(out)
		got := rec.take()
		for _, p := range rec.problems() {
			t.Error("server:", p)
		}
		if len(got) != len(wants) {
			t.Fatalf("server received %d requests, want %d", len(got), len(wants))
		}
		return got
	}
	t.Run("python", func(t *testing.T) {
		py := pythonWith(t, "requests")
		got := run(t, "python", func(out []byte) {
			dir, path := writeScript(t, "calls.py", out)
			runTarget(t, dir, nil, py, path)
		})
		for i, w := range wants {
			check(t, "python", w, got[i], serverHost, true)
		}
	})
	t.Run("fetch", func(t *testing.T) {
		node := testtool.Need(t, "node")
		got := run(t, "fetch", func(out []byte) {
			dir, path := writeScript(t, "calls.mjs", out)
			runTarget(t, dir, nil, node, path)
		})
		for i, w := range wants {
			g := without(got[i], func(name, value string) bool {
				return name == "connection" && (value == "keep-alive" || value == "close")
			})
			// undici writes the Host line itself, always as "host" (README:
			// "not sent as recorded"); every other name keeps its case.
			for j, h := range g.headers {
				if h[0] == "host" {
					g.headers[j][0] = cmp.Or(w.hostName, "Host")
				}
			}
			check(t, "fetch", w, g, serverHost, true)
		}
	})
	t.Run("httpie", func(t *testing.T) {
		testtool.Need(t, "http")
		got := run(t, "httpie", func(out []byte) { runShell(t, out, nil) })
		rewritten := 0
		for i, w := range wants {
			g := without(got[i], func(name, value string) bool {
				return name == "user-agent" && !hasHeader(w.headers, name) && strings.HasPrefix(value, "python-urllib3/") ||
					name == "accept-encoding" && !hasHeader(w.headers, name) && value == "identity"
			})
			w.method = strings.ToUpper(w.method)
			if !httpieTargetExact(w.target) {
				rewritten++
				g.target = w.target
			}
			check(t, "httpie", w, g, serverHost, false)
		}
		t.Logf("%d of %d entries sent exactly but for the header order; %d targets re-encoded by requests, as documented", len(wants), len(wants), rewritten)
	})
}

// TestTargetsSyntax checks every new format's output for the round-trip
// corpus (default and --exact) and the shared HAR corpus with the real
// parsers: python3 -m py_compile, node --check, bash's parser and
// shellcheck.
func TestTargetsSyntax(t *testing.T) {
	var inputs [][]byte
	var names []string
	var cases []rtCase
	for _, c := range roundTripCases() {
		if c.body == nil || len(*c.body) < 100<<10 {
			cases = append(cases, c)
		}
	}
	data, _ := buildCorpus(t, cases)
	inputs, names = append(inputs, data), append(names, "round-trip corpus")
	inputs, names = append(inputs, mustRead(t, filepath.Join("testdata", "demo-session.har"))), append(names, "demo-session.har")
	if dir := corpusDirOrEmpty(); dir != "" {
		files, _ := filepath.Glob(filepath.Join(dir, "*.har"))
		for _, f := range files {
			inputs, names = append(inputs, mustRead(t, f)), append(names, filepath.Base(f))
		}
	}
	py := pythonWith(t, "requests")
	node := testtool.Need(t, "node")
	dir := t.TempDir()
	var pyFiles, shFiles []string
	n := 0
	for i, input := range inputs {
		for _, exact := range []bool{false, true} {
			for _, format := range []string{"python", "locust", "fetch", "httpie"} {
				var out bytes.Buffer
				_, err := Convert(har.NewReader(bytes.NewReader(input), names[i]), &out, Options{Format: format, Exact: exact, Selection: selection.Filter{All: true}})
				if err != nil {
					t.Errorf("%s --to %s: %v", names[i], format, err)
					continue
				}
				n++
				path := filepath.Join(dir, fmt.Sprintf("f%d-%v-%s", i, exact, format))
				switch format {
				case "python", "locust":
					path += ".py"
					pyFiles = append(pyFiles, path)
				case "fetch":
					path += ".mjs"
				case "httpie":
					path += ".sh"
					checkBash(t, names[i]+" httpie", out.Bytes())
					shFiles = append(shFiles, path)
				}
				if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
					t.Fatal(err)
				}
				if format == "fetch" {
					if b, err := exec.Command(node, "--check", path).CombinedOutput(); err != nil {
						t.Errorf("%s: node --check: %v\n%s", names[i], err, b)
					}
				}
			}
		}
	}
	if b, err := exec.Command(py, append([]string{"-m", "py_compile"}, pyFiles...)...).CombinedOutput(); err != nil {
		t.Errorf("py_compile: %v\n%s", err, b)
	}
	if sc, err := exec.LookPath("shellcheck"); err == nil {
		if b, err := exec.Command(sc, append([]string{"--severity=style"}, shFiles...)...).CombinedOutput(); err != nil {
			t.Errorf("shellcheck: %v\n%s", err, b)
		}
	}
	t.Logf("%d outputs of %d inputs checked", n, len(inputs))
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// corpusDirOrEmpty is ../../shared/har-corpus, or "" when it is missing.
func corpusDirOrEmpty() string {
	dir, _ := filepath.Abs(filepath.Join("..", "..", "shared", "har-corpus"))
	if _, err := os.Stat(dir); err != nil {
		return ""
	}
	return dir
}

// TestTargetsGolden pins the new formats' output for the small session
// (Chrome headers, redacted cookies, a NUL body, a WebSocket) and the
// demo session (ids taken from answers); -update rewrites them.
func TestTargetsGolden(t *testing.T) {
	for _, input := range []string{"session", "demo-session"} {
		for _, f := range []struct{ format, ext string }{
			{"python", ".py"}, {"httpie", ".httpie.sh"}, {"fetch", ".mjs"}, {"locust", ".locustfile.py"},
		} {
			t.Run(input+f.ext, func(t *testing.T) {
				data := mustRead(t, filepath.Join("testdata", input+".har"))
				out := convertBytes(t, data, Options{Format: f.format, Name: input + ".har"})
				golden(t, input+f.ext, out)
			})
		}
	}
}

// TestTargetsBaseURLPrefix: a --base-url (or BASE_URL) with a path sends
// every call under that path, the recorded target after it.
func TestTargetsBaseURLPrefix(t *testing.T) {
	runners := scriptRunners(t)
	rec := newRecorder(t)
	data := writeHAR(t, []*har.Entry{{
		StartedDateTime: "2025-01-01T00:00:00.000Z",
		Request:         har.Request{Method: "GET", URL: recordedOrigin + "/v3/x?a=%2f", HTTPVersion: "HTTP/1.1"},
		Response:        har.Response{Status: 200, StatusText: "OK"},
	}})
	for _, r := range runners {
		for _, how := range []string{"--base-url", "BASE_URL"} {
			opts := Options{Format: r.format}
			var env []string
			if how == "--base-url" {
				opts.BaseURL = rec.url() + "/pre/fix/"
			} else {
				env = []string{"BASE_URL=" + rec.url() + "/pre/fix"}
			}
			dir, path := writeScript(t, r.file, convertBytes(t, data, opts))
			runTarget(t, dir, env, r.cmd(path)...)
			got := rec.take()
			want := "/pre/fix/v3/x?a=%2f"
			if r.format == "httpie" {
				want = "/pre/fix/v3/x?a=%2F" // requests upper-cases escapes
			}
			if len(got) != 1 || got[0].target != want {
				t.Errorf("%s with %s: received %v, want one request for %s", r.format, how, got, want)
			}
		}
	}
}

// TestSpoolKeepsTiming: a spooled entry keeps when it started and how
// long it took, which the locustfile's pauses come from.
func TestSpoolKeepsTiming(t *testing.T) {
	e := &har.Entry{StartedDateTime: "2025-01-01T00:00:01.250Z", Time: 12.5,
		Request: har.Request{Method: "GET", URL: "https://a.example/"}}
	got := spillAndRead(t, e)[0]
	if got.StartedDateTime != "2025-01-01T00:00:01.250Z" || got.Time != 12.5 {
		t.Errorf("read back %q, %v", got.StartedDateTime, got.Time)
	}
}

// BenchmarkConvertTargets10k: the new formats over the 10,000-entry HAR
// of BenchmarkConvert10k, with correlation, alone and all at once.
func BenchmarkConvertTargets10k(b *testing.B) {
	for _, f := range []string{"python", "httpie", "fetch", "locust"} {
		b.Run(f, func(b *testing.B) { benchConvert(b, false, f) })
	}
	b.Run("python,httpie,fetch,locust", func(b *testing.B) { benchConvertTo(b, false, "python", "httpie", "fetch", "locust") })
}
