package convert

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/demo"
	"github.com/apitape/apitape/internal/testtool"
	"github.com/google/go-cmp/cmp"
)

// harRecorder is an http.RoundTripper that records each exchange as a HAR
// entry, the way a capture would: the headers the client set (sorted by
// name), the exact body, and the answer with its headers.
type harRecorder struct {
	mu      sync.Mutex
	entries []*har.Entry
}

func (rec *harRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	e := &har.Entry{
		StartedDateTime: "2025-01-01T00:00:00.000Z",
		Request:         har.Request{Method: req.Method, URL: req.URL.String(), HTTPVersion: "HTTP/1.1", HeadersSize: -1, BodySize: int64(len(body))},
	}
	e.Request.Headers = sortedHeaders(req.Header)
	if len(body) > 0 {
		e.Request.PostData = &har.PostData{MimeType: req.Header.Get("Content-Type"), Text: str(string(body))}
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(answer))
	// Date and Content-Length change from run to run (the server's port is
	// in the links): not kept, so that the recording can be a golden file.
	h := resp.Header.Clone()
	h.Del("Date")
	h.Del("Content-Length")
	e.Response = har.Response{Status: resp.StatusCode, StatusText: http.StatusText(resp.StatusCode), HTTPVersion: "HTTP/1.1",
		Headers: sortedHeaders(h), HeadersSize: -1, BodySize: int64(len(answer)),
		Content: har.Content{Size: int64(len(answer)), MimeType: resp.Header.Get("Content-Type"), Text: str(string(answer))}}
	rec.mu.Lock()
	rec.entries = append(rec.entries, e)
	rec.mu.Unlock()
	return resp, nil
}

func sortedHeaders(h http.Header) []har.NameValue {
	var out []har.NameValue
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range h {
			if !yield(k) {
				return
			}
		}
	}) {
		for _, v := range h[name] {
			out = append(out, har.NameValue{Name: name, Value: v})
		}
	}
	return out
}

// demoClient talks to a demo server with its API key.
type demoClient struct {
	t      *testing.T
	base   string
	apiKey string
	client *http.Client
}

// call sends one request and decodes the JSON answer; want is the status.
func (c *demoClient) call(want int, method, path string, body any) map[string]any {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	req.Header.Set("User-Agent", "rancher-provision/1.0")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: HTTP %d, want %d: %s", method, path, resp.StatusCode, want, data)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return out
}

// list returns the data of a /v3 collection.
func (c *demoClient) list(path string) []map[string]any {
	c.t.Helper()
	var out []map[string]any
	for _, item := range c.call(200, "GET", path, nil)["data"].([]any) {
		out = append(out, item.(map[string]any))
	}
	return out
}

// recordDemoSession provisions through the demo API what the Rancher UI
// would: a cloud credential, a node template using it, a cluster, its
// update, a node pool in it, then reads them back. The update renames the
// cluster after its id, so that a script replaying the session can create
// "lab" again on the same server: like Rancher, the demo refuses two
// clusters with one name.
func recordDemoSession(t *testing.T, srv *demo.Running) []*har.Entry {
	rec := &harRecorder{}
	c := &demoClient{t: t, base: srv.URL, apiKey: srv.APIKey, client: &http.Client{Transport: rec}}
	cc := c.call(201, "POST", "/v3/cloudcredential", map[string]any{
		"type": "cloudCredential", "name": "aws-lab",
		"amazonec2credentialConfig": map[string]any{"accessKey": "AKIAEXAMPLEEXAMPLE", "secretKey": "example-secret-key", "defaultRegion": "eu-west-1"},
	})["id"].(string)
	nt := c.call(201, "POST", "/v3/nodetemplate", map[string]any{
		"type": "nodeTemplate", "name": "lab-t3", "cloudCredentialId": cc,
		"amazonec2Config": map[string]any{"instanceType": "t3.large", "region": "eu-west-1", "zone": "a"},
	})["id"].(string)
	cluster := map[string]any{"type": "cluster", "name": "lab", "dockerRootDir": "/var/lib/docker",
		"rancherKubernetesEngineConfig": map[string]any{"network": map[string]any{"plugin": "canal"}}}
	id := c.call(201, "POST", "/v3/cluster?_replace=true", cluster)["id"].(string)
	cluster["id"], cluster["name"], cluster["description"] = id, id, "lab for the provisioning demo"
	c.call(200, "PUT", "/v3/clusters/"+id+"?_replace=true", cluster)
	np := c.call(201, "POST", "/v3/nodepool", map[string]any{
		"type": "nodePool", "clusterId": id, "nodeTemplateId": nt, "hostnamePrefix": "lab-pool1-",
		"quantity": 3, "controlPlane": true, "etcd": true, "worker": true,
	})["id"].(string)
	// The dashboard encodes the pool's colon (encodeURIComponent).
	c.call(200, "GET", "/v3/nodepools/"+strings.ReplaceAll(np, ":", "%3A"), nil)
	c.call(200, "POST", "/v3/clusters/"+id+"?action=generateKubeconfig", nil)
	c.call(200, "GET", "/v3/clusters?name="+id, nil)
	c.call(200, "GET", "/v3/clusters/"+id+"/nodepools", nil)
	c.call(200, "GET", "/v3/nodetemplates/"+nt, nil)
	return rec.entries
}

