package har

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
)

// Field is a member of a HAR object that this model has no typed field for,
// kept verbatim so a read-write round trip loses nothing.
type Field struct {
	Name  string
	Value json.RawMessage
}

// Fields are the unknown members of an object, in the order they were read.
type Fields []Field

// Get returns the raw JSON of the named member.
func (fs Fields) Get(name string) (json.RawMessage, bool) {
	for _, f := range fs {
		if f.Name == name {
			return f.Value, true
		}
	}
	return nil, false
}

// Set stores v (marshalled to JSON) under name, replacing an existing member.
func (fs *Fields) Set(name string, v any) error {
	raw, err := marshalNoEscape(v)
	if err != nil {
		return err
	}
	for i := range *fs {
		if (*fs)[i].Name == name {
			(*fs)[i].Value = raw
			return nil
		}
	}
	*fs = append(*fs, Field{Name: name, Value: raw})
	return nil
}

// Delete removes the named member.
func (fs *Fields) Delete(name string) {
	out := (*fs)[:0]
	for _, f := range *fs {
		if f.Name != name {
			out = append(out, f)
		}
	}
	*fs = out
}

// FieldError locates a problem inside a HAR value: Path is like
// "request.headers[2].value".
type FieldError struct {
	Path string
	Err  error
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return e.Path + ": " + e.Err.Error()
}

func (e *FieldError) Unwrap() error { return e.Err }

func prefixPath(prefix string, err error) error {
	var fe *FieldError
	if errors.As(err, &fe) {
		return &FieldError{Path: joinPath(prefix, fe.Path), Err: fe.Err}
	}
	return &FieldError{Path: strings.Clone(prefix), Err: err}
}

// maxPath bounds a field path in an error: a value nested ten thousand
// levels deep would otherwise make a 30 KB error line. The outer members,
// which say where the value is, are kept.
const maxPath = 60

// joinPath puts an outer member (prefix) before an inner path.
func joinPath(prefix, inner string) string {
	p := strings.Clone(prefix)
	if inner != "" {
		if strings.HasPrefix(inner, "[") {
			p += inner
		} else {
			p += "." + inner
		}
	}
	if len(p) > maxPath {
		cut := strings.LastIndexAny(p[:maxPath], ".[")
		if cut <= 0 {
			cut = maxPath
		}
		p = p[:cut] + "…"
	}
	return p
}

// compact copies raw without insignificant white space, so that a value
// compares equal before and after a round trip.
func compact(raw []byte) json.RawMessage {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return append(json.RawMessage(nil), raw...)
	}
	return b.Bytes()
}

// marshalNoEscape is json.Marshal without HTML escaping: recorded bodies
// full of `<` and `&` should stay readable and diffable.
func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// withExtra appends the unknown members after the known ones.
func withExtra(known []byte, extra Fields) []byte {
	if len(extra) == 0 {
		return known
	}
	var b bytes.Buffer
	b.Grow(len(known) + 64*len(extra))
	b.Write(known[:len(known)-1])
	sep := len(known) > 2
	for _, f := range extra {
		if sep {
			b.WriteByte(',')
		}
		sep = true
		name, _ := marshalNoEscape(f.Name)
		b.Write(name)
		b.WriteByte(':')
		if len(f.Value) == 0 {
			b.WriteString("null")
		} else {
			b.Write(f.Value)
		}
	}
	b.WriteByte('}')
	return b.Bytes()
}
