package replaytest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/apitape/apitape/har"
)

// BrowserUserAgent is what the recorded browser session sends: a
// Mozilla User-Agent, so that Rancher (and the demo) check CSRF.
const BrowserUserAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// script records calls that must answer with a given status. After the
// first call that fails it sends nothing more, and its entries are those
// of a session that did not happen: err says why.
type script struct {
	*Recorder
	err error
}

func newScript(base string) *script { return &script{Recorder: NewRecorder(base)} }

// want sends a call and checks its status. After a failure it returns an
// empty entry.
func (s *script) want(status int, method, path, body string) *har.Entry {
	if s.err != nil {
		return &har.Entry{}
	}
	e, err := s.Do(method, path, body)
	switch {
	case err != nil:
		s.err = err
	case e.Response.Status != status:
		text := ""
		if e.Response.Content.Text != nil {
			text = *e.Response.Content.Text
		}
		s.err = fmt.Errorf("recording %s %s: status %d, want %d: %s", e.Request.Method, e.Request.URL, e.Response.Status, status, text)
	default:
		return e
	}
	return &har.Entry{}
}

func (s *script) entries() ([]*har.Entry, error) {
	if s.err != nil {
		return nil, s.err
	}
	return s.Entries, nil
}

// answer is the id and token of a recorded JSON answer.
func answer(e *har.Entry) (a struct{ ID, Token string }) {
	if e.Response.Content.Text != nil {
		json.Unmarshal([]byte(*e.Response.Content.Text), &a)
	}
	return a
}

// RecordDemoBrowserSession drives a Rancher-like server (the demo) the way
// its web UI does: the page load's first API call hands out the CSRF
// cookie; cookie login (R_SESS); a browser User-Agent, X-Api-Action-Links
// and X-Api-Csrf on every call; then it creates a cluster, edits it, gets
// it and lists clusters (entries 0-5; create is 2).
func RecordDemoBrowserSession(base, password string) ([]*har.Entry, error) {
	rec := newScript(base)
	rec.Header.Set("User-Agent", BrowserUserAgent)
	rec.Header.Set("Accept", "application/json")
	rec.Header.Set("X-Api-Action-Links", "actionLinks")
	rec.Header.Set("X-Api-No-Challenge", "true")
	cookies := map[string]string{}
	keep := func(e *har.Entry) {
		for _, nv := range e.Response.Headers {
			if strings.EqualFold(nv.Name, "Set-Cookie") {
				nvPart, _, _ := strings.Cut(nv.Value, ";")
				k, v, _ := strings.Cut(nvPart, "=")
				cookies[k] = v
			}
		}
	}
	keep(rec.want(200, "GET", "/v3-public/authProviders", ""))
	rec.Header.Set("Cookie", "R_PCS=light; CSRF="+cookies["CSRF"])
	rec.Header.Set("X-Api-Csrf", cookies["CSRF"])
	keep(rec.want(200, "POST", "/v3-public/localProviders/local?action=login",
		fmt.Sprintf(`{"username":"admin","password":%q,"description":"UI session","responseType":"cookie","ttl":57600000}`, password)))
	if rec.err == nil && (cookies["R_SESS"] == "" || cookies["CSRF"] == "") {
		return nil, fmt.Errorf("login set cookies %v, want R_SESS and CSRF", cookies)
	}
	rec.Header.Set("Cookie", "R_PCS=light; R_LOCALE=en-us; CSRF="+cookies["CSRF"]+"; R_SESS="+cookies["R_SESS"])
	rec.Header.Set("X-Api-Csrf", cookies["CSRF"])
	c := answer(rec.want(201, "POST", "/v3/cluster?_replace=true", `{"type":"cluster","name":"lab","dockerRootDir":"/var/lib/docker","enableNetworkPolicy":false,"windowsPreferedCluster":false,"labels":{},"annotations":{},"rancherKubernetesEngineConfig":{"type":"rancherKubernetesEngineConfig","kubernetesVersion":"v1.30.8-rancher1-1","network":{"type":"networkConfig","plugin":"canal"}}}`)).ID
	rec.want(200, "PUT", "/v3/clusters/"+c+"?_replace=true", `{"type":"cluster","name":"lab","description":"lab cluster, edited","dockerRootDir":"/var/lib/docker","enableNetworkPolicy":true,"windowsPreferedCluster":false,"labels":{"team":"qa"},"annotations":{},"rancherKubernetesEngineConfig":{"type":"rancherKubernetesEngineConfig","kubernetesVersion":"v1.30.8-rancher1-1","network":{"type":"networkConfig","plugin":"canal"}}}`)
	rec.want(200, "GET", "/v3/clusters/"+c, "")
	rec.want(200, "GET", "/v3/clusters?limit=-1&sort=name", "")
	return rec.entries()
}

