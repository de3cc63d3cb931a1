package demo

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// Patterns for Rancher-shaped values.
var (
	reCluster   = regexp.MustCompile(`^c-[bcdfghjklmnpqrstvwxz2456789]{5}$`)
	reToken     = regexp.MustCompile(`^token-[bcdfghjklmnpqrstvwxz2456789]{5}:[bcdfghjklmnpqrstvwxz2456789]{54}$`)
	reUUID      = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	reCSRF      = regexp.MustCompile(`^[0-9a-f]{32}$`)
	reTemplate  = regexp.MustCompile(`^cattle-global-nt:nt-[bcdfghjklmnpqrstvwxz2456789]{5}$`)
	reCredID    = regexp.MustCompile(`^cattle-global-data:cc-[bcdfghjklmnpqrstvwxz2456789]{5}$`)
	rePoolID    = regexp.MustCompile(`^c-[bcdfghjklmnpqrstvwxz2456789]{5}:np-[bcdfghjklmnpqrstvwxz2456789]{5}$`)
	reMgmtID    = regexp.MustCompile(`^c-m-[bcdfghjklmnpqrstvwxz2456789]{8}$`)
	reRFC3339   = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
	browserUA   = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
	testPass    = "correct-horse-battery"
	testOptions = Options{Password: testPass}
)

type fixture struct {
	t   *testing.T
	srv *Server
	ts  *httptest.Server
}

// newFixture starts a server on 127.0.0.1 (httptest listens on loopback).
func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	srv, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &fixture{t: t, srv: srv, ts: ts}
}

type response struct {
	status int
	header http.Header
	body   []byte
	cookie map[string]*http.Cookie
}

// json decodes the body as an object, failing the test otherwise.
func (r *response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

type req struct {
	method string
	path   string
	body   any // string: sent as is; otherwise JSON-encoded
	header map[string]string
	auth   string // "" = the admin API key; "-" = none
	jar    http.CookieJar
}

func (f *fixture) do(r req) *response {
	f.t.Helper()
	var body io.Reader
	switch b := r.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		body = bytes.NewReader(data)
	}
	method := r.method
	if method == "" {
		method = http.MethodGet
	}
	hr, err := http.NewRequest(method, f.ts.URL+r.path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	switch r.auth {
	case "":
		hr.Header.Set("Authorization", "Bearer "+f.srv.APIKey())
	case "-":
	default:
		hr.Header.Set("Authorization", r.auth)
	}
	hr.Header.Set("User-Agent", "apitape-test")
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	client := &http.Client{Jar: r.jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(hr)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, r.path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	out := &response{status: res.StatusCode, header: res.Header, body: data, cookie: map[string]*http.Cookie{}}
	for _, c := range res.Cookies() {
		out.cookie[c.Name] = c
	}
	return out
}

// must is do plus a status check.
func (f *fixture) must(status int, r req) *response {
	f.t.Helper()
	res := f.do(r)
	if res.status != status {
		f.t.Fatalf("%s %s: status %d, want %d\n%s", r.method, r.path, res.status, status, res.body)
	}
	return res
}

func (f *fixture) createCluster(name string, extra map[string]any) map[string]any {
	f.t.Helper()
	body := map[string]any{"type": "cluster", "name": name}
	for k, v := range extra {
		body[k] = v
	}
	return f.must(http.StatusCreated, req{method: "POST", path: "/v3/cluster?_replace=true", body: body}).json(f.t)
}

func newJar(t *testing.T) http.CookieJar {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return jar
}

// topKeys returns the top-level keys of a JSON object in document order.
func topKeys(t *testing.T, data []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", data)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// get walks a decoded JSON value: get(m, "a", "b") is m["a"]["b"].
func get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// parseKubeconfig checks that config is a valid kubeconfig and returns its
// token, server and decoded client key.
func parseKubeconfig(t *testing.T, config string) map[string]any {
	t.Helper()
	var kc struct {
		Kind     string `yaml:"kind"`
		Clusters []struct {
			Cluster struct {
				Server string `yaml:"server"`
			} `yaml:"cluster"`
		} `yaml:"clusters"`
		Users []struct {
			User struct {
				Token   string `yaml:"token"`
				KeyData string `yaml:"client-key-data"`
				Cert    string `yaml:"client-certificate-data"`
			} `yaml:"user"`
		} `yaml:"users"`
		CurrentContext string `yaml:"current-context"`
	}
	if err := yaml.Unmarshal([]byte(config), &kc); err != nil {
		t.Fatalf("kubeconfig is not YAML: %v\n%s", err, config)
	}
	if kc.Kind != "Config" || len(kc.Clusters) != 1 || len(kc.Users) != 1 {
		t.Fatalf("kubeconfig shape:\n%s", config)
	}
	key, err := base64.StdEncoding.DecodeString(kc.Users[0].User.KeyData)
	if err != nil {
		t.Fatalf("client-key-data: %v", err)
	}
	return map[string]any{"token": kc.Users[0].User.Token, "server": kc.Clusters[0].Cluster.Server, "key": string(key)}
}
