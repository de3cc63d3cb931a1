package har

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// An encoder writes an entry and everything in it as JSON in one pass:
// byte for byte what encoding/json writes for these types (HTML escaping
// off), with each object's unknown members after its known ones. Going
// through encoding/json for every nested object compacted and checked
// each one again at every level, about 60 µs for a 4 KB entry; captures
// write every entry they record.
type encoder struct {
	b   []byte
	err error
}

func (e *encoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// An object is written member by member; member adds the comma and the
// name.
type object struct {
	e     *encoder
	first bool
}

func (e *encoder) object() object {
	e.b = append(e.b, '{')
	return object{e, true}
}

func (o *object) member(name string) {
	if !o.first {
		o.e.b = append(o.e.b, ',')
	}
	o.first = false
	o.e.b = appendJSONString(o.e.b, name)
	o.e.b = append(o.e.b, ':')
}

func (o *object) str(name, v string) {
	o.member(name)
	o.e.b = appendJSONString(o.e.b, v)
}

func (o *object) strOmit(name, v string) {
	if v != "" {
		o.str(name, v)
	}
}

func (o *object) strPtr(name string, v *string) {
	if v != nil {
		o.str(name, *v)
	}
}

func (o *object) int(name string, v int64) {
	o.member(name)
	o.e.b = strconv.AppendInt(o.e.b, v, 10)
}

func (o *object) float(name string, v float64) {
	o.member(name)
	o.e.float(v)
}

func (o *object) floatPtr(name string, v *float64) {
	if v != nil {
		o.float(name, *v)
	}
}

func (o *object) boolPtr(name string, v *bool) {
	if v != nil {
		o.member(name)
		o.e.b = strconv.AppendBool(o.e.b, *v)
	}
}

// raw writes a json.RawMessage as encoding/json does: checked and
// compacted, null when nil.
func (o *object) raw(name string, v json.RawMessage) {
	o.member(name)
	if v == nil {
		o.e.b = append(o.e.b, "null"...)
		return
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, v); err != nil {
		o.e.fail(fmt.Errorf("json: error calling MarshalJSON for type json.RawMessage: %w", err))
		return
	}
	o.e.b = append(o.e.b, buf.Bytes()...)
}

// end writes the unknown members, as they were read, and closes.
func (o *object) end(extra Fields) {
	for _, f := range extra {
		o.member(f.Name)
		if len(f.Value) == 0 {
			o.e.b = append(o.e.b, "null"...)
		} else {
			o.e.b = append(o.e.b, f.Value...)
		}
	}
	o.e.b = append(o.e.b, '}')
}

// float is encoding/json's float64 format: the shortest representation,
// exponent form outside [1e-6, 1e21), e-07 written e-7.
func (e *encoder) float(f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		e.fail(fmt.Errorf("json: unsupported value: %s", strconv.FormatFloat(f, 'g', -1, 64)))
		e.b = append(e.b, '0')
		return
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	e.b = strconv.AppendFloat(e.b, f, format, -1, 64)
	if format == 'e' {
		if n := len(e.b); n >= 4 && e.b[n-4] == 'e' && e.b[n-3] == '-' && e.b[n-2] == '0' {
			e.b[n-2] = e.b[n-1]
			e.b = e.b[:n-1]
		}
	}
}

const hexDigits = "0123456789abcdef"

// appendJSONString is encoding/json's string encoding without HTML
// escaping: quotes, backslashes and control characters escaped, invalid
// UTF-8 as \ufffd, U+2028 and U+2029 escaped for JavaScript.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func (e *encoder) entry(en *Entry) {
	o := e.object()
	o.strOmit("pageref", en.Pageref)
	o.str("startedDateTime", en.StartedDateTime)
	o.float("time", en.Time)
	o.member("request")
	e.request(&en.Request)
	o.member("response")
	e.response(&en.Response)
	if len(en.Cache) == 0 {
		o.member("cache")
		e.b = append(e.b, "{}"...)
	} else {
		o.raw("cache", en.Cache)
	}
	o.member("timings")
	e.timings(&en.Timings)
	o.strOmit("serverIPAddress", en.ServerIPAddress)
	o.strOmit("connection", en.Connection)
	o.strOmit("comment", en.Comment)
	o.end(en.Extra)
}

