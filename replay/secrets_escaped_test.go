package replay_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/replay"
)

// TestEscapedSecretsNeverReported: a secret with characters JSON escapes
// (" \ & < >) shows in a body row in its escaped spelling, which the
// scrubber, looking for the raw value, once missed.
func TestEscapedSecretsNeverReported(t *testing.T) {
	const secret = `hdr"secret&<value>\x`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"auth": r.Header.Get("Authorization"), "n": 2})
	}))
	defer srv.Close()
	e := &har.Entry{
		Request: har.Request{Method: "GET", URL: "https://api.test/echo",
			Headers: []har.NameValue{{Name: "Authorization", Value: "Bearer recorded"}}},
		Response: har.Response{Status: 200, Headers: []har.NameValue{{Name: "Content-Type", Value: "application/json"}}},
	}
	e.Response.Content.Text = har.String(`{"auth":"Bearer recorded","n":1}`)
	r, err := replay.New(srv.URL, replay.WithEnv(func(k string) string { return map[string]string{"HDR": secret}[k] }),
		replay.WithHeader("Authorization", "Bearer $HDR"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Run(context.Background(), []*har.Entry{e})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Regressed() {
		t.Fatal("the answer differs: want a regression to report")
	}
	q, _ := json.Marshal(secret)
	escaped := string(q[1 : len(q)-1])
	for format, text := range allReports(t, res) {
		for _, s := range []string{secret, escaped, "secret\\u0026", "secret&amp;"} {
			if strings.Contains(text, s) {
				t.Errorf("%s report contains the secret as %q:\n%s", format, s, text)
			}
		}
	}
}

// TestTargetErrorHidesCredentials: a target refused for its credentials
// or its query is named without them.
func TestTargetErrorHidesCredentials(t *testing.T) {
	for _, target := range []string{"https://admin:hunter2pass@api.test/", "https://api.test/v1?token=hunter2pass", "https://api.test/#hunter2pass"} {
		_, err := replay.New(target)
		if err == nil || strings.Contains(err.Error(), "hunter2pass") || !strings.Contains(err.Error(), "api.test") {
			t.Errorf("New(%q): %v", target, err)
		}
	}
}

// TestHeaderNameErrorHidesValue: a --header whose "name" is a credential
// is quoted only up to its first invalid byte.
func TestHeaderNameErrorHidesValue(t *testing.T) {
	_, err := replay.New("https://api.test", replay.WithHeader("Bearer hunter2pass", "x"))
	if err == nil || strings.Contains(err.Error(), "hunter2pass") || !strings.Contains(err.Error(), `"Bearer"`) {
		t.Errorf("WithHeader: %v", err)
	}
}
