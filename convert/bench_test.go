package convert

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apitape/apitape/har"
)

const benchHead = `{"log":{"version":"1.2","creator":{"name":"WebInspector","version":"537.36"},"pages":[],"entries":[`
const benchTail = "\n]}}\n"

// benchEntry returns entry i of the benchmark session: GET with a query,
// POST JSON, POST urlencoded, multipart and PUT text with ', $ and
// backticks, each with Chrome's pseudo-headers and cookies.
func benchEntry(i int) []byte {
	var method, path, ctype, body string
	switch i % 5 {
	case 0:
		method, path = "GET", fmt.Sprintf("/v3/clusters?limit=50&marker=c-%05d&sort=name&filter[state]=active", i)
	case 1:
		method, path, ctype = "POST", "/v3/cluster", "application/json"
		body = fmt.Sprintf(`{"type":"cluster","name":"c-%05d","description":"it's a test","labels":{"env":"dev","team":"a"},"rke2Config":{"kubernetesVersion":"v1.28.9+rke2r1","nodes":3}}`, i)
	case 2:
		method, path, ctype = "POST", "/v3/tokens?action=login", "application/x-www-form-urlencoded"
		body = fmt.Sprintf("username=admin%%40example.com&password=p%%40ss%%24%d&responseType=cookie&ttl=57600000", i)
	case 3:
		method, path, ctype = "POST", "/v3/upload", "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW"
		body = fmt.Sprintf("------WebKitFormBoundary7MA4YWxkTrZu0gW\r\nContent-Disposition: form-data; name=\"file\"; filename=\"n%d.txt\"\r\nContent-Type: text/plain\r\n\r\nline one\r\nline two\r\n------WebKitFormBoundary7MA4YWxkTrZu0gW--\r\n", i)
	case 4:
		method, path, ctype = "PUT", fmt.Sprintf("/v3/notes/%d", i), "text/plain"
		body = fmt.Sprintf("it's $HOME and `id` and $(id) in note %d", i)
	}
	url := "https://rancher.example" + path
	var b bytes.Buffer
	if i > 0 {
		b.WriteString(",")
	}
	q := func(s string) string { j, _ := json.Marshal(s); return string(j) }
	fmt.Fprintf(&b, "\n"+`{"_resourceType":"fetch","startedDateTime":"2024-05-01T10:00:00.000Z","time":12.5,"request":{"method":%q,"url":%s,"httpVersion":"http/2.0","headers":[`, method, q(url))
	fmt.Fprintf(&b, `{"name":":authority","value":"rancher.example"},{"name":":method","value":%q},{"name":":path","value":%s},{"name":":scheme","value":"https"},`, method, q(path))
	b.WriteString(`{"name":"accept","value":"application/json"},{"name":"accept-encoding","value":"gzip, deflate, br, zstd"},`)
	b.WriteString(`{"name":"cookie","value":"R_PCS=light; CSRF=3b1f2c9e8d7a6b5c; R_SESS=token-abcde:xk2r9m4n8p6q5s3t7v2w9x4z"},`)
	if ctype != "" {
		fmt.Fprintf(&b, `{"name":"content-type","value":%s},`, q(ctype))
	}
	b.WriteString(`{"name":"sec-fetch-mode","value":"cors"},{"name":"user-agent","value":"Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0.0.0"},{"name":"x-api-csrf","value":"3b1f2c9e8d7a6b5c"}],`)
	b.WriteString(`"queryString":[],"cookies":[{"name":"CSRF","value":"3b1f2c9e8d7a6b5c"},{"name":"R_SESS","value":"token-abcde:xk2r9m4n8p6q5s3t7v2w9x4z"}],`)
	if body != "" {
		fmt.Fprintf(&b, `"postData":{"mimeType":%s,"text":%s},`, q(ctype), q(body))
	}
	b.WriteString(`"headersSize":-1,"bodySize":0},"response":{"status":200,"statusText":"","httpVersion":"http/2.0","headers":[],"cookies":[],"content":{"size":17,"mimeType":"application/json","text":"{\"type\":\"collection\"}"},"redirectURL":"","headersSize":-1,"bodySize":-1},"cache":{},"timings":{"send":0.1,"wait":10.2,"receive":1.7}}`)
	return b.Bytes()
}

var bench10k = sync.OnceValue(func() []byte {
	var b bytes.Buffer
	b.WriteString(benchHead)
	for i := 0; i < 10000; i++ {
		b.Write(benchEntry(i))
	}
	b.WriteString(benchTail)
	return b.Bytes()
})

func BenchmarkRead10k(b *testing.B) {
	data := bench10k()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r := har.NewReader(bytes.NewReader(data), "bench.har")
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
			b.Fatalf("%d entries", n)
		}
	}
}