// normalizeDemo makes a recorded demo session the same on every run:
// every random id, token, uuid, key and timestamp the server issued is
// replaced, consistently, by a fixed one of the same shape (c-00001,
// nt-00001, …), and the server's address by http://rancher.invalid.
func normalizeDemo(entries []*har.Entry, origin string) {
	counters := map[string]int{}
	seen := map[string]string{}
	norm := func(s string) string {
		s = strings.ReplaceAll(s, origin, "http://rancher.invalid")
		s = demoIDPattern.ReplaceAllStringFunc(s, func(id string) string {
			if r, ok := seen[id]; ok {
				return r
			}
			prefix, _, _ := strings.Cut(id, "-")
			counters[prefix]++
			seen[id] = fmt.Sprintf("%s-%05d", prefix, counters[prefix])
			return seen[id]
		})
		s = demoSecretPattern.ReplaceAllString(s, strings.Repeat("s", 54))
		s = demoUUIDPattern.ReplaceAllString(s, "00000000-0000-4000-8000-000000000000")
		s = demoTimePattern.ReplaceAllString(s, "2025-01-01T00:00:00Z")
		s = demoTSPattern.ReplaceAllString(s, `${1}1735689600000`)
		// The kubeconfig's client key pair is new each time (and a key
		// does not belong in a test file, even a throwaway one).
		return demoKeyPattern.ReplaceAllString(s, `${1}UkVNT1ZFRA==`)
	}
	headers := func(hs []har.NameValue) {
		for i := range hs {
			hs[i].Value = norm(hs[i].Value)
		}
	}
	for _, e := range entries {
		e.Request.URL = norm(e.Request.URL)
		headers(e.Request.Headers)
		if pd := e.Request.PostData; pd != nil && pd.Text != nil {
			pd.Text = str(norm(*pd.Text))
			e.Request.BodySize = int64(len(*pd.Text))
		}
		headers(e.Response.Headers)
		if c := &e.Response.Content; c.Text != nil {
			c.Text = str(norm(*c.Text))
			c.Size, e.Response.BodySize = int64(len(*c.Text)), int64(len(*c.Text))
		}
	}
}

