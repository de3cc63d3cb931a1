package har

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
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
		p := prefix
		if fe.Path != "" {
			if strings.HasPrefix(fe.Path, "[") {
				p += fe.Path
			} else {
				p += "." + fe.Path
			}
		}
		return &FieldError{Path: p, Err: fe.Err}
	}
	return &FieldError{Path: prefix, Err: err}
}

var (
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	fieldsType     = reflect.TypeFor[Fields]()
	nameValueType  = reflect.TypeFor[NameValue]()
	fieldIndexes   sync.Map // reflect.Type → map[string]int
)

// jsonFields maps the JSON names of a struct's fields to their index.
func jsonFields(t reflect.Type) map[string]int {
	if m, ok := fieldIndexes.Load(t); ok {
		return m.(map[string]int)
	}
	m := make(map[string]int)
	for i := 0; i < t.NumField(); i++ {
		tag := t.Field(i).Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "" || name == "-" {
			continue
		}
		m[name] = i
	}
	fieldIndexes.Store(t, m)
	return m
}

// decodeObject fills the struct v from the JSON object data, field by field,
// so that an error names the member that caused it and unknown members land
// in the struct's Extra field.
func decodeObject(data []byte, v reflect.Value) error {
	data = bytes.TrimSpace(data)
	if string(data) == "null" {
		return nil
	}
	if len(data) == 0 || data[0] != '{' {
		return fmt.Errorf("expected object, got %s", jsonKind(data))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil {
		return err
	}
	known := jsonFields(v.Type())
	extra := v.FieldByName("Extra")
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return prefixPath(key, err)
		}
		idx, ok := known[key]
		if ok && key == "value" && v.Type() == nameValueType && jsonKind(raw) == "array" {
			ok = false // NameValue.UnmarshalJSON turns it into Values
		}
		if !ok {
			if extra.IsValid() && extra.Type() == fieldsType {
				extra.Set(reflect.Append(extra, reflect.ValueOf(Field{Name: key, Value: compact(raw)})))
			}
			continue
		}
		if err := decodeValue(raw, v.Field(idx)); err != nil {
			return prefixPath(key, err)
		}
	}
	return nil
}

func decodeValue(raw json.RawMessage, fv reflect.Value) error {
	t := fv.Type()
	switch {
	case t == rawMessageType:
		fv.SetBytes(compact(raw))
		return nil
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct:
		if isNull(raw) {
			fv.SetZero()
			return nil
		}
		p := reflect.New(t.Elem())
		if err := decodeObject(raw, p.Elem()); err != nil {
			return err
		}
		fv.Set(p)
		return nil
	case t.Kind() == reflect.Struct:
		return decodeObject(raw, fv)
	case t.Kind() == reflect.Slice:
		if isNull(raw) {
			fv.SetZero()
			return nil
		}
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return fmt.Errorf("expected array, got %s", jsonKind(raw))
		}
		s := reflect.MakeSlice(t, len(elems), len(elems))
		for i, e := range elems {
			if err := decodeValue(e, s.Index(i)); err != nil {
				return prefixPath("["+strconv.Itoa(i)+"]", err)
			}
		}
		fv.Set(s)
		return nil
	}
	if err := json.Unmarshal(raw, fv.Addr().Interface()); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("expected %s, got %s", kindName(t), te.Value)
		}
		return err
	}
	return nil
}

func kindName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int64, reflect.Float64:
		return "number"
	}
	return t.Kind().String()
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

func isNull(raw []byte) bool { return string(bytes.TrimSpace(raw)) == "null" }

func jsonKind(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
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
