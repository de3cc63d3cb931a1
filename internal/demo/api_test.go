package demo

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The one 401 body (see the package doc).
const body401 = `{"baseType":"error","code":"Unauthorized","message":"must authenticate","status":401,"type":"error"}` + "\n"

func TestHeadersOnEveryAPIResponse(t *testing.T) {
	f := newFixture(t, testOptions)
	tests := []struct {
		name   string
		r      req
		status int
		auth   string
	}{
		{"list", req{path: "/v3/clusters"}, 200, "true"},
		{"not found", req{path: "/v3/clusters/c-zz9zz"}, 404, "true"},
		{"unknown type", req{path: "/v3/settings/first-login"}, 404, "true"},
		{"method", req{method: "PATCH", path: "/v3/clusters"}, 405, "true"},
		{"unauthenticated", req{path: "/v3/clusters", auth: "-"}, 401, "false"},
		{"public", req{path: "/v3-public/authProviders", auth: "-"}, 200, "false"},
		{"steve", req{path: "/v1/provisioning.cattle.io.clusters"}, 200, "true"},
		{"invalid body", req{method: "POST", path: "/v3/clusters", body: "{"}, 422, "true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := f.must(tt.status, tt.r)
			want := map[string]string{
				"Expires":           "Wed 24 Feb 1982 18:42:00 GMT",
				"X-Api-Cattle-Auth": tt.auth,
				"Content-Type":      "application/json",
			}
			if strings.HasPrefix(tt.r.path, "/v1") {
				want["X-Api-Schemas"] = f.ts.URL + "/v1/schemas"
			} else {
				want["X-Api-Schemas"] = f.ts.URL + "/v3/schemas"
			}
			for k, v := range want {
				if got := res.header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if res.header.Get("WWW-Authenticate") != "" {
				t.Errorf("WWW-Authenticate sent; Rancher 2 never challenges")
			}
			if !strings.HasSuffix(string(res.body), "}\n") || strings.Contains(string(res.body), "\n ") {
				t.Errorf("body is not compact JSON with a trailing newline: %q", res.body)
			}
		})
	}
}

func TestAuthentication(t *testing.T) {
	f := newFixture(t, testOptions)
	key := f.srv.APIKey()
	if !reToken.MatchString(key) {
		t.Fatalf("APIKey() = %q, want token-xxxxx:<54>", key)
	}
	name, secret, _ := strings.Cut(key, ":")
	basic := func(enc *base64.Encoding, s string) string { return "Basic " + enc.EncodeToString([]byte(s)) }
	tests := []struct {
		name   string
		header map[string]string
		auth   string
		status int
		reason string
	}{
		{"bearer", nil, "Bearer " + key, 200, ""},
		{"bearer any case", nil, "bEaReR " + key, 200, "the scheme is case-insensitive"},
		{"basic", nil, basic(base64.StdEncoding, key), 200, "Basic carries the same name:secret pair"},
		{"basic url-safe", nil, basic(base64.URLEncoding, key), 200, ""},
		{"cookie", map[string]string{"Cookie": "R_SESS=" + key}, "-", 200, ""},
		{"cookie %3A", map[string]string{"Cookie": "R_SESS=" + name + "%3A" + secret}, "-", 200, "browsers may escape the colon"},
		{"cookie ignored with header", map[string]string{"Cookie": "R_SESS=" + key}, "Bearer nope", 401,
			"the cookie counts only when there is no Authorization header"},
		{"cookie ignored with unknown scheme", map[string]string{"Cookie": "R_SESS=" + key}, "Negotiate abc", 401,
			"any Authorization header, even one the server cannot read, disables the cookie"},
		{"wrong secret", nil, "Bearer " + name + ":" + strings.Repeat("b", 54), 401, ""},
		{"unknown token", nil, "Bearer token-zzzzz:" + secret, 401, ""},
		{"no colon", nil, "Bearer " + name, 401, ""},
		{"other scheme", nil, "Digest " + key, 401, ""},
		{"nothing", nil, "-", 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := f.do(req{path: "/v3/clusters", auth: tt.auth, header: tt.header})
			if res.status != tt.status {
				t.Fatalf("status %d, want %d (%s)\n%s", res.status, tt.status, tt.reason, res.body)
			}
			wantAuth := "true"
			if tt.status == 401 {
				wantAuth = "false"
				if string(res.body) != body401 {
					t.Errorf("401 body = %s, want %s", res.body, body401)
				}
			}
			if got := res.header.Get("X-Api-Cattle-Auth"); got != wantAuth {
				t.Errorf("X-API-Cattle-Auth = %q, want %q", got, wantAuth)
			}
		})
	}
}

func TestLogin(t *testing.T) {
	f := newFixture(t, Options{User: "ops", Password: testPass})
	login := func(body map[string]any, header map[string]string) *response {
		return f.do(req{method: "POST", path: "/v3-public/localProviders/local?action=login", body: body, auth: "-", header: header})
	}
	t.Run("cookie", func(t *testing.T) {
		res := login(map[string]any{"username": "ops", "password": testPass, "responseType": "cookie"}, nil)
		if res.status != 200 || len(res.body) != 0 {
			t.Fatalf("status %d body %q, want 200 and an empty body", res.status, res.body)
		}
		sess := res.cookie["R_SESS"]
		if sess == nil || !reToken.MatchString(sess.Value) || !sess.HttpOnly || sess.Secure || sess.Path != "/" {
			t.Fatalf("R_SESS = %+v, want an HttpOnly, non-Secure (plain http) token cookie", sess)
		}
		csrf := res.cookie["CSRF"]
		if csrf == nil || !reCSRF.MatchString(csrf.Value) || csrf.HttpOnly || csrf.Secure {
			t.Fatalf("CSRF = %+v, want a readable 32-hex cookie", csrf)
		}
		f.must(200, req{path: "/v3/users?me=true", auth: "-", header: map[string]string{"Cookie": "R_SESS=" + sess.Value}})
	})
	t.Run("secure behind https proxy", func(t *testing.T) {
		res := login(map[string]any{"username": "ops", "password": testPass, "responseType": "cookie"},
			map[string]string{"X-Forwarded-Proto": "https"})
		if c := res.cookie["R_SESS"]; c == nil || !c.Secure {
			t.Fatalf("R_SESS = %+v, want Secure over https", c)
		}
	})
	t.Run("token", func(t *testing.T) {
		res := login(map[string]any{"username": "ops", "password": testPass, "responseType": "token", "description": "cli"}, nil)
		if res.status != 201 {
			t.Fatalf("status %d, want 201\n%s", res.status, res.body)
		}
		m := res.json(t)
		tok, _ := m["token"].(string)
		if !reToken.MatchString(tok) || m["type"] != "token" || m["description"] != "cli" || m["isDerived"] != false {
			t.Fatalf("token resource = %v", m)
		}
		f.must(200, req{path: "/v3/clusters", auth: "Bearer " + tok})
	})
	t.Run("bad password", func(t *testing.T) {
		res := login(map[string]any{"username": "ops", "password": "nope", "responseType": "cookie"}, nil)
		want := `{"baseType":"error","code":"Unauthorized","message":"authentication failed","status":401,"type":"error"}` + "\n"
		if res.status != 401 || string(res.body) != want || res.cookie["R_SESS"] != nil {
			t.Fatalf("status %d body %s cookie %v", res.status, res.body, res.cookie["R_SESS"])
		}
	})
	t.Run("bad action", func(t *testing.T) {
		res := f.do(req{method: "POST", path: "/v3-public/localProviders/local?action=frob", auth: "-", body: map[string]any{}})
		if res.status != 422 || res.json(t)["code"] != "InvalidAction" {
			t.Fatalf("status %d %s", res.status, res.body)
		}
	})
}

