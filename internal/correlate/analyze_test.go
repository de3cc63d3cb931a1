package correlate

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/apitape/apitape/har"
	"github.com/google/go-cmp/cmp"
)

const (
	h            = "https://rancher.test"
	secret54     = "x8kzpq2m4v6n9bdfghjklrstwcx2v4n6m8pq9rs2t4w6x8z5c7d9fg"
	loginToken   = "token-fkx2q:" + secret54
	clusterResp  = `{"baseType":"cluster","id":"c-q7x2m","links":{"self":"https://rancher.test/v3/clusters/c-q7x2m"},"name":"lab","state":"provisioning","type":"cluster"}`
	nodePoolResp = `{"baseType":"nodePool","clusterId":"c-q7x2m","id":"c-q7x2m:np-8hv4t","type":"nodePool"}`
)

func TestAnalyze(t *testing.T) {
	tests := []struct {
		name   string
		reason string
		calls  []rec
		opts   Options
		want   []string
	}{
		{
			name:   "id in path",
			reason: "the created cluster's id names the resource in a later URL",
			calls: []rec{
				{Method: "POST", URL: h + "/v3/cluster?_replace=true", Body: `{"type":"cluster","name":"lab"}`, Status: 201, Resp: clusterResp},
				{Method: "GET", URL: h + "/v3/clusters/c-q7x2m"},
			},
			want: []string{"CLUSTER_ID=c-q7x2m @0 .id: 1 url.path[13,20)"},
		},
		{
			name:   "id in body, query and header",
			reason: "every request field is scanned",
			calls: []rec{
				{Method: "POST", URL: h + "/v3/cluster", Body: `{"name":"lab"}`, Status: 201, Resp: clusterResp},
				{Method: "POST", URL: h + "/v3/nodepool", Body: `{"clusterId":"c-q7x2m","quantity":1}`, Status: 201},
				{Method: "GET", URL: h + "/v3/nodes?limit=-1&clusterId=c-q7x2m"},
				{Method: "GET", URL: h + "/v3/settings", Header: []string{"X-Cluster: c-q7x2m"}},
			},
			want: []string{"CLUSTER_ID=c-q7x2m @0 .id: 1 body[14,21) | 2 url.query[19,26) | 3 header:X-Cluster[0,7)"},
		},
		{
			name:   "part of a composite id",
			reason: "a project id nobody produced whole still carries the produced cluster id before its colon, raw or encoded",
			calls: []rec{
				{Method: "POST", URL: h + "/v3/cluster", Body: `{"name":"lab"}`, Status: 201, Resp: clusterResp},
				{Method: "GET", URL: h + "/v3/projects/c-q7x2m:p-2wz9l"},
				{Method: "GET", URL: h + "/v3/projects/c-q7x2m%3Ap-2wz9l/namespaces"},
			},
			want: []string{"CLUSTER_ID=c-q7x2m @0 .id: 1 url.path[13,20) | 2 url.path[13,20)"},
		},
		{
			name:   "composite produced whole wins over its part",
			reason: "at one position the longest produced value binds: the node pool id, not the cluster id inside it",
			calls: []rec{
				{Method: "POST", URL: h + "/v3/cluster", Body: `{"name":"lab"}`, Status: 201, Resp: clusterResp},
				{Method: "POST", URL: h + "/v3/nodepool", Body: `{"clusterId":"c-q7x2m"}`, Status: 201, Resp: nodePoolResp},
				{Method: "PUT", URL: h + "/v3/nodePools/c-q7x2m:np-8hv4t", Body: `{"id":"c-q7x2m:np-8hv4t","clusterId":"c-q7x2m"}`},
			},
			want: []string{
				"CLUSTER_ID=c-q7x2m @0 .id: 1 body[14,21) | 2 body[38,45)",
				"NODE_POOL_ID=c-q7x2m:np-8hv4t @1 .id: 2 url.path[14,30) | 2 body[7,23)",
			},
		},
		{
			name:   "url-encoded use",
			reason: "a composite id written with %3A (or %3a) in a path or form body is found and marked encoded",
			calls: []rec{
				{Method: "POST", URL: h + "/v3/nodepool", Body: `{"clusterId":"c-q7x2m"}`, Status: 201, Resp: nodePoolResp},
				{Method: "GET", URL: h + "/v3/nodePools/c-q7x2m%3Anp-8hv4t"},
				{Method: "GET", URL: h + "/v3/nodePools/c-q7x2m%3anp-8hv4t"},
				{Method: "POST", URL: h + "/v3/nodes", Body: `nodePoolId=c-q7x2m%3Anp-8hv4t&x=1`},
			},
			want: []string{"NODE_POOL_ID=c-q7x2m:np-8hv4t @0 .id: 1 url.path[14,32) url | 2 url.path[14,32) url | 3 body[11,29) url"},
		},
		{
			name:   "produced twice: the latest binds",
			reason: "two equally good producers of one value before any use: the later response is the one to read",
			calls: []rec{
				{Method: "GET", URL: h + "/api/widgets/current", Resp: `{"id":"w-5kd8w","state":"active"}`},
				{Method: "GET", URL: h + "/api/widgets/default", Resp: `{"id":"w-5kd8w","state":"active"}`},
				{Method: "DELETE", URL: h + "/api/widgets/w-5kd8w"},
			},
			want: []string{"WIDGET_ID=w-5kd8w @1 .id: 2 url.path[13,20)"},
		},
		{
			name:   "creator beats a later list",
			reason: "a 201 answer is a better source than a list that happens to contain the same id",
			calls: []rec{
				{Method: "POST", URL: h + "/v3/cluster", Body: `{"name":"lab"}`, Status: 201, Resp: clusterResp},
				{Method: "GET", URL: h + "/v3/clusters", Resp: `{"type":"collection","resourceType":"cluster","data":[{"id":"c-q7x2m","type":"cluster"}]}`},
				{Method: "GET", URL: h + "/v3/clusters/c-q7x2m"},
			},
			want: []string{"CLUSTER_ID=c-q7x2m @0 .id: 2 url.path[13,20)"},
		},
		{
			name:   "echo after a use does not rebind",
			reason: "once a request carried the value the client knows it; the PUT answer echoing it is no producer",
			calls: []rec{
				{Method: "POST", URL: h + "/v3/cluster", Body: `{"name":"lab"}`, Status: 201, Resp: clusterResp},
				{Method: "PUT", URL: h + "/v3/clusters/c-q7x2m", Body: `{"name":"lab2"}`, Resp: clusterResp},
				{Method: "GET", URL: h + "/v3/clusters/c-q7x2m"},
			},
			want: []string{"CLUSTER_ID=c-q7x2m @0 .id: 1 url.path[13,20) | 2 url.path[13,20)"},
		},
		{
			name:   "short value does not bind",
			reason: "values under 4 bytes occur everywhere by chance",
			calls: []rec{
				{Method: "POST", URL: h + "/api/items", Body: `{"n":1}`, Status: 201, Resp: `{"id":"a7x","count":"42"}`},
				{Method: "GET", URL: h + "/api/items/a7x?count=42"},
			},
		},
		{
			name:   "common values and words do not bind",
			reason: "states, types and small numbers are not references",
			calls: []rec{
				{Method: "GET", URL: h + "/v3/clusters", Resp: `{"data":[{"state":"active","driver":"rancherKubernetesEngine","quantity":1000,"mime":"application/json","local":"local"}]}`},
				{Method: "GET", URL: h + "/v3/clusters?state=active&driver=rancherKubernetesEngine&limit=1000&id=local", Header: []string{"Accept: application/json"}},
			},
		},
		{
			name:   "large number binds",
			reason: "a 13-digit timestamp is specific enough to be a produced value",
			calls: []rec{
				{Method: "POST", URL: h + "/v3/cluster", Body: `{"name":"lab"}`, Status: 201, Resp: `{"type":"cluster","createdTS":1741944413000}`},
				{Method: "PUT", URL: h + "/v3/clusters/x", Body: `{"createdTS":1741944413000}`},
			},
			want: []string{"CLUSTER_CREATED_TS=1741944413000 @0 .createdTS: 1 body[13,26)"},
		},
		{
			name:   "login token in a later Authorization header",
			reason: "the token a login returns authenticates later calls; the whole token binds, not its name part",
			calls: []rec{
				{Method: "POST", URL: h + "/v3-public/localProviders/local?action=login", Body: `{"username":"admin","password":"REDACTED-password-1a2b3c4d","responseType":"token"}`,
					Status: 201, Resp: `{"baseType":"token","id":"token-fkx2q","name":"token-fkx2q","token":"` + loginToken + `","type":"token","userId":"user-b8n4k"}`},
				{Method: "GET", URL: h + "/v3/clusters", Header: []string{"Authorization: Bearer " + loginToken}},
			},
			want: []string{"TOKEN=" + loginToken + " @0 .token: 1 header:Authorization[7,73)"},
		},
		{
			name:   "client sent it first",
			reason: "a value the client sent before any response produced it is user input, even when responses echo it later",
			calls: []rec{
				{Method: "POST", URL: h + "/v3/cluster", Body: `{"name":"lab-01x","description":"rack 7b-22"}`, Status: 201,
					Resp: `{"type":"cluster","id":"c-q7x2m","name":"lab-01x","description":"rack 7b-22"}`},
				{Method: "GET", URL: h + "/v3/clusters", Resp: `{"type":"collection","data":[{"type":"cluster","name":"lab-01x"}]}`},
				{Method: "GET", URL: h + "/v3/clusters?name=lab-01x"},
			},
		},
		{
			name:   "words only",
			reason: "a value made of words (a default path, a sentence) is not a reference: bound to a list, it would make the script depend on the list",
			calls: []rec{
				{Method: "GET", URL: h + "/v3/clusters", Resp: `{"type":"collection","data":[{"type":"cluster","dockerRootDir":"/var/lib/docker","description":"lab for the demo"}]}`},
				{Method: "POST", URL: h + "/v3/cluster", Body: `{"name":"lab","dockerRootDir":"/var/lib/docker","description":"lab for the demo"}`},
			},
		},
		{
			name:   "token boundaries",
			reason: "an id inside a longer token is a different value",
			calls: []rec{
				{Method: "POST", URL: h + "/v3/cluster", Body: `{"name":"lab"}`, Status: 201, Resp: clusterResp},
				{Method: "GET", URL: h + "/v3/clusters/c-q7x2mm/xc-q7x2m?q=c-q7x2m.bak"},
			},
		},
		{
			name:   "location header",
			reason: "a 201 with only a Location header produces the new resource's id as its last segment",
			calls: []rec{
				{Method: "POST", URL: h + "/api/widgets", Body: `{"size":3}`, Status: 201, RespHeader: []string{"Location: /api/widgets/w-9k2m1?view=full"}},
				{Method: "GET", URL: h + "/api/widgets/w-9k2m1/parts"},
			},
			want: []string{"WIDGET_ID=w-9k2m1 @0 header:Location (last segment): 1 url.path[13,20)"},
		},
		{
			name:   "id field beats location",
			reason: "within one response the body's id is the preferred source of a value",
			calls: []rec{
				{Method: "POST", URL: h + "/api/widgets", Body: `{"size":3}`, Status: 201, RespHeader: []string{"Location: https://x.test/api/widgets/w-9k2m1"}, Resp: `{"id":"w-9k2m1"}`},
				{Method: "GET", URL: h + "/api/widgets/w-9k2m1"},
			},
			want: []string{"WIDGET_ID=w-9k2m1 @0 .id: 1 url.path[13,20)"},
		},
		{
			name:   "link without an id",
			reason: "a HAL resource names itself only by links: a link followed as a path binds whole, its id (last segment) binds elsewhere",
			calls: []rec{
				{Method: "POST", URL: h + "/api/orders", Body: `{"n":1}`, Status: 201, Resp: `{"_links":{"self":{"href":"https://shop.test/api/orders/o-4711?x=1"},"items":{"href":"/api/orders/o-4711/items"}}}`},
				{Method: "GET", URL: h + "/api/orders/o-4711/items"},
				{Method: "POST", URL: h + "/api/payments", Body: `{"order":"o-4711"}`},
			},
			want: []string{
				"ORDER_LINKS_ITEMS_HREF=/api/orders/o-4711/items @0 ._links.items.href: 1 url.path[0,24)",
				"ORDER_ID=o-4711 @0 ._links.self.href (last segment): 2 body[10,16)",
			},
		},
		{
			name:   "set-cookie and token header",
			reason: "a CSRF cookie comes back as a cookie and a header; an auth header token comes back as a header",
			calls: []rec{
				{Method: "GET", URL: h + "/v3/settings/first-login", RespHeader: []string{"Set-Cookie: CSRF=d1b2b5ebf8; Path=/; Secure", "X-Subject-Token: gAAAAABk7fX2"}},
				{Method: "POST", URL: h + "/v3/cluster", Header: []string{"Cookie: R_LOCALE=en-us; CSRF=d1b2b5ebf8", "X-Api-Csrf: d1b2b5ebf8", "X-Auth-Token: gAAAAABk7fX2"}, Body: `{"name":"lab"}`},
			},
			want: []string{
				"CSRF_COOKIE=d1b2b5ebf8 @0 cookie:CSRF: 1 header:Cookie[21,31) | 1 header:X-Api-Csrf[0,10)",
				"X_SUBJECT_TOKEN=gAAAAABk7fX2 @0 header:X-Subject-Token: 1 header:X-Auth-Token[0,12)",
			},
		},
		{
			name:   "manual variable",
			reason: "--var binds a value detection would skip (a word) and names it",
			opts:   Options{Extra: []Manual{{Name: "POOL", Source: Source{Kind: KindJSON, Path: ".data[0].name"}, Entry: 0}}},
			calls: []rec{
				{Method: "GET", URL: h + "/v3/pools", Resp: `{"data":[{"name":"blue"}]}`},
				{Method: "GET", URL: h + "/v3/pools/blue"},
			},
			want: []string{"POOL=blue @0 .data[0].name: 1 url.path[10,14)"},
		},
		{
			name:   "disabled",
			reason: "--no-correlate: nothing is detected",
			opts:   Options{Disabled: true},
			calls: []rec{
				{Method: "POST", URL: h + "/v3/cluster", Body: `{"name":"lab"}`, Status: 201, Resp: clusterResp},
				{Method: "GET", URL: h + "/v3/clusters/c-q7x2m"},
			},
		},
		{
			name:   "repeated member",
			reason: "in {\"id\":A,\"id\":B} a JSON decoder (and jq) returns B at .id, so only B can be read back and bind",
			calls: []rec{
				{Method: "POST", URL: h + "/api/widgets", Body: `{"n":1}`, Status: 201, Resp: `{"id":"w-11111","id":"w-22222"}`},
				{Method: "GET", URL: h + "/api/widgets/w-11111"},
				{Method: "GET", URL: h + "/api/widgets/w-22222"},
			},
			want: []string{"WIDGET_ID=w-22222 @0 .id: 2 url.path[13,20)"},
		},
		{
			name:   "escaped strings",
			reason: "a JSON-escaped id is read decoded, and found raw or percent-encoded in requests",
			calls: []rec{
				{Method: "POST", URL: h + "/api/widgets", Body: `{"n":1}`, Status: 201, Resp: `{"id":"w-\u0037bcd2","ref":"a\/b-123"}`},
				{Method: "GET", URL: h + "/api/widgets/w-7bcd2?ref=a%2Fb-123"},
			},
			want: []string{
				"WIDGET_ID=w-7bcd2 @0 .id: 1 url.path[13,20)",
				"WIDGET_REF=a/b-123 @0 .ref: 1 url.query[4,13) url",
			},
		},
		{
			name:   "names stay unique",
			reason: "two clusters created in one session: CLUSTER_ID and CLUSTER_ID_2",
			calls: []rec{
				{Method: "POST", URL: h + "/v3/cluster", Body: `{"name":"a"}`, Status: 201, Resp: `{"type":"cluster","id":"c-aaaa2"}`},
				{Method: "POST", URL: h + "/v3/cluster", Body: `{"name":"b"}`, Status: 201, Resp: `{"type":"cluster","id":"c-bbbb2"}`},
				{Method: "DELETE", URL: h + "/v3/clusters/c-bbbb2"},
				{Method: "DELETE", URL: h + "/v3/clusters/c-aaaa2"},
			},
			want: []string{
				"CLUSTER_ID=c-aaaa2 @0 .id: 3 url.path[13,20)",
				"CLUSTER_ID_2=c-bbbb2 @1 .id: 2 url.path[13,20)",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es := entries(tt.calls)
			m, err := Analyze(es, nil, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, summary(m)); diff != "" {
				t.Errorf("%s\nmodel mismatch (-want +got):\n%s", tt.reason, diff)
			}
			checkInvariants(t, es, nil, m)
		})
	}
}

