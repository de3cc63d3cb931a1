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

func expect(e *har.Entry, err error, status int) error {
	if err != nil {
		return err
	}
	if e.Response.Status != status {
		text := ""
		if e.Response.Content.Text != nil {
			text = *e.Response.Content.Text
		}
		return fmt.Errorf("recording %s %s: status %d, want %d: %s", e.Request.Method, e.Request.URL, e.Response.Status, status, text)
	}
	return nil
}

// RecordDemoBrowserSession drives a Rancher-like server (the demo) the way
// its web UI does: the page load's first API call hands out the CSRF
// cookie; cookie login (R_SESS); a browser User-Agent, X-Api-Action-Links
// and X-Api-Csrf on every call; then it creates a cluster, edits it, gets
// it and lists clusters (entries 0-5; create is 2).
func RecordDemoBrowserSession(base, password string) ([]*har.Entry, error) {
	rec := NewRecorder(base)
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
	providers, err := rec.Do("GET", "/v3-public/authProviders", "")
	if err := expect(providers, err, 200); err != nil {
		return nil, err
	}
	keep(providers)
	rec.Header.Set("Cookie", "R_PCS=light; CSRF="+cookies["CSRF"])
	rec.Header.Set("X-Api-Csrf", cookies["CSRF"])
	login, err := rec.Do("POST", "/v3-public/localProviders/local?action=login",
		fmt.Sprintf(`{"username":"admin","password":%q,"description":"UI session","responseType":"cookie","ttl":57600000}`, password))
	if err := expect(login, err, 200); err != nil {
		return nil, err
	}
	keep(login)
	if cookies["R_SESS"] == "" || cookies["CSRF"] == "" {
		return nil, fmt.Errorf("login set cookies %v, want R_SESS and CSRF", cookies)
	}
	rec.Header.Set("Cookie", "R_PCS=light; R_LOCALE=en-us; CSRF="+cookies["CSRF"]+"; R_SESS="+cookies["R_SESS"])
	rec.Header.Set("X-Api-Csrf", cookies["CSRF"])
	created, err := rec.Do("POST", "/v3/cluster?_replace=true", `{"type":"cluster","name":"lab","dockerRootDir":"/var/lib/docker","enableNetworkPolicy":false,"windowsPreferedCluster":false,"labels":{},"annotations":{},"rancherKubernetesEngineConfig":{"type":"rancherKubernetesEngineConfig","kubernetesVersion":"v1.30.8-rancher1-1","network":{"type":"networkConfig","plugin":"canal"}}}`)
	if err := expect(created, err, 201); err != nil {
		return nil, err
	}
	var c struct{ ID string }
	json.Unmarshal([]byte(*created.Response.Content.Text), &c)
	edited, err := rec.Do("PUT", "/v3/clusters/"+c.ID+"?_replace=true", `{"type":"cluster","name":"lab","description":"lab cluster, edited","dockerRootDir":"/var/lib/docker","enableNetworkPolicy":true,"windowsPreferedCluster":false,"labels":{"team":"qa"},"annotations":{},"rancherKubernetesEngineConfig":{"type":"rancherKubernetesEngineConfig","kubernetesVersion":"v1.30.8-rancher1-1","network":{"type":"networkConfig","plugin":"canal"}}}`)
	if err := expect(edited, err, 200); err != nil {
		return nil, err
	}
	got, err := rec.Do("GET", "/v3/clusters/"+c.ID, "")
	if err := expect(got, err, 200); err != nil {
		return nil, err
	}
	list, err := rec.Do("GET", "/v3/clusters?limit=-1&sort=name", "")
	if err := expect(list, err, 200); err != nil {
		return nil, err
	}
	return rec.Entries, nil
}

// RecordDemoTokenSession is an API client's session against the demo:
// token login, then Bearer; create a cluster, generate its kubeconfig,
// edit it (merge), list clusters.
func RecordDemoTokenSession(base, password string) ([]*har.Entry, error) {
	rec := NewRecorder(base)
	rec.Header.Set("Accept", "application/json")
	login, err := rec.Do("POST", "/v3-public/localProviders/local?action=login", fmt.Sprintf(`{"username":"admin","password":%q,"responseType":"token"}`, password))
	if err := expect(login, err, 201); err != nil {
		return nil, err
	}
	var tok struct{ Token string }
	json.Unmarshal([]byte(*login.Response.Content.Text), &tok)
	rec.Header.Set("Authorization", "Bearer "+tok.Token)
	created, err := rec.Do("POST", "/v3/clusters", `{"type":"cluster","name":"api-lab"}`)
	if err := expect(created, err, 201); err != nil {
		return nil, err
	}
	var c struct{ ID string }
	json.Unmarshal([]byte(*created.Response.Content.Text), &c)
	kc, err := rec.Do("POST", "/v3/clusters/"+c.ID+"?action=generateKubeconfig", "")
	if err := expect(kc, err, 200); err != nil {
		return nil, err
	}
	edited, err := rec.Do("PUT", "/v3/clusters/"+c.ID, `{"description":"merged"}`)
	if err := expect(edited, err, 200); err != nil {
		return nil, err
	}
	list, err := rec.Do("GET", "/v3/clusters", "")
	if err := expect(list, err, 200); err != nil {
		return nil, err
	}
	return rec.Entries, nil
}