func (e *encoder) request(r *Request) {
	o := e.object()
	o.str("method", r.Method)
	o.str("url", r.URL)
	o.str("httpVersion", r.HTTPVersion)
	o.member("cookies")
	e.cookies(r.Cookies)
	o.member("headers")
	e.nameValues(r.Headers)
	o.member("queryString")
	e.nameValues(r.QueryString)
	if r.PostData != nil {
		o.member("postData")
		e.postData(r.PostData)
	}
	o.int("headersSize", r.HeadersSize)
	o.int("bodySize", r.BodySize)
	o.strOmit("comment", r.Comment)
	o.end(r.Extra)
}

func (e *encoder) response(r *Response) {
	o := e.object()
	o.int("status", int64(r.Status))
	o.str("statusText", r.StatusText)
	o.str("httpVersion", r.HTTPVersion)
	o.member("cookies")
	e.cookies(r.Cookies)
	o.member("headers")
	e.nameValues(r.Headers)
	o.member("content")
	e.content(&r.Content)
	o.str("redirectURL", r.RedirectURL)
	o.int("headersSize", r.HeadersSize)
	o.int("bodySize", r.BodySize)
	o.strOmit("comment", r.Comment)
	o.end(r.Extra)
}

// list writes a JSON array of objects; a nil element is null, as
// encoding/json writes it.
func list[T any](e *encoder, items []*T, write func(*T)) {
	e.b = append(e.b, '[')
	for i, it := range items {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		if it == nil {
			e.b = append(e.b, "null"...)
			continue
		}
		write(it)
	}
	e.b = append(e.b, ']')
}

func (e *encoder) cookies(cs []*Cookie) { list(e, cs, e.cookie) }

func (e *encoder) cookie(c *Cookie) {
	o := e.object()
	o.str("name", c.Name)
	o.str("value", c.Value)
	o.strOmit("path", c.Path)
	o.strOmit("domain", c.Domain)
	o.strOmit("expires", c.Expires)
	o.boolPtr("httpOnly", c.HTTPOnly)
	o.boolPtr("secure", c.Secure)
	o.strOmit("comment", c.Comment)
	o.end(c.Extra)
}

func (e *encoder) nameValues(nvs []*NameValue) { list(e, nvs, e.nameValue) }

func (e *encoder) nameValue(nv *NameValue) {
	o := e.object()
	o.str("name", nv.Name)
	if nv.Values != nil && joinValues(nv.Values) == nv.Value {
		// Polly.JS's array of values, written back as it was read.
		o.member("value")
		e.b = append(e.b, '[')
		for i, v := range nv.Values {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			e.b = appendJSONString(e.b, v)
		}
		e.b = append(e.b, ']')
	} else {
		o.str("value", nv.Value)
	}
	o.strOmit("comment", nv.Comment)
	o.end(nv.Extra)
}

func (e *encoder) postData(p *PostData) {
	o := e.object()
	o.str("mimeType", p.MimeType)
	if len(p.Params) > 0 {
		o.member("params")
		list(e, p.Params, e.param)
	}
	o.strPtr("text", p.Text)
	o.strOmit("comment", p.Comment)
	o.end(p.Extra)
}

func (e *encoder) param(p *Param) {
	o := e.object()
	o.str("name", p.Name)
	o.strPtr("value", p.Value)
	o.strOmit("fileName", p.FileName)
	o.strOmit("contentType", p.ContentType)
	o.strOmit("comment", p.Comment)
	o.end(p.Extra)
}

func (e *encoder) content(c *Content) {
	o := e.object()
	o.int("size", c.Size)
	if c.Compression != nil {
		o.int("compression", *c.Compression)
	}
	o.str("mimeType", c.MimeType)
	o.strPtr("text", c.Text)
	o.strOmit("encoding", c.Encoding)
	o.strOmit("comment", c.Comment)
	o.end(c.Extra)
}

func (e *encoder) timings(t *Timings) {
	o := e.object()
	o.floatPtr("blocked", t.Blocked)
	o.floatPtr("dns", t.DNS)
	o.floatPtr("connect", t.Connect)
	o.float("send", t.Send)
	o.float("wait", t.Wait)
	o.float("receive", t.Receive)
	o.floatPtr("ssl", t.SSL)
	o.strOmit("comment", t.Comment)
	o.end(t.Extra)
}

// encodeWith runs one of the encoder's methods into a fresh buffer.
func encodeWith(size int, write func(e *encoder)) ([]byte, error) {
	e := &encoder{b: make([]byte, 0, size)}
	write(e)
	if e.err != nil {
		return nil, e.err
	}
	return e.b, nil
}
