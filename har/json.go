package har

import (
	"strings"
)

// The methods below route every HAR object through the decoder (parse.go,
// decode.go), which keeps unknown members and names failing fields; an
// entry and what it holds are written by the encoder (encode.go), the
// log and its pages through encoding/json and withExtra.

func (h *HAR) UnmarshalJSON(b []byte) error {
	return decode(b, func(p *parser) error { return p.harObject(h) })
}
func (h HAR) MarshalJSON() ([]byte, error) {
	type plain HAR
	return marshalPlain(plain(h), h.Extra)
}

func (l *Log) UnmarshalJSON(b []byte) error {
	return decode(b, func(p *parser) error { return p.log(l) })
}
func (l Log) MarshalJSON() ([]byte, error) {
	type plain Log
	if l.Entries == nil {
		l.Entries = []*Entry{}
	}
	return marshalPlain(plain(l), l.Extra)
}

func (c *Creator) UnmarshalJSON(b []byte) error {
	return decode(b, func(p *parser) error { return p.creator(c) })
}
func (c Creator) MarshalJSON() ([]byte, error) {
	type plain Creator
	return marshalPlain(plain(c), c.Extra)
}

func (p *Page) UnmarshalJSON(b []byte) error {
	return decode(b, func(d *parser) error { return d.page(p) })
}
func (p Page) MarshalJSON() ([]byte, error) {
	type plain Page
	return marshalPlain(plain(p), p.Extra)
}

func (e *Entry) UnmarshalJSON(b []byte) error {
	return decode(b, func(p *parser) error { return p.entry(e) })
}
func (e Entry) MarshalJSON() ([]byte, error) {
	return encodeWith(4096, func(enc *encoder) { enc.entry(&e) })
}

func (r *Request) UnmarshalJSON(b []byte) error {
	return decode(b, func(p *parser) error { return p.request(r) })
}
func (r Request) MarshalJSON() ([]byte, error) {
	return encodeWith(1024, func(enc *encoder) { enc.request(&r) })
}

func (r *Response) UnmarshalJSON(b []byte) error {
	return decode(b, func(p *parser) error { return p.response(r) })
}
func (r Response) MarshalJSON() ([]byte, error) {
	return encodeWith(1024, func(enc *encoder) { enc.response(&r) })
}

func (c *Cookie) UnmarshalJSON(b []byte) error {
	return decode(b, func(p *parser) error { return p.cookie(c) })
}
func (c Cookie) MarshalJSON() ([]byte, error) {
	return encodeWith(64, func(enc *encoder) { enc.cookie(&c) })
}

func (nv *NameValue) UnmarshalJSON(b []byte) error {
	return decode(b, func(p *parser) error { return p.nameValue(nv) })
}

func (nv NameValue) MarshalJSON() ([]byte, error) {
	return encodeWith(64, func(enc *encoder) { enc.nameValue(&nv) })
}

func (p *PostData) UnmarshalJSON(b []byte) error {
	return decode(b, func(d *parser) error { return d.postData(p) })
}
func (p PostData) MarshalJSON() ([]byte, error) {
	return encodeWith(256, func(enc *encoder) { enc.postData(&p) })
}

func (p *Param) UnmarshalJSON(b []byte) error {
	return decode(b, func(d *parser) error { return d.param(p) })
}
func (p Param) MarshalJSON() ([]byte, error) {
	return encodeWith(64, func(enc *encoder) { enc.param(&p) })
}

func (c *Content) UnmarshalJSON(b []byte) error {
	return decode(b, func(p *parser) error { return p.content(c) })
}
func (c Content) MarshalJSON() ([]byte, error) {
	return encodeWith(256, func(enc *encoder) { enc.content(&c) })
}

func (t *Timings) UnmarshalJSON(b []byte) error {
	return decode(b, func(p *parser) error { return p.timings(t) })
}
func (t Timings) MarshalJSON() ([]byte, error) {
	return encodeWith(128, func(enc *encoder) { enc.timings(&t) })
}

func marshalPlain(v any, extra Fields) ([]byte, error) {
	b, err := marshalNoEscape(v)
	if err != nil {
		return nil, err
	}
	return withExtra(b, extra), nil
}

func joinValues(vs []string) string { return strings.Join(vs, ", ") }
