package har

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// The encoder's oracle: encoding/json on mirrors of the HAR types, which is
// how entries were written before the encoder existed.

type oEntry struct {
	Pageref         string          `json:"pageref,omitempty"`
	StartedDateTime string          `json:"startedDateTime"`
	Time            float64         `json:"time"`
	Request         oRequest        `json:"request"`
	Response        oResponse       `json:"response"`
	Cache           json.RawMessage `json:"cache"`
	Timings         oTimings        `json:"timings"`
	ServerIPAddress string          `json:"serverIPAddress,omitempty"`
	Connection      string          `json:"connection,omitempty"`
	Comment         string          `json:"comment,omitempty"`
	extra           Fields
}

type oRequest struct {
	Method      string        `json:"method"`
	URL         string        `json:"url"`
	HTTPVersion string        `json:"httpVersion"`
	Cookies     []*oCookie    `json:"cookies"`
	Headers     []*oNameValue `json:"headers"`
	QueryString []*oNameValue `json:"queryString"`
	PostData    *oPostData    `json:"postData,omitempty"`
	HeadersSize int64         `json:"headersSize"`
	BodySize    int64         `json:"bodySize"`
	Comment     string        `json:"comment,omitempty"`
	extra       Fields
}

type oResponse struct {
	Status      int           `json:"status"`
	StatusText  string        `json:"statusText"`
	HTTPVersion string        `json:"httpVersion"`
	Cookies     []*oCookie    `json:"cookies"`
	Headers     []*oNameValue `json:"headers"`
	Content     oContent      `json:"content"`
	RedirectURL string        `json:"redirectURL"`
	HeadersSize int64         `json:"headersSize"`
	BodySize    int64         `json:"bodySize"`
	Comment     string        `json:"comment,omitempty"`
	extra       Fields
}

type oCookie struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	Path     string `json:"path,omitempty"`
	Domain   string `json:"domain,omitempty"`
	Expires  string `json:"expires,omitempty"`
	HTTPOnly *bool  `json:"httpOnly,omitempty"`
	Secure   *bool  `json:"secure,omitempty"`
	Comment  string `json:"comment,omitempty"`
	extra    Fields
}

type oNameValue struct {
	Name    string `json:"name"`
	Value   any    `json:"value"`
	Comment string `json:"comment,omitempty"`
	extra   Fields
}

type oPostData struct {
	MimeType string    `json:"mimeType"`
	Params   []*oParam `json:"params,omitempty"`
	Text     *string   `json:"text,omitempty"`
	Comment  string    `json:"comment,omitempty"`
	extra    Fields
}

type oParam struct {
	Name        string  `json:"name"`
	Value       *string `json:"value,omitempty"`
	FileName    string  `json:"fileName,omitempty"`
	ContentType string  `json:"contentType,omitempty"`
	Comment     string  `json:"comment,omitempty"`
	extra       Fields
}

type oContent struct {
	Size        int64   `json:"size"`
	Compression *int64  `json:"compression,omitempty"`
	MimeType    string  `json:"mimeType"`
	Text        *string `json:"text,omitempty"`
	Encoding    string  `json:"encoding,omitempty"`
	Comment     string  `json:"comment,omitempty"`
	extra       Fields
}

type oTimings struct {
	Blocked *float64 `json:"blocked,omitempty"`
	DNS     *float64 `json:"dns,omitempty"`
	Connect *float64 `json:"connect,omitempty"`
	Send    float64  `json:"send"`
	Wait    float64  `json:"wait"`
	Receive float64  `json:"receive"`
	SSL     *float64 `json:"ssl,omitempty"`
	Comment string   `json:"comment,omitempty"`
	extra   Fields
}

func (o oEntry) MarshalJSON() ([]byte, error) {
	type plain oEntry
	if len(o.Cache) == 0 {
		o.Cache = json.RawMessage("{}")
	}
	return marshalPlain(plain(o), o.extra)
}
func (o oRequest) MarshalJSON() ([]byte, error) {
	type plain oRequest
	return marshalPlain(plain(o), o.extra)
}
func (o oResponse) MarshalJSON() ([]byte, error) {
	type plain oResponse
	return marshalPlain(plain(o), o.extra)
}
func (o oCookie) MarshalJSON() ([]byte, error) {
	type plain oCookie
	return marshalPlain(plain(o), o.extra)
}
func (o oNameValue) MarshalJSON() ([]byte, error) {
	type plain oNameValue
	return marshalPlain(plain(o), o.extra)
}
func (o oPostData) MarshalJSON() ([]byte, error) {
	type plain oPostData
	return marshalPlain(plain(o), o.extra)
}
func (o oParam) MarshalJSON() ([]byte, error) {
	type plain oParam
	return marshalPlain(plain(o), o.extra)
}
func (o oContent) MarshalJSON() ([]byte, error) {
	type plain oContent
	return marshalPlain(plain(o), o.extra)
}
func (o oTimings) MarshalJSON() ([]byte, error) {
	type plain oTimings
	return marshalPlain(plain(o), o.extra)
}

