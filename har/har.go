// Package har is apitape's one model of an HTTP recording: HAR 1.2 as written by
// browsers, proxies and test tools, read and written in a way that keeps every
// field an exporter added (Chrome's `_resourceType`, Playwright's `_file`,
// mitmproxy's `_webSocketMessages`, …) so that a file passes through capture,
// redact, convert and replay without losing anything.
//
// Large files are read one entry at a time with [Reader]; files are written
// with [Writer], or with [Appender] when a capture must leave a valid file on
// disk after every entry.
package har

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// File is the top-level object of a HAR file.
type File struct {
	Log   *Log   `json:"log"`
	Extra Fields `json:",inline"`
}

// Log is the `log` object. Entries is empty when the log came from a
// streaming [Reader]; the entries were handed out one at a time instead.
type Log struct {
	Version string   `json:"version"`
	Creator Creator  `json:"creator"`
	Browser *Creator `json:"browser,omitzero"`
	Pages   []Page   `json:"pages,omitempty"`
	Entries []*Entry `json:"entries"`
	Comment string   `json:"comment,omitzero"`
	Extra   Fields   `json:",inline"`
}

// Creator names the program that wrote the file (also used for `browser`).
type Creator struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Comment string `json:"comment,omitzero"`
	Extra   Fields `json:",inline"`
}

// Page is one page of a browser recording.
type Page struct {
	StartedDateTime string         `json:"startedDateTime"`
	ID              string         `json:"id"`
	Title           string         `json:"title"`
	PageTimings     jsontext.Value `json:"pageTimings,omitzero"`
	Comment         string         `json:"comment,omitzero"`
	Extra           Fields         `json:",inline"`
}

// Entry is one recorded exchange. StartedDateTime is kept as the recorded
// string: exporters disagree on its precision and zone, and a round trip must
// not rewrite it.
type Entry struct {
	Pageref         string         `json:"pageref,omitzero"`
	StartedDateTime string         `json:"startedDateTime"`
	Time            float64        `json:"time"`
	Request         Request        `json:"request"`
	Response        Response       `json:"response"`
	Cache           jsontext.Value `json:"cache"`
	Timings         Timings        `json:"timings"`
	ServerIPAddress string         `json:"serverIPAddress,omitzero"`
	Connection      string         `json:"connection,omitzero"`
	Comment         string         `json:"comment,omitzero"`
	Extra           Fields         `json:",inline"`
}

// Request is the recorded request. Headers keep their recorded order, case
// and repetition; the body is PostData.Text, byte for byte.
type Request struct {
	Method      string     `json:"method"`
	URL         string     `json:"url"`
	HTTPVersion string     `json:"httpVersion"`
	Cookies     []Cookie   `json:"cookies"`
	Headers     NameValues `json:"headers"`
	QueryString NameValues `json:"queryString"`
	PostData    *PostData  `json:"postData,omitzero"`
	HeadersSize int64      `json:"headersSize"`
	BodySize    int64      `json:"bodySize"`
	Comment     string     `json:"comment,omitzero"`
	Extra       Fields     `json:",inline"`
}

// Response is the recorded response.
type Response struct {
	Status      int        `json:"status"`
	StatusText  string     `json:"statusText"`
	HTTPVersion string     `json:"httpVersion"`
	Cookies     []Cookie   `json:"cookies"`
	Headers     NameValues `json:"headers"`
	Content     Content    `json:"content"`
	RedirectURL string     `json:"redirectURL"`
	HeadersSize int64      `json:"headersSize"`
	BodySize    int64      `json:"bodySize"`
	Comment     string     `json:"comment,omitzero"`
	Extra       Fields     `json:",inline"`
}

// Cookie is a request or response cookie.
type Cookie struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	Path     string `json:"path,omitzero"`
	Domain   string `json:"domain,omitzero"`
	Expires  string `json:"expires,omitzero"`
	HTTPOnly *bool  `json:"httpOnly,omitzero"`
	Secure   *bool  `json:"secure,omitzero"`
	Comment  string `json:"comment,omitzero"`
	Extra    Fields `json:",inline"`
}

// NameValue is a header or a query parameter. Some recorders (Polly.JS)
// write a repeated header as one name with an array of values; Value then
// holds them joined with ", " as HTTP would, and Values the originals, so
// that the array is written back as it was read.
type NameValue struct {
	Name    string   `json:"name"`
	Value   string   `json:"value"`
	Values  []string `json:"-"`
	Comment string   `json:"comment,omitzero"`
	Extra   Fields   `json:",inline"`
}

// NameValues is a list of headers or query parameters; a []NameValue
// converts to it implicitly.
type NameValues []NameValue

