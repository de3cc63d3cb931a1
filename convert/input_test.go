package convert

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/selection"
)

// TestUnsendableURLs: an entry whose URL cannot be sent is named in the
// output and counted, never dropped silently.
func TestUnsendableURLs(t *testing.T) {
	urls := []struct{ url, why string }{
		{"/v3/clusters", "relative URL cannot be sent"},
		{"javascript:void(0)", "javascript: URL cannot be sent"},
		{"://a.example/x", "URL without a scheme cannot be sent"},
		{"https:///x", "URL without a host cannot be sent"},
		{"ftp://a.example/x", "ftp: URL cannot be sent"},
	}
	var entries []*har.Entry
	for _, u := range urls {
		entries = append(entries, &har.Entry{Request: har.Request{Method: "GET", URL: u.url}, Response: har.Response{Status: 200}})
	}
	entries = append(entries, &har.Entry{Request: har.Request{Method: "GET", URL: "https://a.example/ok"}, Response: har.Response{Status: 200}})
	data := writeHAR(t, entries)
	for _, f := range []string{"curl", "bash", "go"} {
		var out bytes.Buffer
		st, err := Convert(har.NewReader(bytes.NewReader(data), "t.har"), &out, Options{Format: f, Name: "t.har", Selection: selection.Filter{All: true}})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if st.Converted != 1 || st.Unsendable != len(urls) || st.Skipped != 0 {
			t.Errorf("%s: stats %+v, want 1 converted, %d unsendable", f, st, len(urls))
		}
		for i, u := range urls {
			want := fmt.Sprintf("entry %d: request.url: %s", i, u.why)
			if st.UnsendableFirst[i] != want {
				t.Errorf("%s: UnsendableFirst[%d] = %q, want %q", f, i, st.UnsendableFirst[i], want)
			}
			if !strings.Contains(out.String(), want+", not converted") {
				t.Errorf("%s: output lacks %q", f, want)
			}
		}
	}
}
