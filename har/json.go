package har

import (
	"encoding/json"
	"strings"
)

// The methods below route every HAR object through decodeObject and
// withExtra, which is what keeps unknown members and names failing fields.

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
	type plain Entry
	if len(e.Cache) == 0 {
		e.Cache = json.RawMessage("{}")
	}
	return marshalPlain(plain(e), e.Extra)
}

func (r *Request) UnmarshalJSON(b []byte) error {
	return decode(b, func(p *parser) error { return p.request(r) })
}
func (r Request) MarshalJSON() ([]byte, error) {
	type plain Request
	if r.Cookies == nil {
		r.Cookies = []*Cookie{}
	}
	if r.Headers == nil {
		r.Headers = []*NameValue{}
	}
	if r.QueryString == nil {
		r.QueryString = []*NameValue{}
	}
	return marshalPlain(plain(r), r.Extra)
}

func (r *Response) UnmarshalJSON(b []byte) error {
	return decode(b, func(p *parser) error { return p.response(r) })
}
func (r Response) MarshalJSON() ([]byte, error) {
	type plain Response
	if r.Cookies == nil {
		r.Cookies = []*Cookie{}
	}
	if r.Headers == nil {
		r.Headers = []*NameValue{}
	}
	return marshalPlain(plain(r), r.Extra)
}

func (c *Cookie) UnmarshalJSON(b []byte) error {
	return decode(b, func(p *parser) error { return p.cookie(c) })
}
func (c Cookie) MarshalJSON() ([]byte, error) {
	type plain Cookie
	return marshalPlain(plain(c), c.Extra)
}

func (nv *NameValue) UnmarshalJSON(b []byte) error {
	return decode(b, func(p *parser) error { return p.nameValue(nv) })
}

func (nv NameValue) MarshalJSON() ([]byte, error) {
	type plain NameValue
	if nv.Values != nil && joinValues(nv.Values) == nv.Value {
		type arrayValued struct {
			Name    string   `json:"name"`
			Value   []string `json:"value"`
			Comment string   `json:"comment,omitempty"`
		}
		return marshalPlain(arrayValued{nv.Name, nv.Values, nv.Comment}, nv.Extra)
	}
	return marshalPlain(plain(nv), nv.Extra)
}

func (p *PostData) UnmarshalJSON(b []byte) error {
	return decode(b, func(d *parser) error { return d.postData(p) })
}
func (p PostData) MarshalJSON() ([]byte, error) {
	type plain PostData
	return marshalPlain(plain(p), p.Extra)
}

func (p *Param) UnmarshalJSON(b []byte) error {
	return decode(b, func(d *parser) error { return d.param(p) })
}
func (p Param) MarshalJSON() ([]byte, error) {
	type plain Param
	return marshalPlain(plain(p), p.Extra)
}

func (c *Content) UnmarshalJSON(b []byte) error {
	return decode(b, func(p *parser) error { return p.content(c) })
}
func (c Content) MarshalJSON() ([]byte, error) {
	type plain Content
	return marshalPlain(plain(c), c.Extra)
}

func (t *Timings) UnmarshalJSON(b []byte) error {
	return decode(b, func(p *parser) error { return p.timings(t) })
}
func (t Timings) MarshalJSON() ([]byte, error) {
	type plain Timings
	return marshalPlain(plain(t), t.Extra)
}

func marshalPlain(v any, extra Fields) ([]byte, error) {
	b, err := marshalNoEscape(v)
	if err != nil {
		return nil, err
	}
	return withExtra(b, extra), nil
}

func joinValues(vs []string) string { return strings.Join(vs, ", ") }
