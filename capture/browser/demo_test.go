package browser

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/demo"
	"github.com/apitape/apitape/internal/selection"
)

// recordDemo runs testdata/demo-flow.yaml against a new demo server: log
// in, create a cluster, edit it, get its kubeconfig, add a node pool.
func recordDemo(t *testing.T, sel selection.Filter) (*har.File, *demo.Running) {
	t.Helper()
	needBrowser(t)
	d, err := demo.Start(context.Background(), "127.0.0.1:0", demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	steps, err := ReadSteps("testdata/demo-flow.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "demo.har")
	env := map[string]string{"DEMO_USER": d.User, "DEMO_PASSWORD": d.Password}
	_, err = Record(context.Background(), Options{
		URL: d.URL, Steps: steps, StepsFile: "demo-flow.yaml", Headless: true, Output: out, Selection: sel,
		Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	})
	if err != nil {
		t.Fatal(err)
	}
	return readHAR(t, out), d
}

func TestDemoSession(t *testing.T) {
	h, d := recordDemo(t, selection.Filter{})
	find := func(method, prefix string) *har.Entry {
		t.Helper()
		for _, e := range h.Log.Entries {
			if e.Request.Method == method && strings.HasPrefix(strings.TrimPrefix(e.Request.URL, d.URL), prefix) {
				return e
			}
		}
		t.Fatalf("no %s %s in the recording", method, prefix)
		return nil
	}
	jsonBody := func(b []byte) map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("body %q: %v", b, err)
		}
		return m
	}
	plugin := func(m map[string]any) any {
		rke, _ := m["rancherKubernetesEngineConfig"].(map[string]any)
		network, _ := rke["network"].(map[string]any)
		return network["plugin"]
	}

	login := find("POST", "/v3-public/localProviders/local?action=login")
	if body := jsonBody(login.Request.Body()); body["password"] != d.Password || body["responseType"] != "cookie" {
		t.Errorf("login body %v", body)
	}
	if len(login.Response.Cookies) == 0 || login.Response.Cookies[0].Name != "R_SESS" {
		t.Errorf("the login's Set-Cookie R_SESS is missing: %+v", login.Response.Cookies)
	}

	create := find("POST", "/v3/cluster?_replace=true")
	sent := jsonBody(create.Request.Body())
	if create.Response.Status != 201 || sent["name"] != "lab" || plugin(sent) != "calico" {
		t.Errorf("create: status %d, body %v", create.Response.Status, sent)
	}
	body, _, _ := create.Response.Content.Bytes()
	created := jsonBody(body)
	id, _ := created["id"].(string)
	if !strings.HasPrefix(id, "c-") {
		t.Fatalf("the create answer has no cluster id: %s", body)
	}

	update := find("PUT", "/v3/clusters/"+id+"?_replace=true")
	if got := jsonBody(update.Request.Body()); update.Response.Status != 200 || got["name"] != "lab" || plugin(got) != "flannel" {
		t.Errorf("update: status %d, body %v", update.Response.Status, got)
	}
	kc := find("POST", "/v3/clusters/"+id+"?action=generateKubeconfig")
	if b, _, _ := kc.Response.Content.Bytes(); !strings.Contains(string(b), `"config"`) {
		t.Errorf("kubeconfig answer %q", b)
	}
	pool := find("POST", "/v3/nodepool")
	if got := jsonBody(pool.Request.Body()); pool.Response.Status != 201 || got["clusterId"] != id || got["quantity"] != 3.0 {
		t.Errorf("node pool: status %d, body %v", pool.Response.Status, got)
	}

	// The CSRF header and the cookies are the real ones, from the
	// ExtraInfo events.
	for _, e := range []*har.Entry{create, update, kc, pool} {
		csrf, ok := har.Header(e.Request.Headers, "X-Api-Csrf")
		cookie, _ := har.Header(e.Request.Headers, "Cookie")
		if !ok || csrf == "" || !strings.Contains(cookie, "CSRF="+csrf) || !strings.Contains(cookie, "R_SESS=") {
			t.Errorf("%s %s: X-Api-Csrf %q, Cookie %q", e.Request.Method, e.Request.URL, csrf, cookie)
		}
	}
	for i, e := range h.Log.Entries {
		if rt := e.ResourceType(); rt != "fetch" && rt != "xhr" && rt != "document" {
			t.Errorf("entry %d: %s %s is a %s: only API calls and documents are kept by default", i, e.Request.Method, e.Request.URL, rt)
		}
		if _, ok, _ := e.Response.Content.Bytes(); !ok && e.Response.Status != 204 {
			t.Errorf("entry %d: %s %s: no body (%s)", i, e.Request.Method, e.Request.URL, extraString(e.Response.Content.Extra, "_bodyUnavailable"))
		}
	}
}

// TestDemoSessionAll: with --all the documents, scripts and styles are
// there too, with their bodies.
func TestDemoSessionAll(t *testing.T) {
	needBrowser(t)
	d, err := demo.Start(context.Background(), "127.0.0.1:0", demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	h, _ := record(t, d.URL, "- wait: '#login-username'\n", selection.Filter{All: true})
	types := map[string]int{}
	for _, e := range h.Log.Entries {
		types[e.ResourceType()]++
		if e.ResourceType() == "script" {
			if b, ok, _ := e.Response.Content.Bytes(); !ok || len(b) == 0 {
				t.Errorf("%s: the script's body is missing", e.Request.URL)
			}
		}
	}
	if types["document"] == 0 || types["script"] == 0 || types["stylesheet"] == 0 || types["fetch"] == 0 {
		t.Errorf("resource types %v: want documents, scripts, styles and API calls", types)
	}
}
