package convert

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apitape/apitape/har"
)

// Live credential values: each a canary that must never appear in the
// default-mode output.
var canaries = []string{"LIVECOOKIE123", "LIVETOKEN456", "LIVECSRF789", "LIVERSESS000"}

// credentialEnv holds the values the user exports before running.
var credentialEnv = []string{
	"COOKIE=sid=LIVECOOKIE123; theme=dark",
	"AUTHORIZATION=Bearer LIVETOKEN456",
	"CSRF_TOKEN=LIVECSRF789",
	"RANCHER_TOKEN=token-abcde:fresh'$(id)",
	`APITAPE_SECRET_PASSWORD_0A1B2C3D=pa$$"w'rd ` + "`x`",
	"APITAPE_SECRET_APIKEY_11223344=k$(id)&x",
}

func credentialCorpus(origin, otherOrigin string) ([]*har.Entry, []want) {
	nv := func(pairs ...string) []har.NameValue {
		var out []har.NameValue
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, har.NameValue{Name: pairs[i], Value: pairs[i+1]})
		}
		return out
	}
	entry := func(method, url string, headers []har.NameValue, body string) *har.Entry {
		e := &har.Entry{Request: har.Request{Method: method, URL: url, HTTPVersion: "HTTP/1.1", Headers: headers},
			Response: har.Response{Status: 200, Content: har.Content{MimeType: "application/json"}}}
		if body != "" {
			e.Request.PostData = &har.PostData{MimeType: "application/json", Text: str(body)}
		}
		return e
	}
	big := bigBody(100<<10, "x'$") // over the argument limit: piped, with a variable in the middle
	big = big[:50<<10] + "REDACTED-password-0a1b2c3d" + big[50<<10:]
	entries := []*har.Entry{
		entry("GET", origin+"/v3/clusters?limit=5", nv(
			"Accept", "application/json", "Accept-Encoding", "gzip, deflate, br", "Accept-Language", "en-US",
			"Cookie", "sid=LIVECOOKIE123; theme=dark", "If-None-Match", `W/"1"`, "Referer", origin+"/c",
			"sec-ch-ua", `"Chromium"`, "Sec-Fetch-Mode", "cors", "User-Agent", "Mozilla/5.0 Test"), ""),
		entry("POST", origin+"/v3/login?key=REDACTED-apikey-11223344", nv(
			"Authorization", "Bearer LIVETOKEN456", "Content-Type", "application/json", "X-CSRF-Token", "LIVECSRF789",
			"X-Api-Key", "pre-REDACTED-apikey-11223344-post"), `{"password":"REDACTED-password-0a1b2c3d"}`),
		entry("POST", origin+"/v3/cluster", nv(
			"Content-Type", "application/json", "Cookie", "R_PCS=light; CSRF=c0ffee; R_SESS=token-abcde:LIVERSESS000",
			"X-Api-Csrf", "c0ffee", "User-Agent", "Mozilla/5.0 Rancher UI", "Accept", "application/json"), `{"name":"c1"}`),
		entry("GET", otherOrigin+"/other", nv("Accept", "text/plain"), ""),
		entry("PUT", origin+"/big", nv("Content-Type", "application/json"), big),
	}
	wants := []want{
		{index: 0, method: "GET", target: "/v3/clusters?limit=5", compressed: true, headers: [][2]string{
			{"Accept", "application/json"}, {"Cookie", "sid=LIVECOOKIE123; theme=dark"}, {"User-Agent", "Mozilla/5.0 Test"}}},
		{index: 1, method: "POST", target: "/v3/login?key=k$(id)&x", body: []byte(`{"password":"pa$$"w'rd ` + "`x`" + `"}`),
			headers: [][2]string{{"Authorization", "Bearer LIVETOKEN456"}, {"Content-Type", "application/json"},
				{"X-CSRF-Token", "LIVECSRF789"}, {"X-Api-Key", "pre-k$(id)&x-post"}}},
		{index: 2, method: "POST", target: "/v3/cluster", body: []byte(`{"name":"c1"}`), headers: [][2]string{
			{"Content-Type", "application/json"}, {"Accept", "application/json"}, {"Authorization", "Bearer token-abcde:fresh'$(id)"}}},
		{index: 3, method: "GET", target: "/other", headers: [][2]string{{"Accept", "text/plain"}},
			host: strings.TrimPrefix(otherOrigin, "http://")},
		{index: 4, method: "PUT", target: "/big", body: []byte(strings.Replace(big, "REDACTED-password-0a1b2c3d", `pa$$"w'rd `+"`x`", 1)),
			headers: [][2]string{{"Content-Type", "application/json"}}},
	}
	return entries, wants
}

