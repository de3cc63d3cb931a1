package replay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apitape/apitape/har"
)

// clusterJSON is a Rancher cluster resource of about 1.5 KB.
func clusterJSON(origin, id, uuid, created string) string {
	self := origin + "/v3/clusters/" + id
	return `{"actionLinks":{"exportYaml":"` + self + `?action=exportYaml","generateKubeconfig":"` + self + `?action=generateKubeconfig"},` +
		`"annotations":{"field.cattle.io/creatorId":"user-b8n4k"},"baseType":"cluster","conditions":[{"lastUpdateTime":"` + created + `","status":"True","type":"Pending"},` +
		`{"lastUpdateTime":"` + created + `","status":"True","type":"Provisioned"}],"created":"` + created + `","createdTS":1741944413000,"creatorId":"user-b8n4k",` +
		`"description":"","dockerRootDir":"/var/lib/docker","driver":"rancherKubernetesEngine","enableNetworkPolicy":false,"id":"` + id + `","labels":{"team":"qa"},` +
		`"links":{"nodePools":"` + self + `/nodepools","nodes":"` + self + `/nodes","remove":"` + self + `","self":"` + self + `","update":"` + self + `"},` +
		`"name":"lab-` + id + `","nodeCount":3,"rancherKubernetesEngineConfig":{"addonJobTimeout":45,"ignoreDockerVersion":true,"kubernetesVersion":"v1.30.8-rancher1-1",` +
		`"network":{"mtu":0,"plugin":"canal","type":"/v3/schemas/networkConfig"},"services":{"etcd":{"retention":"72h","type":"/v3/schemas/etcdService"}},` +
		`"type":"/v3/schemas/rancherKubernetesEngineConfig"},"state":"active","transitioning":"no","transitioningMessage":"","type":"cluster",` +
		`"uuid":"` + uuid + `","windowsPreferedCluster":false}`
}

func randomUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// BenchmarkReplay10kGETs replays 10,000 recorded GETs of cluster resources
// against a loopback server with concurrency 64: every answer differs from
// its recording in origin, uuid and timestamps, so every call is diffed in
// full. Metrics: calls/s, µs spent comparing per call (summed over the
// 64 workers, so it can exceed wall time per call), and µs per call spent
// on the correlation analysis before the first request (package
// correlate reads every recorded answer).
func BenchmarkReplay10kGETs(b *testing.B) {
	const n = 10000
	const ids = 100
	created := time.Now().UTC().Format(time.RFC3339)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := strings.TrimPrefix(r.URL.Path, "/v3/clusters/")
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(clusterJSON("http://"+r.Host, id, randomUUID(), created)))
	}))
	defer srv.Close()
	entries := make([]*har.Entry, n)
	var bytesPerCall int
	for i := range entries {
		id := fmt.Sprintf("c-%05d", i%ids)
		e := entry("GET", "https://rancher.test/v3/clusters/"+id, [][2]string{{"Accept", "application/json"}}, "")
		body := clusterJSON("https://rancher.test", id, randomUUID(), "2025-03-14T09:26:53Z")
		e.Response.Content.Text = &body
		bytesPerCall = len(body)
		entries[i] = e
	}
	r, err := New(srv.URL, WithConcurrency(64))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(n * bytesPerCall))
	b.ReportAllocs()
	b.ResetTimer()
	var compareNS, analyzeNS int64
	cpu0 := cpuTime()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		res, err := r.Run(context.Background(), entries)
		if err != nil {
			b.Fatal(err)
		}
		if res.Regressed() || res.Summary.Passed != n {
			b.Fatalf("want %d passing calls, got %+v", n, res.Summary)
		}
		compareNS += res.compareNS
		analyzeNS += res.analyzeNS
	}
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "calls/s")
	b.ReportMetric(float64(compareNS)/float64(n*b.N)/1000, "diff-µs/call")
	b.ReportMetric(float64(analyzeNS)/float64(n*b.N)/1000, "analysis-µs/call")
	// CPU time of the whole process (replay, HTTP client and the loopback
	// server) per call: on a shared machine it says what 2 idle cores
	// would do (2e6 / cpu-µs/call calls per second).
	b.ReportMetric(float64(cpu)/float64(n*b.N)/1000, "cpu-µs/call")
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
