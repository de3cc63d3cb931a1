package replay_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/replay"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// handlerTransport serves requests in process: deterministic and offline.
// Paths under /down fail like a refused connection.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasPrefix(r.URL.RequestURI(), "/down") {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	}
	// The replay writes the path as Opaque, for the request line; a
	// server would parse it from there, so do that.
	u, err := url.ParseRequestURI(r.URL.RequestURI())
	if err != nil {
		return nil, err
	}
	r2 := r.Clone(r.Context())
	r2.URL, r2.RequestURI = u, r.URL.RequestURI()
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r2)
	return rec.Result(), nil
}

func goldenEntry(method, path string, status int, ctype, body string, reqHeaders ...string) *har.Entry {
	e := &har.Entry{Request: har.Request{Method: method, URL: "https://rancher.test" + path}, Response: har.Response{Status: status}, Time: 3}
	for i := 0; i+1 < len(reqHeaders); i += 2 {
		e.Request.Headers = append(e.Request.Headers, har.NameValue{Name: reqHeaders[i], Value: reqHeaders[i+1]})
	}
	if ctype != "" {
		e.Response.Headers = []har.NameValue{{Name: "Content-Type", Value: ctype}}
		e.Response.Content.MimeType = ctype
	}
	e.Response.Content.SetBytes([]byte(body))
	return e
}

// goldenResult is a replay with every kind of outcome, against an
// in-process server, with the timings zeroed.
func goldenResult(t *testing.T) *replay.Result {
	t.Helper()
	mux := http.NewServeMux()
	js := func(w http.ResponseWriter, status int, body string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
	mux.HandleFunc("/v3/cluster", func(w http.ResponseWriter, r *http.Request) {
		js(w, 201, `{"id":"c-zzzz9","name":"lab","created":"2026-01-01T00:00:00Z","uuid":"0a0b0c0d-1111-2222-3333-444455556666","links":{"self":"http://api.test/v3/clusters/c-zzzz9"},"cfg":{"k8sVersion":"v1.30"}}`)
	})
	mux.HandleFunc("/v3/clusters", func(w http.ResponseWriter, r *http.Request) {
		js(w, 200, `{"data":[{"id":"c-zzzz9","name":"lab","state":"active"},{"id":"local","name":"local","state":"active"}]}`)
	})
	mux.HandleFunc("/v3/clusters/c-zzzz9", func(w http.ResponseWriter, r *http.Request) {
		js(w, 404, `{"type":"error","code":"NotFound","status":404,"message":"not found","baseType":"error"}`)
	})
	mux.HandleFunc("/readme", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "line one\nline two changed\nline three\nline four added\n")
	})
	mux.HandleFunc("/logo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write([]byte{0x89, 'P', 'N', 'G', 0, 1, 2, 3, 4})
	})
	mux.HandleFunc("/v3/settings", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, `{"value":"x"}`)
	})
	preflight := goldenEntry("OPTIONS", "/v3/cluster", 204, "", "", "Access-Control-Request-Method", "POST")
	entries := []*har.Entry{
		goldenEntry("POST", "/v3/cluster?_replace=true", 201, "application/json",
			`{"id":"c-q7x2m","name":"lab","created":"2025-03-14T09:26:53Z","uuid":"5f0c2b7e-3d41-4a8e-9b7a-2c6f1e0d9a44","links":{"self":"https://rancher.test/v3/clusters/c-q7x2m"},"cfg":{"kubernetesVersion":"v1.30"}}`,
			"Content-Type", "application/json"),
		goldenEntry("GET", "/v3/clusters", 200, "application/json",
			`{"data":[{"id":"local","name":"local","state":"provisioning"},{"id":"c-q7x2m","name":"lab","state":"provisioning"}]}`),
		goldenEntry("GET", "/v3/clusters/c-q7x2m", 200, "application/json",
			`{"id":"c-q7x2m","name":"lab","a":1,"b":2,"c":3,"d":4,"type":"cluster"}`),
		goldenEntry("GET", "/readme", 200, "text/plain", "line one\nline two\nline three\n"),
		goldenEntry("GET", "/logo", 200, "image/png", "\x89PNG\x00\x01\x02"),
		goldenEntry("GET", "/v3/settings", 200, "application/json", `{"value":"x"}`),
		preflight,
		goldenEntry("GET", "/down/x", 200, "application/json", `{}`),
	}
	entries[3].Response.Content.SetBytes([]byte("line one\nline two\nline three\n"))
	r, err := replay.New("http://api.test", replay.WithClient(&http.Client{Transport: handlerTransport{mux}}),
		replay.WithAllowMutations(true), replay.WithSource("golden.har"), replay.WithIgnore(mustRule(t, "$.data[*].state")))
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Run(context.Background(), entries)
	if err != nil {
		t.Fatal(err)
	}
	res.Started = time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)
	res.DurationMS = 12.5
	for _, c := range res.Calls {
		c.DurationMS = 1.5
	}
	return res
}