func TestCSRF(t *testing.T) {
	f := newFixture(t, testOptions)
	cluster := map[string]any{"name": "x"}
	tests := []struct {
		name     string
		method   string
		path     string
		ua       string
		cookie   string
		header   string
		status   int
		code     string
		setsCSRF bool
		reason   string
	}{
		{name: "curl skips the check", method: "POST", path: "/v3/clusters", ua: "curl/8.5", status: 201},
		{name: "browser GET gets a cookie", method: "GET", path: "/v3/clusters", ua: browserUA, status: 200, setsCSRF: true},
		{name: "browser GET with cookie", method: "GET", path: "/v3/clusters", ua: browserUA, cookie: "abc", status: 200},
		{name: "match", method: "POST", path: "/v3/clusters", ua: browserUA, cookie: "abc", header: "abc", status: 201},
		{name: "query parameter", method: "POST", path: "/v3/clusters?CSRF=abc", ua: browserUA, cookie: "abc", status: 201},
		{name: "mismatch", method: "POST", path: "/v3/clusters", ua: browserUA, cookie: "abc", header: "xyz", status: 422, code: "InvalidCSRFToken"},
		{name: "header missing", method: "POST", path: "/v3/clusters", ua: browserUA, cookie: "abc", status: 422, code: "InvalidCSRFToken"},
		{name: "cookie missing", method: "POST", path: "/v3/clusters", ua: browserUA, header: "abc", status: 422, code: "InvalidCSRFToken",
			setsCSRF: true, reason: "current norman rejects and issues a cookie"},
		{name: "lower-case mozilla", method: "DELETE", path: "/v3/clusters/c-zz9zz", ua: "mozilla/5.0", cookie: "a", status: 422, code: "InvalidCSRFToken"},
		{name: "_method override is checked", method: "POST", path: "/v3/clusters/c-zz9zz?_method=DELETE", ua: browserUA, cookie: "a",
			status: 422, code: "InvalidCSRFToken", reason: "CSRF uses the overridden method"},
		{name: "PATCH is 405 before CSRF", method: "PATCH", path: "/v3/clusters", ua: browserUA, cookie: "a", status: 405, code: "MethodNotAllow"},
		{name: "OPTIONS is 405", method: "OPTIONS", path: "/v3/clusters", ua: browserUA, status: 405, code: "MethodNotAllow", setsCSRF: true},
		{name: "steve lets a cookie-less browser pass", method: "POST", path: "/v1/provisioning.cattle.io.clusters", ua: browserUA,
			status: 201, setsCSRF: true},
		{name: "steve checks a cookie", method: "POST", path: "/v1/provisioning.cattle.io.clusters", ua: browserUA, cookie: "a",
			status: 422, code: "InvalidCSRFToken"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{"User-Agent": tt.ua, "Accept": "application/json"}
			if tt.cookie != "" {
				h["Cookie"] = "CSRF=" + tt.cookie
			}
			if tt.header != "" {
				h["X-Api-Csrf"] = tt.header
			}
			var body any
			if tt.method == "POST" {
				body = cluster
				cluster = map[string]any{"name": "x" + string(rune('a'+i))}
				if strings.HasPrefix(tt.path, "/v1") {
					body = map[string]any{"metadata": map[string]any{"name": "p" + string(rune('a'+i))}}
				}
			}
			res := f.do(req{method: tt.method, path: tt.path, header: h, body: body})
			if res.status != tt.status {
				t.Fatalf("status %d, want %d (%s)\n%s", res.status, tt.status, tt.reason, res.body)
			}
			if tt.code != "" && tt.method != "OPTIONS" {
				if got := res.json(t)["code"]; got != tt.code {
					t.Errorf("code %v, want %s", got, tt.code)
				}
			}
			if tt.code == "InvalidCSRFToken" && !strings.HasPrefix(tt.path, "/v1") {
				if got := res.json(t)["message"]; got != "Invalid CSRF token" {
					t.Errorf("message %v", got)
				}
			}
			c := res.cookie["CSRF"]
			if tt.setsCSRF != (c != nil) {
				t.Fatalf("Set-Cookie CSRF = %v, want set: %v", c, tt.setsCSRF)
			}
			if c != nil && (!reCSRF.MatchString(c.Value) || c.HttpOnly || c.Secure || c.Path != "/") {
				t.Errorf("CSRF cookie %+v: want 32 hex, readable by the page, not Secure on http", c)
			}
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	f := newFixture(t, testOptions)
	c := f.createCluster("lab", nil)
	tok := f.must(201, req{method: "POST", path: "/v3/tokens", body: map[string]any{}}).json(t)
	tests := []struct{ method, path string }{
		{"PATCH", "/v3/clusters"},
		{"PATCH", "/v3/clusters/" + c["id"].(string)},
		{"OPTIONS", "/v3/clusters"},
		{"HEAD", "/v3/clusters"},
		{"POST", "/v3/clusters/" + c["id"].(string)}, // POST on a resource needs an action
		{"PUT", "/v3/clusters"},
		{"DELETE", "/v3/clusters"},
		{"PUT", "/v3/tokens/" + tok["id"].(string)},
		{"POST", "/v3/schemas"},
		{"POST", "/v3"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			var body any
			if tt.method == "POST" || tt.method == "PUT" {
				body = map[string]any{}
			}
			res := f.do(req{method: tt.method, path: tt.path, body: body})
			if res.status != 405 {
				t.Fatalf("status %d, want 405\n%s", res.status, res.body)
			}
			if tt.method == "HEAD" {
				return
			}
			want := `{"baseType":"error","code":"MethodNotAllow","message":"Method ` + tt.method + ` not supported","status":405,"type":"error"}` + "\n"
			if string(res.body) != want {
				t.Errorf("body %s, want %s", res.body, want)
			}
		})
	}
}

func TestCollectionEnvelope(t *testing.T) {
	f := newFixture(t, testOptions)
	empty := f.must(200, req{path: "/v3/clusters"})
	want := []string{"type", "links", "createTypes", "actions", "pagination", "sort", "filters", "resourceType", "data"}
	if got := topKeys(t, empty.body); !slices.Equal(got, want) {
		t.Fatalf("keys %v, want %v", got, want)
	}
	m := empty.json(t)
	u := f.ts.URL
	checks := map[string]any{
		"type":         "collection",
		"links":        map[string]any{"self": u + "/v3/clusters"},
		"createTypes":  map[string]any{"cluster": u + "/v3/clusters"},
		"actions":      map[string]any{},
		"pagination":   map[string]any{"limit": 1000.0, "total": 0.0},
		"resourceType": "cluster",
		"data":         []any{},
		"filters":      map[string]any{"creatorId": nil, "driver": nil, "id": nil, "name": nil, "state": nil, "uuid": nil},
		"sort": map[string]any{
			"order": "asc", "reverse": u + "/v3/clusters?order=desc",
			"links": map[string]any{
				"driver": u + "/v3/clusters?sort=driver", "name": u + "/v3/clusters?sort=name",
				"state": u + "/v3/clusters?sort=state", "uuid": u + "/v3/clusters?sort=uuid",
			},
		},
	}
	for k, v := range checks {
		if !reflect.DeepEqual(m[k], v) {
			t.Errorf("%s = %#v, want %#v", k, m[k], v)
		}
	}
	if !strings.Contains(string(empty.body), `"data":[]`) {
		t.Errorf("empty data must be [] not null: %s", empty.body)
	}

	// Sub-collections and other types share the envelope.
	c := f.createCluster("lab", nil)
	pools := f.must(200, req{path: "/v3/clusters/" + c["id"].(string) + "/nodepools"})
	if got := topKeys(t, pools.body); !slices.Equal(got, want) {
		t.Fatalf("nodepools keys %v", got)
	}
	if pm := pools.json(t); pm["resourceType"] != "nodePool" || get(pm, "links", "self") != u+"/v3/clusters/"+c["id"].(string)+"/nodepools" {
		t.Errorf("nodepools collection %v", pm)
	}
}

func TestResourceEnvelope(t *testing.T) {
	f := newFixture(t, testOptions)
	body := map[string]any{
		"type": "cluster", "name": "lab", "dockerRootDir": "/var/lib/docker", "enableNetworkPolicy": false,
		"windowsPreferedCluster": false, "labels": map[string]any{}, "annotations": map[string]any{},
		"rancherKubernetesEngineConfig": map[string]any{
			"type": "rancherKubernetesEngineConfig", "kubernetesVersion": "v1.30.8-rancher1-1",
			"network":  map[string]any{"type": "networkConfig", "plugin": "canal"},
			"services": map[string]any{"type": "rkeConfigServices", "etcd": map[string]any{"type": "etcdService", "retention": "72h"}},
		},
		"id": "c-chosen", "links": map[string]any{"self": "x"}, "state": "active", "bogus": 1,
	}
	res := f.must(201, req{method: "POST", path: "/v3/cluster?_replace=true", body: body})
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	keys := topKeys(t, res.body)
	if !slices.IsSorted(keys) {
		t.Errorf("resource keys not alphabetical: %v", keys)
	}
	m := res.json(t)
	id, _ := m["id"].(string)
	self := f.ts.URL + "/v3/clusters/" + id
	uid := f.srv.adminID
	switch {
	case !reCluster.MatchString(id):
		t.Errorf("id %q: a client cannot choose it", id)
	case m["type"] != "cluster" || m["baseType"] != "cluster":
		t.Errorf("type/baseType %v %v", m["type"], m["baseType"])
	case m["bogus"] != nil:
		t.Errorf("unknown fields must be dropped")
	case m["state"] != "provisioning" || m["transitioning"] != "yes" || m["transitioningMessage"] != "":
		t.Errorf("state %v transitioning %v (a string)", m["state"], m["transitioning"])
	case !reUUID.MatchString(m["uuid"].(string)) || !reRFC3339.MatchString(m["created"].(string)):
		t.Errorf("uuid %v created %v", m["uuid"], m["created"])
	case m["creatorId"] != uid || get(m, "annotations", "field.cattle.io/creatorId") != uid:
		t.Errorf("creatorId %v annotations %v", m["creatorId"], m["annotations"])
	case m["cloudCredentialId"] != nil:
		t.Errorf("unset reference must be null")
	case m["driver"] != "rancherKubernetesEngine":
		t.Errorf("driver %v", m["driver"])
	}
	if _, ok := m["createdTS"].(float64); !ok {
		t.Errorf("createdTS %v must be a number", m["createdTS"])
	}
	wantLinks := map[string]any{"self": self, "update": self, "remove": self, "nodePools": self + "/nodepools"}
	if !reflect.DeepEqual(m["links"], wantLinks) {
		t.Errorf("links %v, want %v", m["links"], wantLinks)
	}
	wantActions := map[string]any{"generateKubeconfig": self + "?action=generateKubeconfig", "exportYaml": self + "?action=exportYaml"}
	if !reflect.DeepEqual(m["actions"], wantActions) || m["actionLinks"] != nil {
		t.Errorf("actions %v actionLinks %v", m["actions"], m["actionLinks"])
	}
	rke := m["rancherKubernetesEngineConfig"]
	for path, want := range map[string]string{
		"type":               "/v3/schemas/rancherKubernetesEngineConfig",
		"kubernetesVersion":  "v1.30.8-rancher1-1",
		"network.type":       "/v3/schemas/networkConfig",
		"network.plugin":     "canal",
		"services.etcd.type": "/v3/schemas/etcdService",
	} {
		if got := get(rke, strings.Split(path, ".")...); got != want {
			t.Errorf("rancherKubernetesEngineConfig.%s = %v, want %s", path, got, want)
		}
	}

	// X-Api-Action-Links renames the map, on single resources and in lists.
	for _, path := range []string{"/v3/clusters/" + id, "/v3/clusters"} {
		res := f.must(200, req{path: path, header: map[string]string{"X-Api-Action-Links": "actionLinks"}})
		r := res.json(t)
		if path == "/v3/clusters" {
			r = r["data"].([]any)[0].(map[string]any)
		}
		if r["actions"] != nil || !reflect.DeepEqual(r["actionLinks"], wantActions) {
			t.Errorf("%s with X-Api-Action-Links: actions %v actionLinks %v", path, r["actions"], r["actionLinks"])
		}
	}
}

func TestTypeSegment(t *testing.T) {
	f := newFixture(t, testOptions)
	for i, path := range []string{"/v3/cluster", "/v3/clusters", "/v3/Clusters", "/v3/CLUSTER?_replace=true"} {
		res := f.must(201, req{method: "POST", path: path, body: map[string]any{"name": "n" + string(rune('a'+i))}})
		if self := get(res.json(t), "links", "self").(string); !strings.Contains(self, "/v3/clusters/c-") {
			t.Errorf("POST %s: self %s, want lowercase plural", path, self)
		}
	}
	nt := f.must(201, req{method: "POST", path: "/v3/NodeTemplate", body: map[string]any{}}).json(t)
	if self := get(nt, "links", "self").(string); !strings.HasPrefix(self, f.ts.URL+"/v3/nodetemplates/cattle-global-nt:nt-") {
		t.Errorf("node template self %s", self)
	}
	f.must(200, req{path: "/v3/nodeTemplates/" + nt["id"].(string)})
	f.must(200, req{path: "/v3/nodetemplate/" + url.PathEscape(nt["id"].(string))})
}

func TestErrors(t *testing.T) {
	f := newFixture(t, testOptions)
	c := f.createCluster("lab", nil)
	cid := c["id"].(string)
	nt := f.must(201, req{method: "POST", path: "/v3/nodetemplates", body: map[string]any{}}).json(t)
	tests := []struct {
		name string
		r    req
		want string
	}{
		{"not found", req{path: "/v3/clusters/c-zz9zz"},
			`{"baseType":"error","code":"NotFound","message":"clusters.management.cattle.io \"c-zz9zz\" not found","status":404,"type":"error"}`},
		{"not found namespaced", req{path: "/v3/nodetemplates/cattle-global-nt:nt-zz9zz"},
			`{"baseType":"error","code":"NotFound","message":"nodetemplates.management.cattle.io \"nt-zz9zz\" not found","status":404,"type":"error"}`},
		{"not found credential", req{method: "DELETE", path: "/v3/cloudcredentials/cattle-global-data:cc-zz9zz"},
			`{"baseType":"error","code":"NotFound","message":"secrets \"cc-zz9zz\" not found","status":404,"type":"error"}`},
		{"unknown type", req{path: "/v3/kontainerdrivers"},
			`{"baseType":"error","code":"NotFound","message":"failed to find schema kontainerdrivers","status":404,"type":"error"}`},
		{"missing name", req{method: "POST", path: "/v3/cluster?_replace=true", body: map[string]any{"type": "cluster"}},
			`{"baseType":"error","code":"MissingRequired","fieldName":"name","message":"","status":422,"type":"error"}`},
		{"empty name", req{method: "POST", path: "/v3/clusters", body: map[string]any{"name": ""}},
			`{"baseType":"error","code":"MissingRequired","fieldName":"name","message":"","status":422,"type":"error"}`},
		{"duplicate name", req{method: "POST", path: "/v3/cluster", body: map[string]any{"name": "lab"}},
			`{"baseType":"error","code":"NotUnique","fieldName":"Cluster name","message":"","status":422,"type":"error"}`},
		{"duplicate name via plural", req{method: "POST", path: "/v3/clusters", body: map[string]any{"name": "lab"}},
			`{"baseType":"error","code":"NotUnique","fieldName":"Cluster name","message":"","status":422,"type":"error"}`},
		{"bad json", req{method: "POST", path: "/v3/clusters", body: `{"name":`},
			`{"baseType":"error","code":"InvalidBodyContent","message":"Failed to parse body: unexpected end of JSON input","status":422,"type":"error"}`},
		{"json array", req{method: "POST", path: "/v3/clusters", body: `[]`},
			`{"baseType":"error","code":"InvalidBodyContent","message":"Failed to parse body: json: cannot unmarshal array into Go value of type map[string]interface {}","status":422,"type":"error"}`},
		{"undefined action", req{method: "POST", path: "/v3/clusters/" + cid + "?action=rotateCertificates", body: map[string]any{}},
			`{"baseType":"error","code":"InvalidAction","message":"Invalid action: rotateCertificates","status":422,"type":"error"}`},
		{"undefined collection action", req{method: "POST", path: "/v3/clusters?action=frob", body: map[string]any{}},
			`{"baseType":"error","code":"InvalidAction","message":"Invalid action: frob","status":422,"type":"error"}`},
		{"action on missing cluster", req{method: "POST", path: "/v3/clusters/c-zz9zz?action=generateKubeconfig"},
			`{"baseType":"error","code":"NotFound","message":"clusters.management.cattle.io \"c-zz9zz\" not found","status":404,"type":"error"}`},
		{"bad reference", req{method: "POST", path: "/v3/nodepool", body: map[string]any{
			"clusterId": "c-zz9zz", "nodeTemplateId": nt["id"], "hostnamePrefix": "p-"}},
			`{"baseType":"error","code":"InvalidReference","fieldName":"clusterId","message":"","status":422,"type":"error"}`},
		{"bad template reference", req{method: "POST", path: "/v3/nodepool", body: map[string]any{
			"clusterId": cid, "nodeTemplateId": "cattle-global-nt:nt-zz9zz", "hostnamePrefix": "p-"}},
			`{"baseType":"error","code":"InvalidReference","fieldName":"nodeTemplateId","message":"","status":422,"type":"error"}`},
		{"missing pool field", req{method: "POST", path: "/v3/nodepool", body: map[string]any{"clusterId": cid, "nodeTemplateId": nt["id"]}},
			`{"baseType":"error","code":"MissingRequired","fieldName":"hostnamePrefix","message":"","status":422,"type":"error"}`},
		{"bad option", req{method: "POST", path: "/v3/clusters", body: map[string]any{"name": "n2",
			"rancherKubernetesEngineConfig": map[string]any{"network": map[string]any{"plugin": "cilium-ng"}}}},
			`{"baseType":"error","code":"InvalidOption","fieldName":"plugin","message":"Invalid option: cilium-ng","status":422,"type":"error"}`},
		{"bad type", req{method: "POST", path: "/v3/clusters", body: map[string]any{"name": "n3", "labels": "x"}},
			`{"baseType":"error","code":"InvalidFormat","fieldName":"labels","message":"Invalid type for field 'labels': expected map[string]","status":422,"type":"error"}`},
		{"link not found", req{path: "/v3/clusters/" + cid + "/frobs"},
			`{"baseType":"error","code":"NotFound","message":"Link not found","status":404,"type":"error"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := f.do(tt.r)
			if got := strings.TrimSuffix(string(res.body), "\n"); got != tt.want {
				t.Fatalf("body\n got %s\nwant %s", got, tt.want)
			}
			var e struct{ Status int }
			json.Unmarshal(res.body, &e)
			if res.status != e.Status {
				t.Errorf("HTTP status %d != body status %d", res.status, e.Status)
			}
		})
	}
	// A rename onto an existing name is a conflict too.
	other := f.createCluster("other", nil)
	res := f.do(req{method: "PUT", path: "/v3/clusters/" + other["id"].(string), body: map[string]any{"name": "lab"}})
	if res.status != 422 || res.json(t)["fieldName"] != "Cluster name" {
		t.Errorf("rename onto lab: %d %s", res.status, res.body)
	}
}

func TestPagination(t *testing.T) {
	f := newFixture(t, testOptions)
	var ids []string
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		ids = append(ids, f.createCluster(n, nil)["id"].(string))
	}
	slices.Sort(ids) // default order: id, ascending

	page := func(path string) map[string]any { return f.must(200, req{path: path}).json(t) }
	dataIDs := func(m map[string]any) []string {
		var out []string
		for _, d := range m["data"].([]any) {
			out = append(out, d.(map[string]any)["id"].(string))
		}
		return out
	}
	u := f.ts.URL + "/v3/clusters"

	first := page("/v3/clusters?limit=2")
	wantPag := map[string]any{
		"first": u + "?limit=2&marker=" + ids[0], "next": u + "?limit=2&marker=" + ids[2],
		"last": u + "?limit=2&marker=" + ids[3], "limit": 2.0, "total": 5.0, "partial": true,
	}
	if !reflect.DeepEqual(first["pagination"], wantPag) {
		t.Errorf("first page pagination\n got %v\nwant %v", first["pagination"], wantPag)
	}
	if got := dataIDs(first); !slices.Equal(got, ids[:2]) {
		t.Errorf("first page %v, want %v", got, ids[:2])
	}
	// Key order of pagination follows norman's struct.
	var raw struct{ Pagination json.RawMessage }
	json.Unmarshal(f.must(200, req{path: "/v3/clusters?limit=2&marker=" + ids[2]}).body, &raw)
	if got := topKeys(t, raw.Pagination); !slices.Equal(got, []string{"marker", "first", "previous", "next", "last", "limit", "total", "partial"}) {
		t.Errorf("pagination keys %v", got)
	}

	// Following next visits every item once, in order.
	var all []string
	next := "/v3/clusters?limit=2"
	for n := 0; next != "" && n < 10; n++ {
		m := page(next)
		all = append(all, dataIDs(m)...)
		next = ""
		if s, ok := get(m, "pagination", "next").(string); ok {
			next = strings.TrimPrefix(s, f.ts.URL)
		}
	}
	if !slices.Equal(all, ids) {
		t.Errorf("walked %v, want %v", all, ids)
	}

	tests := []struct {
		query string
		limit float64
		data  []string
	}{
		{"", 1000, ids},
		{"?limit=-1", 10000, ids},
		{"?limit=99999", 10000, ids},
		{"?limit=abc", 1000, ids},
		{"?marker=" + ids[3], 1000, ids[3:]},
		{"?marker=c-unknown", 1000, ids},
		{"?order=desc&limit=2", 2, []string{ids[4], ids[3]}},
		{"?sort=name&order=desc", 1000, nil},
	}
	for _, tt := range tests {
		m := page("/v3/clusters" + tt.query)
		if got := get(m, "pagination", "limit"); got != tt.limit {
			t.Errorf("%s: limit %v, want %v", tt.query, got, tt.limit)
		}
		if tt.data != nil && !slices.Equal(dataIDs(m), tt.data) {
			t.Errorf("%s: data %v, want %v", tt.query, dataIDs(m), tt.data)
		}
	}
	m := page("/v3/clusters?sort=name&order=desc")
	var names []string
	for _, d := range m["data"].([]any) {
		names = append(names, d.(map[string]any)["name"].(string))
	}
	if !slices.Equal(names, []string{"e", "d", "c", "b", "a"}) {
		t.Errorf("sort=name&order=desc: %v", names)
	}
	if get(m, "sort", "name") != "name" || get(m, "sort", "order") != "desc" ||
		get(m, "sort", "reverse") != u+"?order=asc&sort=name" {
		t.Errorf("sort %v", m["sort"])
	}
	if got := get(page("/v3/clusters?sort=dockerRootDir"), "sort", "name"); got != nil {
		t.Errorf("sort on a non-filter field must be ignored, got name %v", got)
	}
}

func TestFilters(t *testing.T) {
	f := newFixture(t, testOptions)
	for _, n := range []string{"lab", "prod", "test"} {
		f.createCluster(n, nil)
	}
	tests := []struct {
		query   string
		names   []string
		filters map[string]any
		reason  string
	}{
		{"name=lab", []string{"lab"}, map[string]any{"name": []any{map[string]any{"modifier": "eq", "value": "lab"}}}, ""},
		{"name_ne=lab", []string{"prod", "test"}, map[string]any{"name": []any{map[string]any{"modifier": "ne", "value": "lab"}}}, ""},
		{"name_in=lab&name_in=test", []string{"lab", "test"},
			map[string]any{"name": []any{map[string]any{"modifier": "in", "value": []any{"lab", "test"}}}}, "repeated parameters"},
		{"name_in=lab,test", nil, nil, "a comma list is one value"},
		{"name_notin=lab&name_notin=prod", []string{"test"}, nil, ""},
		{"name_null", nil, map[string]any{"name": []any{map[string]any{"modifier": "null"}}}, ""},
		{"name_notnull", []string{"lab", "prod", "test"}, nil, ""},
		{"driver=imported&name_ne=prod", []string{"lab", "test"}, nil, "filters combine with AND"},
		{"state=provisioning", []string{"lab", "prod", "test"}, nil, ""},
		{"frob=1", []string{"lab", "prod", "test"}, map[string]any{"frob": nil}, "unknown field ignored"},
		{"name_like=la", []string{"lab", "prod", "test"}, map[string]any{"name": nil}, "unknown modifier ignored"},
		{"name_gt=a", []string{"lab", "prod", "test"}, map[string]any{"name": nil}, "cattle's _gt does not exist in norman"},
		{"dockerRootDir=/x", []string{"lab", "prod", "test"}, nil, "not a collection filter"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			m := f.must(200, req{path: "/v3/clusters?" + tt.query}).json(t)
			var names []string
			for _, d := range m["data"].([]any) {
				names = append(names, d.(map[string]any)["name"].(string))
			}
			slices.Sort(names)
			if !slices.Equal(names, tt.names) {
				t.Errorf("names %v, want %v (%s)", names, tt.names, tt.reason)
			}
			if got := get(m, "pagination", "total"); got != float64(len(tt.names)) {
				t.Errorf("total %v, want %d (after filtering)", got, len(tt.names))
			}
			filters := m["filters"].(map[string]any)
			for k, want := range tt.filters {
				got, present := filters[k]
				if want == nil && k == "frob" {
					if present {
						t.Errorf("unknown filter %s must not appear in filters", k)
					}
					continue
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("filters.%s = %#v, want %#v", k, got, want)
				}
			}
		})
	}
}

func TestReplaceSemantics(t *testing.T) {
	f := newFixture(t, testOptions)
	create := map[string]any{
		"description": "first", "enableNetworkPolicy": true, "windowsPreferedCluster": true,
		"labels":      map[string]any{"team": "a", "env": "lab"},
		"annotations": map[string]any{"note": "x"},
		"rancherKubernetesEngineConfig": map[string]any{
			"kubernetesVersion": "v1.29.12-rancher1-1", "customKey": "kept",
			"network":  map[string]any{"plugin": "calico", "options": map[string]any{"mtu": "1400"}},
			"services": map[string]any{"etcd": map[string]any{"retention": "24h"}},
		},
	}
	c := f.createCluster("lab", create)
	path := "/v3/clusters/" + c["id"].(string)
	uid := f.srv.adminID

	// Without _replace: a deep merge.
	m := f.must(200, req{method: "PUT", path: path, body: map[string]any{
		"description": "second",
		"labels":      map[string]any{"team": "b"},
		"rancherKubernetesEngineConfig": map[string]any{
			"network": map[string]any{"plugin": "flannel"},
		},
	}}).json(t)
	for p, want := range map[string]any{
		"description":         "second",
		"enableNetworkPolicy": true,                                                          // omitted: kept
		"labels":              map[string]any{"team": "b"},                                   // plain map: replaced whole
		"annotations":         map[string]any{"note": "x", "field.cattle.io/creatorId": uid}, // omitted: kept
		"rancherKubernetesEngineConfig.kubernetesVersion":       "v1.29.12-rancher1-1",         // nested object: merged
		"rancherKubernetesEngineConfig.network.plugin":          "flannel",                     // deeper: merged
		"rancherKubernetesEngineConfig.network.options":         map[string]any{"mtu": "1400"}, // deeper sibling kept
		"rancherKubernetesEngineConfig.services.etcd.retention": "24h",
		"rancherKubernetesEngineConfig.customKey":               "kept",
	} {
		if got := get(m, strings.Split(p, ".")...); !reflect.DeepEqual(got, want) {
			t.Errorf("merge: %s = %#v, want %#v", p, got, want)
		}
	}

	// With _replace=true: omitted updatable fields are cleared or reset.
	m = f.must(200, req{method: "PUT", path: path + "?_replace=true", body: map[string]any{
		"name":        "lab",
		"annotations": map[string]any{"new": "y"},
		"rancherKubernetesEngineConfig": map[string]any{
			"network": map[string]any{"plugin": "canal"},
		},
	}}).json(t)
	for p, want := range map[string]any{
		"description":            "",    // reset to default
		"enableNetworkPolicy":    false, // reset to default
		"windowsPreferedCluster": true,  // create-only: survives
		"labels":                 map[string]any{},
		"annotations":            map[string]any{"new": "y", "field.cattle.io/creatorId": uid}, // protected key survives
		"rancherKubernetesEngineConfig.kubernetesVersion":       k8sVersions[0], // cleared, then default
		"rancherKubernetesEngineConfig.network.plugin":          "canal",
		"rancherKubernetesEngineConfig.network.options":         nil,
		"rancherKubernetesEngineConfig.services.etcd.retention": "72h",
		"rancherKubernetesEngineConfig.customKey":               nil, // undeclared nested keys are updatable too
	} {
		if got := get(m, strings.Split(p, ".")...); !reflect.DeepEqual(got, want) {
			t.Errorf("replace: %s = %#v, want %#v", p, got, want)
		}
	}
	if m["id"] != c["id"] || m["created"] != c["created"] || m["uuid"] != c["uuid"] {
		t.Errorf("read-only fields changed: %v %v %v", m["id"], m["created"], m["uuid"])
	}

	// Replace drops a nullable nested object the body omits.
	m = f.must(200, req{method: "PUT", path: path + "?_replace=true", body: map[string]any{"name": "lab"}}).json(t)
	if m["rancherKubernetesEngineConfig"] != nil {
		t.Errorf("replace without RKE config kept %v", m["rancherKubernetesEngineConfig"])
	}
	// Replace still needs the required fields.
	res := f.do(req{method: "PUT", path: path + "?_replace=true", body: map[string]any{"description": "x"}})
	if res.status != 422 || res.json(t)["code"] != "MissingRequired" {
		t.Errorf("replace without name: %d %s", res.status, res.body)
	}

	// On POST, _replace means nothing.
	p1 := f.must(201, req{method: "POST", path: "/v3/clusters?_replace=true", body: map[string]any{"name": "p1", "description": "d"}}).json(t)
	p2 := f.must(201, req{method: "POST", path: "/v3/clusters", body: map[string]any{"name": "p2", "description": "d"}}).json(t)
	for _, k := range []string{"description", "dockerRootDir", "enableNetworkPolicy", "labels"} {
		if !reflect.DeepEqual(p1[k], p2[k]) {
			t.Errorf("POST with and without _replace differ on %s: %v vs %v", k, p1[k], p2[k])
		}
	}
}

func TestWriteOnlySecrets(t *testing.T) {
	f := newFixture(t, testOptions)
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	res := f.must(201, req{method: "POST", path: "/v3/cloudcredential", body: map[string]any{
		"type": "cloudCredential", "name": "aws",
		"amazonec2credentialConfig": map[string]any{"type": "amazonec2credentialConfig",
			"accessKey": "AKIAIOSFODNN7EXAMPLE", "secretKey": secret, "defaultRegion": "eu-west-1"},
	}})
	cc := res.json(t)
	if !reCredID.MatchString(cc["id"].(string)) || cc["namespaceId"] != "cattle-global-data" {
		t.Errorf("id %v namespaceId %v", cc["id"], cc["namespaceId"])
	}
	if got := get(cc, "amazonec2credentialConfig", "accessKey"); got != "AKIAIOSFODNN7EXAMPLE" {
		t.Errorf("accessKey %v: readable fields stay", got)
	}
	path := "/v3/cloudcredentials/" + cc["id"].(string)
	bodies := map[string][]byte{
		"create": res.body,
		"get":    f.must(200, req{path: path}).body,
		"list":   f.must(200, req{path: "/v3/cloudcredentials"}).body,
		"update": f.must(200, req{method: "PUT", path: path, body: map[string]any{"description": "d"}}).body,
		"schema": f.must(200, req{path: "/v3/schemas/amazonec2credentialConfig"}).body,
	}
	for what, b := range bodies {
		if strings.Contains(string(b), secret) || (what != "schema" && strings.Contains(string(b), "secretKey")) {
			t.Errorf("%s response shows the secret key:\n%s", what, b)
		}
	}
	// The schema says so.
	sc := f.must(200, req{path: "/v3/schemas/amazonec2credentialConfig"}).json(t)
	if get(sc, "resourceFields", "secretKey", "writeOnly") != true {
		t.Errorf("schema secretKey %v", get(sc, "resourceFields", "secretKey"))
	}
	// A merge update without the secret keeps it (stored, still hidden).
	f.srv.mu.Lock()
	stored := get(f.srv.st.Objects["cloudCredential"][cc["id"].(string)].Fields, "amazonec2credentialConfig", "secretKey")
	f.srv.mu.Unlock()
	if stored != secret {
		t.Errorf("stored secret %v after merge update", stored)
	}

	// API key secrets appear once.
	tok := f.must(201, req{method: "POST", path: "/v3/token", body: map[string]any{"type": "token", "description": "automation"}}).json(t)
	value := tok["token"].(string)
	if !reToken.MatchString(value) || tok["name"] != tok["id"] || !strings.HasPrefix(value, tok["name"].(string)+":") {
		t.Fatalf("token %v", tok)
	}
	_, sec, _ := strings.Cut(value, ":")
	for _, path := range []string{"/v3/tokens/" + tok["id"].(string), "/v3/tokens"} {
		if b := f.must(200, req{path: path}).body; strings.Contains(string(b), sec) || strings.Contains(string(b), `"token":"token-`) {
			t.Errorf("GET %s shows the token secret", path)
		}
	}
	// User passwords never appear.
	if b := f.must(200, req{path: "/v3/users"}).body; strings.Contains(string(b), testPass) || strings.Contains(string(b), "pbkdf2") {
		t.Errorf("users list shows a password")
	}
}

func TestDelete(t *testing.T) {
	f := newFixture(t, testOptions)
	for _, how := range []req{{method: "DELETE"}, {method: "POST", path: "?action=remove"}} {
		c := f.createCluster("lab", nil)
		path := "/v3/clusters/" + c["id"].(string)
		m := f.must(200, req{method: how.method, path: path + how.path}).json(t)
		if m["state"] != "removing" || m["transitioning"] != "yes" || !reRFC3339.MatchString(m["removed"].(string)) {
			t.Errorf("%s: deleted resource %v %v %v", how.method, m["state"], m["transitioning"], m["removed"])
		}
		f.must(404, req{path: path})
	}
}

func TestForwardedHostsInLinks(t *testing.T) {
	f := newFixture(t, testOptions)
	f.createCluster("lab", nil)
	tests := []struct {
		header map[string]string
		base   string
	}{
		{nil, f.ts.URL},
		{map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "rancher.test, proxy.internal"}, "https://rancher.test"},
		{map[string]string{"X-Forwarded-Host": "a.test", "X-API-Host": "b.test"}, "http://b.test"},
		{map[string]string{"X-Forwarded-Proto": "https", "X-API-URL-Prefix": "/rancher"}, "https://" + strings.TrimPrefix(f.ts.URL, "http://") + "/rancher"},
	}
	for _, tt := range tests {
		res := f.must(200, req{path: "/v3/clusters", header: tt.header})
		m := res.json(t)
		c := m["data"].([]any)[0].(map[string]any)
		self := get(c, "links", "self").(string)
		if !strings.HasPrefix(self, tt.base+"/v3/clusters/c-") {
			t.Errorf("%v: self %s, want base %s", tt.header, self, tt.base)
		}
		if got := res.header.Get("X-Api-Schemas"); got != tt.base+"/v3/schemas" {
			t.Errorf("%v: X-Api-Schemas %s", tt.header, got)
		}
		if got := get(m, "createTypes", "cluster"); got != tt.base+"/v3/clusters" {
			t.Errorf("%v: createTypes %v", tt.header, got)
		}
	}
}

