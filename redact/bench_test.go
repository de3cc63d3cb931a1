package redact

import (
	"bufio"
	"bytes"
	"crypto/sha256"
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

	"github.com/apitape/apitape/har"
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

// sessionEntry is entry i of the benchmark session: the convert
// benchmark's Chrome-like calls (GET with a query, JSON, form and
// multipart POSTs, PUT text), except that every call carries a session
// cookie and an Authorization token of its own, so the sweep learns two
// secrets an entry and the file reveals thousands.
func sessionEntry(i int) string {
	tok := func(kind string) string {
		sum := sha256.Sum256([]byte(fmt.Sprintf("bench-session/%s/%d", kind, i)))
		out := make([]byte, 54)
		for j := range out {
			out[j] = rancherAlphabet[int(sum[j%32]^byte(j*7))%len(rancherAlphabet)]
		}
		return string(out)
	}
	sess := "token-" + fmt.Sprintf("%05x", i%0xfffff) + ":" + tok("sess")
	auth := "Bearer token-" + fmt.Sprintf("%05x", (i*7)%0xfffff) + ":" + tok("auth")
	e := ent{
		url:  fmt.Sprintf("https://rancher.example/v3/clusters?limit=50&marker=c-%05d&sort=name", i),
		reqH: [][2]string{{"accept", "application/json"}, {"authorization", auth}, {"cookie", "R_PCS=light; R_SESS=" + sess}, {"user-agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0.0.0"}},
		reqC: [][2]string{{"R_PCS", "light"}, {"R_SESS", sess}},
		text: fmt.Sprintf(`{"type":"collection","data":[{"id":"c-%05d","name":"lab-%d","state":"active","description":"it's $HOME and a note"}]}`, i, i),
	}
	switch i % 5 {
	case 1:
		e.method, e.url, e.postMime = "POST", "https://rancher.example/v3/cluster", "application/json"
		e.postText = str(fmt.Sprintf(`{"type":"cluster","name":"c-%05d","labels":{"env":"dev","team":"a"},"rke2Config":{"kubernetesVersion":"v1.28.9+rke2r1","nodes":3}}`, i))
	case 2:
		e.method, e.url, e.postMime = "POST", "https://rancher.example/v3/notes?action=add", "application/x-www-form-urlencoded"
		e.postText = str(fmt.Sprintf("title=note+%d&body=it%%27s+%%24HOME&tags=a%%2Cb", i))
	case 3:
		e.method, e.url = "PUT", fmt.Sprintf("https://rancher.example/v3/notes/%d", i)
		e.postMime = "text/plain"
		e.postText = str(fmt.Sprintf("it's $HOME and `id` and $(id) in note %d", i))
	}
	return e.json()
}

// sessionHAR is a HAR of n session entries.
func sessionHAR(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"log":{"version":"1.2","creator":{"name":"WebInspector","version":"537.36"},"pages":[],"entries":[` + "\n")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString(sessionEntry(i))
	}
	b.WriteString("\n]}}\n")
	return b.Bytes()
}

// TestWriteSessionHAR writes the benchmark session for whole-process
// measurements (/usr/bin/time -v apitape redact FILE): with
// APITAPE_SESSION_HAR=PATH and APITAPE_SESSION_ENTRIES=N (default 10000);
// APITAPE_SESSION_ECHO=1 writes echoSession instead, whose entries echo
// one another's secrets.
func TestWriteSessionHAR(t *testing.T) {
	path := os.Getenv("APITAPE_SESSION_HAR")
	if path == "" {
		t.Skip("set APITAPE_SESSION_HAR=PATH to write the benchmark session")
	}
	n := 10000
	if s := os.Getenv("APITAPE_SESSION_ENTRIES"); s != "" {
		fmt.Sscan(s, &n)
	}
	data := sessionHAR(n)
	if os.Getenv("APITAPE_SESSION_ECHO") == "1" {
		data = []byte(harOf(echoSession(n)...))
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkStreamSession measures Stream on the benchmark session, whose
// every entry reveals two secrets: the sweep ends up with thousands of
// learned values, and the time per entry must not grow with them.
func BenchmarkStreamSession(b *testing.B) {
	for _, n := range []int{2500, 10000, 20000} {
		b.Run(fmt.Sprintf("%d", n), func(b *testing.B) {
			data := sessionHAR(n)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				r, _ := New(Options{Key: testKey})
				sum, err := r.Stream(bytes.NewReader(data), io.Discard, StreamOptions{Name: "session.har"})
				if err != nil {
					b.Fatal(err)
				}
				if sum.Entries != n || len(sum.Residual) > 0 {
					b.Fatalf("%d entries, %d residual", sum.Entries, len(sum.Residual))
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkBigBody redacts one entry whose response is a JSON body of
// 100 MB (APITAPE_BIG_BODY_MB to change it; a secret in the middle)
// through Stream and reports the peak live heap as a multiple of the body
// (peak-heap-x; the target is under 3). Opt-in: APITAPE_BIG_BENCH=1.
func BenchmarkBigBody(b *testing.B) {
	if os.Getenv("APITAPE_BIG_BENCH") != "1" {
		b.Skip("set APITAPE_BIG_BENCH=1")
	}
	size := 100 << 20
	if s := os.Getenv("APITAPE_BIG_BODY_MB"); s != "" {
		fmt.Sscan(s, &size)
		size <<= 20
	}
	c := newCanaries("big-body")
	path := filepath.Join(b.TempDir(), "big.har")
	key := c.rancherKey()
	doc := harOf(ent{
		reqH: [][2]string{{"Authorization", "Bearer token-fkx2q:" + key}},
		text: bigJSON(size, "token-fkx2q:"+key),
	}.json())
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(doc)))
	doc = ""
	var peak uint64
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		r, _ := New(Options{Key: testKey})
		// Twice: the first leaves what the setup's pools hold (its JSON
		// encoder's buffer, as large as the file) for the second.
		runtime.GC()
		runtime.GC()
		var sum Summary
		peak = max(peak, peakHeap(func() {
			sum, err = r.Stream(f, io.Discard, StreamOptions{Name: "big.har"})
		}))
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		if sum.Redactions < 2 || len(sum.Residual) > 0 {
			b.Fatalf("%d redactions, %d residual", sum.Redactions, len(sum.Residual))
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(peak)/float64(size), "peak-heap-x")
}

// BenchmarkEntrySession redacts the benchmark session's entries one by
// one with Entry, as convert's and capture's redaction stage does: the
// cost per entry of a stage that learns two secrets an entry.
func BenchmarkEntrySession(b *testing.B) {
	const n = 10000
	entries := make([][]byte, n)
	size := 0
	for i := range entries {
		entries[i] = []byte(sessionEntry(i))
		size += len(entries[i])
	}
	b.SetBytes(int64(size / n))
	b.ReportAllocs()
	r, _ := New(Options{Key: testKey})
	cpu0 := cpuTime()
	i := 0
	for b.Loop() {
		if i == n {
			i = 0
			r, _ = New(Options{Key: testKey})
		}
		if _, _, err := r.Entry(i, entries[i]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkEntryCorpus redacts each real HAR's entries one by one with a
// fresh Redactor, as `convert` does by default: on small files the cost
// per string of the analysis, not the sweep, decides the time.
func BenchmarkEntryCorpus(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "shared", "har-corpus", "*.har"))
	if len(files) == 0 {
		b.Skip("no HAR corpus")
	}
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			b.Fatal(err)
		}
		var entries [][]byte
		size := 0
		hr := har.NewReader(f, file)
		for {
			raw, err := hr.NextRaw()
			if err != nil {
				break
			}
			entries = append(entries, bytes.Clone(raw))
			size += len(raw)
		}
		f.Close()
		b.Run(strings.TrimSuffix(filepath.Base(file), ".har"), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				r, err := New(Options{Key: testKey})
				if err != nil {
					b.Fatal(err)
				}
				for i, raw := range entries {
					if _, _, err := r.Entry(i, raw); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
