package correlate

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apitape/apitape/har"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// rancherSession is an API client provisioning an RKE1 cluster on EC2
// through Rancher's /v3 API, shaped like rancher-api.md §2, §7 and §10:
// log in (token), create a cloud credential, a node template using it, a
// cluster, edit the cluster, add a node pool using cluster and template,
// read the pool back (id percent-encoded), get a kubeconfig, list.
func rancherSession() []rec {
	const (
		cc      = "cattle-global-data:cc-4tq9w"
		nt      = "cattle-global-nt:nt-5kd8w"
		cl      = "c-q7x2m"
		np      = cl + ":np-8hv4t"
		auth    = "Authorization: Bearer " + loginToken
		ua      = "User-Agent: rancher-provision/1.0"
		accept  = "Accept: application/json"
		created = `"created":"2025-03-14T09:26:53Z","createdTS":1741944413000,"creatorId":"user-b8n4k"`
	)
	link := func(coll, id string) string { return h + "/v3/" + coll + "/" + id }
	links := func(coll, id string) string {
		l := link(coll, id)
		return `"links":{"remove":"` + l + `","self":"` + l + `","update":"` + l + `"}`
	}
	rke := `"rancherKubernetesEngineConfig":{"kubernetesVersion":"v1.17.4-rancher1-3","network":{"plugin":"canal","type":"networkConfig"},"type":"rancherKubernetesEngineConfig"}`
	rkeOut := strings.ReplaceAll(rke, `"type":"networkConfig"`, `"type":"/v3/schemas/networkConfig"`)
	rkeOut = strings.ReplaceAll(rkeOut, `"type":"rancherKubernetesEngineConfig"`, `"type":"/v3/schemas/rancherKubernetesEngineConfig"`)
	clusterOut := func(state, desc string) string {
		return `{"actions":{"generateKubeconfig":"` + link("clusters", cl) + `?action=generateKubeconfig"},` +
			`"annotations":{"field.cattle.io/creatorId":"user-b8n4k"},"baseType":"cluster",` + created + `,` +
			`"description":"` + desc + `","driver":"rancherKubernetesEngine","id":"` + cl + `","labels":{},` +
			`"links":{"nodePools":"` + link("clusters", cl) + `/nodepools","nodes":"` + link("clusters", cl) + `/nodes","remove":"` + link("clusters", cl) +
			`","self":"` + link("clusters", cl) + `","update":"` + link("clusters", cl) + `"},"name":"lab",` + rkeOut + `,` +
			`"state":"` + state + `","transitioning":"yes","transitioningMessage":"","type":"cluster","uuid":"5f0c2b7e-3d41-4a8e-9b7a-2c6f1e0d9a44"}`
	}
	return []rec{
		{Method: "POST", URL: h + "/v3-public/localProviders/local?action=login", Header: []string{ua, accept},
			Body:   `{"description":"provisioning script","password":"REDACTED-password-1a2b3c4d","responseType":"token","ttl":57600000,"username":"admin"}`,
			Status: 201,
			Resp: `{"authProvider":"local","baseType":"token",` + created + `,"current":false,"description":"provisioning script","expired":false,` +
				`"expiresAt":"2025-03-15T01:26:53Z","id":"token-fkx2q","isDerived":false,` + links("tokens", "token-fkx2q") + `,` +
				`"name":"token-fkx2q","token":"` + loginToken + `","ttl":57600000,"type":"token","userId":"user-b8n4k","uuid":"1c9e4f3a-8d2b-4b7e-a1c6-0f5d3e2b9a71"}`},
		{Method: "GET", URL: h + "/v3/users?me=true", Header: []string{ua, accept, auth},
			Resp: `{"type":"collection","links":{"self":"` + h + `/v3/users"},"actions":{},"pagination":{"limit":1000,"total":1},"resourceType":"user",` +
				`"data":[{"baseType":"user","id":"user-b8n4k","me":true,"name":"Default Admin","principalIds":["local://user-b8n4k"],"type":"user","username":"admin"}]}`},
		{Method: "POST", URL: h + "/v3/cloudcredential", Header: []string{ua, accept, auth},
			Body:   `{"amazonec2credentialConfig":{"accessKey":"REDACTED-awskey-5e6f7a8b","defaultRegion":"eu-west-1","secretKey":"REDACTED-secret-9c0d1e2f"},"name":"aws-lab","type":"cloudCredential"}`,
			Status: 201,
			Resp: `{"amazonec2credentialConfig":{"accessKey":"REDACTED-awskey-5e6f7a8b","defaultRegion":"eu-west-1"},"baseType":"cloudCredential",` + created + `,` +
				`"id":"` + cc + `",` + links("cloudCredentials", cc) + `,"name":"aws-lab","namespaceId":"cattle-global-data","type":"cloudCredential","uuid":"7d2f0c8e-1b3a-4e5f-9a6b-2c4d8e0f1a3b"}`},
		{Method: "POST", URL: h + "/v3/nodetemplate", Header: []string{ua, accept, auth},
			Body:   `{"amazonec2Config":{"instanceType":"t3.large","region":"eu-west-1","zone":"a"},"cloudCredentialId":"` + cc + `","engineInstallURL":"https://releases.rancher.com/install-docker/19.03.sh","name":"lab-t3","type":"nodeTemplate"}`,
			Status: 201,
			Resp: `{"amazonec2Config":{"instanceType":"t3.large","region":"eu-west-1","zone":"a"},"baseType":"nodeTemplate","cloudCredentialId":"` + cc + `",` + created + `,` +
				`"driver":"amazonec2","engineInstallURL":"https://releases.rancher.com/install-docker/19.03.sh","id":"` + nt + `",` + links("nodeTemplates", nt) + `,` +
				`"name":"lab-t3","namespaceId":"cattle-global-nt","state":"active","type":"nodeTemplate","uuid":"3e8a1f6c-5d2b-4c9e-8f7a-1b0d2c3e4f5a"}`},
		{Method: "POST", URL: h + "/v3/cluster?_replace=true", Header: []string{ua, accept, auth},
			Body:   `{"dockerRootDir":"/var/lib/docker","enableNetworkPolicy":false,"name":"lab",` + rke + `,"type":"cluster","windowsPreferedCluster":false}`,
			Status: 201, Resp: clusterOut("provisioning", "")},
		{Method: "PUT", URL: h + "/v3/clusters/" + cl + "?_replace=true", Header: []string{ua, accept, auth},
			Body: `{"description":"lab for the provisioning demo","dockerRootDir":"/var/lib/docker","enableNetworkPolicy":false,"id":"` + cl + `","name":"lab",` + rke + `,"type":"cluster","windowsPreferedCluster":false}`,
			Resp: clusterOut("provisioning", "lab for the provisioning demo")},
		{Method: "POST", URL: h + "/v3/nodepool", Header: []string{ua, accept, auth},
			Body:   `{"clusterId":"` + cl + `","controlPlane":true,"etcd":true,"hostnamePrefix":"lab-pool1-","nodeTemplateId":"` + nt + `","quantity":3,"type":"nodePool","worker":true}`,
			Status: 201,
			Resp: `{"baseType":"nodePool","clusterId":"` + cl + `","controlPlane":true,` + created + `,"etcd":true,"hostnamePrefix":"lab-pool1-",` +
				`"id":"` + np + `",` + links("nodePools", np) + `,"name":"np-8hv4t","namespaceId":"` + cl + `","nodeTemplateId":"` + nt + `","quantity":3,"state":"active","type":"nodePool","worker":true}`},
		{Method: "GET", URL: h + "/v3/nodePools/" + EscapeURI(np), Header: []string{ua, accept, auth},
			Resp: `{"baseType":"nodePool","clusterId":"` + cl + `","id":"` + np + `","quantity":3,"state":"active","type":"nodePool"}`},
		{Method: "POST", URL: h + "/v3/clusters/" + cl + "?action=generateKubeconfig", Header: []string{ua, accept, auth},
			Resp: `{"baseType":"generateKubeConfigOutput","config":"apiVersion: v1\nkind: Config\nclusters:\n- name: \"lab\"\n  cluster:\n    server: \"` + h + `/k8s/clusters/` + cl +
				`\"\nusers:\n- name: \"lab\"\n  user:\n    token: \"kubeconfig-user-b8n4k:REDACTED-kubeconfig-6a7b8c9d\"\ncurrent-context: \"lab\"\n","type":"generateKubeConfigOutput"}`},
		{Method: "GET", URL: h + "/v3/clusters?limit=-1", Header: []string{ua, accept, auth},
			Resp: `{"type":"collection","links":{"self":"` + h + `/v3/clusters"},"actions":{},"pagination":{"limit":10000,"total":2},"resourceType":"cluster",` +
				`"data":[` + clusterOut("provisioning", "lab for the provisioning demo") + `,{"baseType":"cluster","id":"local","name":"local","state":"active","type":"cluster"}]}`},
		{Method: "GET", URL: h + "/v3/nodes?clusterId=" + cl, Header: []string{ua, accept, auth},
			Resp: `{"type":"collection","links":{"self":"` + h + `/v3/nodes"},"actions":{},"pagination":{"limit":1000,"total":0},"resourceType":"node","data":[]}`},
	}
}

