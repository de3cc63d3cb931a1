package correlate

import (
	"strings"
	"testing"
)

func TestParseManual(t *testing.T) {
	tests := []struct {
		in     string
		want   string // canonical form; "" means an error containing errText
		errTxt string
	}{
		{in: "CLUSTER_ID=.data[0].id@3", want: "CLUSTER_ID=.data[0].id@3"},
		{in: "CLUSTER_ID=$.data[0].id@3", want: "CLUSTER_ID=.data[0].id@3"},
		{in: `K=.["a=b@c"]@12`, want: `K=.["a=b@c"]@12`},
		{in: "TOKEN=header:X-Auth-Token@0", want: "TOKEN=header:X-Auth-Token@0"},
		{in: "SESSION=cookie:R_SESS@1", want: "SESSION=cookie:R_SESS@1"},
		{in: "_x=.@0", want: "_x=.@0"},
		{in: "CLUSTER_ID", errTxt: "want NAME=SOURCE@CALL"},
		{in: "=.id@3", errTxt: "missing name"},
		{in: "1X=.id@3", errTxt: "does not start with a digit"},
		{in: "A-B=.id@3", errTxt: "letters, digits and _"},
		{in: "PATH=.id@3", errTxt: "the shell or generated scripts use this name"},
		{in: "APITAPE_SECRET_X=.id@3", errTxt: "apitape's own"},
		{in: "X=.id", errTxt: "missing @CALL"},
		{in: "X=.id@", errTxt: `call "" is not an entry index`},
		{in: "X=.id@-1", errTxt: `call "-1" is not an entry index`},
		{in: "X=.id@1e3", errTxt: "is not an entry index"},
		{in: "X=.id@9999999999", errTxt: "is not an entry index"},
		{in: "X=id@3", errTxt: "a path starts with ."},
		{in: "X=header:@3", errTxt: `invalid header name ""`},
		{in: "X=cookie:a b@3", errTxt: "invalid cookie name"},
	}
	for _, tt := range tests {
		m, err := ParseManual(tt.in)
		if tt.want != "" {
			if err != nil {
				t.Errorf("ParseManual(%q): %v", tt.in, err)
			} else if m.String() != tt.want {
				t.Errorf("ParseManual(%q) = %q, want %q", tt.in, m, tt.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.errTxt) {
			t.Errorf("ParseManual(%q) error = %v, want one containing %q", tt.in, err, tt.errTxt)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseManual(%q) error is not one line: %q", tt.in, err)
		}
	}
}

func FuzzParseManual(f *testing.F) {
	for _, s := range []string{"CLUSTER_ID=.data[0].id@3", "X=$.a@0", `K=.["a=b@c"]@12`, "T=header:X-Auth-Token@0",
		"S=cookie:R_SESS@1", "X=@@", "=@", "X=.[0]@00", `X=.["\u0000"]@1`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseManual(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error for %q: %q", s, err)
			}
			return
		}
		if checkName(m.Name) != nil || m.Entry < 0 {
			t.Fatalf("ParseManual(%q) accepted %+v", s, m)
		}
		again, err := ParseManual(m.String())
		if err != nil {
			t.Fatalf("canonical %q of %q does not parse: %v", m.String(), s, err)
		}
		if again != m {
			t.Fatalf("round trip changed %+v into %+v", m, again)
		}
	})
}

// FuzzRewrite scans arbitrary request text against a model that knows a
// token, a cluster and a node pool: Rewrite must give the text back part
// by part, and every variable part must hold its value.
func FuzzRewrite(f *testing.F) {
	for _, s := range []string{"/v3/nodePools/c-q7x2m:np-8hv4t", "/v3/nodePools/c-q7x2m%3anp-8hv4t/x", "Bearer " + loginToken,
		"c-q7x2m%3", "%c-q7x2m%", "c-q7x2mc-q7x2m", "c-q7x2m c-q7x2m:np-8hv4t%3Ac-q7x2m", ""} {
		f.Add(s)
	}
	base := []rec{
		{Method: "POST", URL: h + "/v3-public/localProviders/local?action=login", Body: `{"u":"admin"}`, Status: 201, Resp: `{"type":"token","token":"` + loginToken + `"}`},
		{Method: "POST", URL: h + "/v3/cluster", Body: `{"name":"lab"}`, Status: 201, Resp: clusterResp},
		{Method: "POST", URL: h + "/v3/nodepool", Body: `{"clusterId":"c-q7x2m"}`, Status: 201, Resp: nodePoolResp},
	}
	f.Fuzz(func(t *testing.T, text string) {
		calls := append(append([]rec(nil), base...), rec{Method: "PUT", URL: h + "/x", Header: []string{"X-Test: " + text}, Body: text})
		es := entries(calls)
		m, err := Analyze(es, nil, Options{})
		if err != nil {
			t.Fatal(err)
		}
		checkInvariants(t, es, nil, m)
	})
}
