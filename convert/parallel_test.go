package convert

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/apitape/apitape/har"
)

// TestParallelOutputOrder: each output of a conversion into every format
// at once is byte for byte the one converting into that format alone
// writes, for a session of many batches whose calls take very different
// times to write (bodies from empty to 200 KiB), with and without
// correlation.
func TestParallelOutputOrder(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(benchHead)
	for i := 0; i < 700; i++ {
		b.Write(benchEntry(i))
		if i%97 == 0 {
			// A big body now and then.
			fmt.Fprintf(&b, `,{"_resourceType":"fetch","startedDateTime":"2024-05-01T10:00:00.000Z","time":1,"request":{"method":"PUT","url":"https://rancher.example/v3/blobs/%d","httpVersion":"HTTP/1.1","headers":[{"name":"Content-Type","value":"text/plain"}],"queryString":[],"cookies":[],"postData":{"mimeType":"text/plain","text":%q},"headersSize":-1,"bodySize":0},"response":{"status":200,"statusText":"","httpVersion":"HTTP/1.1","headers":[],"cookies":[],"content":{"size":0,"mimeType":"text/plain"},"redirectURL":"","headersSize":-1,"bodySize":0},"cache":{},"timings":{"send":0,"wait":1,"receive":0}}`, i, strings.Repeat("x", 200<<10))
		}
	}
	b.WriteString(benchTail)
	input := b.Bytes()
	for _, noCorrelate := range []bool{false, true} {
		opts := Options{Name: "many.har", NoCorrelate: noCorrelate}
		bufs := map[string]*bytes.Buffer{}
		var outs []Output
		for _, f := range Formats() {
			bufs[f.Name] = &bytes.Buffer{}
			outs = append(outs, Output{f.Name, bufs[f.Name]})
		}
		if _, err := ConvertTo(har.NewReader(bytes.NewReader(input), "many.har"), outs, opts); err != nil {
			t.Fatal(err)
		}
		for _, f := range Formats() {
			var one bytes.Buffer
			o := opts
			o.Format = f.Name
			if _, err := Convert(har.NewReader(bytes.NewReader(input), "many.har"), &one, o); err != nil {
				t.Fatal(err)
			}
			if one.String() != bufs[f.Name].String() {
				t.Errorf("no-correlate %v: %s written beside the others differs from converting into it alone", noCorrelate, f.Name)
			}
			if f.Name != "vars" && strings.Count(one.String(), "entry 699:") != 1 {
				t.Errorf("%s: the last call is missing", f.Name)
			}
		}
	}
}