func TestRancherSession(t *testing.T) {
	es := entries(rancherSession())
	m, err := Analyze(es, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, es, nil, m)
	for _, name := range []string{"TOKEN", "CLOUD_CREDENTIAL_ID", "NODE_TEMPLATE_ID", "CLUSTER_ID", "NODE_POOL_ID"} {
		if m.Lookup(name) == nil {
			t.Errorf("no %s in the model", name)
		}
	}
	if len(m.Vars) != 5 {
		t.Errorf("want exactly the 5 chained values, got %v", summary(m))
	}

	var out bytes.Buffer
	if err := m.Write(&out); err != nil {
		t.Fatal(err)
	}
	out.WriteString("\n# The calls as an emitter sees them (Model.Rewrite of each field)\n")
	writeRewritten(&out, es, m)
	if strings.Contains(out.String(), secret54) {
		t.Error("the model printed the login token's secret")
	}
	golden(t, "rancher-session.golden", out.Bytes())

	// The session itself, for later integration tests (convert, replay).
	var hb bytes.Buffer
	w, err := har.NewWriter(&hb, har.NewLog("test"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	golden(t, "rancher-session.har", hb.Bytes())
}

// writeRewritten prints every request with variable references in place
// of the values they replace: what a generated script will send.
func writeRewritten(out *bytes.Buffer, es []*har.Entry, m *Model) {
	show := func(entry int, where, text string) string {
		var b strings.Builder
		for _, p := range m.Rewrite(entry, where, text) {
			switch {
			case p.Var != nil && p.Encoded != "":
				fmt.Fprintf(&b, "${%s|%s}", p.Var.Name, p.Encoded)
			case p.Var != nil:
				fmt.Fprintf(&b, "${%s}", p.Var.Name)
			default:
				b.WriteString(p.Text)
			}
		}
		return b.String()
	}
	for i, e := range es {
		_, path, query, _ := SplitURL(e.Request.URL)
		target := show(i, WhereURLPath, path)
		if query != "" {
			target += "?" + show(i, WhereURLQuery, query)
		}
		fmt.Fprintf(out, "\n#%d %s %s\n", i, e.Request.Method, target)
		for _, hd := range e.Request.Headers {
			fmt.Fprintf(out, "    %s: %s\n", hd.Name, show(i, WhereHeader(hd.Name), hd.Value))
		}
		if body := e.Request.Body(); len(body) > 0 {
			fmt.Fprintf(out, "    %s\n", show(i, WhereBody, string(body)))
		}
		if vs := m.Produced(i); len(vs) > 0 {
			for _, v := range vs {
				fmt.Fprintf(out, "    => %s from %s   (jq: %s)\n", v.Name, v.Source, v.Source.JQ())
			}
		}
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./correlate -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the output (run go test ./correlate -update after checking):\n%s", path, got)
	}
}
