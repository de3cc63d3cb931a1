package convert

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/selection"
	"github.com/apitape/apitape/internal/testtool"
)

// TestMultipartWithoutBoundary: a multipart body recorded only as params,
// under a Content-Type without a boundary (httpsnippet's fixtures), is
// sent as a real multipart body that net/http's ParseMultipartForm reads,
// by curl, bash and Go, with --exact and without; the boundary is the same
// on every run.
func TestMultipartWithoutBoundary(t *testing.T) {
	if testing.Short() {
		t.Skip("runs bash, curl and the go tool")
	}
	testtool.Need(t, "curl")
	testtool.Need(t, "bash")
	type form struct {
		ct     string
		values map[string][]string
		files  map[string]string // name: filename, content type, content
	}
	var mu sync.Mutex
	var got []form
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := form{ct: r.Header.Get("Content-Type"), files: map[string]string{}}
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			f.ct = "unreadable: " + err.Error()
		} else {
			f.values = r.MultipartForm.Value
			for name, fhs := range r.MultipartForm.File {
				for _, fh := range fhs {
					rd, _ := fh.Open()
					b, _ := io.ReadAll(rd)
					f.files[name] = fh.Filename + "|" + fh.Header.Get("Content-Type") + "|" + string(b)
				}
			}
		}
		mu.Lock()
		got = append(got, f)
		mu.Unlock()
		fmt.Fprint(w, `{}`)
	}))
	defer srv.Close()

	v := func(s string) *string { return &s }
	entries := []*har.Entry{
		{ // httpsnippet's multipart-form-data fixture: the header has no boundary
			Request: har.Request{Method: "POST", URL: "http://mockbin.test/har",
				Headers:  []har.NameValue{{Name: "content-type", Value: "multipart/form-data"}},
				PostData: &har.PostData{MimeType: "multipart/form-data", Params: []har.Param{{Name: "foo", Value: v("bar")}}}},
			Response: har.Response{Status: 200},
		},
		{ // no header at all, a file part whose text looks like a boundary
			Request: har.Request{Method: "POST", URL: "http://mockbin.test/upload",
				PostData: &har.PostData{MimeType: "multipart/form-data", Params: []har.Param{
					{Name: "a b", Value: v("1 & 2")},
					{Name: "file", FileName: "hello.txt", ContentType: "text/plain", Value: v("Hello\r\n--apitape-\r\n")},
				}}},
			Response: har.Response{Status: 200},
		},
	}
	wantForms := []form{
		{values: map[string][]string{"foo": {"bar"}}, files: map[string]string{}},
		{values: map[string][]string{"a b": {"1 & 2"}}, files: map[string]string{"file": "hello.txt|text/plain|Hello\r\n--apitape-\r\n"}},
	}
	data := writeHAR(t, entries)
	for _, exact := range []bool{true, false} {
		for _, format := range []string{"curl", "bash", "go"} {
			t.Run(fmt.Sprintf("%s exact=%v", format, exact), func(t *testing.T) {
				opts := Options{Format: format, Exact: exact, BaseURL: srv.URL, Selection: selection.Filter{All: true}, NoCorrelate: true}
				out := convertBytes(t, data, opts)
				if again := convertBytes(t, data, opts); !bytes.Equal(out, again) {
					t.Fatalf("two conversions differ: the boundary is not stable")
				}
				if !strings.Contains(string(out), "boundary=apitape-") {
					t.Errorf("no generated boundary in the output:\n%s", out)
				}
				mu.Lock()
				got = nil
				mu.Unlock()
				if format == "go" {
					runProgram(t, buildGo(t, out), nil)
				} else {
					runShell(t, out, nil)
				}
				mu.Lock()
				defer mu.Unlock()
				if len(got) != len(wantForms) {
					t.Fatalf("server got %d requests, want %d", len(got), len(wantForms))
				}
				for i, w := range wantForms {
					g := got[i]
					if !strings.HasPrefix(g.ct, "multipart/form-data; boundary=apitape-") {
						t.Errorf("request %d: Content-Type %q", i, g.ct)
					}
					if fmt.Sprint(g.values) != fmt.Sprint(w.values) || fmt.Sprint(g.files) != fmt.Sprint(w.files) {
						t.Errorf("request %d: server read %v %v, want %v %v", i, g.values, g.files, w.values, w.files)
					}
				}
			})
		}
	}
}

// TestNonASCIIPath: curl percent-encodes the non-ASCII bytes of a path
// (7.88 sends é as %c3%a9, --path-as-is or not). The curl output sends
// them as recorded with --request-target; the bash script too for a call
// to another origin, and for a call to BASE_URL, whose path prefix is not
// known before it runs, it says in a comment that the path is not sent
// byte for byte.
func TestNonASCIIPath(t *testing.T) {
	if testing.Short() {
		t.Skip("runs bash and curl")
	}
	testtool.Need(t, "curl")
	testtool.Need(t, "bash")
	rec := newRecorder(t)
	const target = "/v3/projects/日本/é%20x?q=é&r=%C3%A9"
	entry := func(origin string) *har.Entry {
		return &har.Entry{Request: har.Request{Method: "GET", URL: origin + target}, Response: har.Response{Status: 200}}
	}
	other := "http://127.0.0.1:1" // only ever named, never dialled: --base-url replaces it below
	data := writeHAR(t, []*har.Entry{entry(other)})

	t.Run("curl", func(t *testing.T) {
		out := convertBytes(t, data, Options{Format: "curl", Exact: true, BaseURL: rec.url() + "/prefix"})
		if !strings.Contains(string(out), "--request-target '/prefix"+target+"'") {
			t.Errorf("no --request-target:\n%s", out)
		}
		runShell(t, out, nil)
		got := rec.take()
		if len(got) != 1 || got[0].target != "/prefix"+target {
			t.Fatalf("server got %v, want one request for %q", got, "/prefix"+target)
		}
	})
	t.Run("bash, another origin", func(t *testing.T) {
		two := writeHAR(t, []*har.Entry{
			{Request: har.Request{Method: "GET", URL: other + "/first"}, Response: har.Response{Status: 200}},
			entry(rec.url()),
		})
		out := convertBytes(t, two, Options{Format: "bash", Exact: true, Selection: selection.Filter{All: true}})
		if !strings.Contains(string(out), "--request-target '"+target+"'") {
			t.Errorf("no --request-target:\n%s", out)
		}
		if strings.Contains(string(out), "not byte for byte") {
			t.Errorf("a comment says the exact call is not exact:\n%s", out)
		}
		runShell(t, out, []string{"BASE_URL=" + rec.url()})
		got := rec.take()
		if len(got) != 2 || got[1].target != target {
			t.Fatalf("server got %v, want its second request for %q", got, target)
		}
	})
	t.Run("bash, BASE_URL", func(t *testing.T) {
		out := convertBytes(t, data, Options{Format: "bash", Exact: true})
		if !strings.Contains(string(out), "\n# entry 0: GET /v3/projects/日本/é%20x\n# not byte for byte: curl sends the non-ASCII bytes of this path percent-encoded\ncall 0 ") {
			t.Errorf("no comment on the call:\n%s", out)
		}
		runShell(t, out, []string{"BASE_URL=" + rec.url()})
		got := rec.take()
		// What the comment says: the path percent-encoded, the rest as recorded.
		if want := "/v3/projects/%e6%97%a5%e6%9c%ac/%c3%a9%20x?q=é&r=%C3%A9"; len(got) != 1 || got[0].target != want {
			t.Fatalf("server got %v, want one request for %q", got, want)
		}
	})
}
