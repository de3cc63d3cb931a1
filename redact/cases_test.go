package redact

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/apitape/apitape/har"
)

// The case catalogue of redaction-cases.md: 39 secret cases (A1–F3), 18
// traps (N1–N18) and 10 structural cases (S1–S10), by id.

type built struct {
	entries   []string
	keep      []string // must still be in the output, byte for byte
	reencoded bool     // a layer was re-encoded whole (base64, gzip): skip the byte-identity check
	// uninspected: a body cannot be inspected, and scan says so (fail closed)
	uninspected bool
	check       func(t *testing.T, h *har.File, out string, recs []Record)
}

type secretCase struct {
	id, reason string
	opts       Options
	build      func(c *canaries) built
}

// ph matches one placeholder of a class.
func ph(class string) string { return `REDACTED-` + class + `-[a-p]{8}` }

func wantMatch(t *testing.T, what, got, pattern string) {
	t.Helper()
	if !regexp.MustCompile(`^` + pattern + `$`).MatchString(got) {
		t.Errorf("%s = %q, want it to match %s", what, got, pattern)
	}
}

func reqHeader(h *har.File, entry int, name string) string {
	v, _ := har.Header(h.Log.Entries[entry].Request.Headers, name)
	return v
}

func respHeader(h *har.File, entry int, name string) string {
	v, _ := har.Header(h.Log.Entries[entry].Response.Headers, name)
	return v
}

