package correlate

import (
	"net/http"
	"strings"
	"testing"
)

// TestBindsOnlyWhatAServerProduced holds issue 13's rules: a value the
// client sent first is typed and stays literal, an echo produces nothing,
// names are never bound, and a create's answer beats a list's.
func TestBindsOnlyWhatAServerProduced(t *testing.T) {
	cases := []struct {
		name   string
		calls  []rec
		want   []string // summary lines
		reason string
	}{
		{
			name: "one-token header",
			calls: []rec{
				{Method: "GET", URL: "https://api.test/v1/things", Header: []string{"X-Cluster: c-q7x2m9"}, Resp: `{"data":[]}`},
				{Method: "GET", URL: "https://api.test/v1/other", Resp: `{"id":"c-q7x2m9"}`},
				{Method: "GET", URL: "https://api.test/v1/clusters/c-q7x2m9"},
			},
			reason: "a header value that is exactly one token was sent first (the aff9c0a regression)",
		},
		{
			name: "list before create, equal typed values",
			calls: []rec{
				{Method: "GET", URL: "https://api.test/v3/clusters", Resp: `{"data":[{"id":"c-old12","kubernetesVersion":"v1.31.4","description":"lab cluster 2"}]}`},
				{Method: "POST", URL: "https://api.test/v3/cluster", Body: `{"name":"rawone","kubernetesVersion":"v1.31.4","description":"lab cluster 2"}`, Status: 201, Resp: `{"id":"c-new34","kubernetesVersion":"v1.31.4"}`},
				{Method: "GET", URL: "https://api.test/v3/clusters/c-new34"},
			},
			want:   []string{"CLUSTER_ID=c-new34 @1 .id: 2 url.path[13,20)"},
			reason: "a version a list shows is data the user chose; the create's id is a reference",
		},
		{
			name: "echo server",
			calls: []rec{
				{Method: "POST", URL: "https://echo.test/anything?run=77", Header: []string{"X-Part-Name: field-a1b2c3", "User-Agent: curl/8.5.0"},
					Body: `{"v":"x"}`, Resp: `{"headers":[["X-Part-Name","field-a1b2c3"],["User-Agent","curl/8.5.0"],["X-Trace","trace-9f8e7d6c"]],"url":"https://echo.test/anything?run=77"}`},
				{Method: "POST", URL: "https://echo.test/anything", Body: `{"h":"X-Part-Name","t":"trace-9f8e7d6c","f":"field-a1b2c3"}`},
			},
			reason: "an answer that repeats its request's values produced nothing, names included",
		},
		{
			name: "header name in a later body",
			calls: []rec{
				{Method: "GET", URL: "https://echo.test/h", Header: []string{"X-Req-7f3k2: 1"}, Resp: `{"names":["X-Req-7f3k2"]}`},
				{Method: "POST", URL: "https://echo.test/p", Body: `{"n":"X-Req-7f3k2"}`},
			},
			reason: "a header name the client sent is its own",
		},
		{
			name: "create beats a later list",
			calls: []rec{
				{Method: "POST", URL: "https://api.test/v3/cluster", Body: `{"name":"a"}`, Status: 201, Resp: `{"id":"c-new34"}`},
				{Method: "GET", URL: "https://api.test/v3/clusters", Resp: `{"data":[{"id":"c-new34"}]}`},
				{Method: "GET", URL: "https://api.test/v3/clusters/c-new34"},
			},
			want: []string{"CLUSTER_ID=c-new34 @0 .id: 2 url.path[13,20)"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Analyze(entries(tc.calls), nil, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := summary(m)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("%s\ngot  %q\nwant %q", tc.reason, got, tc.want)
			}
		})
	}
}

func TestNoVar(t *testing.T) {
	calls := []rec{
		{Method: "POST", URL: "https://api.test/v3/cluster", Body: `{"name":"a"}`, Status: 201, Resp: `{"id":"c-new34","uuid":"u-1234-5678"}`},
		{Method: "GET", URL: "https://api.test/v3/clusters/c-new34?u=u-1234-5678"},
	}
	m, err := Analyze(entries(calls), nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Vars) != 2 {
		t.Fatalf("want 2 variables, got %q", summary(m))
	}
	keep := m.Vars[1].Name
	m, err = Analyze(entries(calls), nil, Options{NoVar: []string{m.Vars[0].Name}})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Vars) != 1 || m.Vars[0].Name != keep {
		t.Fatalf("--no-var: got %q, want only %s under its own name", summary(m), keep)
	}
	if parts := m.Rewrite(1, WhereURLPath, "/v3/clusters/c-new34"); len(parts) != 1 || parts[0].Var != nil {
		t.Errorf("the dropped variable is still rewritten: %+v", parts)
	}
	if _, err := Analyze(entries(calls), nil, Options{NoVar: []string{"NOPE"}}); err == nil || !strings.Contains(err.Error(), "NOPE") {
		t.Errorf("an unknown --no-var name: err %v", err)
	}
}

// TestCookiePair: a cookie whose name holds the server's port is bound
// as its name=value pair and read back from a server on another port.
func TestCookiePair(t *testing.T) {
	calls := []rec{
		{Method: "GET", URL: "http://127.0.0.1:8123/login?token=t", RespHeader: []string{"Set-Cookie: username-127-0-0-1-8123=2|1:0|abc123def; Path=/"}},
		{Method: "GET", URL: "http://127.0.0.1:8123/api/items", Header: []string{"Cookie: username-127-0-0-1-8123=2|1:0|abc123def"}},
	}
	m, err := Analyze(entries(calls), nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Vars) != 1 || m.Vars[0].Source.Part != PartPair || !m.Vars[0].Secret {
		t.Fatalf("got %q", summary(m))
	}
	h := http.Header{}
	h.Add("Set-Cookie", "other=1")
	h.Add("Set-Cookie", "username-127-0-0-1-9555=2|1:0|zzz; Path=/")
	if v, ok := m.Vars[0].Source.Lookup(h, nil); !ok || v != "username-127-0-0-1-9555=2|1:0|zzz" {
		t.Errorf("lookup on another port: %q %v", v, ok)
	}
}
