package browser

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"golang.org/x/net/websocket"
)

// benchPage serves a page that makes 200 API calls (2 KiB JSON each, never
// cached) and reports how long they took, measured by the page itself. The
// page first waits at /api/gate until the benchmark lets it start, so that
// the browsers take turns and share the same machine load, and so that only
// the 200 calls are timed. Each call is answered after delay.
type benchPage struct {
	*httptest.Server
	gates runChans[struct{}]
	times runChans[float64]
}

// runChans hands out one channel per run name, made on first use by
// whichever side (the page's request or the test) gets there first.
type runChans[T any] struct {
	mu     sync.Mutex
	chans  map[string]chan T
	buffer int
}

func (c *runChans[T]) get(run string) chan T {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.chans == nil {
		c.chans = map[string]chan T{}
	}
	if c.chans[run] == nil {
		c.chans[run] = make(chan T, c.buffer)
	}
	return c.chans[run]
}

func newBenchPage(b *testing.B, delay time.Duration) *benchPage {
	p := &benchPage{times: runChans[float64]{buffer: 1}}
	payload := `{"pad":"` + strings.Repeat("x", 2000) + `"}`
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><script>
const run = new URLSearchParams(location.search).get('run');
fetch('/api/gate?run=' + run).then(() => {
  const t0 = performance.now();
  return Promise.all(Array.from({length: 200}, (_, i) => fetch('/api/call/' + i).then(r => r.text())))
    .then(() => fetch('/api/result?run=' + run + '&ms=' + (performance.now() - t0)));
}).then(() => { const d = document.createElement('div'); d.id = 'done'; document.body.appendChild(d); });
</script>`)
	})
	mux.HandleFunc("/api/call/", func(w http.ResponseWriter, r *http.Request) {
		if delay > 0 {
			time.Sleep(delay)
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, payload)
	})
	mux.HandleFunc("/api/gate", func(w http.ResponseWriter, r *http.Request) {
		<-p.gates.get(r.URL.Query().Get("run"))
	})
	mux.HandleFunc("/api/result", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.ParseFloat(r.URL.Query().Get("ms"), 64)
		p.times.get(r.URL.Query().Get("run")) <- ms
	})
	p.Server = httptest.NewServer(mux)
	b.Cleanup(p.Close)
	return p
}

// timeRun opens the gate of run and returns the page's time.
func (p *benchPage) timeRun(b *testing.B, run string) float64 {
	close(p.gates.get(run))
	select {
	case ms := <-p.times.get(run):
		return ms
	case <-time.After(30 * time.Second):
		b.Fatalf("run %s never reported", run)
	}
	return 0
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// benchBrowser is one of the browsers the overhead benchmark compares: its
// page times and the CPU its processes and this process spent on them.
type benchBrowser struct {
	name   string
	dir    string // profile directory, which finds its processes
	times  []float64
	chrome map[string]time.Duration // by process kind
	goCPU  time.Duration
	visit  func(run string) <-chan error // loads the page of run; nil when the recording loads it itself
}

// plainBrowser starts a headless Chromium driven by chromedp, with the
// network domain off.
func plainBrowser(b *testing.B, p *benchPage) *benchBrowser {
	bb := &benchBrowser{name: "plain", dir: b.TempDir(), chrome: map[string]time.Duration{}}
	ctx := headlessChromium(b, bb.dir)
	if _, err := chromedp.Call(ctx, network.Disable, cdp.Empty{}); err != nil {
		b.Fatal(err)
	}
	bb.visit = func(run string) <-chan error {
		loaded := make(chan error, 1)
		go func() {
			loaded <- chromedp.Do(ctx, chromedp.Navigate(p.URL+"/?run="+run), chromedp.WaitReady(chromedp.ID("done")))
		}()
		return loaded
	}
	return bb
}

// networkOnlyBrowser starts a headless Chromium with the same flags and
// drives a second tab of it over a bare DevTools WebSocket with the network
// domain on (chromedp's own tab stays idle). Its reader
// drops every message unread, so the browser pays for the network domain
// and this process for almost nothing: this is the floor of any CDP
// recorder.
func networkOnlyBrowser(b *testing.B, p *benchPage) *benchBrowser {
	bb := &benchBrowser{name: "network", dir: b.TempDir(), chrome: map[string]time.Duration{}}
	// The WebSocket package always sends an Origin, which Chromium refuses
	// unless it is allowed.
	headlessChromium(b, bb.dir, listenForDevTools, chromedp.Flag("remote-allow-origins", "http://127.0.0.1"))
	port := devToolsPort(b, bb.dir)
	req, _ := http.NewRequest(http.MethodPut, "http://127.0.0.1:"+port+"/json/new?about:blank", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	var page struct {
		WebSocketDebuggerURL string `json:"webSocketDebuggerUrl"`
	}
	err = json.NewDecoder(resp.Body).Decode(&page)
	resp.Body.Close()
	if err != nil {
		b.Fatal(err)
	}
	ws, err := websocket.Dial(page.WebSocketDebuggerURL, "", "http://127.0.0.1")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ws.Close() })
	go func() {
		var msg []byte
		for websocket.Message.Receive(ws, &msg) == nil {
		}
	}()
	id := 0
	send := func(method string, params any) {
		id++
		if err := websocket.JSON.Send(ws, map[string]any{"id": id, "method": method, "params": params}); err != nil {
			b.Fatal(err)
		}
	}
	send("Network.enable", struct{}{})
	bb.visit = func(run string) <-chan error {
		send("Page.navigate", map[string]string{"url": p.URL + "/?run=" + run})
		return nil // the page's report at its end is the wait
	}
	return bb
}

// turn times one page of bb; the CPU of its window is counted when keep.
func (bb *benchBrowser) turn(b *testing.B, p *benchPage, i int, keep bool) {
	run := bb.name + strconv.Itoa(i)
	var loaded <-chan error
	if bb.visit != nil {
		loaded = bb.visit(run)
	}
	time.Sleep(50 * time.Millisecond) // the page loads and waits at its gate
	c0, g0 := processCPU(bb.dir), selfCPU()
	ms := p.timeRun(b, run)
	if loaded != nil {
		if err := <-loaded; err != nil {
			b.Fatal(err)
		}
	}
	// The pause keeps this page's last work (the recorder writes its last
	// bodies) inside its own CPU window and out of the next browser's.
	time.Sleep(100 * time.Millisecond)
	c1, g1 := processCPU(bb.dir), selfCPU()
	if keep {
		bb.times = append(bb.times, ms)
		for k, v := range c1 {
			bb.chrome[k] += v - c0[k]
		}
		bb.goCPU += g1 - g0
	}
}

func (bb *benchBrowser) chromeTotal() time.Duration {
	var t time.Duration
	for _, v := range bb.chrome {
		t += v
	}
	return t
}

// BenchmarkRecordingOverhead times the 200-call page in three headless
// Chromiums that take turns: a plain one, one with only the network domain
// enabled (what any CDP recorder needs; its messages are dropped unread),
// and a recording one. The recording is complete: every call and body is
// written to a HAR file. It reports the median time of the page's 200
// calls in each, the overheads, and the CPU each browser and this process
// spent per page.
//
// With an instant loopback server the page is bound by CPU, and every
// millisecond of CPU that the network domain costs shows; with a server
// that answers in 20 ms, as a real API does, it is bound by latency.
func BenchmarkRecordingOverhead(b *testing.B) {
	needBrowser(b)
	for _, bc := range []struct {
		name  string
		delay time.Duration
	}{{"server=instant", 0}, {"server=20ms", 20 * time.Millisecond}} {
		b.Run(bc.name, func(b *testing.B) { benchOverhead(b, bc.delay) })
	}
}

func benchOverhead(b *testing.B, delay time.Duration) {
	p := newBenchPage(b, delay)
	plain := plainBrowser(b, p)
	floor := networkOnlyBrowser(b, p)
	rec := &benchBrowser{name: "rec", dir: b.TempDir(), chrome: map[string]time.Duration{}}

	// One recording that loads the page once per run; each load waits at
	// its gate until its turn.
	const warmup = 2
	n := b.N + warmup
	var steps []Step
	for i := 0; i < n; i++ {
		steps = append(steps, Step{Action: "navigate", URL: p.URL + "/?run=rec" + strconv.Itoa(i)},
			Step{Action: "wait", Selector: "#done", Timeout: time.Minute}, Step{Action: "sleep", Duration: 400 * time.Millisecond})
	}
	out := filepath.Join(b.TempDir(), "bench.har")
	type result struct {
		res Result
		err error
	}
	recDone := make(chan result, 1)
	go func() {
		res, err := Record(context.Background(), Options{Steps: steps, Headless: true, Output: out, Profile: rec.dir})
		recDone <- result{res, err}
	}()

	b.ResetTimer()
	for i := 0; i < n; i++ {
		for _, bb := range []*benchBrowser{plain, floor, rec} {
			bb.turn(b, p, i, i >= warmup)
		}
	}
	b.StopTimer()
	r := <-recDone
	if r.err != nil {
		b.Fatal(r.err)
	}
	// Each load: the page, the gate, 200 calls and the result.
	if want := n * 203; r.res.Written != want {
		b.Fatalf("recorded %d entries, want %d", r.res.Written, want)
	}
	pm, fm, rm := median(plain.times), median(floor.times), median(rec.times)
	b.ReportMetric(pm, "page-ms-plain")
	b.ReportMetric(fm, "page-ms-network-only")
	b.ReportMetric(rm, "page-ms-recording")
	b.ReportMetric((fm-pm)/pm*100, "network-only-overhead-%")
	b.ReportMetric((rm-pm)/pm*100, "overhead-%")
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
	for _, bb := range []*benchBrowser{plain, floor, rec} {
		b.ReportMetric(per(bb.chromeTotal()), "chrome-cpu-ms-"+bb.name)
		b.ReportMetric(per(bb.goCPU), "go-cpu-ms-"+bb.name)
	}
	kinds := map[string]bool{}
	for _, bb := range []*benchBrowser{plain, floor, rec} {
		for k := range bb.chrome {
			kinds[k] = true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		if plain.chrome[k]+floor.chrome[k]+rec.chrome[k] > 0 {
			b.Logf("CPU per page of %-36s plain %5.0f ms, network only %5.0f ms, recording %5.0f ms", k, per(plain.chrome[k]), per(floor.chrome[k]), per(rec.chrome[k]))
		}
	}
	b.Logf("%d pages each: median plain %.1f ms, network only %.1f ms, recording %.1f ms for 200 calls; %s", b.N, pm, fm, rm, r.res.Summary)
}

// processCPU returns the CPU time of the browser whose profile is dir and
// of all its child processes, by kind of process (browser, renderer,
// utility:network.mojom.NetworkService, ...).
func processCPU(dir string) map[string]time.Duration {
	procs, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	ticks := map[int]int64{}
	kind := map[int]string{}
	root := 0
	for _, d := range procs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		parent[pid], ticks[pid] = ppid, ut+st
		cmd, _ := os.ReadFile("/proc/" + d.Name() + "/cmdline")
		// Chromium rewrites its child processes' command lines into one
		// space-separated string.
		k, ours := "browser", false
		for _, a := range strings.FieldsFunc(string(cmd), func(r rune) bool { return r == 0 || r == ' ' }) {
			if t, ok := strings.CutPrefix(a, "--type="); ok {
				k = t
			}
			if t, ok := strings.CutPrefix(a, "--utility-sub-type="); ok {
				k += ":" + t
			}
			ours = ours || a == "--user-data-dir="+dir
		}
		if root == 0 && ours && k == "browser" {
			root = pid
		}
		kind[pid] = k
	}
	byKind := map[string]time.Duration{}
	for pid, t := range ticks {
		for p := pid; p != 0; p = parent[p] {
			if p == root {
				byKind[kind[pid]] += time.Duration(t) * 10 * time.Millisecond // USER_HZ is 100 on Linux
				break
			}
		}
	}
	return byKind
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
