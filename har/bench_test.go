package har

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// benchEntry is a Chrome-like entry of about 1.2 KB: pseudo-headers,
// cookies, a JSON body with shell metacharacters, `_` fields.
func benchEntry(i int) string {
	return fmt.Sprintf(`{"_initiator":{"type":"script"},"_priority":"High","_resourceType":"fetch","cache":{},"connection":"443","pageref":"page_1","request":{"method":"POST","url":"https://rancher.test/v3/cluster?_replace=true&n=%d","httpVersion":"http/2.0","headers":[{"name":":authority","value":"rancher.test"},{"name":":method","value":"POST"},{"name":":path","value":"/v3/cluster?_replace=true&n=%d"},{"name":":scheme","value":"https"},{"name":"accept","value":"application/json"},{"name":"content-type","value":"application/json"},{"name":"cookie","value":"R_PCS=light; CSRF=0123456789abcdef; R_SESS=token-abcde:xyz"},{"name":"x-api-csrf","value":"0123456789abcdef"},{"name":"user-agent","value":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"}],"queryString":[{"name":"_replace","value":"true"},{"name":"n","value":"%d"}],"cookies":[{"name":"CSRF","value":"0123456789abcdef"}],"headersSize":-1,"bodySize":120,"postData":{"mimeType":"application/json","text":"{\"type\":\"cluster\",\"name\":\"lab-%d\",\"description\":\"it's $HOME and `+"`id`"+`\"}"}},"response":{"status":201,"statusText":"Created","httpVersion":"http/2.0","headers":[{"name":"content-type","value":"application/json"},{"name":"x-api-schemas","value":"https://rancher.test/v3/schemas"}],"cookies":[],"content":{"size":180,"mimeType":"application/json","text":"{\"baseType\":\"cluster\",\"id\":\"c-%05d\",\"name\":\"lab-%d\",\"state\":\"provisioning\",\"type\":\"cluster\",\"uuid\":\"5f0c2b7e-3d41-4a8e-9b7a-2c6f1e0d9a44\"}"},"redirectURL":"","headersSize":-1,"bodySize":180,"_transferSize":400},"serverIPAddress":"127.0.0.1","startedDateTime":"2025-03-14T09:26:53.123Z","time":12.5,"timings":{"blocked":0.5,"dns":-1,"ssl":-1,"connect":-1,"send":0.1,"wait":11.2,"receive":0.7}}`, i, i, i, i, i, i)
}

// generator streams a HAR of n entries (or of at least size bytes when n is
// 0) without holding it in memory.
type generator struct {
	n, i    int
	size    int64
	written int64
	buf     bytes.Buffer
	done    bool
}

func (g *generator) Read(p []byte) (int, error) {
	for g.buf.Len() < len(p) && !g.done {
		switch {
		case g.i == 0 && g.written == 0 && g.buf.Len() == 0:
			g.buf.WriteString(`{"log":{"version":"1.2","creator":{"name":"bench","version":"1"},"entries":[` + "\n")
		case (g.n > 0 && g.i >= g.n) || (g.n == 0 && g.written+int64(g.buf.Len()) >= g.size):
			g.buf.WriteString("\n]}}\n")
			g.done = true
		default:
			if g.i > 0 {
				g.buf.WriteString(",\n")
			}
			g.buf.WriteString(benchEntry(g.i))
			g.i++
		}
	}
	n, _ := g.buf.Read(p)
	g.written += int64(n)
	if n == 0 && g.done {
		return 0, io.EOF
	}
	return n, nil
}

func BenchmarkRead10k(b *testing.B) {
	data, _ := io.ReadAll(&generator{n: 10000})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		r := NewReader(bytes.NewReader(data), "bench")
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 10000 {
			b.Fatalf("read %d entries", n)
		}
	}
	b.ReportMetric(float64(len(data))/1e6, "file-MB")
	// On a busy machine CPU time compares better than wall time; Next
	// decodes on two goroutines, so it can exceed ns/op.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkReadRaw10k(b *testing.B) {
	data, _ := io.ReadAll(&generator{n: 10000})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r := NewReader(bytes.NewReader(data), "bench")
		for {
			if _, err := r.NextRaw(); err != nil {
				break
			}
		}
	}
}

// BenchmarkRead1GiB streams a generated 1 GiB HAR through the reader and
// reports the peak heap: it must stay flat however large the file. Opt-in
// (APITAPE_BIG_BENCH=1) because it takes a while on two cores.
func BenchmarkRead1GiB(b *testing.B) {
	if os.Getenv("APITAPE_BIG_BENCH") == "" {
		b.Skip("set APITAPE_BIG_BENCH=1 to stream a 1 GiB HAR")
	}
	const size = 1 << 30
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		var peak atomic.Uint64
		stop := sampleHeap(&peak)
		r := NewReader(&generator{size: size}, "bench")
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		stop()
		b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
		b.ReportMetric(float64(n), "entries")
	}
}

// sampleHeap records the largest HeapInuse seen until stop is called.
func sampleHeap(peak *atomic.Uint64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var ms runtime.MemStats
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}

func TestGeneratorIsValid(t *testing.T) {
	h, err := ReadAll(&generator{n: 3}, "gen")
	if err != nil || len(h.Log.Entries) != 3 || !strings.Contains(*h.Log.Entries[2].Request.PostData.Text, "lab-2") {
		t.Fatalf("generator: %v", err)
	}
}

// BenchmarkMarshalEntry writes one Chrome-like entry, as a capture does for
// every call it records.
func BenchmarkMarshalEntry(b *testing.B) {
	e, err := ParseEntry([]byte(benchEntry(7)))
	if err != nil {
		b.Fatal(err)
	}
	out, _ := e.MarshalJSON()
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.MarshalJSON(); err != nil {
			b.Fatal(err)
		}
	}
}
