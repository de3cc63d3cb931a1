package replay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/replay"
	"github.com/apitape/apitape/replay/replaytest"
)

// allReports renders a result in every format.
func allReports(t *testing.T, res *replay.Result) map[string]string {
	t.Helper()
	out := map[string]string{}
	for name, write := range map[string]func(io.Writer, *replay.Result) error{
		"text":  func(w io.Writer, r *replay.Result) error { return replay.WriteText(w, r, replay.Verbose(true)) },
		"json":  replay.WriteJSON,
		"junit": replay.WriteJUnit,
		"html":  replay.WriteHTML,
	} {
		var b bytes.Buffer
		if err := write(&b, res); err != nil {
			t.Fatal(err)
		}
		out[name] = b.String()
	}
	return out
}

// TestSecretsNeverReported: values that stood for placeholders, --header
// variables and tokens the target handed out appear in no report, even
// when the server echoes them back in a difference.
func TestSecretsNeverReported(t *testing.T) {
	const (
		vendorToken  = "ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d"
		slackToken   = "xoxb-2048593712-5081937465210-Q7kWmZp3RtY9vXn2BcD4fGh6"
		envSecret    = "s3cret-from-env-value"
		headerSecret = "header-secret-value-42"
		liveSession  = "live-session-9f8e7d6c5b4a"
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"echo": string(body), "seen": r.Header.Get("Authorization"), "query": r.URL.RawQuery,
			// A credential by its name alone (redaction's classifier):
			// replay's own word list did not know it, and reports
			// showed it.
			"sessionId": liveSession,
			"session":   "token-abcde:" + strings.Repeat("q", 54),
			// Vendor shapes replay's own token patterns do not know:
			// redaction's detectors (gitleaks' rules) mask them.
			"github": vendorToken, "slack": slackToken,
		})
	}))
	defer srv.Close()
	e := &har.Entry{
		Request: har.Request{Method: "POST", URL: "https://api.test/echo?key=REDACTED-query-0a1b2c3d",
			Headers:  []har.NameValue{{Name: "Content-Type", Value: "application/json"}, {Name: "Authorization", Value: "Bearer recorded"}},
			PostData: &har.PostData{MimeType: "application/json", Text: har.String(`{"password":"REDACTED-password-0a1b2c3d"}`)}},
		Response: har.Response{Status: 200, Headers: []har.NameValue{{Name: "Content-Type", Value: "application/json"}}},
	}
	e.Response.Content.Text = har.String(`{"echo":"something else","seen":"Bearer recorded","query":"key=old","session":"none","github":"none","slack":"none","sessionId":"recorded-session-1a2b3c"}`)
	env := map[string]string{
		"APITAPE_SECRET_QUERY_0A1B2C3D":    envSecret,
		"APITAPE_SECRET_PASSWORD_0A1B2C3D": envSecret + "-pw",
		"HDR":                              headerSecret,
	}
	r, err := replay.New(srv.URL, replay.WithEnv(func(k string) string { return env[k] }), replay.WithHeader("Authorization", "Bearer $HDR"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Run(context.Background(), []*har.Entry{e})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Regressed() {
		t.Fatal("the echo differs: want a regression to report")
	}
	for format, text := range allReports(t, res) {
		for _, secret := range []string{envSecret, headerSecret, strings.Repeat("q", 54), vendorToken, slackToken, liveSession, "recorded-session-1a2b3c"} {
			if strings.Contains(text, secret) {
				t.Errorf("%s report contains a secret %q:\n%s", format, secret, text)
			}
		}
		if format == "text" {
			t.Log("\n" + text)
			if !strings.Contains(text, "REDACTED-query-0a1b2c3d") || !strings.Contains(text, "‹from --header Authorization›") {
				t.Errorf("text report does not show what stood for the secrets")
			}
		}
	}
}

// recordingTransport keeps every answer body, to know the live secrets.
type recordingTransport struct {
	mu     sync.Mutex
	bodies []string
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	rt.mu.Lock()
	rt.bodies = append(rt.bodies, string(b))
	rt.mu.Unlock()
	return resp, nil
}

// TestRedactedRecordingReplays takes a demo token session, redacts it the
// way redact does (the password and the token become placeholders), and
// replays it with only the password's variable set: the token placeholder
// is learned from the login answer. The live token is in no report.
func TestRedactedRecordingReplays(t *testing.T) {
	entries := recordDemoTokenSession(t, startDemo(t, "").URL)
	var tok struct{ Token string }
	json.Unmarshal([]byte(*entries[0].Response.Content.Text), &tok)
	raw := string(replaytest.HARBytes(entries))
	raw = strings.ReplaceAll(raw, tok.Token, "REDACTED-token-aaaabbbb")
	raw = strings.ReplaceAll(raw, demoPassword, "REDACTED-password-1a2b3c4d")
	h, err := har.ReadAll(strings.NewReader(raw), "redacted.har")
	if err != nil {
		t.Fatal(err)
	}
	srv := startDemo(t, "")
	rt := &recordingTransport{}
	r, _ := replay.New(srv.URL, replay.WithClient(&http.Client{Transport: rt}),
		replay.WithEnv(func(k string) string {
			if k == "APITAPE_SECRET_PASSWORD_1A2B3C4D" {
				return demoPassword
			}
			return ""
		}))
	res, err := r.Run(context.Background(), h.Log.Entries)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + textReport(t, res))
	if res.Regressed() {
		t.Fatalf("redacted recording did not replay: %+v", res.Summary)
	}
	var live struct{ Token string }
	json.Unmarshal([]byte(rt.bodies[0]), &live)
	if live.Token == "" {
		t.Fatal("no live token")
	}
	_, secret, _ := strings.Cut(live.Token, ":")
	for format, text := range allReports(t, res) {
		for _, s := range []string{secret, demoPassword} {
			if strings.Contains(text, s) {
				t.Errorf("%s report contains a secret", format)
			}
		}
	}
}