func TestFormatNegotiation(t *testing.T) {
	f := newFixture(t, testOptions)
	tests := []struct {
		ua, accept, query string
		html              bool
	}{
		{browserUA, "", "", true},
		{browserUA, "text/html,application/xhtml+xml,*/*;q=0.8", "", true},
		{browserUA, "application/json", "", false},
		{browserUA, "*/*", "?_format=json", false},
		{"curl/8.5", "*/*", "", false},
		{"curl/8.5", "application/json", "?_format=html", true},
	}
	for _, tt := range tests {
		res := f.must(200, req{path: "/v3/clusters" + tt.query, header: map[string]string{"User-Agent": tt.ua, "Accept": tt.accept}})
		isHTML := strings.HasPrefix(res.header.Get("Content-Type"), "text/html")
		if isHTML != tt.html {
			t.Errorf("UA %q Accept %q %s: Content-Type %s, want html=%v", tt.ua, tt.accept, tt.query, res.header.Get("Content-Type"), tt.html)
		}
		if isHTML && (res.header.Get("X-Frame-Options") != "SAMEORIGIN" || !strings.Contains(string(res.body), `&#34;collection&#34;`)) {
			t.Errorf("API UI page: %s", res.body)
		}
	}
}

func TestKubeconfigAndExport(t *testing.T) {
	f := newFixture(t, testOptions)
	c := f.createCluster("lab", map[string]any{"rancherKubernetesEngineConfig": map[string]any{}})
	path := "/v3/clusters/" + c["id"].(string)
	gen := func() (string, map[string]any) {
		res := f.must(200, req{method: "POST", path: path + "?action=generateKubeconfig"})
		if keys := topKeys(t, res.body); !slices.Equal(keys, []string{"baseType", "config", "type"}) {
			t.Errorf("keys %v", keys)
		}
		m := res.json(t)
		if m["type"] != "generateKubeConfigOutput" || m["baseType"] != "generateKubeConfigOutput" {
			t.Errorf("type %v", m["type"])
		}
		return m["config"].(string), parseKubeconfig(t, m["config"].(string))
	}
	raw, kc := gen()
	token := get(kc, "token").(string)
	wantName := "kubeconfig-" + f.srv.adminID
	if name, secret, _ := strings.Cut(token, ":"); name != wantName || len(secret) != 54 {
		t.Errorf("token %q, want %s:<54>", token, wantName)
	}
	if kc["server"] != f.ts.URL+"/k8s/clusters/"+c["id"].(string) {
		t.Errorf("server %v", kc["server"])
	}
	if !strings.Contains(kc["key"].(string), "-----BEGIN EC PRIVATE KEY-----") {
		t.Errorf("client key %q", kc["key"])
	}
	if !strings.Contains(raw, "current-context: \"lab\"") {
		t.Errorf("config:\n%s", raw)
	}
	f.must(200, req{path: "/v3/clusters", auth: "Bearer " + token})
	if _, again := gen(); get(again, "token") != token {
		t.Errorf("second kubeconfig has another token; Rancher reuses the user's kubeconfig token")
	}

	res := f.must(200, req{method: "POST", path: path + "?action=exportYaml"}).json(t)
	y, _ := res["yamlOutput"].(string)
	if res["type"] != "exportOutput" || !strings.Contains(y, "name: lab") || strings.Contains(y, "/v3/schemas") || strings.Contains(y, c["id"].(string)) {
		t.Errorf("exportYaml %v", res)
	}
	// GET ignores the action.
	if m := f.must(200, req{path: path + "?action=generateKubeconfig"}).json(t); m["type"] != "cluster" {
		t.Errorf("GET with action: %v", m["type"])
	}
}