func mirrorCookies(cs []Cookie) []*oCookie {
	out := []*oCookie{}
	for _, c := range cs {
		out = append(out, &oCookie{c.Name, c.Value, c.Path, c.Domain, c.Expires, c.HTTPOnly, c.Secure, c.Comment, c.Extra})
	}
	return out
}

func mirrorNameValues(nvs []NameValue) []*oNameValue {
	out := []*oNameValue{}
	for _, nv := range nvs {
		var v any = nv.Value
		if nv.Values != nil && joinValues(nv.Values) == nv.Value {
			v = nv.Values
		}
		out = append(out, &oNameValue{nv.Name, v, nv.Comment, nv.Extra})
	}
	return out
}

func mirror(e *Entry) oEntry {
	r, s := &e.Request, &e.Response
	o := oEntry{Pageref: e.Pageref, StartedDateTime: e.StartedDateTime, Time: e.Time, Cache: json.RawMessage(e.Cache),
		ServerIPAddress: e.ServerIPAddress, Connection: e.Connection, Comment: e.Comment, extra: e.Extra}
	o.Request = oRequest{r.Method, r.URL, r.HTTPVersion, mirrorCookies(r.Cookies), mirrorNameValues(r.Headers),
		mirrorNameValues(r.QueryString), nil, r.HeadersSize, r.BodySize, r.Comment, r.Extra}
	if pd := r.PostData; pd != nil {
		op := &oPostData{MimeType: pd.MimeType, Text: pd.Text, Comment: pd.Comment, extra: pd.Extra}
		for _, p := range pd.Params {
			op.Params = append(op.Params, &oParam{p.Name, p.Value, p.FileName, p.ContentType, p.Comment, p.Extra})
		}
		o.Request.PostData = op
	}
	c := &s.Content
	o.Response = oResponse{s.Status, s.StatusText, s.HTTPVersion, mirrorCookies(s.Cookies), mirrorNameValues(s.Headers),
		oContent{c.Size, c.Compression, c.MimeType, c.Text, c.Encoding, c.Comment, c.Extra},
		s.RedirectURL, s.HeadersSize, s.BodySize, s.Comment, s.Extra}
	t := &e.Timings
	o.Timings = oTimings{t.Blocked, t.DNS, t.Connect, t.Send, t.Wait, t.Receive, t.SSL, t.Comment, t.Extra}
	return o
}

// fields builds unknown members from the inside of a JSON object.
func fields(members string) Fields { return Fields{Members: jsontext.Value("{" + members + "}")} }

func marshalPlain(v any, extra Fields) ([]byte, error) {
	b, err := marshalNoEscape(v)
	if err != nil {
		return nil, err
	}
	for n, raw := range extra.All() {
		name, _ := marshalNoEscape(n)
		b = b[:len(b)-1] // the closing brace
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(append(append(b, name...), ':'), raw...)
		b = append(b, '}')
	}
	return b, nil
}