// TestRoundTripCredentials checks the default mode: credentials become
// environment variables, no live value is written, missing variables stop
// the script before any call, and with the variables set the same bytes
// arrive.
func TestRoundTripCredentials(t *testing.T) {
	if testing.Short() {
		t.Skip("runs bash, curl and the go tool")
	}
	rec := newRecorder(t)
	origin := rec.url()
	// The same server under another name: a call to a second origin.
	other := strings.Replace(origin, "127.0.0.1", "localhost", 1)
	entries, wants := credentialCorpus(origin, other)
	data := writeHAR(t, entries)
	serverHost := strings.TrimPrefix(origin, "http://")

	for _, format := range []string{"curl", "bash", "go"} {
		t.Run(format, func(t *testing.T) {
			out := convertBytes(t, data, Options{Format: format})
			if format == "go" {
				checkGoFormat(t, "credentials", out)
			} else {
				checkBash(t, "credentials", out)
			}
			for _, c := range canaries {
				if bytes.Contains(out, []byte(c)) {
					t.Errorf("output holds the live value %s", c)
				}
			}
			for _, name := range []string{"COOKIE", "AUTHORIZATION", "CSRF_TOKEN", "RANCHER_TOKEN", "APITAPE_SECRET_PASSWORD_0A1B2C3D", "APITAPE_SECRET_APIKEY_11223344"} {
				if !bytes.Contains(out, []byte(name)) {
					t.Errorf("output does not use %s", name)
				}
			}
			var runIt func(env []string) (string, error)
			switch format {
			case "go":
				bin := buildGo(t, out)
				runIt = func(env []string) (string, error) {
					cmd := exec.Command(bin)
					cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
					b, err := cmd.CombinedOutput()
					return string(b), err
				}
			default:
				dir := t.TempDir()
				path := filepath.Join(dir, "out.sh")
				os.WriteFile(path, out, 0o700)
				runIt = func(env []string) (string, error) {
					cmd := exec.Command("bash", path)
					cmd.Dir = dir
					cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "TMPDIR=" + dir}, env...)
					cmd.Stdout = nil
					var stderr bytes.Buffer
					cmd.Stderr = &stderr
					err := cmd.Run()
					return stderr.String(), err
				}
			}
			if format != "curl" {
				// Without the variables: one clear message, no call sent.
				rec.take()
				msg, err := runIt(credentialEnv[:1])
				if err == nil || !strings.Contains(msg, "apitape: set these environment variables first: AUTHORIZATION CSRF_TOKEN RANCHER_TOKEN APITAPE_SECRET_APIKEY_11223344 APITAPE_SECRET_PASSWORD_0A1B2C3D\n") {
					t.Errorf("missing variables: err %v, message %q", err, msg)
				}
				if got := rec.take(); len(got) > 0 {
					t.Errorf("%d calls sent before the check", len(got))
				}
			}
			rec.take()
			if msg, err := runIt(credentialEnv); err != nil {
				t.Fatalf("run: %v\n%s", err, msg)
			}
			got := rec.take()
			if len(got) != len(wants) {
				t.Fatalf("server received %d requests, want %d", len(got), len(wants))
			}
			for i, w := range wants {
				check(t, format, w, got[i], serverHost, format != "go")
			}
		})
	}
}

// TestFailureNamesTheCall: an HTTP error the recording did not have stops
// the script and the program with a message naming the call.
func TestFailureNamesTheCall(t *testing.T) {
	if testing.Short() {
		t.Skip("runs bash, curl and the go tool")
	}
	rec := newRecorder(t)
	for _, tt := range []struct{ url, msg string }{
		{"http://127.0.0.1:1/v3/cluster", "apitape: call 0 (POST /v3/cluster) failed: "},
		{rec.url() + "/fail500", "apitape: call 0 (POST /fail500) failed: HTTP 500 (recorded 201)"},
	} {
		e := &har.Entry{Request: har.Request{Method: "POST", URL: tt.url}, Response: har.Response{Status: 201}}
		data := writeHAR(t, []*har.Entry{e})
		for _, format := range []string{"bash", "go"} {
			out := convertBytes(t, data, Options{Format: format})
			if format == "go" {
				checkGoFormat(t, "credentials", out)
			} else {
				checkBash(t, "credentials", out)
			}
			var cmd *exec.Cmd
			if format == "go" {
				cmd = exec.Command(buildGo(t, out))
			} else {
				cmd = exec.Command("bash", "-c", string(out))
			}
			b, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(b), tt.msg) {
				t.Errorf("%s: err %v, output %q, want %q", format, err, b, tt.msg)
			}
		}
	}
}
