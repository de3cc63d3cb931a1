package convert

import (
	"io"
	"strings"
	"testing"

	"github.com/apitape/apitape/har"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// spillAndRead spills the entries as the first pass does past its memory
// bound and reads them back through the second pass's source.
func spillAndRead(t *testing.T, es ...*har.Entry) []*har.Entry {
	t.Helper()
	cor := &correlation{spilled: true, sp: &spool{}}
	defer cor.close()
	w, err := har.NewWriter(cor.sp, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range es {
		if err := w.Write(keep(e)); err != nil {
			t.Fatal(err)
		}
		cor.order = append(cor.order, orderItem{index: 2 * i})
		cor.skipped = append(cor.skipped, item{index: 2*i + 1, reason: "websocket"})
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	src := cor.source("x.har")
	var got []*har.Entry
	for i := 0; ; i++ {
		it, err := src.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if it.index != i {
			t.Fatalf("item %d has index %d", i, it.index)
		}
		if i%2 == 1 {
			if it.entry != nil || it.reason != "websocket" {
				t.Fatalf("item %d: want the skipped entry, got %+v", i, it)
			}
			continue
		}
		got = append(got, it.entry)
	}
	if len(got) != len(es) {
		t.Fatalf("read back %d entries of %d", len(got), len(es))
	}
	return got
}

// FuzzSpoolEntry: what the first pass spools of an entry reads back as
// the same request (and status), in the same order as the entries that
// are not converted. The strings are valid UTF-8, as every string the
// HAR reader gives is.
func FuzzSpoolEntry(f *testing.F) {
	f.Add("POST", "https://a.example/v3/x?y=1", "Cookie", "a=1; b=2", "body {\"x\":1}", true, "p", "v", true)
	f.Add("G", "u", "", "", "", false, "", "", false)
	f.Add("GET", "https://a.example/\x00", "X", "\u2028\"\\", "\x00\x01\n", true, "", "", false)
	f.Fuzz(func(t *testing.T, method, url, hname, hvalue, text string, hasText bool, pname, pvalue string, base64 bool) {
		for _, s := range []*string{&method, &url, &hname, &hvalue, &text, &pname, &pvalue} {
			*s = strings.ToValidUTF8(*s, "\uFFFD")
		}
		if method == "" || url == "" {
			t.Skip("the HAR reader refuses an entry without them")
		}
		e := &har.Entry{
			Request: har.Request{Method: method, URL: url,
				Headers: []har.NameValue{{Name: hname, Value: hvalue}, {Name: "Accept", Value: "*/*"}},
				Cookies: []har.Cookie{{Name: hname, Value: hvalue}}},
			Response: har.Response{Status: len(text)},
		}
		pd := &har.PostData{MimeType: hvalue, Params: []har.Param{{Name: pname, Value: &pvalue, FileName: text, ContentType: hname}, {Name: pvalue}}}
		if hasText {
			pd.Text = &text
		}
		if base64 {
			pd.Extra.Set("_encoding", "base64")
		}
		e.Request.PostData = pd
		want := e.Request
		got := spillAndRead(t, e, &har.Entry{Request: har.Request{Method: "GET", URL: "/"}})[0]
		if diff := cmp.Diff(want, got.Request, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("request differs (-spooled +read):\n%s", diff)
		}
		if got.Response.Status != len(text) || got.Request.PostData.IsBase64() != base64 {
			t.Errorf("status %d or base64 %v lost", got.Response.Status, got.Request.PostData.IsBase64())
		}
	})
}
