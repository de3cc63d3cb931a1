package proxy

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apitape/apitape/capture"
	"github.com/apitape/apitape/redact"
)

// BenchmarkProxy sends small JSON requests over loopback, through the
// capture proxy (HAR written to disk, with and without package redact)
// and, for the baseline, straight to the server, with 1 and 16
// connections. It reports requests per second and the latency the proxy
// adds at p50 and p99.
func BenchmarkProxy(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c-m-4x7k2","type":"cluster","name":"demo","state":"active","nodes":3,"version":"v1.28.4","labels":{"env":"dev"},"created":"2024-05-01T10:00:00Z"}`)
	}))
	defer backend.Close()
	for _, redacted := range []bool{true, false} {
		for _, conns := range []int{1, 16} {
			b.Run(fmt.Sprintf("redact=%v/conns=%d", redacted, conns), func(b *testing.B) {
				benchProxy(b, backend.URL, conns, redacted)
			})
		}
	}
}

func benchProxy(b *testing.B, backend string, conns int, redacted bool) {
	var opts capture.Options
	if redacted {
		r, err := redact.New(redact.Options{})
		if err != nil {
			b.Fatal(err)
		}
		opts.Redact = func(i int, raw []byte) ([]byte, error) {
			out, _, err := r.Entry(i, raw)
			return out, err
		}
	}
	h := newHarness(b, nil, opts)
	direct := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns}}
	proxied := h.client()
	// Baseline first, with as many requests, outside the timer.
	warm(direct, backend, conns)
	warm(proxied, backend, conns)
	cpu0 := cpuTime()
	base := load(b, direct, backend, conns, min(b.N, 20000))
	directCPU := (cpuTime() - cpu0) / time.Duration(len(base))
	b.ResetTimer()
	start, cpu1 := time.Now(), cpuTime()
	lat := load(b, proxied, backend, conns, b.N)
	elapsed, proxiedCPU := time.Since(start), (cpuTime()-cpu1)/time.Duration(b.N)
	b.StopTimer()
	// CPU time is what another job on the machine cannot take away: the
	// proxy's share per request, and what 2 cores could carry of it.
	b.ReportMetric(float64(proxiedCPU-directCPU)/1e3, "proxy-cpu-µs/req")
	b.ReportMetric(2e9/float64(proxiedCPU), "cap-2core-req/s")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(ms(pct(lat, 50)), "p50-ms")
	b.ReportMetric(ms(pct(lat, 99)), "p99-ms")
	b.ReportMetric(ms(pct(lat, 50)-pct(base, 50)), "added-p50-ms")
	b.ReportMetric(ms(pct(lat, 99)-pct(base, 99)), "added-p99-ms")
	b.ReportMetric(float64(len(base))/sum(base).Seconds()*float64(conns), "direct-req/s")
	if got := h.sink.Recorded(); got < b.N {
		b.Fatalf("recorded %d of %d", got, b.N)
	}
}

func warm(c *http.Client, url string, conns int) {
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if res, err := c.Get(url); err == nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
}

// load sends n requests over conns goroutines and returns each latency.
func load(b *testing.B, c *http.Client, url string, conns, n int) []time.Duration {
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += conns {
				t0 := time.Now()
				res, err := c.Get(url)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	return lat
}

func pct(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, len(s)*p/100)]
}

func sum(d []time.Duration) time.Duration {
	var t time.Duration
	for _, x := range d {
		t += x
	}
	return t
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// cpuTime is the user and system CPU time this process has used (client,
// servers and proxy alike, since the benchmark runs them all).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkHTTP2Download times 8 MiB answers from a net/http h2 server
// through the proxy's h2 relay to a Go client, one at a time on one
// connection, bodies not kept (MaxBody < 0): the relay's own throughput,
// flow control included.
func BenchmarkHTTP2Download(b *testing.B) {
	const size = 8 << 20
	chunk := make([]byte, 64<<10)
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for sent := 0; sent < size; sent += len(chunk) {
			w.Write(chunk)
		}
	}))
	up.EnableHTTP2 = true
	up.StartTLS()
	defer up.Close()
	h := newHarness(b, func(o *Options) { o.MaxBody = -1 }, capture.Options{})
	tr := h.h2Transport()
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	b.SetBytes(size)
	for b.Loop() {
		res, err := c.Get(up.URL + "/download")
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err != nil || n != size || res.Proto != "HTTP/2.0" {
			b.Fatalf("%s: %d bytes of %d (%v)", res.Proto, n, size, err)
		}
	}
}
