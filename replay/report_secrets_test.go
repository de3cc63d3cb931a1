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

// TestMappedSecretsNotShown: the "mapped" section pairs a recorded session
// cookie, CSRF cookie and token with the live ones; no report shows any 4
// characters of any of them (issue 15: the mapped section showed the first
// 4 characters of the live CSRF cookie). The secrets are letters only, so
// that none of their 4-character pieces occurs in a report by chance.
func TestMappedSecretsNotShown(t *testing.T) {
	const (
		recCSRF  = "QvXkZjWbPqYmHsTd"
		liveCSRF = "GwJzKxVqBnMfLpRc"
		recSess  = "YhQzWxKvJbNmPtSg"
		liveSess = "FqZkXwVjHbMnRyLd"
		recTok   = "kXqZvJwBpYhGtNsMrLfD"
		liveTok  = "zQxJkWvHbNgYmPtRsDfL"
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "CSRF", Value: liveCSRF, Path: "/"})
		http.SetCookie(w, &http.Cookie{Name: "R_SESS", Value: liveSess, Path: "/", HttpOnly: true})
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"token": liveTok, "id": "c-live1", "name": "x"})
	}))
	defer srv.Close()
	body := `{"token":"` + recTok + `","id":"c-rec01","name":"x"}`
	e := &har.Entry{
		Request: har.Request{Method: "GET", URL: "https://api.test/v3/login"},
		Response: har.Response{Status: 200, Headers: []har.NameValue{
			{Name: "Set-Cookie", Value: "CSRF=" + recCSRF + "; Path=/"},
			{Name: "Set-Cookie", Value: "R_SESS=" + recSess + "; Path=/; HttpOnly"},
			{Name: "Content-Type", Value: "application/json"},
		}},
	}
	e.Response.Content.Text = har.String(body)
	// A second call makes the server's answer differ from the recording
	// where the token is echoed, so differences are reported too.
	e2 := &har.Entry{
		Request:  har.Request{Method: "GET", URL: "https://api.test/v3/me"},
		Response: har.Response{Status: 200, Headers: []har.NameValue{{Name: "Content-Type", Value: "application/json"}}},
	}
	e2.Response.Content.Text = har.String(`{"token":"` + recTok + `","id":"c-rec01","name":"y"}`)
	r, err := replay.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Run(context.Background(), []*har.Entry{e, e2})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Mapped) == 0 {
		t.Fatal("nothing was mapped: the test shows nothing")
	}
	secrets := []string{recCSRF, liveCSRF, recSess, liveSess, recTok, liveTok}
	for format, text := range allReports(t, res) {
		for _, s := range secrets {
			for i := 0; i+4 <= len(s); i++ {
				if piece := s[i : i+4]; strings.Contains(text, piece) {
					t.Errorf("%s report shows %q, part of a secret", format, piece)
					break
				}
			}
		}
		if format == "text" {
			t.Log("\n" + text)
			if !strings.Contains(text, "mapped (recorded → live)") || !strings.Contains(text, "‹secret›") {
				t.Error("the text report's mapped section does not show that a secret was mapped")
			}
		}
	}
}
