package browser

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apitape/apitape/internal/chromium"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// benchPage serves a page that makes 200 API calls (2 KiB JSON each, never
// cached) and reports how long they took, measured by the page itself. The
// page first waits at /api/gate until the benchmark lets it start, so that
// a plain and a recording browser take turns and share the same machine
// load, and so that only the 200 calls are timed.
type benchPage struct {
	*httptest.Server
	mu    sync.Mutex
	gates map[string]chan struct{}
	times map[string]chan float64
}

func newBenchPage(b *testing.B) *benchPage {
	p := &benchPage{gates: map[string]chan struct{}{}, times: map[string]chan float64{}}
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
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, payload)
	})
	mux.HandleFunc("/api/gate", func(w http.ResponseWriter, r *http.Request) {
		<-p.gate(r.URL.Query().Get("run"))
	})
	mux.HandleFunc("/api/result", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.ParseFloat(r.URL.Query().Get("ms"), 64)
		p.result(r.URL.Query().Get("run")) <- ms
	})
	p.Server = httptest.NewServer(mux)
	b.Cleanup(p.Close)
	return p
}

func (p *benchPage) gate(run string) chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gates[run] == nil {
		p.gates[run] = make(chan struct{})
	}
	return p.gates[run]
}

func (p *benchPage) result(run string) chan float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.times[run] == nil {
		p.times[run] = make(chan float64, 1)
	}
	return p.times[run]
}

// timeRun opens the gate of run and returns the page's time.
func (p *benchPage) timeRun(b *testing.B, run string) float64 {
	close(p.gate(run))
	select {
	case ms := <-p.result(run):
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

// BenchmarkRecordingOverhead times the 200-call page b.N times in a plain
// headless Chromium and b.N times in a recording one, alternating, and
// reports the median time of the page's 200 calls in each and the overhead
// of recording. The recording is complete: every call and body is written
// to a HAR file.
func BenchmarkRecordingOverhead(b *testing.B) {
	needBrowser(b)
	p := newBenchPage(b)
	exec, _ := chromium.Find()

	// Plain: the same browser flags, nothing listening to the network.
	plainDir, recDir := b.TempDir(), b.TempDir()
	actx, acancel := chromedp.NewExecAllocator(context.Background(), chromium.AllocatorOptions(exec, plainDir, true)...)
	defer acancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.Disable, cdp.Empty{}); err != nil {
		b.Fatal(err)
	}

	// Recording: one recording that loads the page once per run; each load
	// waits at the gate until its turn.
	const warmup = 2
	n := b.N + warmup
	var steps []Step
	for i := 0; i < n; i++ {
		// The pause keeps the next page's load out of this page's CPU
		// window, as for the plain browser.
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
		res, err := Record(context.Background(), Options{Steps: steps, Headless: true, Output: out, Profile: recDir})
		recDone <- result{res, err}
	}()

	var plain, rec []float64
	var cpuPlain, cpuRec, goPlain, goRec time.Duration
	b.ResetTimer()
	for i := 0; i < n; i++ {
		run := strconv.Itoa(i)
		loaded := make(chan error, 1)
		go func() {
			loaded <- chromedp.Do(ctx, chromedp.Navigate(p.URL+"/?run=plain"+run), chromedp.WaitReady(chromedp.ID("done")))
		}()
		time.Sleep(50 * time.Millisecond)
		c0, g0 := treeCPU(plainDir), selfCPU()
		pm := p.timeRun(b, "plain"+run)
		if err := <-loaded; err != nil {
			b.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		c1, g1 := treeCPU(plainDir), selfCPU()
		r0 := treeCPU(recDir)
		rm := p.timeRun(b, "rec"+run)
		time.Sleep(100 * time.Millisecond) // the recorder writes the last bodies
		r1, g2 := treeCPU(recDir), selfCPU()
		if i >= warmup {
			plain, rec = append(plain, pm), append(rec, rm)
			cpuPlain += c1 - c0
			cpuRec += r1 - r0
			goPlain += g1 - g0
			goRec += g2 - g1
		}
	}
	b.StopTimer()
	r := <-recDone
	if r.err != nil {
		b.Fatal(r.err)
	}
	if want := n * 202; r.res.Written != want {
		b.Fatalf("recorded %d entries, want %d", r.res.Written, want)
	}
	pm, rm := median(plain), median(rec)
	b.ReportMetric(pm, "page-ms-plain")
	b.ReportMetric(rm, "page-ms-recording")
	b.ReportMetric((rm-pm)/pm*100, "overhead-%")
	per := func(d time.Duration) float64 { return float64(d.Milliseconds()) / float64(b.N) }
	b.ReportMetric(per(cpuPlain), "chrome-cpu-ms-plain")
	b.ReportMetric(per(cpuRec), "chrome-cpu-ms-recording")
	b.ReportMetric(per(goPlain), "go-cpu-ms-plain")
	b.ReportMetric(per(goRec), "go-cpu-ms-recording")
	b.Logf("%d pages each: median plain %.1f ms, recording %.1f ms for 200 calls; %s", b.N, pm, rm, r.res.Summary)
}

// treeCPU sums the CPU time of the browser whose profile is dir and of all
// its child processes.
func treeCPU(dir string) time.Duration {
	procs, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	ticks := map[int]int64{}
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
		if root == 0 {
			if cmd, err := os.ReadFile("/proc/" + d.Name() + "/cmdline"); err == nil && strings.Contains(string(cmd), "--user-data-dir="+dir) && !strings.Contains(string(cmd), "--type=") {
				root = pid
			}
		}
	}
	var total int64
	for pid, t := range ticks {
		for p := pid; p != 0; p = parent[p] {
			if p == root {
				total += t
				break
			}
		}
	}
	return time.Duration(total) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
