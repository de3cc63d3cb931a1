package convert

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/selection"
	"github.com/apitape/apitape/internal/testtool"
)

// TestCurlconverterReadsCurl has an independent parser, curlconverter (npm;
// `curlconverter --language json -` reads a curl command and prints its
// method, URL, headers and body as JSON), read every curl command apitape
// writes for the round-trip corpus and for the demo session (--exact, so
// the HAR entry is what must be sent), and checks that it agrees with the
// entry on method, URL, header names and values, and body.
//
// What curlconverter cannot read, or reads differently from curl, and what
// is compared instead:
//   - its JSON has headers as an object, so a header sent several times
//     shows its last value only: that must be the last recorded one; it
//     lowercases the method: compared without case; it drops a "?" with
//     nothing after it from the URL: accepted for that URL only;
//   - it parses a JSON body into a JavaScript value and a form body into an
//     object (numbers become doubles, a repeated form key keeps its last
//     value): compared as JSON values, or key by key as a form; a JSON body
//     Go cannot read as float64 either (1e400, which JavaScript reads as
//     Infinity and prints as null) is logged and not compared;
//   - it reads each \xNN of a bash $'…' string as one character (Latin-1),
//     not as a byte of UTF-8: a body written with such escapes must come
//     back as the Latin-1 reading of the recorded bytes;
//   - a command that reads its body from a base64 heredoc on stdin
//     (`base64 -d <<'APITAPE_BODY' | curl … --data-binary @-`) is a
//     compound statement it does not parse: it reads the curl part alone
//     (the body is then "@-"), and the heredoc is decoded here;
//   - a command over 32 KiB fails on its standard input ("Invalid
//     argument"): bash parses that one and curlconverter gets the words as
//     arguments;
//   - --request-target (a path with raw non-ASCII bytes) is ignored: the
//     URL of such a command is not compared (neither corpus has one).
//
// Default (non-exact) output is not compared: its credentials are shell
// variables, which curlconverter reads as environment variables.
func TestCurlconverterReadsCurl(t *testing.T) {
	if testing.Short() {
		t.Skip("runs curlconverter once per command")
	}
	cc := testtool.Need(t, "curlconverter")
	bash := testtool.Need(t, "bash")
	const base = "http://127.0.0.1:9"
	opts := Options{Exact: true, BaseURL: base, Selection: selection.Filter{All: true}, Format: "curl"}

	t.Run("corpus", func(t *testing.T) {
		data, wants := buildCorpus(t, roundTripCases())
		out := convertBytes(t, data, opts)
		checkCurlconverter(t, cc, bash, base, out, wants)
	})
	t.Run("demo", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join("testdata", "demo-session.har"))
		if err != nil {
			t.Fatal(err)
		}
		h, err := har.ReadAll(bytes.NewReader(data), "demo-session.har")
		if err != nil {
			t.Fatal(err)
		}
		var wants []want
		for i, e := range h.Log.Entries {
			body := e.Request.Body()
			if len(body) == 0 {
				body = nil
			}
			wants = append(wants, expectExact(i, e, body))
		}
		out := convertBytes(t, data, opts)
		checkCurlconverter(t, cc, bash, base, out, wants)
	})
}

// curlconverterJSON is what `curlconverter --language json` prints.
type curlconverterJSON struct {
	URL     string            `json:"url"`
	RawURL  string            `json:"raw_url"`
	Method  string            `json:"method"`
	Headers map[string]string `json:"headers"`
	Data    json.RawMessage   `json:"data"`
	Queries json.RawMessage   `json:"queries"`
	Cookies json.RawMessage   `json:"cookies"`
}

var entryComment = regexp.MustCompile(`(?m)^# entry (\d+): `)

// checkCurlconverter splits out into its commands, one per "# entry N:"
// comment, and checks each against wants (by entry index).
func checkCurlconverter(t *testing.T, cc, bash, base string, out []byte, wants []want) {
	byIndex := map[int]want{}
	for _, w := range wants {
		byIndex[w.index] = w
	}
	locs := entryComment.FindAllSubmatchIndex(out, -1)
	compared := 0
	for k, loc := range locs {
		end := len(out)
		if k+1 < len(locs) {
			end = locs[k+1][0]
		}
		index, _ := strconv.Atoi(string(out[loc[2]:loc[3]]))
		cmd := string(out[loc[0]:end])
		w, sent := byIndex[index]
		if !strings.Contains(cmd, "\ncurl ") && !strings.Contains(cmd, "| curl ") {
			if sent {
				t.Errorf("entry %d: no curl command", index)
			}
			continue
		}
		if !sent {
			t.Errorf("entry %d: a curl command for an entry that is not sent", index)
			continue
		}
		delete(byIndex, index)
		compareCurlconverter(t, cc, bash, base, cmd, w)
		compared++
	}
	for i := range byIndex {
		t.Errorf("entry %d: sent, but no command for it", i)
	}
	t.Logf("%d curl commands read by curlconverter and compared", compared)
}