func benchConvert(b *testing.B, noCorrelate bool, formats ...string) {
	data := bench10k()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		for _, f := range formats {
			st, err := Convert(har.NewReader(bytes.NewReader(data), "bench.har"), io.Discard, Options{Format: f, NoCorrelate: noCorrelate})
			if err != nil {
				b.Fatal(err)
			}
			if f != "vars" && st.Converted != 10000 {
				b.Fatalf("%d converted", st.Converted)
			}
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkConvert10k converts 10,000 entries to each format, with
// correlation (the default: two passes) and without (one); vars is the
// first pass alone. cpu-ns/op (CPU time, GC included) is the number to
// compare on a shared machine.
func BenchmarkConvert10k(b *testing.B) {
	b.Logf("input: 10,000 entries, %.1f MB", float64(len(bench10k()))/1e6)
	for _, f := range []string{"curl", "bash", "go", "vars"} {
		b.Run(f, func(b *testing.B) { benchConvert(b, false, f) })
	}
	for _, f := range []string{"curl", "bash", "go"} {
		b.Run(f+"-no-correlate", func(b *testing.B) { benchConvert(b, true, f) })
	}
	// What httpsnippet takes about 1.7 s for (converter-edge-cases.md):
	// two conversions, and one that writes both (convert --to curl,go).
	b.Run("curl+go", func(b *testing.B) { benchConvert(b, false, "curl", "go") })
	b.Run("curl,go", func(b *testing.B) { benchConvertTo(b, false, "curl", "go") })
	b.Run("curl,go-no-correlate", func(b *testing.B) { benchConvertTo(b, true, "curl", "go") })
	// The default path of apitape convert --to curl,go: the redaction
	// stage first, with a new redactor each time as each run has.
	b.Run("curl,go-redacted", func(b *testing.B) { benchConvertTo(b, false, "curl", "go", "redact") })
}

func benchConvertTo(b *testing.B, noCorrelate bool, formats ...string) {
	data := bench10k()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var outs []Output
	redacting := false
	for _, f := range formats {
		if f == "redact" {
			redacting = true
			continue
		}
		outs = append(outs, Output{f, io.Discard})
	}
	cpu0 := cpuTime()
	for b.Loop() {
		opts := Options{NoCorrelate: noCorrelate}
		if redacting {
			opts.Redact = testRedactor(b)
		}
		st, err := ConvertTo(har.NewReader(bytes.NewReader(data), "bench.har"), outs, opts)
		if err != nil {
			b.Fatal(err)
		}
		if st.Converted != 10000 {
			b.Fatalf("%d converted", st.Converted)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// harGenerator streams a HAR of about size bytes without holding it.
type harGenerator struct {
	size, done int64
	i          int
	buf        []byte
	tail       bool
}

func (g *harGenerator) Read(p []byte) (int, error) {
	for len(g.buf) == 0 {
		switch {
		case g.done == 0 && g.i == 0:
			g.buf = []byte(benchHead)
		case g.tail:
			return 0, io.EOF
		case g.done >= g.size:
			g.buf, g.tail = []byte(benchTail), true
		default:
			g.buf = benchEntry(g.i)
			g.i++
		}
	}
	n := copy(p, g.buf)
	g.buf = g.buf[n:]
	g.done += int64(n)
	return n, nil
}

// BenchmarkConvert1GiB streams a generated 1 GiB HAR (from an io.Reader,
// not a file) to curl and to bash, with correlation (the default: a first
// pass for the analysis, the entries spooled to a temporary file for the
// second) and without, and reports the peak heap. Opt-in: it runs only
// when -bench names it or APITAPE_BENCH_1GIB=1, so go test ./... stays
// fast.
func BenchmarkConvert1GiB(b *testing.B) {
	pattern := flag.Lookup("test.bench").Value.String()
	if !strings.Contains(pattern, "1GiB") && os.Getenv("APITAPE_BENCH_1GIB") != "1" {
		b.Skip("opt-in: -bench Convert1GiB or APITAPE_BENCH_1GIB=1")
	}
	for _, opts := range []Options{
		{Format: "curl"},
		{Format: "bash"},
		{Format: "curl", NoCorrelate: true},
	} {
		name := opts.Format
		if opts.NoCorrelate {
			name += "-no-correlate"
		}
		b.Run(name, func(b *testing.B) { bench1GiB(b, opts) })
	}
}

func bench1GiB(b *testing.B, opts Options) {
	const size = 1 << 30
	b.SetBytes(size)
	b.ReportAllocs()
	var peak uint64
	for b.Loop() {
		runtime.GC()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ms runtime.MemStats
			t := time.NewTicker(20 * time.Millisecond)
			defer t.Stop()
			for {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
		st, err := Convert(har.NewReader(&harGenerator{size: size}, "gen.har"), io.Discard, opts)
		close(stop)
		wg.Wait()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(st.Entries), "entries")
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}