func TestAnalyzeIndexesAndSecrets(t *testing.T) {
	es := entries([]rec{
		{Method: "POST", URL: h + "/v3-public/localProviders/local?action=login", Body: `{"username":"admin"}`, Status: 201,
			Resp: `{"type":"token","token":"` + loginToken + `"}`},
		{Method: "GET", URL: h + "/v3/clusters", Header: []string{"Authorization: Bearer " + loginToken}},
	})
	m, err := Analyze(es, []int{7, 12}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Vars) != 1 {
		t.Fatalf("got %d vars", len(m.Vars))
	}
	v := m.Vars[0]
	if v.Producer != 7 || v.Uses[0].Entry != 12 || !v.Secret {
		t.Errorf("got producer %d, use entry %d, secret %v; want 7, 12, true", v.Producer, v.Uses[0].Entry, v.Secret)
	}
	if got := m.Produced(7); len(got) != 1 || got[0] != v {
		t.Errorf("Produced(7) = %v", got)
	}
	var b strings.Builder
	if err := m.Write(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), secret54) {
		t.Errorf("Write printed a secret:\n%s", b.String())
	}
	checkInvariants(t, es, []int{7, 12}, m)
}

func TestAnalyzeBase64Response(t *testing.T) {
	es := entries([]rec{
		{Method: "POST", URL: h + "/v3/cluster", Body: `{"name":"lab"}`, Status: 201},
		{Method: "GET", URL: h + "/v3/clusters/c-q7x2m"},
	})
	es[0].Response.Content.Text = har.String(base64.StdEncoding.EncodeToString([]byte(clusterResp)))
	es[0].Response.Content.Encoding = "base64"
	m, err := Analyze(es, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"CLUSTER_ID=c-q7x2m @0 .id: 1 url.path[13,20)"}
	if diff := cmp.Diff(want, summary(m)); diff != "" {
		t.Errorf("model mismatch (-want +got):\n%s", diff)
	}
}