// PostData is a request body. Text is authoritative; Params is only a
// parsed view some exporters add (and some write instead of Text).
type PostData struct {
	MimeType string  `json:"mimeType"`
	Params   []Param `json:"params,omitempty"`
	Text     *string `json:"text,omitzero"`
	Comment  string  `json:"comment,omitzero"`
	Extra    Fields  `json:",inline"`
}

// Param is one urlencoded or multipart field of a PostData.
type Param struct {
	Name        string  `json:"name"`
	Value       *string `json:"value,omitzero"`
	FileName    string  `json:"fileName,omitzero"`
	ContentType string  `json:"contentType,omitzero"`
	Comment     string  `json:"comment,omitzero"`
	Extra       Fields  `json:",inline"`
}

// Content is a response body. Text is nil when the exporter did not keep the
// body, which is different from an empty body.
type Content struct {
	Size        int64   `json:"size"`
	Compression *int64  `json:"compression,omitzero"`
	MimeType    string  `json:"mimeType"`
	Text        *string `json:"text,omitzero"`
	Encoding    string  `json:"encoding,omitzero"`
	Comment     string  `json:"comment,omitzero"`
	Extra       Fields  `json:",inline"`
}

// Timings are the phases of an exchange in milliseconds; -1 means not
// applicable. Fractions are kept because capture measures sub-millisecond
// phases on loopback.
type Timings struct {
	Blocked *float64 `json:"blocked,omitzero"`
	DNS     *float64 `json:"dns,omitzero"`
	Connect *float64 `json:"connect,omitzero"`
	Send    float64  `json:"send"`
	Wait    float64  `json:"wait"`
	Receive float64  `json:"receive"`
	SSL     *float64 `json:"ssl,omitzero"`
	Comment string   `json:"comment,omitzero"`
	Extra   Fields   `json:",inline"`
}

// Header returns the first value of the named header (case-insensitive) and
// whether it was present.
func Header(h []NameValue, name string) (string, bool) {
	for _, nv := range h {
		if strings.EqualFold(nv.Name, name) {
			return nv.Value, true
		}
	}
	return "", false
}

// Body returns the request body bytes exactly as recorded. A body that
// apitape's captures marked `_encoding: "base64"` (HAR has no encoding field
// for request bodies, and JSON strings cannot carry arbitrary bytes) is
// decoded. When an exporter kept only `params`, they are encoded once, as a
// form body would have been.
func (r *Request) Body() []byte {
	pd := r.PostData
	if pd == nil {
		return nil
	}
	if pd.Text != nil {
		if pd.IsBase64() {
			if b, err := base64.StdEncoding.DecodeString(*pd.Text); err == nil {
				return b
			}
		}
		return []byte(*pd.Text)
	}
	if len(pd.Params) == 0 {
		return nil
	}
	var b strings.Builder
	for i, p := range pd.Params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(p.Name))
		b.WriteByte('=')
		if p.Value != nil {
			b.WriteString(url.QueryEscape(*p.Value))
		}
	}
	return []byte(b.String())
}

// IsBase64 reports whether Text holds base64 of the real body.
func (pd *PostData) IsBase64() bool {
	raw, ok := pd.Extra.Get("_encoding")
	return ok && strings.EqualFold(string(raw), `"base64"`)
}

// SetBody stores body as Text, as base64 (marked `_encoding`) when it is not
// valid UTF-8.
func (pd *PostData) SetBody(body []byte) {
	pd.Extra.Delete("_encoding")
	if utf8.Valid(body) {
		pd.Text = new(string(body))
		return
	}
	pd.Text = new(base64.StdEncoding.EncodeToString(body))
	pd.Extra.Set("_encoding", "base64")
}

// Bytes returns the body bytes, decoding base64 when Encoding says so. A
// missing body returns nil and ok=false.
func (c *Content) Bytes() (body []byte, ok bool, err error) {
	if c.Text == nil {
		return nil, false, nil
	}
	if strings.EqualFold(c.Encoding, "base64") {
		b, err := base64.StdEncoding.DecodeString(*c.Text)
		if err != nil {
			return nil, true, fmt.Errorf("content.text: invalid base64")
		}
		return b, true, nil
	}
	return []byte(*c.Text), true, nil
}

// SetBytes stores body, as plain text when it is valid UTF-8 and as base64
// otherwise (HAR strings cannot carry arbitrary bytes).
func (c *Content) SetBytes(body []byte) {
	if utf8.Valid(body) {
		c.Text, c.Encoding = new(string(body)), ""
	} else {
		c.Text, c.Encoding = new(base64.StdEncoding.EncodeToString(body)), "base64"
	}
	c.Size = int64(len(body))
}

// String returns a pointer to s, for the optional string fields.
func String(s string) *string { return &s }

// Float returns a pointer to f, for the optional timing fields.
func Float(f float64) *float64 { return &f }
