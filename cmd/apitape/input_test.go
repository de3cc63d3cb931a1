package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["deephar"] = cmdDeepHAR
	scriptCmds["deepserver"] = cmdDeepServer
	scriptCmds["notmp"] = cmdNoTmp
	scriptCmds["formserver"] = cmdFormServer
}

// deepJSON is n nested arrays.
func deepJSON(n int) []byte {
	return append(bytes.Repeat([]byte("["), n), bytes.Repeat([]byte("]"), n)...)
}

// cmdDeepHAR writes a HAR of one API call with JSON nested N deep: in an
// unknown member of the entry (member), before the entries (head), or as
// the response body (body). The file is made by the test, not committed:
// 2,000,000 levels are 4 MB.
//
//	deephar FILE N member|head|body
func cmdDeepHAR(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: deephar FILE N member|head|body")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	deep := deepJSON(n)
	text := `{}`
	var head, member []byte
	switch args[2] {
	case "member":
		member = append([]byte(`,"_x":`), deep...)
	case "head":
		head = append(append([]byte(`"_x":`), deep...), ',')
	case "body":
		b, _ := json.Marshal(string(deep))
		text = string(b[1 : len(b)-1])
	default:
		ts.Fatalf("deephar: where: member, head or body")
	}
	var b bytes.Buffer
	b.WriteString(`{"log":{"version":"1.2","creator":{"name":"t","version":"1"},`)
	b.Write(head)
	b.WriteString(`"entries":[{"startedDateTime":"2024-01-01T00:00:00Z","time":1,` +
		`"request":{"method":"GET","url":"http://127.0.0.1:9/v3/clusters","httpVersion":"HTTP/1.1","cookies":[],"headers":[{"name":"Accept","value":"application/json"}],"queryString":[],"headersSize":-1,"bodySize":0},` +
		`"response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","cookies":[],"headers":[{"name":"Content-Type","value":"application/json"}],` +
		`"content":{"size":2,"mimeType":"application/json","text":"` + text + `"},"redirectURL":"","headersSize":-1,"bodySize":2},` +
		`"cache":{},"timings":{"send":0,"wait":1,"receive":0}`)
	b.Write(member)
	b.WriteString("}]}}\n")
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), b.Bytes(), 0o600))
}

// cmdDeepServer starts a server on 127.0.0.1 that answers every request
// with JSON nested N deep, and sets $NAME to its URL.
//
//	deepserver NAME N
func cmdDeepServer(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: deepserver NAME N")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	body := deepJSON(n)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	ts.Defer(srv.Close)
	ts.Setenv(args[0], srv.URL)
}

// cmdNoTmp fails when DIR holds a temporary file an output left behind.
//
//	notmp DIR
func cmdNoTmp(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: notmp DIR")
	}
	des, err := os.ReadDir(ts.MkAbs(args[0]))
	ts.Check(err)
	for _, de := range des {
		if de.Name() == ".tmp" && de.IsDir() {
			continue // testscript's $TMPDIR
		}
		if strings.Contains(de.Name(), ".tmp") {
			ts.Fatalf("%s left behind", de.Name())
		}
	}
}

// cmdFormServer starts a server on 127.0.0.1 that parses each request as
// a multipart form with net/http and answers with what it read, and sets
// $NAME to its URL.
//
//	formserver NAME
func cmdFormServer(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: formserver NAME")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			http.Error(w, "not a multipart form: "+err.Error(), http.StatusBadRequest)
			return
		}
		var b strings.Builder
		for name, vs := range r.MultipartForm.Value {
			b.WriteString("field " + name + "=" + strings.Join(vs, ",") + "\n")
		}
		for name, fhs := range r.MultipartForm.File {
			for _, fh := range fhs {
				b.WriteString("file " + name + "=" + fh.Filename + " (" + fh.Header.Get("Content-Type") + ")\n")
			}
		}
		w.Write([]byte(b.String()))
	}))
	ts.Defer(srv.Close)
	ts.Setenv(args[0], srv.URL)
}