func TestAnalyzeManualErrors(t *testing.T) {
	es := entries([]rec{{Method: "GET", URL: h + "/v3/pools", Resp: `{"data":[]}`}})
	tests := []struct {
		extra []Manual
		want  string
	}{
		{[]Manual{{Name: "X", Source: Source{Kind: KindJSON, Path: ".data[0].id"}, Entry: 0}}, "var X: entry 0: the response has no value at .data[0].id"},
		{[]Manual{{Name: "X", Source: Source{Kind: KindJSON, Path: ".id"}, Entry: 4}}, "var X: entry 4 is not among the selected calls"},
		{[]Manual{{Name: "PATH", Source: Source{Kind: KindJSON, Path: ".id"}, Entry: 0}}, "var PATH: the shell or generated scripts use this name"},
		{[]Manual{{Name: "X", Source: Source{Kind: KindHeader, Path: "Location"}, Entry: 0}, {Name: "X", Source: Source{Kind: KindJSON, Path: ".id"}, Entry: 0}}, "var X: declared twice"},
	}
	for _, tt := range tests {
		_, err := Analyze(es, nil, Options{Extra: tt.extra})
		if err == nil || err.Error() != tt.want {
			t.Errorf("Analyze(%v) error = %v, want %q", tt.extra, err, tt.want)
		}
	}
}

