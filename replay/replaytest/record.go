// Package replaytest helps test replays: a Recorder that sends real
// requests and keeps each exchange as a HAR entry exactly as a capture
// would, and a small Rancher-like server whose ids, uuids, timestamps and
// links change on every run.
package replaytest

import (
	"bytes"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/apitape/apitape/har"
)

// Recorder sends requests and records them.
type Recorder struct {
	Client  *http.Client
	Base    string // origin and prefix requests go to
	Header  http.Header
	Entries []*har.Entry
}

// NewRecorder records calls to base.
func NewRecorder(base string) *Recorder {
	return &Recorder{
		Client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		Base:   strings.TrimRight(base, "/"),
		Header: http.Header{},
	}
}

// Do sends one call (path relative to Base, body sent as JSON when it is
// not empty) and returns the recorded entry and the decoded body.
func (r *Recorder) Do(method, path, body string, header ...string) (*har.Entry, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, r.Base+path, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range r.Header {
		req.Header[k] = append([]string(nil), v...)
	}
	if body != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	start := time.Now()
	resp, err := r.Client.Do(req)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	e := Entry(req, []byte(body), resp, respBody, start, time.Since(start))
	r.Entries = append(r.Entries, e)
	return e, nil
}

// Entry builds a HAR entry the way Chrome writes one.
func Entry(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte, start time.Time, d time.Duration) *har.Entry {
	e := &har.Entry{
		StartedDateTime: start.UTC().Format(time.RFC3339Nano),
		Time:            float64(d) / float64(time.Millisecond),
		Cache:           []byte("{}"),
	}
	e.Request = har.Request{
		Method:      req.Method,
		URL:         req.URL.String(),
		HTTPVersion: "HTTP/1.1",
		Headers:     append([]har.NameValue{{Name: "Host", Value: req.URL.Host}}, headerList(req.Header)...),
		Cookies:     []har.Cookie{},
		QueryString: []har.NameValue{},
		HeadersSize: -1,
		BodySize:    int64(len(reqBody)),
	}
	q := req.URL.Query()
	for _, k := range slices.Sorted(maps.Keys(q)) {
		for _, v := range q[k] {
			e.Request.QueryString = append(e.Request.QueryString, har.NameValue{Name: k, Value: v})
		}
	}
	if len(reqBody) > 0 {
		e.Request.PostData = &har.PostData{MimeType: req.Header.Get("Content-Type"), Text: har.String(string(reqBody))}
	}
	e.Response = har.Response{
		Status:      resp.StatusCode,
		StatusText:  http.StatusText(resp.StatusCode),
		HTTPVersion: "HTTP/1.1",
		Headers:     headerList(resp.Header),
		Cookies:     []har.Cookie{},
		RedirectURL: resp.Header.Get("Location"),
		HeadersSize: -1,
		BodySize:    int64(len(respBody)),
	}
	e.Response.Content.MimeType = resp.Header.Get("Content-Type")
	e.Response.Content.SetBytes(respBody)
	if err := e.Extra.Set("_resourceType", "xhr"); err != nil {
		panic(err)
	}
	return e
}

func headerList(h http.Header) []har.NameValue {
	var out []har.NameValue
	for _, k := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[k] {
			out = append(out, har.NameValue{Name: k, Value: v})
		}
	}
	return out
}

// HARBytes returns entries as a HAR file.
func HARBytes(entries []*har.Entry) []byte {
	var b bytes.Buffer
	hw, err := har.NewWriter(&b, har.NewLog("test"))
	for _, e := range entries {
		if err == nil {
			err = hw.Write(e)
		}
	}
	if err == nil {
		err = hw.Close()
	}
	if err != nil {
		panic(err)
	}
	return b.Bytes()
}