func TestNodeTemplatesAndPools(t *testing.T) {
	f := newFixture(t, testOptions)
	c := f.createCluster("lab", nil)
	cid := c["id"].(string)
	cc := f.must(201, req{method: "POST", path: "/v3/cloudcredentials", body: map[string]any{"name": "aws",
		"amazonec2credentialConfig": map[string]any{"accessKey": "A", "secretKey": "S"}}}).json(t)
	nt := f.must(201, req{method: "POST", path: "/v3/nodetemplate", body: map[string]any{
		"type": "nodeTemplate", "name": "medium", "cloudCredentialId": cc["id"],
		"amazonec2Config": map[string]any{"type": "amazonec2Config", "region": "eu-west-1"},
	}}).json(t)
	if !reTemplate.MatchString(nt["id"].(string)) || nt["driver"] != "amazonec2" || get(nt, "amazonec2Config", "instanceType") != "t3a.medium" ||
		nt["namespaceId"] != "cattle-global-nt" {
		t.Errorf("node template %v", nt)
	}
	res := f.do(req{method: "POST", path: "/v3/nodetemplate", body: map[string]any{"cloudCredentialId": "cattle-global-data:cc-zz9zz"}})
	if res.status != 422 || res.json(t)["fieldName"] != "cloudCredentialId" {
		t.Errorf("bad credential reference: %d %s", res.status, res.body)
	}

	np := f.must(201, req{method: "POST", path: "/v3/nodepool", body: map[string]any{
		"type": "nodePool", "clusterId": cid, "nodeTemplateId": nt["id"], "hostnamePrefix": "lab-pool1-",
		"quantity": 3, "etcd": true, "controlPlane": true, "worker": true,
	}}).json(t)
	npid := np["id"].(string)
	if !rePoolID.MatchString(npid) || !strings.HasPrefix(npid, cid+":") || np["namespaceId"] != cid || np["quantity"] != 3.0 {
		t.Errorf("node pool %v", np)
	}
	// clusterId is create-only: an update cannot move the pool.
	other := f.createCluster("other", nil)
	up := f.must(200, req{method: "PUT", path: "/v3/nodepools/" + npid, body: map[string]any{"clusterId": other["id"], "quantity": 2}}).json(t)
	if up["clusterId"] != cid || up["quantity"] != 2.0 {
		t.Errorf("after update: clusterId %v quantity %v", up["clusterId"], up["quantity"])
	}
	list := f.must(200, req{path: "/v3/clusters/" + cid + "/nodepools"}).json(t)
	if get(list, "pagination", "total") != 1.0 {
		t.Errorf("cluster's node pools: %v", list["pagination"])
	}
	if m := f.must(200, req{path: "/v3/nodepools?clusterId=" + cid}).json(t); get(m, "pagination", "total") != 1.0 {
		t.Errorf("?clusterId filter: %v", m["pagination"])
	}
	if got := f.must(200, req{path: "/v3/clusters/" + cid}).json(t)["nodeCount"]; got != 2.0 {
		t.Errorf("nodeCount %v", got)
	}
	f.must(200, req{method: "DELETE", path: "/v3/clusters/" + cid})
	f.must(404, req{path: "/v3/nodepools/" + npid})
}