func TestRewrite(t *testing.T) {
	es := entries([]rec{
		{Method: "POST", URL: h + "/v3/nodepool", Body: `{"clusterId":"c-q7x2m"}`, Status: 201, Resp: nodePoolResp},
		{Method: "GET", URL: h + "/v3/nodePools/c-q7x2m%3Anp-8hv4t/nodes"},
	})
	m, err := Analyze(es, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	v := m.Lookup("NODE_POOL_ID")
	if v == nil {
		t.Fatalf("no NODE_POOL_ID in %v", summary(m))
	}
	got := m.Rewrite(1, WhereURLPath, "/v3/nodePools/c-q7x2m%3Anp-8hv4t/nodes")
	want := []Part{{Text: "/v3/nodePools/"}, {Text: "c-q7x2m%3Anp-8hv4t", Var: v, Encoded: EncodedURL}, {Text: "/nodes"}}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b *Var) bool { return a == b })); diff != "" {
		t.Errorf("Rewrite mismatch (-want +got):\n%s", diff)
	}
	// A field edited since the analysis keeps its text.
	if got := m.Rewrite(1, WhereURLPath, "/v3/other"); len(got) != 1 || got[0].Var != nil {
		t.Errorf("Rewrite of changed text = %v", got)
	}
	// A nil model and a field without uses give one literal part.
	if got := (*Model)(nil).Rewrite(1, WhereBody, "x"); len(got) != 1 || got[0].Text != "x" {
		t.Errorf("nil model Rewrite = %v", got)
	}
}