// ChainCalls are the entry indexes of [RecordDemoChainSession].
const (
	ChainLogin = iota
	ChainCredential
	ChainTemplate
	ChainCluster
	ChainEdit
	ChainPool
	ChainGetPool
	ChainKubeconfig
	ChainListClusters
	ChainListPools
)

// RecordDemoChainSession provisions the way a script does against the
// demo: token login, then a cloud credential, a node template using it, a
// cluster (POST ?_replace=true), an edit of the cluster (PUT
// ?_replace=true, its id in path and body), a node pool referencing the
// cluster and the template, the pool read back by its composite id
// (percent-encoded), the cluster's kubeconfig, and the lists of clusters
// and of the cluster's pools (its id in the query). Every id a later call
// uses was chosen by the server; see the Chain* constants.
func RecordDemoChainSession(base, password string) ([]*har.Entry, error) {
	rec := NewRecorder(base)
	rec.Header.Set("Accept", "application/json")
	rec.Header.Set("User-Agent", "rancher-provision/1.0")
	id := func(e *har.Entry) string {
		var v struct{ ID string }
		json.Unmarshal([]byte(*e.Response.Content.Text), &v)
		return v.ID
	}
	login, err := rec.Do("POST", "/v3-public/localProviders/local?action=login",
		fmt.Sprintf(`{"username":"admin","password":%q,"description":"provisioning script","responseType":"token","ttl":57600000}`, password))
	if err := expect(login, err, 201); err != nil {
		return nil, err
	}
	var tok struct{ Token string }
	json.Unmarshal([]byte(*login.Response.Content.Text), &tok)
	rec.Header.Set("Authorization", "Bearer "+tok.Token)
	cred, err := rec.Do("POST", "/v3/cloudcredential", `{"type":"cloudCredential","name":"aws-lab","amazonec2credentialConfig":{"accessKey":"AKIAIOSFODNN7EXAMPLE","secretKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY","defaultRegion":"eu-west-1"}}`)
	if err := expect(cred, err, 201); err != nil {
		return nil, err
	}
	tmpl, err := rec.Do("POST", "/v3/nodetemplate", `{"type":"nodeTemplate","name":"lab-t3","cloudCredentialId":"`+id(cred)+`","driver":"amazonec2","amazonec2Config":{"region":"eu-west-1","zone":"a","instanceType":"t3.large"},"engineInstallURL":"https://releases.rancher.com/install-docker/24.0.sh"}`)
	if err := expect(tmpl, err, 201); err != nil {
		return nil, err
	}
	const rke = `"rancherKubernetesEngineConfig":{"type":"rancherKubernetesEngineConfig","kubernetesVersion":"v1.30.8-rancher1-1","network":{"type":"networkConfig","plugin":"canal"}}`
	cluster, err := rec.Do("POST", "/v3/cluster?_replace=true", `{"type":"cluster","name":"lab","dockerRootDir":"/var/lib/docker","enableNetworkPolicy":false,"windowsPreferedCluster":false,"cloudCredentialId":"`+id(cred)+`",`+rke+`}`)
	if err := expect(cluster, err, 201); err != nil {
		return nil, err
	}
	c := id(cluster)
	edit, err := rec.Do("PUT", "/v3/clusters/"+c+"?_replace=true", `{"type":"cluster","id":"`+c+`","name":"lab","description":"lab for the provisioning demo","dockerRootDir":"/var/lib/docker","enableNetworkPolicy":true,"cloudCredentialId":"`+id(cred)+`",`+rke+`}`)
	if err := expect(edit, err, 200); err != nil {
		return nil, err
	}
	pool, err := rec.Do("POST", "/v3/nodepool", `{"type":"nodePool","clusterId":"`+c+`","nodeTemplateId":"`+id(tmpl)+`","hostnamePrefix":"lab-pool1-","quantity":3,"controlPlane":true,"etcd":true,"worker":true}`)
	if err := expect(pool, err, 201); err != nil {
		return nil, err
	}
	steps := []struct {
		method, path string
		status       int
	}{
		{"GET", "/v3/nodePools/" + strings.ReplaceAll(id(pool), ":", "%3A"), 200},
		{"POST", "/v3/clusters/" + c + "?action=generateKubeconfig", 200},
		{"GET", "/v3/clusters?limit=-1", 200},
		{"GET", "/v3/nodePools?clusterId=" + url.QueryEscape(c), 200},
	}
	for _, s := range steps {
		e, err := rec.Do(s.method, s.path, "")
		if err := expect(e, err, s.status); err != nil {
			return nil, err
		}
	}
	return rec.Entries, nil
}
