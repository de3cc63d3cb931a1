package convert

import (
	"testing"

	"github.com/apitape/apitape/har"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzSpoolEntry: what the first pass spools of an entry reads back as
// the same request (and status), and no input makes readEntry panic.
func FuzzSpoolEntry(f *testing.F) {
	f.Add("POST", "https://a.example/v3/x?y=1", "Cookie", "a=1; b=2", "body {\"x\":1}", true, "p", "v", true)
	f.Add("", "", "", "", "", false, "", "", false)
	f.Add("GET", "https://a.example/\x00", "X", "\xff\xfe", "\x00\x01", true, "", "", false)
	f.Fuzz(func(t *testing.T, method, url, hname, hvalue, text string, hasText bool, pname, pvalue string, base64 bool) {
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
		enc := appendEntry(nil, e)
		got, err := readEntry(enc)
		if err != nil {
			t.Fatalf("readEntry: %v", err)
		}
		if diff := cmp.Diff(e.Request, got.Request, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("request differs (-spooled +read):\n%s", diff)
		}
		if got.Response.Status != e.Response.Status || got.Request.PostData.IsBase64() != base64 {
			t.Errorf("status %d or base64 %v lost", got.Response.Status, got.Request.PostData.IsBase64())
		}
		// Any cut of the encoding is an error, not a panic.
		for i := range enc {
			if _, err := readEntry(enc[:i]); err == nil {
				t.Fatalf("readEntry accepts the encoding cut at %d of %d", i, len(enc))
			}
		}
		readEntry([]byte(url + text)) // garbage: must not panic
	})
}