func TestSplitURL(t *testing.T) {
	tests := []struct{ in, origin, path, query, frag string }{
		{"https://h/v3/x?a=1#f", "https://h", "/v3/x", "a=1", "f"},
		{"https://h", "https://h", "", "", ""},
		{"https://h?x=1", "https://h", "", "x=1", ""},
		{"/v3/x?y", "", "/v3/x", "y", ""},
		{"http://h:8080/a/b://c", "http://h:8080", "/a/b://c", "", ""},
	}
	for _, tt := range tests {
		o, p, q, f := SplitURL(tt.in)
		if o != tt.origin || p != tt.path || q != tt.query || f != tt.frag {
			t.Errorf("SplitURL(%q) = %q %q %q %q", tt.in, o, p, q, f)
		}
	}
}

func TestNames(t *testing.T) {
	tests := []struct{ in, want string }{
		{"nodeTemplate", "NODE_TEMPLATE"},
		{"userID", "USER_ID"},
		{"X-Auth-Token", "X_AUTH_TOKEN"},
		{"HTTPServer", "HTTP_SERVER"},
		{"generateKubeConfigOutput", "GENERATE_KUBE_CONFIG_OUTPUT"},
		{"links_self", "LINKS_SELF"},
		{"__x__", "X"},
	}
	for _, tt := range tests {
		if got := upperSnake(tt.in); got != tt.want {
			t.Errorf("upperSnake(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	vars := []struct {
		v    Var
		want string
	}{
		{Var{typ: "nodeTemplate", rel: []string{"id"}, Source: Source{Kind: KindJSON}}, "NODE_TEMPLATE_ID"},
		{Var{typ: "nodePool", rel: []string{"clusterId"}, Source: Source{Kind: KindJSON}}, "CLUSTER_ID"},
		{Var{typ: "token", rel: []string{"token"}, Source: Source{Kind: KindJSON}}, "TOKEN"},
		{Var{typ: "cluster", rel: []string{"links", "self"}, Source: Source{Kind: KindJSON}}, "CLUSTER_LINKS_SELF"},
		{Var{rel: []string{"path"}, Source: Source{Kind: KindJSON}}, "PATH_VALUE"},
		{Var{rel: []string{"2fa"}, Source: Source{Kind: KindJSON}}, "V_2FA"},
		{Var{Source: Source{Kind: KindCookie, Path: "R_SESS"}}, "R_SESS_COOKIE"},
		{Var{Source: Source{Kind: KindHeader, Path: "Location", Part: PartLastSegment}}, "LOCATION_ID"},
	}
	for _, tt := range vars {
		if got := tt.v.baseName(); got != tt.want {
			t.Errorf("baseName(%+v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

// TestUseFieldOfNumber: inspect names the JSON member of a body use, a
// number's as well as a string's ("body .parentId", not just "body"); only
// the string is InJSONString.
func TestUseFieldOfNumber(t *testing.T) {
	es := entries([]rec{
		{Method: "POST", URL: h + "/api/items", Body: `{"name":"widget"}`, Status: 201, Resp: `{"id":987654,"uid":"it-8hv4t2q"}`},
		{Method: "POST", URL: h + "/api/links", Body: `{"parentId":987654,"ref":"it-8hv4t2q"}`, Status: 201},
	})
	m, err := Analyze(es, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range m.Vars {
		for _, u := range v.Uses {
			got = append(got, fmt.Sprintf("%s %s %s %v", v.Name, u.Where, u.Field, u.InJSONString))
		}
	}
	want := []string{"ITEM_ID body .parentId false", "ITEM_UID body .ref true"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("uses (-want +got):\n%s", diff)
	}
}
