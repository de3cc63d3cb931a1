package replaytest

import (
	"encoding/json"
	"fmt"
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