func compareCurlconverter(t *testing.T, cc, bash, base, cmd string, w want) {
	t.Helper()
	label := fmt.Sprintf("entry %d", w.index)
	body := w.body
	// A body on stdin from a base64 heredoc: curlconverter reads the curl
	// part; the heredoc is decoded here.
	if pre, rest, ok := strings.Cut(cmd, "base64 -d <<'APITAPE_BODY' | "); ok {
		curlPart, heredoc, ok := strings.Cut(rest, "--data-binary @-\n")
		if !ok {
			t.Errorf("%s: a base64 heredoc without --data-binary @-:\n%s", label, cmd)
			return
		}
		encoded, _, _ := strings.Cut(heredoc, "APITAPE_BODY\n")
		decoded, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(encoded, "\n", ""))
		if err != nil || !bytes.Equal(decoded, body) {
			t.Errorf("%s: the heredoc holds %d bytes (%v), want the %d recorded", label, len(decoded), err, len(body))
		}
		cmd = pre + curlPart + "--data-binary @-\n"
		body = []byte("@-")
	}
	got, err := runCurlconverter(cc, bash, cmd)
	if err != nil {
		t.Errorf("%s: curlconverter cannot read the command: %v\n%.2000s", label, err, cmd)
		return
	}

	if !strings.EqualFold(got.Method, w.method) {
		t.Errorf("%s: method %q, want %q", label, got.Method, w.method)
	}
	wantURL := base + w.target
	switch {
	case strings.Contains(cmd, "--request-target "):
	case got.RawURL == wantURL:
	case strings.HasSuffix(wantURL, "?") && got.RawURL+"?" == wantURL:
	default:
		t.Errorf("%s: URL %q, want %q", label, got.RawURL, wantURL)
	}

	headers := w.headers
	if w.host != "" {
		name := w.hostName
		if name == "" {
			name = "Host"
		}
		headers = append(headers[:len(headers):len(headers)], [2]string{name, w.host})
	}
	last := map[string]string{}
	for _, h := range headers {
		last[h[0]] = h[1]
	}
	for name, v := range last {
		if g, ok := got.Headers[name]; !ok {
			t.Errorf("%s: header %q missing; curlconverter read %q", label, name, got.Headers)
		} else if g != v {
			t.Errorf("%s: header %q is %q, want %q", label, name, g, v)
		}
	}
	for name, v := range got.Headers {
		if _, ok := last[name]; ok {
			continue
		}
		// curl computes Content-Length; a bodiless POST states it.
		if strings.EqualFold(name, "Content-Length") && v == strconv.Itoa(len(w.body)) {
			continue
		}
		t.Errorf("%s: header %q: %q was not recorded", label, name, v)
	}

	compareCurlconverterBody(t, label, cmd, got.Data, body)
}

// compareCurlconverterBody compares curlconverter's "data" with the body.
func compareCurlconverterBody(t *testing.T, label, cmd string, data json.RawMessage, body []byte) {
	t.Helper()
	if len(data) == 0 {
		if len(body) > 0 {
			t.Errorf("%s: curlconverter read no body, want %d bytes", label, len(body))
		}
		return
	}
	var s string
	if json.Unmarshal(data, &s) == nil {
		switch {
		case s == string(body):
		case strings.Contains(cmd, `$'\x`) && s == latin1(body):
		default:
			t.Errorf("%s: body %.200q, want %.200q", label, s, body)
		}
		return
	}
	// An object: a JSON body parsed, or a form body split into fields.
	if json.Valid(body) {
		var want, got any
		if err := json.Unmarshal(body, &want); err != nil {
			t.Logf("%s: a JSON body Go cannot read as float64 (%v): curlconverter's reading is not compared", label, err)
			return
		}
		json.Unmarshal(data, &got)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: JSON body %s, want %s", label, data, body)
		}
		return
	}
	form, err := url.ParseQuery(string(body))
	var got map[string]string
	if err != nil || json.Unmarshal(data, &got) != nil || len(got) != len(form) {
		t.Errorf("%s: form body read as %s, want %s", label, data, body)
		return
	}
	for k, vs := range form {
		if got[k] != vs[len(vs)-1] {
			t.Errorf("%s: form field %q is %q, want %q", label, k, got[k], vs[len(vs)-1])
		}
	}
}

// runCurlconverter has curlconverter read cmd on its standard input, or,
// over its 32 KiB limit there, as arguments that bash split.
func runCurlconverter(cc, bash, cmd string) (*curlconverterJSON, error) {
	var c *exec.Cmd
	if len(cmd) < 32<<10 {
		c = exec.Command(cc, "--language", "json", "-")
		c.Stdin = strings.NewReader(cmd)
	} else {
		c = exec.Command(bash, "-c", `curl() { "$CURLCONVERTER" --language json "$@"; }; eval "$1"`, "bash", cmd)
		c.Env = append(os.Environ(), "CURLCONVERTER="+cc)
	}
	var stderr bytes.Buffer
	c.Stderr = &stderr
	stdout, err := c.Output()
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	var got curlconverterJSON
	dec := json.NewDecoder(bytes.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		return nil, fmt.Errorf("its JSON: %v: %s", err, stdout)
	}
	return &got, nil
}

// latin1 reads b one byte per character, as curlconverter reads \xNN.
func latin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}
