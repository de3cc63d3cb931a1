package redact

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// writeBigHAR writes a HAR of about size bytes to a file, streaming: a
// Rancher session whose responses are large JSON collections, with a
// session cookie, a CSRF header and a token in every few bodies.
func writeBigHAR(tb testing.TB, size int) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), fmt.Sprintf("big-%d.har", size))
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	c := newCanaries("bench")
	key, csrf := c.rancherKey(), c.hex32()
	w.WriteString(`{"log":{"version":"1.2","creator":{"name":"bench","version":"1"},"entries":[` + "\n")
	written := 0
	for i := 0; written < size; i++ {
		body := bigJSON(1<<20, fmt.Sprintf("token-fkx2q:%s", c.fill(rancherAlphabet, 54)))
		e := ent{
			url:  fmt.Sprintf("https://rancher.example/v3/clusters?limit=1000&page=%d", i),
			reqH: [][2]string{{"Cookie", "R_PCS=light; CSRF=" + csrf + "; R_SESS=token-fkx2q:" + key}, {"X-Api-Csrf", csrf}, {"Accept", "application/json"}},
			text: body,
		}.json()
		if i > 0 {
			w.WriteString(",\n")
		}
		w.WriteString(e)
		written += len(e)
	}
	w.WriteString("\n]}}\n")
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	f.Close()
	return path
}

// peakHeap samples the live heap while fn runs (runtime/metrics: no
// stop-the-world, unlike ReadMemStats).
func peakHeap(fn func()) uint64 {
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	fn()
	close(stop)
	wg.Wait()
	return peak.Load()
}

// BenchmarkStream measures Stream (two passes, and the check of every
// written entry) on generated HARs. The 50 and 200 MB sizes run only with
// APITAPE_BIG_BENCH=1; peak-heap-MB must not grow with the file.
func BenchmarkStream(b *testing.B) {
	sizes := []int{8 << 20}
	if os.Getenv("APITAPE_BIG_BENCH") == "1" {
		sizes = append(sizes, 50<<20, 200<<20)
	}
	for _, size := range sizes {
		b.Run(fmt.Sprintf("%dMB", size>>20), func(b *testing.B) {
			path := writeBigHAR(b, size)
			fi, _ := os.Stat(path)
			b.SetBytes(fi.Size())
			b.ReportAllocs()
			var peak uint64
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				r, _ := New(Options{Key: testKey})
				runtime.GC()
				p := peakHeap(func() {
					if _, err := r.Stream(f, io.Discard, StreamOptions{Name: "big.har"}); err != nil {
						b.Fatal(err)
					}
				})
				peak = max(peak, p)
				f.Close()
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			// The machine is shared: MB per CPU second is steadier than
			// MB/s of wall time.
			b.ReportMetric(float64(fi.Size())*float64(b.N)/(1<<20)/(cpuTime()-cpu0).Seconds(), "MB/cpu-s")
		})
	}
}

// cpuTime is the process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkEntry measures one entry with a 1 MiB JSON body, as capture
// calls it.
func BenchmarkEntry(b *testing.B) {
	c := newCanaries("bench-entry")
	raw := []byte(ent{reqH: [][2]string{{"Authorization", "Bearer token-fkx2q:" + c.rancherKey()}}, text: bigJSON(1<<20, "x")}.json())
	r, _ := New(Options{Key: testKey})
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, _, err := r.Entry(i, raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanText measures scanning a script.
func BenchmarkScanText(b *testing.B) {
	in, _, _ := catalogueHAR()
	script := strings.Repeat(convertHAR(&testing.T{}, in, "bash", true, nil), 20)
	b.SetBytes(int64(len(script)))
	for i := 0; i < b.N; i++ {
		if _, err := ScanText(strings.NewReader(script), "s.sh"); err != nil {
			b.Fatal(err)
		}
	}
}