func TestTokensAndLogout(t *testing.T) {
	f := newFixture(t, testOptions)
	tok := f.must(201, req{method: "POST", path: "/v3/tokens", body: map[string]any{"description": "ci", "ttl": 60000}}).json(t)
	value := tok["token"].(string)
	if tok["ttl"] != 60000.0 || tok["expiresAt"] == "" || tok["isDerived"] != true || tok["userId"] != f.srv.adminID {
		t.Errorf("token %v", tok)
	}
	f.must(200, req{path: "/v3/clusters", auth: "Bearer " + value})
	list := f.must(200, req{path: "/v3/tokens", auth: "Bearer " + value}).json(t)
	var current []any
	for _, d := range list["data"].([]any) {
		if d.(map[string]any)["current"] == true {
			current = append(current, d.(map[string]any)["id"])
		}
	}
	if !reflect.DeepEqual(current, []any{tok["id"]}) {
		t.Errorf("current tokens %v, want the one used", current)
	}
	f.must(200, req{method: "DELETE", path: "/v3/tokens/" + tok["id"].(string)})
	f.must(401, req{path: "/v3/clusters", auth: "Bearer " + value})

	// An expired token is refused.
	f.srv.mu.Lock()
	old := &token{Name: "token-xpird", Secret: strings.Repeat("b", 54), UserID: f.srv.adminID, Kind: kindAPIKey, TTL: 1, Created: f.srv.st.Users[f.srv.adminID].Created}
	f.srv.st.Tokens[old.Name] = old
	f.srv.mu.Unlock()
	f.must(401, req{path: "/v3/clusters", auth: "Bearer " + old.value()})

	// Logout ends a cookie session, and only it.
	jar := newJar(t)
	f.must(200, req{method: "POST", path: "/v3-public/localProviders/local?action=login", auth: "-", jar: jar,
		body: map[string]any{"username": "admin", "password": testPass, "responseType": "cookie"}})
	f.must(200, req{path: "/v3/users?me=true", auth: "-", jar: jar})
	res := f.must(200, req{method: "POST", path: "/v3/tokens?action=logout", auth: "-", jar: jar, body: map[string]any{}})
	if c := res.cookie["R_SESS"]; c == nil || c.MaxAge >= 0 {
		t.Errorf("logout must clear R_SESS, got %+v", c)
	}
	f.must(401, req{path: "/v3/users?me=true", auth: "-", jar: jar})
	f.must(200, req{method: "POST", path: "/v3/tokens?action=logout", body: map[string]any{}})
	f.must(200, req{path: "/v3/clusters"}) // the API key still works
}