// RecordDemoTokenSession is an API client's session against the demo:
// token login, then Bearer; create a cluster, generate its kubeconfig,
// edit it (merge), list clusters.
func RecordDemoTokenSession(base, password string) ([]*har.Entry, error) {
	rec := newScript(base)
	rec.Header.Set("Accept", "application/json")
	login := rec.want(201, "POST", "/v3-public/localProviders/local?action=login", fmt.Sprintf(`{"username":"admin","password":%q,"responseType":"token"}`, password))
	rec.Header.Set("Authorization", "Bearer "+answer(login).Token)
	c := answer(rec.want(201, "POST", "/v3/clusters", `{"type":"cluster","name":"api-lab"}`)).ID
	rec.want(200, "POST", "/v3/clusters/"+c+"?action=generateKubeconfig", "")
	rec.want(200, "PUT", "/v3/clusters/"+c, `{"description":"merged"}`)
	rec.want(200, "GET", "/v3/clusters", "")
	return rec.entries()
}

// The entry indexes of the login and the cloud credential in
// [RecordDemoChainSession].
const (
	ChainLogin = iota
	ChainCredential
)

// RecordDemoChainSession provisions the way a script does against the
// demo: token login, then a cloud credential, a node template using it, a
// cluster (POST ?_replace=true), an edit of the cluster (PUT
// ?_replace=true, its id in path and body), a node pool referencing the
// cluster and the template, the pool read back by its composite id
// (percent-encoded), the cluster's kubeconfig, and the lists of clusters
// and of the cluster's pools (its id in the query). Every id a later call
// uses was chosen by the server.
func RecordDemoChainSession(base, password string) ([]*har.Entry, error) {
	rec := newScript(base)
	rec.Header.Set("Accept", "application/json")
	rec.Header.Set("User-Agent", "rancher-provision/1.0")
	login := rec.want(201, "POST", "/v3-public/localProviders/local?action=login",
		fmt.Sprintf(`{"username":"admin","password":%q,"description":"provisioning script","responseType":"token","ttl":57600000}`, password))
	rec.Header.Set("Authorization", "Bearer "+answer(login).Token)
	cred := answer(rec.want(201, "POST", "/v3/cloudcredential", `{"type":"cloudCredential","name":"aws-lab","amazonec2credentialConfig":{"accessKey":"AKIAIOSFODNN7EXAMPLE","secretKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY","defaultRegion":"eu-west-1"}}`)).ID
	tmpl := answer(rec.want(201, "POST", "/v3/nodetemplate", `{"type":"nodeTemplate","name":"lab-t3","cloudCredentialId":"`+cred+`","driver":"amazonec2","amazonec2Config":{"region":"eu-west-1","zone":"a","instanceType":"t3.large"},"engineInstallURL":"https://releases.rancher.com/install-docker/24.0.sh"}`)).ID
	const rke = `"rancherKubernetesEngineConfig":{"type":"rancherKubernetesEngineConfig","kubernetesVersion":"v1.30.8-rancher1-1","network":{"type":"networkConfig","plugin":"canal"}}`
	c := answer(rec.want(201, "POST", "/v3/cluster?_replace=true", `{"type":"cluster","name":"lab","dockerRootDir":"/var/lib/docker","enableNetworkPolicy":false,"windowsPreferedCluster":false,"cloudCredentialId":"`+cred+`",`+rke+`}`)).ID
	rec.want(200, "PUT", "/v3/clusters/"+c+"?_replace=true", `{"type":"cluster","id":"`+c+`","name":"lab","description":"lab for the provisioning demo","dockerRootDir":"/var/lib/docker","enableNetworkPolicy":true,"cloudCredentialId":"`+cred+`",`+rke+`}`)
	pool := answer(rec.want(201, "POST", "/v3/nodepool", `{"type":"nodePool","clusterId":"`+c+`","nodeTemplateId":"`+tmpl+`","hostnamePrefix":"lab-pool1-","quantity":3,"controlPlane":true,"etcd":true,"worker":true}`)).ID
	rec.want(200, "GET", "/v3/nodePools/"+strings.ReplaceAll(pool, ":", "%3A"), "")
	rec.want(200, "POST", "/v3/clusters/"+c+"?action=generateKubeconfig", "")
	rec.want(200, "GET", "/v3/clusters?limit=-1", "")
	rec.want(200, "GET", "/v3/nodePools?clusterId="+url.QueryEscape(c), "")
	return rec.entries()
}