func cookie(cs []har.Cookie, name string) string {
	for _, c := range cs {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// placeholders returns the placeholders in s, in order.
func placeholders(s string) []string { return placeholderRe.FindAllString(s, -1) }

func allEqual(t *testing.T, what string, phs ...string) {
	t.Helper()
	for _, p := range phs {
		if p == "" || p != phs[0] {
			t.Errorf("%s: placeholders differ or are missing: %q", what, phs)
			return
		}
	}
}

func firstPH(s string) string {
	if p := placeholders(s); len(p) > 0 {
		return p[0]
	}
	return ""
}

func secretCases() []secretCase {
	return []secretCase{
		// ---- A. headers ----
		{id: "A1", reason: "Bearer Rancher token: scheme and token name stay", build: func(c *canaries) built {
			k := c.rancherKey()
			return built{
				entries: []string{ent{reqH: [][2]string{{"Authorization", "Bearer token-fkx2q:" + k}}}.json()},
				keep:    []string{"Bearer token-fkx2q:"},
				check: func(t *testing.T, h *har.File, out string, recs []Record) {
					wantMatch(t, "Authorization", reqHeader(h, 0, "Authorization"), `Bearer token-fkx2q:`+ph("bearer"))
				},
			}
		}},
		{id: "A2", reason: "Basic credentials: the whole base64 goes, the user is reported", build: func(c *canaries) built {
			k := c.rancherKey()
			b := c.secret(base64.StdEncoding.EncodeToString([]byte("token-fkx2q:" + k)))
			return built{
				entries: []string{ent{reqH: [][2]string{{"Authorization", "Basic " + b}}}.json()},
				check: func(t *testing.T, h *har.File, out string, recs []Record) {
					wantMatch(t, "Authorization", reqHeader(h, 0, "Authorization"), `Basic `+ph("basic"))
					if len(recs) == 0 || !strings.Contains(recs[0].Location, "user token-fkx2q") {
						t.Errorf("report does not name the user: %+v", recs)
					}
				},
			}
		}},
		{id: "A3", reason: "lower-case authorization with a JWT: header and claims stay, signature goes; --strict removes all", build: func(c *canaries) built {
			jwt, hp := c.jwt()
			in := ent{reqH: [][2]string{{"authorization", "Bearer " + jwt}}}.json()
			return built{
				entries: []string{in},
				keep:    []string{"Bearer " + hp + "."},
				check: func(t *testing.T, h *har.File, out string, recs []Record) {
					wantMatch(t, "authorization", reqHeader(h, 0, "authorization"), `Bearer `+regexp.QuoteMeta(hp)+`\.`+ph("jwtsig"))
					strict, _, _ := redactString(t, newTestRedactor(t, Options{Strict: true}), harOf(in))
					wantMatch(t, "strict authorization", reqHeader(mustParse(t, "strict", strict), 0, "authorization"), `Bearer `+ph("jwt"))
				},
			}
		}},
		{id: "A4", reason: "X-Api-Csrf gets the CSRF cookie's placeholder", build: func(c *canaries) built {
			v := c.hex32()
			return built{
				entries: []string{ent{method: "POST", reqH: [][2]string{{"X-Api-Csrf", v}, {"Cookie", "CSRF=" + v}}}.json()},
				check: func(t *testing.T, h *har.File, out string, recs []Record) {
					wantMatch(t, "X-Api-Csrf", reqHeader(h, 0, "X-Api-Csrf"), ph("csrf"))
					allEqual(t, "header vs cookie", reqHeader(h, 0, "X-Api-Csrf"), firstPH(reqHeader(h, 0, "Cookie")))
				},
			}
		}},
		{id: "A5", reason: "X-API-Auth-Header carries an upstream credential", build: func(c *canaries) built {
			d := c.dop()
			return built{
				entries: []string{ent{url: "https://rancher.example/meta/proxy/api.digitalocean.com/v2/regions", reqH: [][2]string{{"X-API-Auth-Header", "Bearer " + d}}}.json()},
				check: func(t *testing.T, h *har.File, out string, recs []Record) {
					wantMatch(t, "X-API-Auth-Header", reqHeader(h, 0, "X-API-Auth-Header"), `Bearer `+ph("digitalocean"))
				},
			}
		}},
		{id: "A6", reason: "Proxy-Authorization Basic", build: func(c *canaries) built {
			p := c.password()
			b := c.secret(base64.StdEncoding.EncodeToString([]byte("proxyuser:" + p)))
			return built{
				entries: []string{ent{reqH: [][2]string{{"Proxy-Authorization", "Basic " + b}}}.json()},
				check: func(t *testing.T, h *har.File, out string, recs []Record) {
					wantMatch(t, "Proxy-Authorization", reqHeader(h, 0, "Proxy-Authorization"), `Basic `+ph("basic"))
				},
			}
		}},
		{id: "A7", reason: "agent and AWS session tokens", build: func(c *canaries) built {
			amz := c.b64(160)
			k := c.rancherKey()
			return built{
				entries: []string{ent{reqH: [][2]string{{"X-Amz-Security-Token", amz}, {"X-Api-Tunnel-Token", k}, {"X-Api-Tunnel-Params", c.b64(40)}}}.json()},
				check: func(t *testing.T, h *har.File, out string, recs []Record) {
					wantMatch(t, "X-Amz-Security-Token", reqHeader(h, 0, "X-Amz-Security-Token"), ph("token"))
					wantMatch(t, "X-Api-Tunnel-Token", reqHeader(h, 0, "X-Api-Tunnel-Token"), ph("token"))
				},
			}
		}},
		{id: "A8", reason: "HTTP/2 :path gets the same query redaction as the URL", build: func(c *canaries) built {
			v, tok := c.hex32(), c.word("at", 38)
			p := "/v3/clusters?CSRF=" + v + "&access_token=" + tok
			return built{
				entries: []string{ent{url: "https://rancher.example" + p, reqH: [][2]string{{":path", p}, {":method", "GET"}},
					qs: [][2]string{{"CSRF", v}, {"access_token", tok}}}.json()},
				keep: []string{"/v3/clusters?CSRF="},
				check: func(t *testing.T, h *har.File, out string, recs []Record) {
					e := h.Log.Entries[0]
					if !strings.HasSuffix(e.Request.URL, reqHeader(h, 0, ":path")) {
						t.Errorf(":path %q and url %q disagree", reqHeader(h, 0, ":path"), e.Request.URL)
					}
					allEqual(t, "CSRF", placeholders(e.Request.URL)[0], e.Request.QueryString[0].Value)
				},
			}
		}},
		// ---- B. cookies ----
		{id: "B1", reason: "R_SESS in the Cookie header and request.cookies: one placeholder; other cookies untouched", build: func(c *canaries) built {
			k := c.rancherKey()
			return built{
				entries: []string{ent{
					reqH: [][2]string{{"Cookie", "R_PCS=light; R_LOCALE=en-us; R_SESS=token-fkx2q:" + k + "; R_REDIRECTED=true"}},
					reqC: [][2]string{{"R_PCS", "light"}, {"R_SESS", "token-fkx2q:" + k}, {"R_REDIRECTED", "true"}}}.json()},
				keep: []string{"R_PCS=light; R_LOCALE=en-us; R_SESS=token-fkx2q:", "; R_REDIRECTED=true"},
				check: func(t *testing.T, h *har.File, out string, recs []Record) {
					allEqual(t, "header vs cookies", firstPH(reqHeader(h, 0, "Cookie")), firstPH(cookie(h.Log.Entries[0].Request.Cookies, "R_SESS")))
				},
			}
		}},
		{id: "B2", reason: "CSRF cookie: same placeholder as the header", build: func(c *canaries) built {
			v := c.hex32()
			return built{
				entries: []string{ent{method: "PUT", reqC: [][2]string{{"CSRF", v}}, reqH: [][2]string{{"x-api-csrf", v}}}.json()},
				check: func(t *testing.T, h *har.File, out string, recs []Record) {
					e := h.Log.Entries[0]
					wantMatch(t, "cookie CSRF", cookie(e.Request.Cookies, "CSRF"), ph("csrf"))
					allEqual(t, "cookie vs header", cookie(e.Request.Cookies, "CSRF"), reqHeader(h, 0, "x-api-csrf"))
				},
			}
		}},
		{id: "B3", reason: "Set-Cookie: the value goes, attributes stay, response.cookies agree", build: func(c *canaries) built {
			k := c.rancherKey()
			return built{
				entries: []string{ent{method: "POST", url: "https://rancher.example/v3-public/localProviders/local?action=login",
					respH: [][2]string{{"Set-Cookie", "R_SESS=token-fkx2q:" + k + "; Path=/; Secure; HttpOnly; SameSite=Lax"}},
					respC: [][2]string{{"R_SESS", "token-fkx2q:" + k}}}.json()},
				keep: []string{"; Path=/; Secure; HttpOnly; SameSite=Lax"},
				check: func(t *testing.T, h *har.File, out string, recs []Record) {
					allEqual(t, "Set-Cookie vs cookies", firstPH(respHeader(h, 0, "Set-Cookie")), firstPH(cookie(h.Log.Entries[0].Response.Cookies, "R_SESS")))
				},
			}
		}},
		{id: "B4", reason: "several Set-Cookie headers, and several joined by newlines", build: func(c *canaries) built {
			k1, k2 := c.rancherKey(), c.rancherKey()
			return built{
				entries: []string{ent{respH: [][2]string{
					{"Set-Cookie", "R_PCS=light; Path=/"},
					{"Set-Cookie", "R_SESS=token-fkx2q:" + k1 + "; Path=/; HttpOnly"},
					{"set-cookie", "R_LOCALE=en-us; Path=/\nR_SESS=token-b8n4k:" + k2 + "; Path=/; Secure"},
				}}.json()},
				keep: []string{"R_PCS=light; Path=/", `R_LOCALE=en-us; Path=/\nR_SESS=token-b8n4k:`, "; Path=/; Secure"},
			}
		}},
		{id: "B5", reason: "a cookie name with regex metacharacters is matched literally", opts: Options{Rules: &Rules{Cookies: []string{"U88+6Et^x"}}}, build: func(c *canaries) built {
			v := c.word("plain", 8)
			return built{
				entries: []string{ent{reqH: [][2]string{{"Cookie", "U88x6Etax=keepme; U88+6Et^x=" + v}}, reqC: [][2]string{{"U88+6Et^x", v}, {"U886Etx", "keepme2"}}}.json()},
				keep:    []string{"U88x6Etax=keepme; U88+6Et^x=", "keepme2"},
			}
		}},
		{id: "B6", reason: "OIDC and Azure AD ID-token cookies follow the JWT policy", build: func(c *canaries) built {
			j1, hp1 := c.jwt()
			j2, hp2 := c.jwt()
			return built{
				entries: []string{ent{reqH: [][2]string{{"Cookie", "R_OIDC_ID=" + j1 + "; R_AZUREAD_ID=" + j2}}, reqC: [][2]string{{"R_OIDC_ID", j1}, {"R_AZUREAD_ID", j2}}}.json()},
				keep:    []string{hp1 + ".", hp2 + "."},
			}
		}},
		// ---- C. URLs ----
		{id: "C1", reason: "OAuth callback code and state, in the URL and queryString; others kept in order", build: func(c *canaries) built {
			code, state := c.word("FAKEcode", 12), c.b64(40)
			u := "https://rancher.example/verify-auth?code=" + code + "&state=" + url.QueryEscape(state) + "&lang=en"
			return built{
				entries: []string{ent{url: u, qs: [][2]string{{"code", code}, {"state", state}, {"lang", "en"}}}.json()},
				keep:    []string{"https://rancher.example/verify-auth?code=", "&lang=en"},
				check: func(t *testing.T, h *har.File, out string, recs []Record) {
					e := h.Log.Entries[0]
					pu, err := url.Parse(e.Request.URL)
					if err != nil {
						t.Fatalf("URL no longer parses: %v", err)
					}
					allEqual(t, "code", pu.Query().Get("code"), e.Request.QueryString[0].Value)
					allEqual(t, "state", pu.Query().Get("state"), e.Request.QueryString[1].Value)
				},
			}
		}},
		{id: "C2", reason: "URL userinfo: the password goes, percent-encoding stays valid", build: func(c *canaries) built {
			p := c.secret("FakeP@ss1" + c.fill(alnum, 8))
			return built{
				entries: []string{ent{url: "https://admin:" + url.QueryEscape(p) + "@rancher.example/v3"}.json()},
				keep:    []string{"https://admin:", "@rancher.example/v3"},
				check: func(t *testing.T, h *har.File, out string, recs []Record) {
					pu, err := url.Parse(h.Log.Entries[0].Request.URL)
					if err != nil {
						t.Fatal(err)
					}
					pw, _ := pu.User.Password()
					wantMatch(t, "password", pw, ph("password"))
				},
			}
		}},
		{id: "C3", reason: "redirectURL and Location: both redacted, identical placeholders", build: func(c *canaries) built {
			code, state := c.word("FAKEcode", 12), c.word("st", 30)
			loc := "https://rancher.example/dashboard/auth/verify?code=" + code + "&state=" + state
			return built{
				entries: []string{ent{status: 302, respH: [][2]string{{"Location", loc}}, redirect: loc}.json()},
				check: func(t *testing.T, h *har.File, out string, recs []Record) {
					if got := respHeader(h, 0, "Location"); got != h.Log.Entries[0].Response.RedirectURL {
						t.Errorf("Location %q != redirectURL %q", got, h.Log.Entries[0].Response.RedirectURL)
					}
				},
			}
		}},
		{id: "C4", reason: "WebSocket URL token", build: func(c *canaries) built {
			tok := c.word("ws", 38)
			return built{
				entries: []string{ent{url: "wss://rancher.example/v3/subscribe?token=" + tok + "&sockId=3", extra: `"_resourceType":"websocket"`}.json()},
				keep:    []string{"&sockId=3"},
			}
		}},
		{id: "C5", reason: "registration token in a path segment", build: func(c *canaries) built {
			k := c.rancherKey()
			return built{
				entries: []string{ent{url: "https://rancher.example/v3/import/" + k + "_c-abc12.yaml", mime: "application/yaml", text: "apiVersion: v1\nkind: Namespace\n"}.json()},
				keep:    []string{"/v3/import/", "_c-abc12.yaml"},
			}
		}},
		{id: "C6", reason: "?CSRF= gets the cookie's placeholder", build: func(c *canaries) built {
			v := c.hex32()
			return built{
				entries: []string{ent{method: "POST", url: "https://rancher.example/v3/clusters?CSRF=" + v, reqC: [][2]string{{"CSRF", v}}, qs: [][2]string{{"CSRF", v}}}.json()},
				check: func(t *testing.T, h *har.File, out string, recs []Record) {
					e := h.Log.Entries[0]
					allEqual(t, "query vs cookie", firstPH(e.Request.URL), cookie(e.Request.Cookies, "CSRF"), e.Request.QueryString[0].Value)
				},
			}
		}},
		// ---- D. request bodies ----
		{id: "D1", reason: "JSON login: password goes, username stays", build: func(c *canaries) built {
			p := c.password()
			return built{
				entries: []string{ent{method: "POST", postMime: "application/json", postText: str(`{"username":"admin","password":` + jq(p) + `,"responseType":"cookie"}`)}.json()},
				keep:    []string{`\"username\":\"admin\"`, `\"responseType\":\"cookie\"`},
			}
		}},
		{id: "D2", reason: "cloud credential: secretKey by name, accessKey by the AWS detector, region kept", build: func(c *canaries) built {
			ak, sk := c.aws(), c.b64(40)
			return built{
				entries: []string{ent{method: "POST", url: "https://rancher.example/v3/cloudcredentials", postMime: "application/json",
					postText: str(`{"type":"cloudCredential","amazonec2credentialConfig":{"accessKey":"` + ak + `","secretKey":"` + sk + `","defaultRegion":"us-west-2"}}`)}.json()},
				keep: []string{`\"defaultRegion\":\"us-west-2\"`},
			}
		}},
		{id: "D3", reason: "RKE1 cluster spec: registry, S3 and vSphere passwords; map keys stay", build: func(c *canaries) built {
			p1, s, p2 := c.password(), c.b64(40), c.password()
			body := `{"rancherKubernetesEngineConfig":{"privateRegistries":[{"url":"registry.example","user":"ci","password":` + jq(p1) + `}],` +
				`"services":{"etcd":{"backupConfig":{"s3BackupConfig":{"accessKey":"backupuser","secretKey":"` + s + `","bucketName":"etcd"}}}},` +
				`"cloudProvider":{"vsphereCloudProvider":{"virtualCenter":{"vc.example":{"user":"admin","password":` + jq(p2) + `}}}}}}`
			return built{
				entries: []string{ent{method: "PUT", url: "https://rancher.example/v3/clusters/c-abc12?_replace=true", postMime: "application/json", postText: &body}.json()},
				keep:    []string{`\"vc.example\":{\"user\":\"admin\"`, `\"accessKey\":\"backupuser\"`},
			}
		}},
		{id: "D4", reason: "node template: DigitalOcean token and SSH key (PEM armour kept)", build: func(c *canaries) built {
			tok := c.word("do", 60)
			pem, _ := c.pem("OPENSSH ")
			body := `{"digitaloceanConfig":{"accessToken":"` + tok + `","region":"nyc3"},"amazonec2Config":{"sshKeyContents":` + jq(pem) + `}}`
			return built{
				entries: []string{ent{method: "POST", url: "https://rancher.example/v3/nodetemplates", postMime: "application/json", postText: &body}.json()},
				keep:    []string{`-----BEGIN OPENSSH PRIVATE KEY-----\\n`, `\\n-----END OPENSSH PRIVATE KEY-----`, `\"region\":\"nyc3\"`},
			}
		}},
		{id: "D5", reason: "urlencoded text and params: one placeholder, valid encoding", build: func(c *canaries) built {
			p := c.secret("Fake!Pass@" + c.fill(alnum, 8))
			text := "username=admin&password=" + url.QueryEscape(p)
			return built{
				entries: []string{ent{method: "POST", postMime: "application/x-www-form-urlencoded", postText: &text,
					params: [][2]string{{"username", "admin"}, {"password", url.QueryEscape(p)}}}.json()},
				keep: []string{"username=admin&password="},
				check: func(t *testing.T, h *har.File, out string, recs []Record) {
					pd := h.Log.Entries[0].Request.PostData
					q, err := url.ParseQuery(*pd.Text)
					if err != nil {
						t.Fatal(err)
					}
					allEqual(t, "text vs params", q.Get("password"), *pd.Params[1].Value)
				},
			}
		}},
		{id: "D6", reason: "multipart: a password part and a kubeconfig file part; boundaries and CRLFs unchanged", build: func(c *canaries) built {
			p, k := c.password(), c.rancherKey()
			body := "--XyZb\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nadmin\r\n" +
				"--XyZb\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n" + p + "\r\n" +
				"--XyZb\r\nContent-Disposition: form-data; name=\"file\"; filename=\"kc.yaml\"\r\nContent-Type: application/yaml\r\n\r\n" +
				"apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: kubeconfig-user-fkx2q:" + k + "\n\r\n--XyZb--\r\n"
			return built{
				entries: []string{ent{method: "POST", postMime: "multipart/form-data; boundary=XyZb", postText: &body}.json()},
				keep:    []string{`--XyZb\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nadmin\r\n`, `token: kubeconfig-user-fkx2q:`, `\n\r\n--XyZb--\r\n`},
			}
		}},
		{id: "D7", reason: "change password: both passwords", build: func(c *canaries) built {
			p1, p2 := c.password(), c.password()
			return built{
				entries: []string{ent{method: "POST", url: "https://rancher.example/v3/users/u-x7k2p?action=changepassword", postMime: "application/json",
					postText: str(`{"currentPassword":` + jq(p1) + `,"newPassword":` + jq(p2) + `}`)}.json()},
			}
		}},
		{id: "D8", reason: "auth configs: client secret, SAML key, OIDC key; spCert stays", build: func(c *canaries) built {
			s := c.word("ghsecret", 32)
			k1, _ := c.pem("RSA ")
			k2, _ := c.pem("")
			cert := c.cert()
			body := `{"githubConfig":{"clientId":"Iv1.abc","clientSecret":"` + s + `"},"samlConfig":{"spKey":` + jq(k1) + `,"spCert":` + jq(cert) + `},"oidcConfig":{"privateKey":` + jq(k2) + `}}`
			return built{
				entries: []string{ent{method: "PUT", postMime: "application/json", postText: &body}.json()},
				keep:    []string{jsonEscaped(jsonEscaped(cert)), `\"clientId\":\"Iv1.abc\"`},
			}
		}},
		// ---- E. response bodies ----
		{id: "E1", reason: "token create response: the key goes, name and id stay", build: func(c *canaries) built {
			k := c.rancherKey()
			return built{
				entries: []string{ent{method: "POST", url: "https://rancher.example/v3/tokens", status: 201,
					text: `{"type":"token","id":"token-fkx2q","name":"token-fkx2q","token":"token-fkx2q:` + k + `","ttl":0}`}.json()},
				keep: []string{`\"id\":\"token-fkx2q\",\"name\":\"token-fkx2q\",\"token\":\"token-fkx2q:`},
			}
		}},
		{id: "E2", reason: "ext token status: value and bearerToken share the key's placeholder", build: func(c *canaries) built {
			k := c.rancherKey()
			return built{
				entries: []string{ent{text: `{"apiVersion":"ext.cattle.io/v1","kind":"Token","status":{"value":"` + k + `","bearerToken":"token-fkx2q:` + k + `"}}`}.json()},
				check: func(t *testing.T, h *har.File, out string, recs []Record) {
					allEqual(t, "value vs bearerToken", placeholders(*h.Log.Entries[0].Response.Content.Text)...)
				},
			}
		}},
		{id: "E3", reason: "generateKubeconfig: the token inside YAML inside JSON; server and CA data stay", build: func(c *canaries) built {
			k := c.rancherKey()
			cad := base64.StdEncoding.EncodeToString([]byte(c.cert()))
			yml := "apiVersion: v1\nkind: Config\nclusters:\n- name: \"local\"\n  cluster:\n    server: \"https://rancher.example/k8s/clusters/local\"\n    certificate-authority-data: \"" + cad +
				"\"\nusers:\n- name: \"local\"\n  user:\n    token: \"kubeconfig-user-fkx2q:" + k + "\"\n"
			return built{
				entries: []string{ent{method: "POST", url: "https://rancher.example/v3/clusters/local?action=generateKubeconfig",
					text: `{"baseType":"generateKubeConfigOutput","config":` + jq(yml) + `,"type":"generateKubeConfigOutput"}`}.json()},
				keep: []string{cad, `server: \\\"https://rancher.example/k8s/clusters/local\\\"`, `token: \\\"kubeconfig-user-fkx2q:`},
			}
		}},
		{id: "E4", reason: "registration token: one placeholder everywhere; CA checksum and cluster id stay", build: func(c *canaries) built {
			k := c.rancherKey()
			sum := c.fill(hexChrs, 64)
			mu := "https://rancher.example/v3/import/" + k + "_c-abc12.yaml"
			body := `{"type":"clusterRegistrationToken","clusterId":"c-abc12","token":"` + k + `","manifestUrl":"` + mu + `",` +
				`"command":"kubectl apply -f ` + mu + `","insecureNodeCommand":"curl --insecure -fL https://rancher.example/system-agent-install.sh | sudo sh -s - --server https://rancher.example --token ` + k + ` --ca-checksum ` + sum + `",` +
				`"nodeCommand":"sudo docker run rancher/rancher-agent --server https://rancher.example --token {token} --ca-checksum ` + sum + `"}`
			return built{
				entries: []string{ent{text: body}.json()},
				keep:    []string{"--ca-checksum " + sum, "_c-abc12.yaml", "--token {token}"},
				check: func(t *testing.T, h *har.File, out string, recs []Record) {
					allEqual(t, "registration token", placeholders(*h.Log.Entries[0].Response.Content.Text)...)
				},
			}
		}},
		{id: "E5", reason: "steve Secret: every data value, whatever the key", build: func(c *canaries) built {
			v1 := c.secret(base64.StdEncoding.EncodeToString([]byte(c.password())))
			v2 := c.secret(base64.StdEncoding.EncodeToString([]byte(c.word("x", 20))))
			return built{
				entries: []string{ent{url: "https://rancher.example/v1/secrets/default/db", text: `{"id":"default/db","type":"secret","_type":"Opaque","data":{"password":"` + v1 + `","whatever":"` + v2 + `"}}`}.json()},
				keep:    []string{`\"type\":\"secret\",\"_type\":\"Opaque\"`},
			}
		}},
		{id: "E6", reason: "cloud-credential Secret: driver fields", build: func(c *canaries) built {
			v1 := c.secret(base64.StdEncoding.EncodeToString([]byte(c.b64(40))))
			v2 := c.secret(base64.StdEncoding.EncodeToString([]byte(c.word("az", 30))))
			return built{
				entries: []string{ent{url: "https://rancher.example/k8s/clusters/local/api/v1/namespaces/cattle-global-data/secrets/cc-x7k2p",
					text: `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"cc-x7k2p","namespace":"cattle-global-data"},"data":{"amazonec2credentialConfig-secretKey":"` + v1 + `","azurecredentialConfig-clientSecret":"` + v2 + `"}}`}.json()},
				keep: []string{`\"name\":\"cc-x7k2p\",\"namespace\":\"cattle-global-data\"`},
			}
		}},
		{id: "E7", reason: "base64 content: decoded, redacted, re-encoded", build: func(c *canaries) built {
			k := c.rancherKey()
			body := `{"token":"token-fkx2q:` + k + `"}`
			return built{
				entries:   []string{ent{text: base64.StdEncoding.EncodeToString([]byte(body)), enc: "base64"}.json()},
				reencoded: true,
				check: func(t *testing.T, h *har.File, out string, recs []Record) {
					c := h.Log.Entries[0].Response.Content
					if c.Encoding != "base64" {
						t.Errorf("encoding = %q", c.Encoding)
					}
					b, _, err := c.Bytes()
					if err != nil {
						t.Fatal(err)
					}
					wantMatch(t, "decoded body", string(b), `\{"token":"token-fkx2q:`+ph("token")+`"\}`)
				},
			}
		}},
		{id: "E8", reason: "a GitHub token inlined in a script", build: func(c *canaries) built {
			g := c.github()
			return built{
				entries: []string{ent{mime: "text/html", text: `<html><script>window.__TOKEN__="` + g + `";window.__BUILD__="8f3e2a1b"</script></html>`}.json()},
				keep:    []string{`<html><script>window.__TOKEN__=\"`, `\";window.__BUILD__=\"8f3e2a1b\"</script></html>`},
			}
		}},
		// ---- F. WebSocket messages ----
		{id: "F1", reason: "subscribe frame with a Secret", build: func(c *canaries) built {
			v := c.secret(base64.StdEncoding.EncodeToString([]byte(c.word("tok", 24))))
			frame := `{"name":"resource.change","data":{"type":"secret","id":"cattle-system/x","data":{"token":"` + v + `"}}}`
			return built{
				entries: []string{ent{url: "wss://rancher.example/v1/subscribe?sockId=1", status: 101, extra: `"_resourceType":"websocket","_webSocketMessages":[{"type":"receive","time":1741944413.298,"opcode":1,"data":` + jq(frame) + `}]`}.json()},
				keep:    []string{`\"name\":\"resource.change\"`},
			}
		}},
		{id: "F2", reason: "binary frame: decoded, redacted, re-encoded; undecodable frames are reported", build: func(c *canaries) built {
			ak := c.aws()
			bin := append([]byte{0x00, 0x01, 0xfe}, []byte("key="+ak+";")...)
			frames := `[{"type":"send","time":1,"opcode":2,"data":"` + base64.StdEncoding.EncodeToString(bin) + `"},{"type":"send","time":2,"opcode":2,"data":"%%%not base64"}]`
			return built{
				entries:     []string{ent{url: "wss://rancher.example/v3/subscribe", status: 101, extra: `"_webSocketMessages":` + frames}.json()},
				reencoded:   true,
				uninspected: true,
				check: func(t *testing.T, h *har.File, out string, recs []Record) {
					warned := false
					for _, r := range recs {
						warned = warned || r.Placeholder == "" && strings.Contains(r.Rule, "not inspected")
					}
					if !warned {
						t.Errorf("no warning for the undecodable frame: %+v", recs)
					}
				},
			}
		}},
		{id: "F3", reason: "a frame echoing the CSRF value, before and after the cookie appears", build: func(c *canaries) built {
			v := c.hex32()
			frame := func(n int) string {
				return `"_webSocketMessages":[{"type":"send","time":` + string(rune('0'+n)) + `,"opcode":1,"data":"subscribe ` + v + `"}]`
			}
			return built{
				entries: []string{
					ent{url: "wss://rancher.example/v3/subscribe", status: 101, extra: frame(1)}.json(),
					ent{method: "POST", reqC: [][2]string{{"CSRF", v}}, reqH: [][2]string{{"X-Api-Csrf", v}}}.json(),
					ent{url: "wss://rancher.example/v3/subscribe", status: 101, extra: frame(2)}.json(),
				},
				check: func(t *testing.T, h *har.File, out string, recs []Record) {
					csrf := reqHeader(h, 1, "X-Api-Csrf")
					if !strings.Contains(out, "subscribe "+csrf+`"`) || strings.Count(out, csrf) != 4 {
						t.Errorf("frames do not carry the header's placeholder %s", csrf)
					}
				},
			}
		}},
	}
}

// gzipped returns data gzip-compressed.
func gzipped(data string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(data))
	zw.Close()
	return b.Bytes()
}