func TestUsers(t *testing.T) {
	f := newFixture(t, testOptions)
	me := f.must(200, req{path: "/v3/users?me=true"}).json(t)
	data := me["data"].([]any)
	if len(data) != 1 || get(data[0], "me") != true || get(data[0], "username") != "admin" || get(data[0], "id") != f.srv.adminID {
		t.Fatalf("me %v", data)
	}
	res := f.do(req{method: "POST", path: "/v3/users", body: map[string]any{"username": "dev", "password": "short"}})
	if res.status != 422 || res.json(t)["code"] != "MinLengthExceeded" {
		t.Errorf("short password: %d %s", res.status, res.body)
	}
	dev := f.must(201, req{method: "POST", path: "/v3/users", body: map[string]any{"username": "dev", "password": "dev-password-1", "name": "Dev"}}).json(t)
	if res := f.do(req{method: "POST", path: "/v3/users", body: map[string]any{"username": "dev", "password": "dev-password-1"}}); res.status != 422 ||
		res.json(t)["code"] != "NotUnique" {
		t.Errorf("duplicate username: %d %s", res.status, res.body)
	}
	all := f.must(200, req{path: "/v3/users"}).json(t)
	if get(all, "pagination", "total") != 2.0 {
		t.Errorf("users %v", all["pagination"])
	}

	login := func(user, pass string) *response {
		return f.do(req{method: "POST", path: "/v3-public/localProviders/local?action=login", auth: "-",
			body: map[string]any{"username": user, "password": pass, "responseType": "token"}})
	}
	devTok := login("dev", "dev-password-1").json(t)["token"].(string)
	as := func(r req) req { r.auth = "Bearer " + devTok; return r }
	change := func(id, cur, next string) req {
		return as(req{method: "POST", path: "/v3/users/" + id + "?action=changepassword",
			body: map[string]any{"currentPassword": cur, "newPassword": next}})
	}
	tests := []struct {
		name   string
		r      req
		status int
		msg    string
	}{
		{"wrong current", change(dev["id"].(string), "nope", "dev-password-2"), 422, "Invalid current password"},
		{"too short", change(dev["id"].(string), "dev-password-1", "short"), 422, "Password must be at least 12 characters"},
		{"same", change(dev["id"].(string), "dev-password-1", "dev-password-1"), 422, "The new password must not be the same as the current password"},
		{"someone else", change(f.srv.adminID, testPass, "dev-password-2"), 403, "You can only change your own password"},
		{"missing", as(req{method: "POST", path: "/v3/users/" + dev["id"].(string) + "?action=changepassword", body: map[string]any{}}), 422, ""},
	}
	for _, tt := range tests {
		res := f.do(tt.r)
		if res.status != tt.status || (tt.msg != "" && res.json(t)["message"] != tt.msg) {
			t.Errorf("%s: %d %s", tt.name, res.status, res.body)
		}
	}
	res = f.must(200, change(dev["id"].(string), "dev-password-1", "dev-password-2"))
	if len(res.body) != 0 {
		t.Errorf("changepassword body %q, want empty", res.body)
	}
	if login("dev", "dev-password-1").status != 401 || login("dev", "dev-password-2").status != 201 {
		t.Errorf("password not changed")
	}
	// The collection form changes the caller's own password.
	f.must(200, as(req{method: "POST", path: "/v3/users?action=changepassword",
		body: map[string]any{"currentPassword": "dev-password-2", "newPassword": "dev-password-3"}}))
	if login("dev", "dev-password-3").status != 201 {
		t.Errorf("collection changepassword did not change it")
	}
	// Update: merge, replace, and no way to lock yourself out.
	upath := "/v3/users/" + dev["id"].(string)
	u := f.must(200, req{method: "PUT", path: upath, body: map[string]any{"description": "developer", "username": "renamed"}}).json(t)
	if u["name"] != "Dev" || u["description"] != "developer" || u["username"] != "dev" {
		t.Errorf("merge update: %v (username is create-only)", u)
	}
	u = f.must(200, req{method: "PUT", path: upath + "?_replace=true", body: map[string]any{"name": "Dev 2"}}).json(t)
	if u["name"] != "Dev 2" || u["description"] != "" || u["enabled"] != true {
		t.Errorf("replace update: %v", u)
	}
	if g := f.must(200, req{path: upath}).json(t); g["name"] != "Dev 2" || g["me"] != false || g["type"] != "user" {
		t.Errorf("GET user: %v", g)
	}
	if res := f.do(req{method: "PUT", path: "/v3/users/" + f.srv.adminID, body: map[string]any{"enabled": false}}); res.status != 403 {
		t.Errorf("disabling yourself: %d %s", res.status, res.body)
	}
	f.must(200, req{method: "PUT", path: upath, body: map[string]any{"enabled": false}})
	f.must(401, req{path: "/v3/clusters", auth: "Bearer " + devTok})
	f.must(200, req{method: "PUT", path: upath, body: map[string]any{"enabled": true}})
	f.must(200, req{path: "/v3/clusters", auth: "Bearer " + devTok})
	f.must(404, req{path: "/v3/users/user-zz9zz"})

	if res := f.do(req{method: "DELETE", path: "/v3/users/" + f.srv.adminID}); res.status != 403 {
		t.Errorf("deleting yourself: %d", res.status)
	}
	f.must(200, req{method: "DELETE", path: "/v3/users/" + dev["id"].(string)})
	f.must(401, req{path: "/v3/clusters", auth: "Bearer " + devTok})
}

