package redact

import (
	"encoding/base64"
	"strings"
)

// trapCase is a HAR that holds no secret although parts of it look like
// one: redaction must leave it byte-identical and scan must find nothing.
type trapCase struct {
	id, reason string
	build      func(c *canaries) []string
}

func trapCases() []trapCase {
	return []trapCase{
		{"N1", "resource ids in paths, ids and links", func(c *canaries) []string {
			return []string{ent{url: "https://rancher.example/v3/clusters/c-abc12",
				text: `{"id":"c-m-4xk9q2zt","links":{"self":"https://rancher.example/v3/projects/p-7bq5t","nodes":"https://rancher.example/v3/nodes?clusterId=c-abc12"},` +
					`"creatorId":"user-x7k2p","nodeTemplateId":"nt-4r9zk","clusterName":"local","namespace":"fleet-default"}`}.json()}
		}},
		{"N2", "a token's name", func(c *canaries) []string {
			return []string{ent{url: "https://rancher.example/v3/tokens/token-fkx2q", text: `{"id":"token-fkx2q","name":"token-fkx2q","type":"token","links":{"self":"https://rancher.example/v3/tokens/token-fkx2q"}}`}.json()}
		}},
		{"N3", "credential references", func(c *canaries) []string {
			return []string{ent{method: "POST", postMime: "application/json",
				postText: str(`{"cloudCredentialId":"cattle-global-data:cc-x7k2p","amazonCredentialSecret":"cattle-global-data:cc-x7k2p","eksConfig":{"amazonCredentialSecret":"cattle-global-data:cc-x7k2p","azureCredentialSecret":"cattle-global-data:cc-b8n4k"}}`)}.json()}
		}},
		{"N4", "UUIDs and trace ids", func(c *canaries) []string {
			return []string{ent{reqH: [][2]string{{"X-Request-Id", "3f2b8c4e-9a1d-4e6f-8b2c-7d5e1f0a9b3c"}, {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}},
				text: `{"metadata":{"uid":"b7e2a9c4-1f3d-4a8e-9c6b-2d4f8e1a3c5b","name":"x"}}`}.json()}
		}},
		{"N5", "numeric versions", func(c *canaries) []string {
			return []string{ent{text: `{"metadata":{"resourceVersion":"48213377","generation":3}}`}.json()}
		}},
		{"N6", "image digests", func(c *canaries) []string {
			d := c.fill(hexChrs, 64)
			return []string{ent{text: `{"image":"rancher/rancher-agent@sha256:` + d + `","imageID":"docker-pullable://rancher/rancher-agent@sha256:` + d + `"}`}.json()}
		}},
		{"N7", "asset hashes and subresource integrity", func(c *canaries) []string {
			i384 := base64.StdEncoding.EncodeToString([]byte(c.fill(alnum, 48)))
			i512 := base64.StdEncoding.EncodeToString([]byte(c.fill(alnum, 64)))
			return []string{ent{url: "https://rancher.example/dashboard/_nuxt/8f3e2a1b.js", mime: "text/html",
				text: `<script src="/dashboard/_nuxt/8f3e2a1b.js" integrity="sha384-` + i384 + `"></script><link rel="stylesheet" href="/a.css" integrity="sha512-` + i512 + `">`}.json()}
		}},
		{"N8", "CA checksum", func(c *canaries) []string {
			s := c.fill(hexChrs, 64)
			return []string{ent{text: `{"insecureCommand":"curl --insecure -sfL https://rancher.example/v3/import/x.yaml | kubectl apply -f -","caChecksum":"` + s + `","command":"agent --ca-checksum ` + s + `"}`}.json()}
		}},
		{"N9", "public certificates", func(c *canaries) []string {
			cert := c.cert()
			cad := base64.StdEncoding.EncodeToString([]byte(cert))
			yml := "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: " + cad + "\n    server: https://rancher.example\n  name: local\n"
			return []string{ent{text: `{"cacerts":` + jq(cert) + `,"samlConfig":{"spCert":` + jq(cert) + `},"config":` + jq(yml) + `}`}.json()}
		}},
		{"N10", "booleans, numbers and timestamps under secret-like keys", func(c *canaries) []string {
			return []string{ent{text: `{"mustChangePassword":false,"password":true,"token":null,"enabled":true,"ttl":57600000,"tokenTtl":3600,"expiresAt":"2025-01-01T00:00:00Z","expired":false}`}.json()}
		}},
		{"N11", "keywords in names that are not secrets", func(c *canaries) []string {
			return []string{ent{text: `{"tokenSecretName":"cluster-token-x7k2p","tokenEndpoint":"https://login.example/oauth/token","tokenUrl":"https://login.example/token",` +
				`"authConfigSecretName":"oidc-client-secret","clientSecretName":"oidcclientsecret","id":"kubeconfig-default-token-ttl-minutes","name":"kubeconfig-default-token-ttl-minutes","value":"0"}`}.json()}
		}},
		{"N12", "field names as values", func(c *canaries) []string {
			return []string{ent{text: `{"annotations":{"privateCredentialFields":"secretKey","passwordFields":"rootPass,password","publicCredentialFields":"accessKey"}}`}.json()}
		}},
		{"N13", "state and code outside an OAuth callback", func(c *canaries) []string {
			return []string{ent{url: "https://rancher.example/v3/clusters?state=active&limit=100", status: 404,
				text: `{"type":"error","status":404,"code":"NotFound","message":"clusters \"c-abc12\" not found","state":"active"}`}.json()}
		}},
		{"N14", "WebSocket handshake", func(c *canaries) []string {
			return []string{ent{url: "wss://rancher.example/v3/subscribe", status: 101, reqH: [][2]string{{"Sec-WebSocket-Key", base64.StdEncoding.EncodeToString([]byte(c.fill(alnum, 16)))}},
				respH: [][2]string{{"Sec-WebSocket-Accept", base64.StdEncoding.EncodeToString([]byte(c.fill(alnum, 20)))}}}.json()}
		}},
		{"N15", "cache validators", func(c *canaries) []string {
			tag := `W/"` + c.fill(hexChrs, 40) + `"`
			return []string{ent{reqH: [][2]string{{"If-None-Match", tag}}, respH: [][2]string{{"ETag", tag}}, status: 304}.json()}
		}},
		{"N16", "pod and replica set names", func(c *canaries) []string {
			return []string{ent{text: `{"metadata":{"name":"cattle-cluster-agent-7d9f8b6c4-x2kqp","ownerReferences":[{"name":"cattle-cluster-agent-7d9f8b6c4"}]}}`}.json()}
		}},
		{"N17", "an already-redacted HAR", func(c *canaries) []string {
			h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256"}`))
			p := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"u"}`))
			return []string{ent{
				reqH: [][2]string{{"Authorization", "Bearer token-fkx2q:REDACTED-bearer-1a2b3c4d"}, {"Cookie", "R_PCS=light; CSRF=REDACTED-csrf-0f1e2d3c; R_SESS=token-fkx2q:REDACTED-cookie-1a2b3c4d; R_OIDC_ID=" + h + "." + p + ".REDACTED-jwtsig-5e6f7a8b"},
					{"X-Api-Csrf", "REDACTED-csrf-0f1e2d3c"}, {"Proxy-Authorization", "Basic REDACTED-basic-9a8b7c6d"}},
				method: "POST", postMime: "application/json", postText: str(`{"username":"admin","password":"REDACTED-password-4d3c2b1a"}`),
				text: `{"config":"users:\n- user:\n    token: kubeconfig-user-fkx2q:REDACTED-token-2b3c4d5e\n","key":"-----BEGIN RSA PRIVATE KEY-----\nREDACTED-privatekey-6a7b8c9d\n-----END RSA PRIVATE KEY-----\n"}`}.json()}
		}},
		{"N18", "Rancher's cloud-credential reference header", func(c *canaries) []string {
			return []string{ent{reqH: [][2]string{{"X-API-CattleAuth-Header", "awsv4 credID=cattle-global-data:cc-x7k2p region=us-west-2"}}}.json()}
		}},
	}
}

// The structural cases are in catalogue_test.go (they need code, not
// just fixtures); this names them for the count.
var structuralIDs = strings.Fields("S1 S2 S3 S4 S5 S6 S7 S8 S9 S10")
