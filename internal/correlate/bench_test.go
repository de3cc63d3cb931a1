package correlate

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apitape/apitape/har"
)

const idAlphabet = "bcdfghjklmnpqrstvwxz2456789"

func randID(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = idAlphabet[r.IntN(len(idAlphabet))]
	}
	return string(b)
}

// genSession builds a long Rancher-shaped session: one login, then cycles
// of ten calls that create a cluster and a node pool, use both ids in
// paths, bodies and queries (one of them percent-encoded), and list
// clusters with growing collections full of links, timestamps and ids that
// are produced but never used. It returns the entries and how many
// cycles it holds.
func genSession(n int) ([]*har.Entry, int) {
	r := rand.New(rand.NewPCG(1, 2))
	token := "token-" + randID(r, 5) + ":" + randID(r, 54)
	auth := "Authorization: Bearer " + token
	common := []string{"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36", "Accept: application/json", auth}
	calls := []rec{{Method: "POST", URL: h + "/v3-public/localProviders/local?action=login", Body: `{"username":"admin","password":"x","responseType":"token"}`,
		Status: 201, Resp: `{"type":"token","id":"` + token[:11] + `","token":"` + token + `"}`}}
	var listed []string
	cycles := 0
	for len(calls)+10 <= n {
		cycles++
		cl := "c-" + randID(r, 5)
		np := cl + ":np-" + randID(r, 5)
		uuid := fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", r.Uint32(), r.IntN(1<<16), r.IntN(1<<12), r.IntN(1<<12), r.Uint64()&(1<<48-1))
		res := func(typ, id string) string {
			l := h + "/v3/" + typ + "s/" + id
			return `{"baseType":"` + typ + `","created":"2025-03-14T09:26:53Z","createdTS":1741944413000,"creatorId":"user-b8n4k","id":"` + id +
				`","links":{"remove":"` + l + `","self":"` + l + `","update":"` + l + `"},"name":"lab-` + id[2:7] + `","state":"active","type":"` + typ + `","uuid":"` + uuid + `"}`
		}
		clRes := res("cluster", cl)
		listed = append(listed, clRes)
		if len(listed) > 20 {
			listed = listed[1:]
		}
		list := `{"type":"collection","resourceType":"cluster","pagination":{"limit":1000,"total":` + fmt.Sprint(len(listed)) + `},"data":[` + strings.Join(listed, ",") + `]}`
		calls = append(calls,
			rec{Method: "POST", URL: h + "/v3/cluster?_replace=true", Header: common, Body: `{"type":"cluster","name":"lab-` + cl[2:] + `"}`, Status: 201, Resp: clRes},
			rec{Method: "GET", URL: h + "/v3/clusters/" + cl, Header: common, Resp: clRes},
			rec{Method: "PUT", URL: h + "/v3/clusters/" + cl + "?_replace=true", Header: common, Body: `{"id":"` + cl + `","name":"lab","description":"x"}`, Resp: clRes},
			rec{Method: "POST", URL: h + "/v3/nodepool", Header: common, Body: `{"clusterId":"` + cl + `","quantity":3,"hostnamePrefix":"p-"}`, Status: 201, Resp: res("nodePool", np)},
			rec{Method: "GET", URL: h + "/v3/nodePools/" + EscapeURI(np), Header: common, Resp: res("nodePool", np)},
			rec{Method: "GET", URL: h + "/v3/nodes?clusterId=" + cl + "&limit=-1", Header: common, Resp: `{"type":"collection","data":[]}`},
			rec{Method: "GET", URL: h + "/v3/clusters?limit=-1", Header: common, Resp: list},
			rec{Method: "POST", URL: h + "/v3/clusters/" + cl + "?action=generateKubeconfig", Header: common, Resp: `{"type":"generateKubeConfigOutput","config":"server: ` + h + `/k8s/clusters/` + cl + `"}`},
			rec{Method: "GET", URL: h + "/v3/settings/server-url", Header: common, Resp: `{"id":"server-url","type":"setting","value":"` + h + `"}`},
			rec{Method: "DELETE", URL: h + "/v3/nodePools/" + np, Header: common, Resp: res("nodePool", np)},
		)
	}
	return entries(calls), cycles
}

// TestGeneratedSession checks the analysis at scale: every cycle's cluster
// and node pool bind, and nothing else does.
func TestGeneratedSession(t *testing.T) {
	es, cycles := genSession(1001)
	m, err := Analyze(es, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, es, nil, m)
	want := 1 + 2*cycles
	if len(m.Vars) != want {
		t.Errorf("got %d variables, want %d (token + cluster and node pool per cycle)", len(m.Vars), want)
	}
	for _, v := range m.Vars[1:] {
		if !strings.HasPrefix(v.Name, "CLUSTER_ID") && !strings.HasPrefix(v.Name, "NODE_POOL_ID") {
			t.Errorf("unexpected variable %s from %s", v.Name, v.Source)
		}
		// cluster: GET, PUT path+body, node pool body, nodes query, kubeconfig; node pool: GET (encoded), DELETE.
		if n := len(v.Uses); n != 6 && n != 2 {
			t.Errorf("%s has %d uses", v.Name, n)
		}
	}
}

// BenchmarkAnalyze runs the analysis on generated sessions of 1,000 and
// 10,000 entries; equal cpu-ns/entry at both sizes shows it is linear.
func BenchmarkAnalyze(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) { benchmarkAnalyze(b, n) })
	}
}

func benchmarkAnalyze(b *testing.B, n int) {
	es, _ := genSession(n)
	var size int64
	for _, e := range es {
		size += int64(len(e.Request.URL) + len(e.Request.Body()))
		for _, hd := range e.Request.Headers {
			size += int64(len(hd.Name) + len(hd.Value))
		}
		if e.Response.Content.Text != nil {
			size += int64(len(*e.Response.Content.Text))
		}
	}
	b.SetBytes(size)
	b.ReportAllocs()
	var vars, uses int
	// The machine is shared: CPU time (all threads, GC included) says more
	// than wall time when other jobs compete for the cores.
	cpu0 := cpuTime()
	for b.Loop() {
		m, err := Analyze(es, nil, Options{})
		if err != nil {
			b.Fatal(err)
		}
		vars, uses = len(m.Vars), 0
		for _, v := range m.Vars {
			uses += len(v.Uses)
		}
	}
	cpu := float64(cpuTime()-cpu0) / float64(b.N)
	b.ReportMetric(cpu, "cpu-ns/op")
	b.ReportMetric(cpu/float64(len(es)), "cpu-ns/entry")
	b.ReportMetric(float64(vars), "vars")
	b.ReportMetric(float64(uses), "uses")
}

func BenchmarkRewrite(b *testing.B) {
	es, _ := genSession(1000)
	m, err := Analyze(es, nil, Options{})
	if err != nil {
		b.Fatal(err)
	}
	type fld struct {
		entry       int
		where, text string
	}
	var fields []fld
	for i, e := range es {
		_, fs := requestFields(e, nil, nil)
		for _, f := range fs {
			fields = append(fields, fld{i, f.where, f.text})
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, f := range fields {
			m.Rewrite(f.entry, f.where, f.text)
		}
	}
	b.ReportMetric(float64(len(fields)), "fields/op")
}
