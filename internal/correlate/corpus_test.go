package correlate

import (
	"github.com/apitape/apitape/internal/testtool"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apitape/apitape/har"
)

// corpusWant lists the variables expected in corpus files that have
// chains; every other file must give none (page loads, single calls).
var corpusWant = map[string]string{
	// Chrome: cookies set on the page (one Set-Cookie value holding three
	// lines) and sent back with every asset request.
	"sitespeedio__pagexray__spdy-chrome.har": "GEO_IP_COOKIE WMF_LAST_ACCESS_COOKIE",
}

// TestCorpus runs the analysis over the real HAR files of
// ../shared/har-corpus (browsers, proxies, test tools) and checks the
// invariants every model must satisfy.
func TestCorpus(t *testing.T) {
	for _, file := range testtool.Corpus(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			doc, err := har.ReadAll(f, file)
			if err != nil {
				t.Skipf("unreadable: %v", err)
			}
			m, err := Analyze(doc.Log.Entries, nil, Options{})
			if err != nil {
				t.Fatal(err)
			}
			checkInvariants(t, doc.Log.Entries, nil, m)
			var names []string
			for _, v := range m.Vars {
				names = append(names, v.Name)
			}
			want, ok := corpusWant[filepath.Base(file)]
			if ok && strings.Join(names, " ") != want {
				t.Errorf("variables %q, want %q", names, want)
			}
			if !ok && len(names) > 0 {
				t.Errorf("variables %q in a file without chains", names)
			}
			uses := 0
			for _, v := range m.Vars {
				uses += len(v.Uses)
			}
			t.Logf("%d entries: %d variables, %d uses", len(doc.Log.Entries), len(m.Vars), uses)
			if testing.Verbose() {
				for _, s := range summary(m) {
					if len(s) > 200 {
						s = s[:200] + "…"
					}
					t.Log(s)
				}
			}
		})
	}
}
