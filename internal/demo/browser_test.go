package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apitape/apitape/internal/chromium"
	"github.com/apitape/apitape/internal/testtool"
	"github.com/chromedp/chromedp"
)

// recorded is one API request the browser sent.
type recorded struct {
	method, path string
	header       http.Header
	body         map[string]any
}

// recorder wraps the server and keeps the browser's API requests, so the
// test can check what the UI sends, not only what it shows.
type recorder struct {
	next http.Handler
	mu   sync.Mutex
	reqs []recorded
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/v") {
		data, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(data)))
		var body map[string]any
		json.Unmarshal(data, &body)
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, recorded{r.Method, r.URL.RequestURI(), r.Header.Clone(), body})
		rc.mu.Unlock()
	}
	rc.next.ServeHTTP(w, r)
}

func (rc *recorder) find(method, uri string) *recorded {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for i := len(rc.reqs) - 1; i >= 0; i-- {
		if rc.reqs[i].method == method && rc.reqs[i].path == uri {
			return &rc.reqs[i]
		}
	}
	return nil
}

// TestBrowserUI drives the UI with headless Chromium: log in, add a cloud
// credential, create a cluster through the form, then find it through the
// API with Bearer auth; edit it, get a kubeconfig, add a node pool, create an
// API key and log out. It saves screenshots and logs their paths.
func TestBrowserUI(t *testing.T) {
	exe, err := chromium.Find()
	if err != nil {
		testtool.Missing(t, "skipping the browser test: %v (CI installs chromium)", err)
	}
	srv, err := New(testOptions)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{next: srv}
	f := &fixture{t: t, srv: srv, ts: httptest.NewServer(rec)}
	defer f.ts.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, chromium.AllocatorOptions(exe, "", true)...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()

	shotDir := filepath.Join(os.TempDir(), "apitape-demo-ui")
	if err := os.MkdirAll(shotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	screenshot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		p := filepath.Join(shotDir, name+".png")
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("%s: %v (status: %q)", what, err, statusText(bctx))
		}
	}
	// waitStatus waits for #status to say exactly text.
	waitStatus := func(text string) {
		t.Helper()
		expr := fmt.Sprintf(`document.getElementById("status").textContent === %q`, text)
		if _, err := chromedp.Run(bctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			screenshot("failure")
			t.Fatalf("waiting for status %q: %v; status is %q", text, err, statusText(bctx))
		}
	}
	byTestID := func(id string) chromedp.CSS { return chromedp.CSS(fmt.Sprintf(`[data-testid=%q]`, id)) }

	// Log in.
	do("open the UI", chromedp.Navigate(f.ts.URL+"/"), chromedp.WaitVisible(chromedp.ID("login-username")))
	screenshot("login")
	do("log in",
		chromedp.SetValue(chromedp.ID("login-username"), "admin"),
		chromedp.SendKeys(chromedp.ID("login-password"), testPass),
		chromedp.Click(chromedp.ID("login-submit")))
	waitStatus("Logged in as admin")

	// A cloud credential with a secret key.
	const secretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRET"
	do("add a cloud credential",
		chromedp.Click(chromedp.ID("nav-credentials")),
		chromedp.Click(chromedp.ID("add-credential")),
		chromedp.SendKeys(chromedp.ID("credential-name"), "aws-lab"),
		chromedp.SendKeys(chromedp.ID("credential-access-key"), "AKIAIOSFODNN7EXAMPLE"),
		chromedp.SendKeys(chromedp.ID("credential-secret-key"), secretKey),
		chromedp.SetValue(chromedp.ID("credential-region"), "eu-west-1"),
		chromedp.Click(chromedp.ID("credential-save")))
	waitStatus("Cloud credential aws-lab created")
	screenshot("credentials")
	ccs := f.must(200, req{path: "/v3/cloudcredentials?name=aws-lab"})
	if strings.Contains(string(ccs.body), secretKey) {
		t.Errorf("the API returned the secret key")
	}
	ccID := get(ccs.json(t)["data"].([]any)[0], "id").(string)

	// Create a cluster through the form.
	do("fill the cluster form",
		chromedp.Click(chromedp.ID("nav-clusters")),
		chromedp.Click(chromedp.ID("add-cluster")),
		chromedp.WaitVisible(chromedp.ID("cluster-modal")),
		chromedp.SendKeys(chromedp.ID("cluster-name"), "lab"),
		chromedp.SetValue(chromedp.ID("cluster-k8s-version"), "v1.30.8-rancher1-1"),
		chromedp.SetValue(chromedp.ID("cluster-network"), "calico"),
		chromedp.SetValue(chromedp.ID("cluster-credential"), ccID))
	screenshot("add-cluster-form")
	do("save the cluster", chromedp.Click(chromedp.ID("cluster-save")))
	waitStatus("Cluster lab created")
	do("see the row", chromedp.WaitVisible(byTestID("cluster-row-lab")), chromedp.WaitNotVisible(chromedp.ID("cluster-modal")))
	screenshot("clusters")

	// The API (Bearer auth) has the cluster as the form described it.
	list := f.must(200, req{path: "/v3/clusters?name=lab"}).json(t)
	if get(list, "pagination", "total") != 1.0 {
		t.Fatalf("GET /v3/clusters?name=lab: %v", list["pagination"])
	}
	c := list["data"].([]any)[0].(map[string]any)
	for p, want := range map[string]any{
		"rancherKubernetesEngineConfig.kubernetesVersion": "v1.30.8-rancher1-1",
		"rancherKubernetesEngineConfig.network.plugin":    "calico",
		"cloudCredentialId":                               ccID,
		"creatorId":                                       f.srv.adminID,
	} {
		if got := get(c, strings.Split(p, ".")...); got != want {
			t.Errorf("cluster %s = %v, want %v", p, got, want)
		}
	}
	// And the UI sent what Rancher's UI sends.
	post := rec.find("POST", "/v3/cluster?_replace=true")
	if post == nil {
		t.Fatalf("no POST /v3/cluster?_replace=true recorded")
	}
	csrf := ""
	for _, ck := range (&http.Request{Header: post.header}).Cookies() {
		if ck.Name == "CSRF" {
			csrf = ck.Value
		}
	}
	for k, want := range map[string]string{
		"Accept": "application/json", "Content-Type": "application/json",
		"X-Api-Action-Links": "actionLinks", "X-Api-Csrf": csrf,
	} {
		if got := post.header.Get(k); got != want || want == "" {
			t.Errorf("create request %s = %q, want %q", k, got, want)
		}
	}
	if !strings.Contains(post.header.Get("Cookie"), "R_SESS=token-") || !strings.Contains(strings.ToLower(post.header.Get("User-Agent")), "mozilla") {
		t.Errorf("create request cookie %q UA %q", post.header.Get("Cookie"), post.header.Get("User-Agent"))
	}
	if post.body["type"] != "cluster" || get(post.body, "rancherKubernetesEngineConfig", "type") != "rancherKubernetesEngineConfig" ||
		get(post.body, "rancherKubernetesEngineConfig", "services", "etcd", "retention") != "72h" {
		t.Errorf("create body %v", post.body)
	}

	// Edit: a PUT with _replace=true that keeps what the form does not show.
	do("edit the cluster",
		chromedp.Click(byTestID("cluster-edit-lab")),
		chromedp.WaitVisible(chromedp.ID("cluster-modal")),
		chromedp.SetValue(chromedp.ID("cluster-network"), "flannel"),
		chromedp.Click(chromedp.ID("cluster-save")))
	waitStatus("Cluster lab updated")
	if rec.find("PUT", "/v3/clusters/"+c["id"].(string)+"?_replace=true") == nil {
		t.Errorf("edit did not PUT ?_replace=true")
	}
	after := f.must(200, req{path: "/v3/clusters/" + c["id"].(string)}).json(t)
	if get(after, "rancherKubernetesEngineConfig", "network", "plugin") != "flannel" ||
		get(after, "rancherKubernetesEngineConfig", "kubernetesVersion") != "v1.30.8-rancher1-1" || after["cloudCredentialId"] != ccID {
		t.Errorf("after edit: %v", after["rancherKubernetesEngineConfig"])
	}

	// Kubeconfig.
	do("kubeconfig", chromedp.Click(byTestID("cluster-kubeconfig-lab")))
	waitStatus("Kubeconfig for lab generated")
	screenshot("kubeconfig")
	kc, err := chromedp.Run(bctx, chromedp.Value(chromedp.ID("kubeconfig-text")))
	if err != nil || !strings.Contains(kc, `token: "kubeconfig-user-`) {
		t.Errorf("kubeconfig text %q, %v", kc, err)
	}
	do("close kubeconfig", chromedp.Click(chromedp.ID("kubeconfig-close")))

	// A node template and a node pool.
	do("add a node pool",
		chromedp.Click(byTestID("cluster-add-nodepool-lab")),
		chromedp.WaitVisible(chromedp.ID("nodetemplate-name")),
		chromedp.SendKeys(chromedp.ID("nodetemplate-name"), "aws-medium"),
		chromedp.SetValue(chromedp.ID("nodetemplate-credential"), ccID),
		chromedp.SetValue(chromedp.ID("nodepool-quantity"), "3"))
	screenshot("nodepool-form")
	do("save the node pool", chromedp.Click(chromedp.ID("nodepool-save")))
	waitStatus("Node pool lab-pool1- added to lab with template aws-medium")
	do("see the pool", chromedp.WaitVisible(byTestID("nodepool-lab-lab-pool1-")))
	pools := f.must(200, req{path: "/v3/clusters/" + c["id"].(string) + "/nodepools"}).json(t)
	if get(pools, "pagination", "total") != 1.0 || get(pools["data"].([]any)[0], "quantity") != 3.0 {
		t.Errorf("node pools %v", pools["data"])
	}
	screenshot("clusters-with-pool")

	// An API key, shown once.
	do("create an API key",
		chromedp.Click(chromedp.ID("nav-apikeys")),
		chromedp.Click(chromedp.ID("add-apikey")),
		chromedp.SendKeys(chromedp.ID("apikey-description"), "ci"),
		chromedp.Click(chromedp.ID("apikey-save")),
		chromedp.WaitVisible(chromedp.ID("apikey-token")))
	key, err := chromedp.Run(bctx, chromedp.Value(chromedp.ID("apikey-token")))
	if err != nil || !reToken.MatchString(key) {
		t.Fatalf("API key %q, %v", key, err)
	}
	name, _, _ := strings.Cut(key, ":")
	waitStatus("API key " + name + " created")
	screenshot("apikey")
	f.must(200, req{path: "/v3/clusters", auth: "Bearer " + key})
	do("close the key", chromedp.Click(chromedp.ID("apikey-done")), chromedp.WaitVisible(byTestID("apikey-row-"+name)))
	if v, _ := chromedp.Run(bctx, chromedp.Value(chromedp.ID("apikey-token"))); v != "" {
		t.Errorf("the key stays in the page after Done")
	}

	// Log out; a reload shows the login form again.
	do("log out", chromedp.Click(chromedp.ID("logout")))
	waitStatus("Logged out")
	do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("login-submit")))
	if rec.find("POST", "/v3/tokens?action=logout") == nil {
		t.Errorf("logout did not call the API")
	}
}

func statusText(ctx context.Context) string {
	tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	s, _ := chromedp.Run(tctx, chromedp.Evaluate[string](`document.getElementById("status").textContent`))
	return s
}
