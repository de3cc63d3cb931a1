package correlate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/testtool"
)

// fakeRancher is a small stand-in for the /v3 calls of rancherSession that
// issues NEW ids and tokens (never the recorded ones) and answers 401, 404
// or 422 to any call naming an id it did not issue: what a second Rancher
// server does to a script that replays recorded ids.
type fakeRancher struct {
	mu     sync.Mutex
	n      int
	tokens map[string]bool
	ids    map[string]string // id → type
	ok     int               // calls answered 2xx
}

func newFakeRancher() *fakeRancher {
	return &fakeRancher{tokens: map[string]bool{}, ids: map[string]string{}}
}

func (f *fakeRancher) newID(prefix string) string {
	f.n++
	return fmt.Sprintf("%s%05d", prefix, f.n) // digits: never one of the recorded ids
}

func (f *fakeRancher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	status, resp := f.serve(r)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(resp)
	if status < 300 {
		f.ok++
	}
}

func (f *fakeRancher) serve(r *http.Request) (int, map[string]any) {
	body := map[string]any{}
	if r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		if len(b) > 0 && json.Unmarshal(b, &body) != nil {
			return 422, map[string]any{"code": "InvalidBodyContent"}
		}
	}
	str := func(k string) string { s, _ := body[k].(string); return s }
	has := func(id, typ string) bool { return f.ids[id] == typ }
	notFound := map[string]any{"code": "NotFound"}
	if r.URL.Path == "/v3-public/localProviders/local" && r.URL.Query().Get("action") == "login" {
		name := f.newID("token-")
		tok := name + ":" + strings.Repeat("s", 54)
		f.tokens[tok] = true
		return 201, map[string]any{"type": "token", "id": name, "name": name, "token": tok, "userId": "user-x"}
	}
	auth, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !f.tokens[auth] {
		return 401, map[string]any{"message": "must authenticate"}
	}
	create := func(typ, id string) (int, map[string]any) {
		f.ids[id] = typ
		return 201, map[string]any{"type": typ, "baseType": typ, "id": id, "name": str("name"),
			"links": map[string]string{"self": "http://" + r.Host + "/v3/" + typ + "s/" + id}}
	}
	seg := strings.Split(strings.TrimPrefix(r.URL.Path, "/v3/"), "/")
	switch {
	case r.Method == "GET" && (seg[0] == "users" || seg[0] == "clusters") && len(seg) == 1:
		return 200, map[string]any{"type": "collection", "data": []any{}}
	case r.Method == "POST" && seg[0] == "cloudcredential":
		return create("cloudCredential", f.newID("cattle-global-data:cc-"))
	case r.Method == "POST" && seg[0] == "nodetemplate":
		if !has(str("cloudCredentialId"), "cloudCredential") {
			return 422, map[string]any{"code": "InvalidReference", "fieldName": "cloudCredentialId"}
		}
		return create("nodeTemplate", f.newID("cattle-global-nt:nt-"))
	case r.Method == "POST" && seg[0] == "cluster":
		return create("cluster", f.newID("c-"))
	case r.Method == "PUT" && seg[0] == "clusters" && len(seg) == 2:
		if !has(seg[1], "cluster") || str("id") != seg[1] {
			return 404, notFound
		}
		return 200, map[string]any{"type": "cluster", "id": seg[1]}
	case r.Method == "POST" && seg[0] == "clusters" && len(seg) == 2 && r.URL.Query().Get("action") == "generateKubeconfig":
		if !has(seg[1], "cluster") {
			return 404, notFound
		}
		return 200, map[string]any{"type": "generateKubeConfigOutput", "config": "x"}
	case r.Method == "POST" && seg[0] == "nodepool":
		if !has(str("clusterId"), "cluster") || !has(str("nodeTemplateId"), "nodeTemplate") {
			return 422, map[string]any{"code": "InvalidReference"}
		}
		return create("nodePool", str("clusterId")+":"+f.newID("np-"))
	case r.Method == "GET" && seg[0] == "nodePools" && len(seg) == 2:
		if !has(seg[1], "nodePool") {
			return 404, notFound
		}
		return 200, map[string]any{"type": "nodePool", "id": seg[1]}
	case r.Method == "GET" && seg[0] == "nodes" && len(seg) == 1:
		if !has(r.URL.Query().Get("clusterId"), "cluster") {
			return 404, notFound
		}
		return 200, map[string]any{"type": "collection", "data": []any{}}
	}
	return 404, notFound
}