func TestSchemasAndRoot(t *testing.T) {
	f := newFixture(t, testOptions)
	list := f.must(200, req{path: "/v3/schemas"}).json(t)
	var ids []string
	for _, d := range list["data"].([]any) {
		ids = append(ids, get(d, "id").(string))
	}
	for _, want := range []string{"cluster", "nodeTemplate", "nodePool", "cloudCredential", "token", "user", "rancherKubernetesEngineConfig"} {
		if !slices.Contains(ids, want) {
			t.Errorf("schemas lack %s", want)
		}
	}
	if list["createTypes"] != nil {
		t.Errorf("schemas cannot be created: createTypes %v", list["createTypes"])
	}
	sc := f.must(200, req{path: "/v3/schemas/cluster"}).json(t)
	if sc["pluralName"] != "clusters" || get(sc, "resourceFields", "name", "required") != true ||
		!reflect.DeepEqual(get(sc, "collectionFilters", "name", "modifiers"), []any{"eq", "ne", "null", "notnull", "in", "notin"}) ||
		get(sc, "resourceActions", "generateKubeconfig", "output") != "generateKubeConfigOutput" ||
		get(sc, "links", "collection") != f.ts.URL+"/v3/clusters" {
		t.Errorf("cluster schema %v", sc)
	}
	nt := f.must(200, req{path: "/v3/schemas/NODETEMPLATE", header: map[string]string{"X-Api-Action-Links": "1"}}).json(t)
	if nt["id"] != "nodeTemplate" || nt["actions"] != nil || nt["actionLinks"] == nil {
		t.Errorf("schema with X-Api-Action-Links: %v", nt)
	}
	f.must(404, req{path: "/v3/schemas/frob"})

	root := f.must(200, req{path: "/v3"}).json(t)
	if root["type"] != "apiRoot" || get(root, "links", "clusters") != f.ts.URL+"/v3/clusters" ||
		get(root, "links", "nodeTemplates") != f.ts.URL+"/v3/nodetemplates" {
		t.Errorf("apiRoot %v", root)
	}
	prov := f.must(200, req{path: "/v3-public/authProviders", auth: "-"}).json(t)
	if get(prov, "data") == nil || get(prov["data"].([]any)[0], "actions", "login") != f.ts.URL+"/v3-public/localProviders/local?action=login" {
		t.Errorf("authProviders %v", prov)
	}
}