// marshalNoEscape is encoding/json without HTML escaping.
func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// checkEncoder compares the encoder's output for e with the oracle's.
func checkEncoder(t *testing.T, what string, e *Entry) {
	t.Helper()
	got, gerr := e.MarshalJSON()
	want, werr := marshalNoEscape(mirror(e))
	// encoding/json writes invalid UTF-8 as the escape \ufffd, the JSON
	// library as the character itself: the same JSON text.
	want = bytes.ReplaceAll(want, []byte(`\ufffd`), []byte("\ufffd"))
	if (gerr != nil) != (werr != nil) {
		t.Fatalf("%s: encoder error %v, encoding/json error %v", what, gerr, werr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: the encoder writes\n%s\nencoding/json writes\n%s", what, got, want)
	}
}

// TestEncoderMatchesEncodingJSON: every entry of the corpus, and entries
// built to reach every branch, are written exactly as encoding/json
// writes them.
func TestEncoderMatchesEncodingJSON(t *testing.T) {
	yes, no := true, false
	f := func(v float64) *float64 { return &v }
	n := int64(-3)
	tests := []struct {
		reason string
		entry  Entry
	}{
		{"zero entry", Entry{}},
		{"strings that need escaping", Entry{StartedDateTime: "\"\\\b\f\n\r\t\x00\x1f\x7f<>&\u2028\u2029\xff\xc3(é🚀",
			Request: Request{Method: "GET", URL: "https://a.example/?q=<b>&x=1", Headers: []NameValue{{Name: "X-A", Value: "a\u2029b"}}}}},
		{"floats in every form", Entry{Time: 1e21, Timings: Timings{Blocked: f(1e-7), DNS: f(-1), Connect: f(0.000001), Send: 123456789.125, Wait: -0.5, Receive: 1e-300, SSL: f(5e-324)}}},
		{"every optional member", Entry{Pageref: "p", ServerIPAddress: "::1", Connection: "443", Comment: "c", Cache: jsontext.Value(` { "a" : [ 1 , 2 ] } `),
			Request: Request{Cookies: []Cookie{{Name: "a", Value: "b", Path: "/", Domain: "d", Expires: "e", HTTPOnly: &yes, Secure: &no, Comment: "c"}},
				PostData:    &PostData{MimeType: "m", Params: []Param{{Name: "n", Value: new(string), FileName: "f", ContentType: "t", Comment: "c"}}, Text: new(string), Comment: "c"},
				HeadersSize: -1, BodySize: 1 << 40, Comment: "c"},
			Response: Response{Status: 201, Content: Content{Size: -1, Compression: &n, Text: new(string), Encoding: "base64", Comment: "c"}, Comment: "c"}}},
		{"unknown members everywhere", Entry{Extra: fields(`"_a":{"x":1},"_\"q\"":null`),
			Request:  Request{Extra: fields(`"_r":true`), Headers: []NameValue{{Name: "a", Extra: fields(`"_h":1`)}}},
			Response: Response{Content: Content{Extra: fields(`"_c":"z"`)}},
			Timings:  Timings{Extra: fields(`"_t":[]`)}}},
		{"array-valued header (Polly.JS)", Entry{Request: Request{Headers: []NameValue{{Name: "a", Value: "1, 2", Values: []string{"1", "2"}}, {Name: "b", Value: "x", Values: []string{"y"}}}}}},
	}
	for _, tt := range tests {
		checkEncoder(t, tt.reason, &tt.entry)
	}
	// NaN and infinities: an error, as encoding/json gives.
	for _, v := range []float64{math.NaN(), math.Inf(1)} {
		e := Entry{Time: v}
		if _, err := e.MarshalJSON(); err == nil {
			t.Errorf("time %v: no error", v)
		}
	}
	// Invalid raw JSON in cache: an error too.
	bad := Entry{Cache: jsontext.Value(`{`)}
	if _, err := bad.MarshalJSON(); err == nil {
		t.Errorf("invalid cache JSON: no error")
	}

	dir, err := filepath.Abs(filepath.Join("..", "..", "shared", "har-corpus"))
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.har"))
	if len(files) == 0 {
		t.Logf("skipping the corpus: %s has no HAR files", dir)
	}
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		r := NewReader(f, filepath.Base(p))
		for {
			e, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			checkEncoder(t, filepath.Base(p), e)
		}
		f.Close()
	}
}

// FuzzEncoder: for arbitrary strings and numbers in every kind of field,
// the encoder writes what encoding/json writes.
func FuzzEncoder(f *testing.F) {
	f.Add("GET", "https://a.example/\u2028", "X-\xff", "\x00\"\\", "{\"a\":1}", 1.5, int64(200), true)
	f.Add("", "", "", "", "", 1e-7, int64(-1), false)
	f.Add("\u2029", "<&>", "\xc3", "\t\b\f", "\U0001F680", 1e21, int64(1)<<62, true)
	f.Fuzz(func(t *testing.T, method, url, name, value, text string, num float64, size int64, flag bool) {
		if math.IsNaN(num) || math.IsInf(num, 0) {
			return
		}
		e := Entry{StartedDateTime: value, Time: num, Pageref: name,
			Request: Request{Method: method, URL: url, HeadersSize: size,
				Headers:     []NameValue{{Name: name, Value: value, Comment: text}},
				QueryString: []NameValue{{Name: value, Value: name + ", " + text, Values: []string{name, text}}},
				Cookies:     []Cookie{{Name: name, Value: value, HTTPOnly: &flag}},
				PostData:    &PostData{MimeType: name, Text: &text, Params: []Param{{Name: text, Value: &value}}}},
			Response: Response{Status: int(size % 1000), Content: Content{Size: size, Text: &text, MimeType: value}},
			Timings:  Timings{Send: num, Wait: -num, Blocked: &num}}
		checkEncoder(t, "fuzz", &e)
	})
}