// replayGo sends the recorded session to base the way a Go emitter or
// replay would with the model: each field through Rewrite, each produced
// variable read from the live response with Source.Lookup. It returns the
// statuses.
func replayGo(t *testing.T, es []*har.Entry, m *Model, base string) []int {
	t.Helper()
	vars := map[string]string{}
	fill := func(entry int, where, text string) string {
		var b strings.Builder
		for _, p := range m.Rewrite(entry, where, text) {
			switch {
			case p.Var == nil:
				b.WriteString(p.Text)
			case p.Encoded == EncodedURL:
				b.WriteString(EscapeURI(vars[p.Var.Name]))
			default:
				b.WriteString(vars[p.Var.Name])
			}
		}
		return b.String()
	}
	var statuses []int
	for i, e := range es {
		_, path, query, _ := SplitURL(e.Request.URL)
		u := base + fill(i, WhereURLPath, path)
		if query != "" {
			u += "?" + fill(i, WhereURLQuery, query)
		}
		req, err := http.NewRequest(e.Request.Method, u, strings.NewReader(fill(i, WhereBody, string(e.Request.Body()))))
		if err != nil {
			t.Fatal(err)
		}
		for _, hd := range e.Request.Headers {
			req.Header.Add(hd.Name, fill(i, WhereHeader(hd.Name), hd.Value))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
		for _, v := range m.Produced(i) {
			val, ok := v.Source.Lookup(resp.Header, body)
			if !ok {
				t.Errorf("entry %d: live response has no %s at %s", i, v.Name, v.Source)
			}
			vars[v.Name] = val
		}
	}
	return statuses
}

// TestChainReplaysOnAnotherServer is the point of the package: the
// recorded session, replayed through the model against a server that
// issues different ids and tokens, succeeds call after call; replayed
// without the model it fails.
func TestChainReplaysOnAnotherServer(t *testing.T) {
	es := entries(rancherSession())
	m, err := Analyze(es, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fake := newFakeRancher()
	srv := httptest.NewServer(fake)
	defer srv.Close()
	for i, st := range replayGo(t, es, m, srv.URL) {
		if st >= 300 {
			t.Errorf("entry %d (%s %s): status %d", i, es[i].Request.Method, es[i].Request.URL, st)
		}
	}
	// Twice: a provisioning script provisions again and again.
	for i, st := range replayGo(t, es, m, srv.URL) {
		if st >= 300 {
			t.Errorf("second run: entry %d: status %d", i, st)
		}
	}
	if fake.ok != 2*len(es) {
		t.Errorf("server answered %d calls with 2xx, want %d", fake.ok, 2*len(es))
	}

	off, err := Analyze(es, nil, Options{Disabled: true})
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, st := range replayGo(t, es, off, srv.URL) {
		if st >= 400 {
			failed++
		}
	}
	if failed != len(es)-1 {
		t.Errorf("without correlation %d calls failed, want all but the login (%d)", failed, len(es)-1)
	}
}

// TestChainBash writes the session as a bash script the way a bash
// emitter would with the model (curl for the calls, jq -er with
// Source.JQ for the variables) and runs it with real bash, curl and jq
// against the fake server.
func TestChainBash(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			testtool.Missing(t, "%s not installed", tool)
		}
	}
	es := entries(rancherSession())
	m, err := Analyze(es, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	word := func(entry int, where, text string) string {
		var b strings.Builder
		for _, p := range m.Rewrite(entry, where, text) {
			switch {
			case p.Var == nil:
				b.WriteString(shellQuote(p.Text))
			case p.Encoded == EncodedURL:
				b.WriteString(`"$(jq -rn --arg v "$` + p.Var.Name + `" '$v|@uri')"`)
			default:
				b.WriteString(`"$` + p.Var.Name + `"`)
			}
		}
		return b.String()
	}
	var sb strings.Builder
	sb.WriteString("set -euo pipefail\n")
	for i, e := range es {
		_, path, query, _ := SplitURL(e.Request.URL)
		sb.WriteString(`response=$(curl -sS --fail -X ` + e.Request.Method + ` "$BASE_URL"` + word(i, WhereURLPath, path))
		if query != "" {
			sb.WriteString(`'?'` + word(i, WhereURLQuery, query))
		}
		for _, hd := range e.Request.Headers {
			sb.WriteString(" -H " + shellQuote(hd.Name+": ") + word(i, WhereHeader(hd.Name), hd.Value))
		}
		if body := e.Request.Body(); len(body) > 0 {
			sb.WriteString(" --data-binary " + word(i, WhereBody, string(body)))
		}
		sb.WriteString(")\n")
		for _, v := range m.Produced(i) {
			fmt.Fprintf(&sb, "%s=$(jq -er %s <<<\"$response\")\n", v.Name, shellQuote(v.Source.JQ()))
		}
	}
	sb.WriteString("echo done\n")
	script := filepath.Join(t.TempDir(), "provision.sh")
	if err := os.WriteFile(script, []byte(sb.String()), 0o700); err != nil {
		t.Fatal(err)
	}
	fake := newFakeRancher()
	srv := httptest.NewServer(fake)
	defer srv.Close()
	for run := 1; run <= 2; run++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, "bash", script)
		cmd.Env = append(os.Environ(), "BASE_URL="+srv.URL)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		cancel()
		if err != nil || strings.TrimSpace(stdout.String()) != "done" {
			t.Fatalf("run %d: %v\nstderr: %s\nscript:\n%s", run, err, stderr.String(), sb.String())
		}
	}
	if fake.ok != 2*len(es) {
		t.Errorf("server answered %d calls with 2xx, want %d", fake.ok, 2*len(es))
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