func mustRule(t *testing.T, s string) replay.Rule {
	r, err := replay.ParseRule(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

func TestGoldenReports(t *testing.T) {
	res := goldenResult(t)
	for _, f := range []struct {
		name  string
		write func(io.Writer, *replay.Result) error
	}{
		{"report.txt", func(w io.Writer, r *replay.Result) error { return replay.WriteText(w, r) }},
		{"report-color.txt", func(w io.Writer, r *replay.Result) error { return replay.WriteText(w, r, replay.Color(true)) }},
		{"report.json", replay.WriteJSON},
		{"report.xml", replay.WriteJUnit},
	} {
		var b bytes.Buffer
		if err := f.write(&b, res); err != nil {
			t.Fatal(err)
		}
		golden(t, f.name, b.Bytes())
	}
}

// The JUnit schema CI systems read (Jenkins xunit-plugin junit-10.xsd),
// mirrored as structs: every attribute and element the schema declares is
// a field; anything else is caught by the ",any" fields and rejected.
type xsdTestsuites struct {
	XMLName  xml.Name       `xml:"testsuites"`
	Attrs    []xml.Attr     `xml:",any,attr"`
	Suites   []xsdTestsuite `xml:"testsuite"`
	Unknown  []xsdAny       `xml:",any"`
	CharData string         `xml:",chardata"`
}

type xsdTestsuite struct {
	Attrs      []xml.Attr      `xml:",any,attr"`
	Properties []xsdProperties `xml:"properties"`
	Cases      []xsdTestcase   `xml:"testcase"`
	Suites     []xsdTestsuite  `xml:"testsuite"`
	SystemOut  []string        `xml:"system-out"`
	SystemErr  []string        `xml:"system-err"`
	Unknown    []xsdAny        `xml:",any"`
}

type xsdProperties struct {
	Props   []xsdProperty `xml:"property"`
	Unknown []xsdAny      `xml:",any"`
}

type xsdProperty struct {
	Attrs []xml.Attr `xml:",any,attr"`
}

type xsdTestcase struct {
	Attrs     []xml.Attr   `xml:",any,attr"`
	Skipped   []xsdMessage `xml:"skipped"`
	Errors    []xsdMessage `xml:"error"`
	Failures  []xsdMessage `xml:"failure"`
	SystemOut []string     `xml:"system-out"`
	SystemErr []string     `xml:"system-err"`
	Unknown   []xsdAny     `xml:",any"`
}

type xsdMessage struct {
	Attrs []xml.Attr `xml:",any,attr"`
	Text  string     `xml:",chardata"`
}

type xsdAny struct{ XMLName xml.Name }

var surefireTime = regexp.MustCompile(`^(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?$`)

// checkAttrs validates attributes against the schema: required ones
// present, nothing undeclared, integers where counted, SUREFIRE_TIME times.
func checkAttrs(t *testing.T, where string, attrs []xml.Attr, required, optional []string) map[string]string {
	t.Helper()
	m := map[string]string{}
	allowed := map[string]bool{}
	for _, a := range append(append([]string(nil), required...), optional...) {
		allowed[a] = true
	}
	for _, a := range attrs {
		if !allowed[a.Name.Local] || a.Name.Space != "" {
			t.Errorf("%s: attribute %q is not in the schema", where, a.Name.Local)
		}
		m[a.Name.Local] = a.Value
	}
	for _, r := range required {
		if _, ok := m[r]; !ok {
			t.Errorf("%s: required attribute %q missing", where, r)
		}
	}
	for _, n := range []string{"tests", "failures", "errors", "skipped"} {
		if v, ok := m[n]; ok {
			if _, err := strconv.Atoi(v); err != nil {
				t.Errorf("%s: %s=%q is not a count", where, n, v)
			}
		}
	}
	if v, ok := m["time"]; ok && !surefireTime.MatchString(v) {
		t.Errorf("%s: time=%q does not match SUREFIRE_TIME", where, v)
	}
	return m
}

func validateJUnit(t *testing.T, doc []byte) xsdTestsuites {
	t.Helper()
	var root xsdTestsuites
	if err := xml.Unmarshal(doc, &root); err != nil {
		t.Fatalf("JUnit XML does not parse: %v", err)
	}
	checkAttrs(t, "testsuites", root.Attrs, nil, []string{"name", "time", "tests", "failures", "errors"})
	if len(root.Unknown) > 0 || strings.TrimSpace(root.CharData) != "" {
		t.Errorf("testsuites: unexpected content %v", root.Unknown)
	}
	if len(root.Suites) == 0 {
		t.Fatal("no testsuite")
	}
	for _, s := range root.Suites {
		sa := checkAttrs(t, "testsuite", s.Attrs, []string{"name", "tests", "failures", "errors"},
			[]string{"group", "time", "skipped", "timestamp", "hostname", "id", "package", "file", "log", "url"})
		if len(s.Unknown) > 0 {
			t.Errorf("testsuite: unexpected elements %v", s.Unknown)
		}
		for _, ps := range s.Properties {
			for _, p := range ps.Props {
				checkAttrs(t, "property", p.Attrs, []string{"name", "value"}, nil)
			}
		}
		var failures, errs, skipped int
		for _, c := range s.Cases {
			ca := checkAttrs(t, "testcase", c.Attrs, []string{"name"}, []string{"time", "classname", "group"})
			if len(c.Unknown) > 0 {
				t.Errorf("testcase %s: unexpected elements %v", ca["name"], c.Unknown)
			}
			for _, m := range append(append(append([]xsdMessage(nil), c.Failures...), c.Errors...), c.Skipped...) {
				checkAttrs(t, "testcase "+ca["name"]+" message", m.Attrs, nil, []string{"type", "message"})
			}
			if len(c.Failures) > 0 {
				failures++
			}
			if len(c.Errors) > 0 {
				errs++
			}
			if len(c.Skipped) > 0 {
				skipped++
			}
		}
		for k, n := range map[string]int{"tests": len(s.Cases), "failures": failures, "errors": errs, "skipped": skipped} {
			if sa[k] != strconv.Itoa(n) {
				t.Errorf("testsuite %s=%s, but %d testcases count", k, sa[k], n)
			}
		}
	}
	return root
}

func TestJUnitValidates(t *testing.T) {
	res := goldenResult(t)
	var b bytes.Buffer
	if err := replay.WriteJUnit(&b, res); err != nil {
		t.Fatal(err)
	}
	root := validateJUnit(t, b.Bytes())
	cases := root.Suites[0].Cases
	if len(cases) != len(res.Calls) {
		t.Fatalf("%d testcases for %d calls", len(cases), len(res.Calls))
	}
	// One failure per failing difference.
	for i, c := range res.Calls {
		n := 0
		for _, d := range c.Differences {
			if d.Failing {
				n++
			}
		}
		if len(cases[i].Failures) != n {
			t.Errorf("call %d: %d failures, want %d", c.Index, len(cases[i].Failures), n)
		}
	}
	// And the validator itself rejects what the schema does not allow.
	bad := strings.Replace(b.String(), `<testcase name=`, `<testcase bogus="1" name=`, 1)
	bad = strings.Replace(bad, `tests="`, `tests="x`, 1)
	ft := &testing.T{}
	func() {
		defer func() { recover() }()
		validateJUnit(ft, []byte(bad))
	}()
	if !ft.Failed() {
		t.Error("the JUnit validator accepted an undeclared attribute and a bad count")
	}
}

func TestTextBodyDiffs(t *testing.T) {
	res := goldenResult(t)
	c := res.Calls[3]
	if len(c.Differences) != 1 || !strings.Contains(c.Differences[0].Diff, "-line two\n+line two changed\n") {
		t.Errorf("text body diff: %+v", c.Differences)
	}
	bin := res.Calls[4]
	if len(bin.Differences) != 1 || !strings.Contains(fmt.Sprint(bin.Differences[0].Live), "length:9") || !strings.Contains(fmt.Sprint(bin.Differences[0].Recorded), "length:7") {
		t.Errorf("binary body diff: %+v", bin.Differences)
	}
}

// TestHTMLEveryOutcome renders every kind of call: a field difference, a
// replaced body, a text diff, a binary body, a header, a skipped call and
// one without answer.
func TestHTMLEveryOutcome(t *testing.T) {
	var b bytes.Buffer
	if err := replay.WriteHTML(&b, goldenResult(t)); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, want := range []string{
		`<article class="fail" id="call-0">`, `$<wbr>.cfg<wbr>.k8sVersion`,
		`<article class="fail" id="call-2">`, `replaced`, `NotFound`,
		`<pre class="diffpre">--- recorded`, `line two changed`,
		`header:<wbr>Content-Type`, `<article class="error" id="call-7">`, `connection refused`,
		`CORS preflight`, `c-q7x2m`, `rancher-volatile`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML report lacks %q", want)
		}
	}
	if m := externalRef.FindString(html); m != "" {
		t.Errorf("the report loads something from elsewhere: %q", m)
	}
}
