package correlate

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/apitape/apitape/har"
)

// String is the canonical --var form, which ParseManual reads back.
func (m Manual) String() string {
	src := m.Source.Path
	if m.Source.Kind != KindJSON {
		src = m.Source.Kind + ":" + m.Source.Path
	}
	return m.Name + "=" + src + "@" + strconv.Itoa(m.Entry)
}

// Lookup returns the variable with the given name, or nil.
func (m *Model) Lookup(name string) *Var {
	for _, v := range m.Vars {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// Extract returns the value at path in the JSON document body as the text
// `jq -er '<path>'` prints for it: a string as is, a number as written. It
// reports false for an invalid path or document, a missing member, null,
// booleans, objects and arrays, the cases an emitter treats as "no value".
func Extract(body []byte, path string) (string, bool) {
	p, err := ParsePath(path)
	if err != nil {
		return "", false
	}
	doc, ok := decodeJSON(body)
	if !ok {
		return "", false
	}
	v, ok := p.Eval(doc)
	if !ok {
		return "", false
	}
	return scalarText(v)
}

// rec is a compact recorded exchange for tests.
type rec struct {
	Method, URL string
	Header      []string // "Name: value"
	Body        string
	Status      int
	RespHeader  []string
	Resp        string
}

func (c rec) entry() *har.Entry {
	e := &har.Entry{
		StartedDateTime: "2025-03-14T09:26:53.000Z",
		Request:         har.Request{Method: c.Method, URL: c.URL, HTTPVersion: "HTTP/1.1"},
		Response:        har.Response{Status: c.Status, HTTPVersion: "HTTP/1.1"},
	}
	if e.Response.Status == 0 {
		e.Response.Status = 200
	}
	_, _, query, _ := SplitURL(c.URL)
	if query != "" {
		for _, kv := range strings.Split(query, "&") {
			k, v, _ := strings.Cut(kv, "=")
			e.Request.QueryString = append(e.Request.QueryString, har.NameValue{Name: k, Value: v})
		}
	}
	for _, h := range c.Header {
		k, v, _ := strings.Cut(h, ": ")
		e.Request.Headers = append(e.Request.Headers, har.NameValue{Name: k, Value: v})
	}
	if c.Body != "" {
		mime := "application/json"
		if !strings.HasPrefix(c.Body, "{") {
			mime = "application/x-www-form-urlencoded"
		}
		e.Request.Headers = append(e.Request.Headers, har.NameValue{Name: "Content-Type", Value: mime})
		e.Request.PostData = &har.PostData{MimeType: mime, Text: har.String(c.Body)}
		e.Request.BodySize = int64(len(c.Body))
	}
	for _, h := range c.RespHeader {
		k, v, _ := strings.Cut(h, ": ")
		e.Response.Headers = append(e.Response.Headers, har.NameValue{Name: k, Value: v})
	}
	if c.Resp != "" {
		e.Response.Headers = append(e.Response.Headers, har.NameValue{Name: "Content-Type", Value: "application/json"})
		e.Response.Content = har.Content{Size: int64(len(c.Resp)), MimeType: "application/json", Text: har.String(c.Resp)}
	}
	return e
}

func entries(calls []rec) []*har.Entry {
	out := make([]*har.Entry, len(calls))
	for i, c := range calls {
		out[i] = c.entry()
	}
	return out
}

// summary renders a model compactly for table tests:
// "NAME=value @3 .id: 4 url.path[13,20) | 5 body[12,19) url".
func summary(m *Model) []string {
	var out []string
	for _, v := range m.Vars {
		var uses []string
		for _, u := range v.Uses {
			s := fmt.Sprintf("%d %s[%d,%d)", u.Entry, u.Where, u.Start, u.End)
			if u.Encoded != "" {
				s += " " + u.Encoded
			}
			uses = append(uses, s)
		}
		out = append(out, fmt.Sprintf("%s=%s @%d %s: %s", v.Name, v.Value, v.Producer, v.Source, strings.Join(uses, " | ")))
	}
	return out
}

// checkInvariants verifies what every model must satisfy whatever the
// session: uses come after their producer, spans hold the value, uses in
// one field do not overlap, and Rewrite gives the field back part by part.
func checkInvariants(t *testing.T, es []*har.Entry, indexes []int, m *Model) {
	t.Helper()
	if indexes == nil {
		indexes = make([]int, len(es))
		for i := range es {
			indexes[i] = i
		}
	}
	texts := map[useKey]string{}
	for k, e := range es {
		_, fields := requestFields(e, nil, nil)
		for _, f := range fields {
			texts[useKey{indexes[k], f.where}] = f.text
		}
	}
	names := map[string]bool{}
	for _, v := range m.Vars {
		if names[v.Name] {
			t.Errorf("duplicate name %s", v.Name)
		}
		names[v.Name] = true
		if err := checkName(v.Name); err != nil {
			t.Errorf("bad name %s: %v", v.Name, err)
		}
		for _, u := range v.Uses {
			if u.Entry <= v.Producer {
				t.Errorf("%s: use in entry %d not after producer %d", v.Name, u.Entry, v.Producer)
			}
			text, ok := texts[useKey{u.Entry, u.Where}]
			if !ok || u.Start < 0 || u.End > len(text) || !v.heldBy(text[u.Start:u.End], u.Encoded) {
				t.Errorf("%s: use %+v does not hold the value", v.Name, u)
			}
		}
	}
	for k, text := range texts {
		parts := m.Rewrite(k.entry, k.where, text)
		var b strings.Builder
		for _, p := range parts {
			b.WriteString(p.Text)
			if p.Var != nil && !p.Var.heldBy(p.Text, p.Encoded) {
				t.Errorf("entry %d %s: part %q is not %s", k.entry, k.where, p.Text, p.Var.Name)
			}
		}
		if b.String() != text {
			t.Errorf("entry %d %s: Rewrite parts do not give the text back", k.entry, k.where)
		}
		if want := len(m.uses[k]); countVars(parts) != want {
			t.Errorf("entry %d %s: %d variable parts, %d uses", k.entry, k.where, countVars(parts), want)
		}
	}
}

func countVars(parts []Part) int {
	n := 0
	for _, p := range parts {
		if p.Var != nil {
			n++
		}
	}
	return n
}
