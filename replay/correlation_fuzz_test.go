package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"unicode/utf8"

	"github.com/apitape/apitape/har"
)

// FuzzVariableEscaping: whatever the live value of a variable, a request
// carries exactly that value where the recording had the recorded one:
// percent-encoded in the query (decoding gives it back) and JSON-escaped
// inside a JSON body string (decoding gives it back), the rest of the
// request unchanged.
func FuzzVariableEscaping(f *testing.F) {
	for _, seed := range []string{"c-h8k2p:np-bbbbb", `tok"live\9`, "a b&c=d?e#f/g", "ünï cødé", "\x00\x1f\u2028", "%41%zz", "{}[]"} {
		f.Add(seed)
	}
	producer := entry("GET", "https://r.test/a", nil, "")
	producer.Response.Content.Text = har.String(`{"id":"c-q7x2m:np-8hv4t"}`)
	user := entry("POST", "https://r.test/b?pool=c-q7x2m%3Anp-8hv4t&x=1", [][2]string{{"Content-Type", "application/json"}},
		`{"poolId":"c-q7x2m:np-8hv4t","n":1}`)
	r, err := New("http://127.0.0.1:1")
	if err != nil {
		f.Fatal(err)
	}
	pr, err := r.prepare([]item{{0, producer}, {1, user}})
	if err != nil {
		f.Fatal(err)
	}
	if pr.model == nil || len(pr.model.Vars) != 1 || len(pr.model.Vars[0].Uses) != 2 {
		f.Fatalf("model: want one variable used twice, got %+v", pr.model)
	}
	v := pr.model.Vars[0]
	f.Fuzz(func(t *testing.T, live string) {
		if live == "" || !utf8.ValidString(live) {
			t.Skip("a JSON string holds UTF-8 text")
		}
		s := newSession(r.target, newValueMap(), newVarState(pr.model), true, func(string) string { return "" }, pr.origins, http.Header{})
		s.vars.live[v] = live
		req, err := s.buildRequest(context.Background(), pr.calls[1])
		if err != nil {
			t.Fatal(err)
		}
		q, err := url.ParseQuery(req.URL.RawQuery)
		if err != nil || q.Get("pool") != live || q.Get("x") != "1" || len(q) != 2 {
			t.Errorf("query %q: %v, %v", req.URL.RawQuery, q, err)
		}
		b, _ := io.ReadAll(req.Body)
		var body struct {
			PoolID string
			N      int
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil || body.PoolID != live || body.N != 1 {
			t.Errorf("body %s: %+v, %v", b, body, err)
		}
	})
}