var (
	// Ids are a type prefix and five characters of the demo's alphabet.
	demoIDPattern     = regexp.MustCompile(`(?:token|user|np|nt|cc|c)-[bcdfghjklmnpqrstvwxz2456789]{5}\b`)
	demoSecretPattern = regexp.MustCompile(`\b[bcdfghjklmnpqrstvwxz2456789]{54}\b`)
	demoUUIDPattern   = regexp.MustCompile(`\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)
	demoTimePattern   = regexp.MustCompile(`\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`)
	demoTSPattern     = regexp.MustCompile(`("(?:createdTS|expiresAt|lastUsedAt)":)\d+`)
	demoKeyPattern    = regexp.MustCompile(`(client-(?:certificate|key)-data: \\")[A-Za-z0-9+/=]+`)
)

// TestDemoSession is the acceptance test of correlation: a session
// recorded against one demo server, converted to bash and to Go, runs
// twice each against a fresh demo server, and every run creates its own
// credential, template, cluster and node pool, referring to each other.
// With --no-correlate the same script fails at the first recorded id.
func TestDemoSession(t *testing.T) {
	needScriptTools(t, "runs bash, curl, jq and the go tool against demo servers")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	recorded, err := demo.Start(ctx, "127.0.0.1:0", demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	entries := recordDemoSession(t, recorded)
	recorded.Close()
	normalizeDemo(entries, recorded.URL)
	data := writeHAR(t, entries)

	// The model, for people: golden.
	vars := convertBytes(t, data, Options{Format: "vars", Name: "demo-session.har"})
	golden(t, "demo-session.vars.golden", vars)
	if *update {
		if err := os.WriteFile(filepath.Join("testdata", "demo-session.har"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"CLOUD_CREDENTIAL_ID", "NODE_TEMPLATE_ID", "CLUSTER_ID", "NODE_POOL_ID"} {
		if !bytes.Contains(vars, []byte("\n"+name+" = ")) {
			t.Errorf("the model has no %s:\n%s", name, vars)
		}
	}

	script := convertBytes(t, data, Options{Format: "bash", Name: "demo-session.har"})
	checkBash(t, "demo bash", script)
	shellcheck(t, "demo bash", script)
	src := convertBytes(t, data, Options{Format: "go", Name: "demo-session.har"})
	checkGoFormat(t, "demo go", src)
	prog := buildGo(t, src)

	fresh, err := demo.Start(ctx, "127.0.0.1:0", demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	env := []string{"BASE_URL=" + fresh.URL, "RANCHER_TOKEN=" + fresh.APIKey}
	api := &demoClient{t: t, base: fresh.URL, apiKey: fresh.APIKey, client: http.DefaultClient}
	dir := t.TempDir()
	scriptPath := filepath.Join(dir, "provision.sh")
	os.WriteFile(scriptPath, script, 0o700)
	runs := []struct {
		name string
		cmd  []string
	}{
		{"bash run 1", []string{"bash", scriptPath}},
		{"bash run 2", []string{"bash", scriptPath}},
		{"go run 1", []string{prog}},
		{"go run 2", []string{prog}},
	}
	for i, run := range runs {
		if out, err := runTool(dir, env, run.cmd...); err != nil {
			t.Fatalf("%s: %v\n%s", run.name, err, out)
		}
		checkDemoState(t, api, run.name, i+1)
	}

	off := convertBytes(t, data, Options{Format: "bash", Name: "demo-session.har", NoCorrelate: true})
	offPath := filepath.Join(dir, "recorded-ids.sh")
	os.WriteFile(offPath, off, 0o700)
	out, err := runTool(dir, env, "bash", offPath)
	const want = "apitape: call 1 (POST /v3/nodetemplate) failed: HTTP 422 (recorded 201)\n"
	if err == nil || !strings.HasPrefix(string(out), want) {
		t.Errorf("--no-correlate script: %v, output %q, want %q", err, out, want)
	}
	checkShownAnswer(t, string(out), `{"baseType":"error","code":"InvalidReference","fieldName":"cloudCredentialId","message":"","status":422,"type":"error"}`)
}

// checkDemoState checks through the API that n runs created n of each
// resource, each referring to the ones its own run created.
func checkDemoState(t *testing.T, api *demoClient, run string, n int) {
	t.Helper()
	ids := func(path string) map[string]map[string]any {
		m := map[string]map[string]any{}
		for _, item := range api.list(path) {
			m[item["id"].(string)] = item
		}
		return m
	}
	creds, templates, clusters, pools := ids("/v3/cloudcredentials"), ids("/v3/nodetemplates"), ids("/v3/clusters"), ids("/v3/nodepools")
	if len(creds) != n || len(templates) != n || len(clusters) != n || len(pools) != n {
		t.Fatalf("after %s: %d credentials, %d templates, %d clusters, %d node pools; want %d of each",
			run, len(creds), len(templates), len(clusters), len(pools), n)
	}
	usedTemplates, usedClusters, usedCreds := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for id, p := range pools {
		cid, tid := p["clusterId"].(string), p["nodeTemplateId"].(string)
		if clusters[cid] == nil || templates[tid] == nil || !strings.HasPrefix(id, cid+":np-") {
			t.Errorf("after %s: node pool %s refers to cluster %q and template %q, which do not exist", run, id, cid, tid)
		}
		usedClusters[cid], usedTemplates[tid] = true, true
	}
	for id, tm := range templates {
		cc := tm["cloudCredentialId"].(string)
		if creds[cc] == nil {
			t.Errorf("after %s: template %s refers to credential %q, which does not exist", run, id, cc)
		}
		usedCreds[cc] = true
	}
	for id, c := range clusters {
		if c["name"] != id {
			t.Errorf("after %s: cluster %s is named %v, want its id (the recorded update)", run, id, c["name"])
		}
	}
	if len(usedClusters) != n || len(usedTemplates) != n || len(usedCreds) != n {
		t.Errorf("after %s: the node pools use %d clusters and %d templates, the templates %d credentials; want %d each (one chain per run)",
			run, len(usedClusters), len(usedTemplates), len(usedCreds), n)
	}
}

// needScriptTools skips a test that runs generated scripts in -short mode
// or without bash, curl and jq.
func needScriptTools(t *testing.T, why string) {
	t.Helper()
	if testing.Short() {
		t.Skip(why)
	}
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			testtool.Missing(t, "%s not installed", tool)
		}
	}
}

// runTool runs a generated script or program with only env (and PATH) and
// returns its standard error.
func runTool(dir string, env []string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "TMPDIR=" + dir, "LC_ALL=C.UTF-8"}, env...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	err := cmd.Run()
	return stderr.Bytes(), err
}

// shellcheck runs shellcheck on a script when it is installed.
func shellcheck(t *testing.T, name string, script []byte) {
	t.Helper()
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		testtool.Unchecked(t, "shellcheck not found: skipped")
		return
	}
	cmd := exec.Command(sc, "--severity=style", "-")
	cmd.Stdin = bytes.NewReader(script)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%s: shellcheck: %v\n%s", name, err, b)
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./convert -update)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}
