package replay_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/correlate"
	"github.com/apitape/apitape/internal/loginapp"
	"github.com/apitape/apitape/internal/placeholder"
	"github.com/apitape/apitape/internal/selection"
	"github.com/apitape/apitape/redact"
	"github.com/apitape/apitape/replay"
	"github.com/apitape/apitape/replay/replaytest"
)

// TestReplayLoginPage: a session that logged in through a page (a token
// in its URL; a session cookie named after the port, set by the page's
// answer) replays with the default selection against a fresh instance on
// another port with only that token: the page is added, because the API
// calls send the cookie its answer set.
func TestReplayLoginPage(t *testing.T) {
	const token = "c0ffee4d1e5e7a1b2c3d4e5f60718293a4b5c6d7e8f90a1b"
	app := loginapp.Start(token)
	rec := replaytest.NewRecorder(app.URL)
	login, err := rec.Do("GET", "/login?token="+token, "")
	if err != nil || login.Response.Status != 302 {
		t.Fatalf("login: %v", err)
	}
	if err := login.Extra.Set("_resourceType", "document"); err != nil {
		t.Fatal(err)
	}
	var cookies []string
	xsrf := ""
	for _, h := range login.Response.Headers {
		if strings.EqualFold(h.Name, "Set-Cookie") {
			pair, _, _ := strings.Cut(h.Value, ";")
			cookies = append(cookies, pair)
			if v, ok := strings.CutPrefix(pair, "_xsrf="); ok {
				xsrf = v
			}
		}
	}
	cookie := strings.Join(cookies, "; ")
	rec.Do("GET", "/api/items", "", "Cookie", cookie)
	made, err := rec.Do("POST", "/api/items", `{"name":"notebook-1"}`, "Cookie", cookie, "X-XSRFToken", xsrf)
	if err != nil || made.Response.Status != 201 {
		t.Fatalf("create: %v", err)
	}
	id, _ := correlate.Source{Kind: correlate.KindJSON, Path: ".id"}.LookupEntry(&made.Response)
	rec.Do("GET", "/api/items/"+id, "", "Cookie", cookie)
	app.Close()

	// Redacted as every command does by default.
	r, err := redact.New(redact.Options{Key: []byte("replay-login-test-key-0123456789")})
	if err != nil {
		t.Fatal(err)
	}
	var plain, buf bytes.Buffer
	pw, _ := har.NewWriter(&plain, har.NewLog("test"))
	for _, e := range rec.Entries {
		pw.Write(e)
	}
	pw.Close()
	hr := har.NewReader(&plain, "login.har")
	hw, _ := har.NewWriter(&buf, har.NewLog("test"))
	for {
		raw, err := hr.NextRaw()
		if err != nil {
			break
		}
		out, _, err := r.Entry(hr.Index(), raw)
		if err != nil {
			t.Fatal(err)
		}
		hw.WriteRaw(out)
	}
	hw.Close()
	data := buf.Bytes()
	if bytes.Contains(data, []byte(token)) {
		t.Fatal("the redacted recording holds the token")
	}
	tokenVar := ""
	for _, ph := range placeholder.FindAll(string(data)) {
		if name := placeholder.EnvName(string(data[ph[0]:ph[1]])); strings.HasPrefix(name, "APITAPE_SECRET_TOKEN_") {
			tokenVar = name
		}
	}
	if tokenVar == "" {
		t.Fatal("the token was not redacted to a placeholder")
	}

	sel, added, err := replay.AddProducers(data, "login.har", selection.Filter{}, correlate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(added) != 1 || !strings.HasPrefix(added[0], "0 (GET /login)") {
		t.Fatalf("added %q, want the login page", added)
	}
	fresh := loginapp.Start("feedface0123456789abcdef0123456789abcdef01234567")
	defer fresh.Close()
	env := map[string]string{tokenVar: "feedface0123456789abcdef0123456789abcdef01234567"}
	rp, err := replay.New(fresh.URL, replay.WithEnv(func(k string) string { return env[k] }))
	if err != nil {
		t.Fatal(err)
	}
	res, err := rp.RunReader(context.Background(), har.NewReader(bytes.NewReader(data), "login.har"), &sel)
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary.Calls != 4 || res.Regressed() {
		var report bytes.Buffer
		replay.WriteText(&report, res)
		t.Errorf("replay: %+v\n%s", res.Summary, report.String())
	}
	if posted, asked, names := fresh.Items(); posted != 1 || len(asked) != 1 || names[asked[0]] != "notebook-1" {
		t.Errorf("the fresh app: posted %d, asked for %q", posted, asked)
	}
}
