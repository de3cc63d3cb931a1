package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"strconv"
	"testing"

	"github.com/apitape/apitape/capture"
)

// liveHeap is the heap that survives a collection.
func liveHeap() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// A browser keeps one h2 connection for a whole session: the relay must
// let go of each stream, and of the bodies recorded for it, once the
// stream has ended both ways, not when the connection closes. 24
// sequential 1 MiB answers on one connection leave the live heap where
// it was after the first two, not 24 MiB higher; every one is recorded.
func TestHTTP2FinishedStreamsReleased(t *testing.T) {
	const size, n = 1 << 20, 24
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		io.CopyN(w, letters{}, size)
	}))
	up.EnableHTTP2 = true
	up.StartTLS()
	t.Cleanup(up.Close)
	h := newHarness(t, nil, capture.Options{})
	tr := h.h2Transport()
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr}
	get := func(i int) {
		res, err := c.Get(up.URL + "/r/" + strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err != nil || got != size || res.Proto != "HTTP/2.0" {
			t.Fatalf("request %d: %s, %d bytes of %d (%v)", i, res.Proto, got, size, err)
		}
	}
	get(0)
	get(1)
	before := liveHeap()
	for i := 2; i < n; i++ {
		get(i)
	}
	after := liveHeap()
	grew := int64(after) - int64(before)
	t.Logf("live heap %d KiB after 2 answers, %d KiB after %d (grew %d KiB)", before>>10, after>>10, n, grew>>10)
	if grew > 8<<20 {
		t.Errorf("the live heap grew %d KiB over %d answers of 1 MiB on one connection: the relay holds finished streams", grew>>10, n-2)
	}
	if got := h.sink.Recorded(); got != n {
		t.Errorf("recorded %d of %d", got, n)
	}
}