func TestSteveProvisioning(t *testing.T) {
	f := newFixture(t, testOptions)
	body := map[string]any{
		"type":     "provisioning.cattle.io.cluster",
		"metadata": map[string]any{"namespace": "fleet-default", "name": "lab2"},
		"spec": map[string]any{"kubernetesVersion": "v1.33.0+rke2r1", "cloudCredentialSecretName": "cattle-global-data:cc-4tq9w",
			"rkeConfig": map[string]any{"machineGlobalConfig": map[string]any{"cni": "calico"}}},
	}
	res := f.must(201, req{method: "POST", path: "/v1/provisioning.cattle.io.clusters", body: body})
	want := []string{"id", "type", "links", "apiVersion", "kind", "metadata", "spec", "status"}
	if got := topKeys(t, res.body); !slices.Equal(got, want) {
		t.Fatalf("keys %v, want %v", got, want)
	}
	m := res.json(t)
	mgmt, _ := get(m, "status", "clusterName").(string)
	if m["id"] != "fleet-default/lab2" || m["kind"] != "Cluster" || !reMgmtID.MatchString(mgmt) ||
		get(m, "metadata", "state", "transitioning") != true || get(m, "spec", "rkeConfig", "machineGlobalConfig", "cni") != "calico" {
		t.Errorf("resource %v", m)
	}
	c := f.must(200, req{path: "/v3/clusters/" + mgmt}).json(t)
	if c["name"] != "lab2" || c["driver"] != "rke2" {
		t.Errorf("management cluster %v", c)
	}
	dup := f.do(req{method: "POST", path: "/v1/provisioning.cattle.io.clusters/fleet-default", body: map[string]any{"metadata": map[string]any{"name": "lab2"}}})
	wantDup := `{"type":"error","links":{},"code":"AlreadyExists","message":"clusters.provisioning.cattle.io \"lab2\" already exists","status":409,"type":"error"}` + "\n"
	if dup.status != 409 || string(dup.body) != wantDup {
		t.Errorf("duplicate: %d %s", dup.status, dup.body)
	}
	list := f.must(200, req{path: "/v1/provisioning.cattle.io.clusters"})
	if got := topKeys(t, list.body); !slices.Equal(got, []string{"type", "links", "createTypes", "actions", "resourceType", "revision", "count", "data"}) {
		t.Errorf("collection keys %v", got)
	}
	if lm := list.json(t); lm["count"] != 1.0 {
		t.Errorf("count %v", lm["count"])
	}
	f.must(200, req{method: "PUT", path: "/v1/provisioning.cattle.io.clusters/fleet-default/lab2", body: map[string]any{"spec": map[string]any{"kubernetesVersion": "v1.33.1+rke2r1"}}})
	got := f.must(200, req{path: "/v1/provisioning.cattle.io.clusters/fleet-default/lab2"}).json(t)
	if get(got, "metadata", "generation") != 2.0 || get(got, "spec", "kubernetesVersion") != "v1.33.1+rke2r1" {
		t.Errorf("after PUT %v", got)
	}
	f.must(200, req{method: "DELETE", path: "/v1/provisioning.cattle.io.clusters/fleet-default/lab2"})
	f.must(404, req{path: "/v1/provisioning.cattle.io.clusters/fleet-default/lab2"})
	f.must(404, req{path: "/v3/clusters/" + mgmt})
	nf := f.do(req{path: "/v1/frobs"})
	if nf.status != 404 || !strings.HasPrefix(string(nf.body), `{"type":"error","links":{},"code":"NotFound"`) {
		t.Errorf("unknown steve type: %d %s", nf.status, nf.body)
	}
	if r := f.do(req{path: "/v1/provisioning.cattle.io.clusters", auth: "-"}); r.status != 401 || string(r.body) != body401 {
		t.Errorf("steve 401: %d %s", r.status, r.body)
	}
}

func TestWebUIServed(t *testing.T) {
	f := newFixture(t, testOptions)
	for path, want := range map[string]string{"/": "login-username", "/app.js": "cluster-add-nodepool-", "/app.css": ".modal", "/favicon.svg": "<svg"} {
		res := f.must(200, req{path: path, auth: "-"})
		if !strings.Contains(string(res.body), want) {
			t.Errorf("%s lacks %q", path, want)
		}
		if res.header.Get("Content-Security-Policy") == "" || res.header.Get("Expires") != "" {
			t.Errorf("%s headers %v", path, res.header)
		}
	}
	f.must(404, req{path: "/nope", auth: "-"})
	f.must(405, req{method: "POST", path: "/", auth: "-"})
}
