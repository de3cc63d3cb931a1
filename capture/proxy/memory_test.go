package proxy

import (
	"io"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/apitape/apitape/capture"
	"github.com/apitape/apitape/redact"
)

// heapSampler follows the heap while a load runs: the most the Go heap
// held (live objects and garbage not yet swept) and the most memory the
// runtime held from the system (mapped, less what it gave back), which is
// what the process's resident size is made of.
type heapSampler struct {
	stop     chan struct{}
	done     chan struct{}
	peakHeap uint64
	peakAll  uint64
}

func startHeapSampler() *heapSampler {
	s := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}
	read := func() {
		metrics.Read(samples)
		s.peakHeap = max(s.peakHeap, samples[0].Value.Uint64())
		s.peakAll = max(s.peakAll, samples[1].Value.Uint64()-samples[2].Value.Uint64())
	}
	go func() {
		defer close(s.done)
		// Measurement, not synchronisation: the load runs on its own.
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			read()
			select {
			case <-t.C:
			case <-s.stop:
				read()
				return
			}
		}
	}()
	return s
}

func (s *heapSampler) finish() { close(s.stop); <-s.done }

// concurrentDownloads runs n clients, each downloading size bytes through
// the proxy, with package redact on and the default --max-body (10 MiB).
func concurrentDownloads(t testing.TB, path string, n, size int) (peakHeap, peakAll uint64) {
	r, err := redact.New(redact.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, nil, capture.Options{Redact: func(i int, raw []byte) ([]byte, error) {
		out, _, err := r.Entry(i, raw)
		return out, err
	}})
	c := h.client()
	// Entries this large are recorded one after the other, each before its
	// client gets its last bytes: under the race detector the last client
	// waits longer than the harness's usual timeout.
	c.Timeout = 0
	runtime.GC()
	s := startHeapSampler()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.Get(h.plain.URL + path + "?n=" + strconv.Itoa(size) + "&i=" + strconv.Itoa(i))
			if err != nil {
				errs <- err
				return
			}
			defer res.Body.Close()
			if got, err := io.Copy(io.Discard, res.Body); err != nil || got != int64(size) {
				errs <- err
			}
		}()
	}
	wg.Wait()
	s.finish()
	close(errs)
	for err := range errs {
		t.Fatalf("download: %v", err)
	}
	if got := h.sink.Recorded(); got != n {
		t.Fatalf("recorded %d of %d", got, n)
	}
	return s.peakHeap, s.peakAll
}

// 16 concurrent 20 MB downloads, text and binary, recorded with
// redaction: the bodies stream
// through; what is held is at most --max-body of each, and one entry's
// encoding and redaction at a time. The whole test process (clients and
// servers included) stays under 300 MB.
func TestConcurrentDownloadsMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 320 MB")
	}
	const limit = 300 << 20
	// As 'apitape capture proxy' runs it.
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(MemoryLimit))
	for _, path := range []string{"/huge", "/hugebin"} {
		heap, all := concurrentDownloads(t, path, 16, 20<<20)
		t.Logf("%s: peak heap %d MiB, peak memory held by the runtime %d MiB", path, heap>>20, all>>20)
		if all > limit {
			t.Errorf("%s: the process held %d MiB at its peak for 16 × 20 MB downloads; want under %d MiB", path, all>>20, limit>>20)
		}
	}
}
