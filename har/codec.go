package har

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// HAR objects are read and written by github.com/go-json-experiment/json
// from the struct tags in har.go; this file holds the options and the few
// places where HAR in the wild is looser than its types.

// MaxDepth is how deeply objects and arrays may nest in a HAR entry and in
// any JSON document apitape reads (bodies included): encoding/json's own
// limit, and the JSON library's. Every reader in apitape checks it, so a
// hostile file gets a one-line error instead of exhausting the stack.
const MaxDepth = 10000

var (
	// readOptions: exporters write lone surrogates and raw bytes in
	// strings (read as U+FFFD, as encoding/json does), and a repeated
	// member is read as the last one wins, as encoding/json does, and
	// skips the library's bookkeeping of names.
	readOptions = json.JoinOptions(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	// writeOptions write what encoding/json writes with HTML escaping off:
	// U+2028 and U+2029 escaped for JavaScript.
	writeOptions = json.JoinOptions(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true), jsontext.EscapeForJS(true))
)

// emptyObject is written for an entry's required `cache` when it has none.
var emptyObject = jsontext.Value("{}")

// entryJSON is Entry without its methods, for the library's default
// struct encoding.
type entryJSON Entry

// MarshalJSON writes the entry as one compact line, with its required
// `cache` object even when none was recorded.
func (e Entry) MarshalJSON() ([]byte, error) {
	if len(e.Cache) == 0 {
		e.Cache = emptyObject
	}
	return json.Marshal((*entryJSON)(&e), writeOptions)
}

// UnmarshalJSON reads one entry with the checks of [ParseEntry].
func (e *Entry) UnmarshalJSON(b []byte) error {
	var d entryDecoder
	if err := d.decode(b, e); err != nil {
		return err
	}
	return d.end()
}

// entryDecoder reads entries from byte slices with one reused
// jsontext.Decoder, which reads a bytes.Buffer in place.
type entryDecoder struct {
	src bytes.Buffer
	dec jsontext.Decoder
}

// decode reads the JSON value at the start of b into e and leaves the
// decoder after it.
func (d *entryDecoder) decode(b []byte, e *Entry) error {
	d.src = *bytes.NewBuffer(b)
	d.dec.Reset(&d.src, readOptions)
	if err := json.UnmarshalDecode(&d.dec, (*entryJSON)(e)); err != nil {
		return err
	}
	e.Cache = fixRaw(e.Cache)
	return nil
}

// end checks that nothing but white space follows the value.
func (d *entryDecoder) end() error {
	if _, err := d.dec.ReadToken(); err != io.EOF {
		if err == nil {
			return &jsontext.SyntacticError{ByteOffset: d.dec.InputOffset() - 1, Err: errors.New("invalid data after top-level value")}
		}
		return err
	}
	return nil
}

// fixRaw makes a member kept as JSON text read as it would after a round
// trip: null is absent, and no insignificant white space.
func fixRaw(v jsontext.Value) jsontext.Value {
	if len(v) == 4 && string(v) == "null" {
		return nil
	}
	return compact(v)
}

// UnmarshalJSONFrom reads a header or query parameter. It is hand-written
// because Polly.JS writes a repeated header as an array of values, and
// because headers are most of the objects in a HAR.
func (nv *NameValue) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*nv = NameValue{}
	if ok, err := begin(dec, '{', reflect.TypeFor[NameValue]()); !ok {
		return err
	}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadValue()
		if err != nil {
			return err
		}
		key := name[1 : len(name)-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			key = []byte(unquote(name)) // an escaped name may still be a known one
		}
		switch string(key) {
		case "name":
			nv.Name, err = readString(dec)
		case "value":
			if dec.PeekKind() == '[' {
				nv.Values = []string{}
				err = json.UnmarshalDecode(dec, &nv.Values)
				nv.Value = joinValues(nv.Values)
			} else {
				nv.Value, err = readString(dec)
			}
		case "comment":
			nv.Comment, err = readString(dec)
		default:
			var v jsontext.Value
			v, err = dec.ReadValue()
			nv.Extra.Members = appendMember(nv.Extra.Members, name, v)
		}
		if err != nil {
			return err
		}
	}
	_, err := dec.ReadToken()
	return err
}

// appendMember adds a member (name quoted) to a raw object.
func appendMember(obj jsontext.Value, name []byte, v jsontext.Value) jsontext.Value {
	if len(obj) == 0 {
		obj = append(obj, '{')
	} else {
		obj = append(obj[:len(obj)-1], ',')
	}
	obj = append(obj, name...)
	obj = append(obj, ':')
	obj = append(obj, v...)
	return append(obj, '}')
}

// UnmarshalJSONFrom reads a list of headers or query parameters into a
// slice of the right length: growing it one element at a time was half
// of what reading an entry allocated.
func (nvs *NameValues) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*nvs = nil
	if ok, err := begin(dec, '[', reflect.TypeFor[NameValues]()); !ok {
		return err
	}
	scratch := scratchPool.Get().(*NameValues)
	s := (*scratch)[:0]
	defer func() {
		clear(s)
		*scratch = s[:0]
		scratchPool.Put(scratch)
	}()
	for dec.PeekKind() != ']' {
		s = append(s, NameValue{})
		if err := s[len(s)-1].UnmarshalJSONFrom(dec); err != nil {
			return err
		}
	}
	*nvs = append(make(NameValues, 0, len(s)), s...)
	_, err := dec.ReadToken()
	return err
}

// begin reads the token that opens an object or array (want is '{' or
// '['), reporting false for null, or the library's error for another kind.
func begin(dec *jsontext.Decoder, want jsontext.Kind, t reflect.Type) (bool, error) {
	tok, err := dec.ReadToken()
	switch {
	case err != nil:
		return false, err
	case tok.Kind() == want:
		return true, nil
	case tok.Kind() == 'n':
		return false, nil
	}
	return false, typeError(dec, t, tok.Kind())
}

var scratchPool = sync.Pool{New: func() any { return new(NameValues) }}

// readString reads a string value (null is "").
func readString(dec *jsontext.Decoder) (string, error) {
	v, err := dec.ReadValue()
	if err != nil {
		return "", err
	}
	switch v.Kind() {
	case '"':
		return unquote(v), nil
	case 'n':
		return "", nil
	}
	return "", typeError(dec, reflect.TypeFor[string](), v.Kind())
}

// unquote decodes a JSON string the decoder has checked; invalid UTF-8
// becomes U+FFFD.
func unquote(v jsontext.Value) string {
	s := v[1 : len(v)-1]
	if bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
		return string(s)
	}
	b, _ := jsontext.AppendUnquote(nil, v)
	return string(b)
}

// typeError is the library's error for a value of the wrong kind.
func typeError(dec *jsontext.Decoder, t reflect.Type, kind jsontext.Kind) error {
	return &json.SemanticError{JSONPointer: dec.StackPointer(), JSONKind: kind, GoType: t, ByteOffset: dec.InputOffset()}
}

// MarshalJSONTo writes a header or query parameter, a Polly.JS array of
// values back as it was read.
func (nv *NameValue) MarshalJSONTo(enc *jsontext.Encoder) error {
	enc.WriteToken(jsontext.BeginObject)
	enc.WriteToken(jsontext.String("name"))
	enc.WriteToken(jsontext.String(nv.Name))
	enc.WriteToken(jsontext.String("value"))
	if nv.Values != nil && joinValues(nv.Values) == nv.Value {
		enc.WriteToken(jsontext.BeginArray)
		for _, v := range nv.Values {
			enc.WriteToken(jsontext.String(v))
		}
		enc.WriteToken(jsontext.EndArray)
	} else {
		enc.WriteToken(jsontext.String(nv.Value))
	}
	if nv.Comment != "" {
		enc.WriteToken(jsontext.String("comment"))
		enc.WriteToken(jsontext.String(nv.Comment))
	}
	if err := writeMembers(enc, nv.Extra); err != nil {
		return err
	}
	return enc.WriteToken(jsontext.EndObject)
}

// writeMembers writes unknown members inside an object being written.
func writeMembers(enc *jsontext.Encoder, fs Fields) error {
	for n, v := range fs.All() {
		enc.WriteToken(jsontext.String(n))
		if err := enc.WriteValue(v); err != nil {
			return err
		}
	}
	return nil
}

func joinValues(vs []string) string { return strings.Join(vs, ", ") }

// cookieJSON is Cookie with `expires` as any JSON value: some exporters
// write a number or a boolean there, which is kept as an unknown member.
type cookieJSON struct {
	Name     string         `json:"name"`
	Value    string         `json:"value"`
	Path     string         `json:"path,omitzero"`
	Domain   string         `json:"domain,omitzero"`
	Expires  jsontext.Value `json:"expires,omitzero"`
	HTTPOnly *bool          `json:"httpOnly,omitzero"`
	Secure   *bool          `json:"secure,omitzero"`
	Comment  string         `json:"comment,omitzero"`
	Extra    Fields         `json:",inline"`
}

func (c *Cookie) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	var cj cookieJSON
	if err := json.UnmarshalDecode(dec, &cj); err != nil {
		return err
	}
	*c = Cookie{Name: cj.Name, Value: cj.Value, Path: cj.Path, Domain: cj.Domain,
		HTTPOnly: cj.HTTPOnly, Secure: cj.Secure, Comment: cj.Comment, Extra: cj.Extra}
	switch cj.Expires.Kind() {
	case '"':
		c.Expires = unquote(cj.Expires)
	case 'n', 0: // Chrome DevTools writes null for every session cookie.
	default:
		c.Extra.Members = appendMember(c.Extra.Members, []byte(`"expires"`), compact(cj.Expires))
	}
	return nil
}

// readError turns the library's errors into a field path, an offset in
// the decoded text (-1 when none applies) and a message in apitape's words.
func readError(err error) (field string, off int64, msg string) {
	var se *json.SemanticError
	var sy *jsontext.SyntacticError
	switch {
	case errors.As(err, &sy):
		return pointerPath(sy.JSONPointer), sy.ByteOffset, "malformed JSON: " + syntaxMessage(sy.Err)
	case errors.As(err, &se):
		if sy := (*jsontext.SyntacticError)(nil); errors.As(se.Err, &sy) {
			return pointerPath(se.JSONPointer), se.ByteOffset, "malformed JSON: " + syntaxMessage(sy.Err)
		}
		if se.Err != nil && !errors.Is(se.Err, io.ErrUnexpectedEOF) && se.JSONKind == 0 {
			return pointerPath(se.JSONPointer), -1, se.Err.Error()
		}
		if errors.Is(se.Err, io.ErrUnexpectedEOF) {
			return pointerPath(se.JSONPointer), se.ByteOffset, "malformed JSON: unexpected end of input"
		}
		if se.JSONKind == '0' && se.GoType != nil && reflect.Int <= se.GoType.Kind() && se.GoType.Kind() <= reflect.Int64 {
			return pointerPath(se.JSONPointer), -1, "expected an integer, got " + cutNumber(se.JSONValue)
		}
		if se.JSONKind == '0' && goKind(se.GoType) == "number" {
			// A number where a number belongs fails only by its size.
			return pointerPath(se.JSONPointer), -1, "number out of range: " + cutNumber(se.JSONValue)
		}
		return pointerPath(se.JSONPointer), -1, fmt.Sprintf("expected %s, got %s", goKind(se.GoType), jsonKind(se.JSONKind))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "", -1, "malformed JSON: unexpected end of input"
	}
	return "", -1, err.Error()
}

// cutNumber shortens a number quoted in an error: one of 100,000 digits
// would otherwise make the error line as long.
func cutNumber(v []byte) string {
	if len(v) > 40 {
		return string(v[:40]) + "…"
	}
	return string(v)
}

// syntaxMessage words the library's syntax errors as encoding/json does,
// which is what apitape's messages and scripts expect.
func syntaxMessage(err error) string {
	if err == nil {
		return "invalid JSON"
	}
	msg := err.Error()
	switch {
	case msg == "exceeded max depth":
		return fmt.Sprintf("nesting deeper than %d levels", MaxDepth)
	case strings.HasSuffix(msg, " at start of value"):
		return strings.TrimSuffix(msg, " at start of value") + " looking for a value"
	case strings.HasSuffix(msg, "in string (expecting non-control character)"):
		return "invalid control character in string"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of input"
	}
	return msg
}

func goKind(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Float32, reflect.Float64:
		return "number"
	}
	return t.Kind().String()
}

func jsonKind(k jsontext.Kind) string {
	switch k {
	case '"':
		return "string"
	case '0':
		return "number"
	case '{', '}':
		return "object"
	case '[', ']':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "end of input"
}

// pointerPath writes a JSON pointer as a field path: /request/headers/1/value
// is request.headers[1].value.
func pointerPath(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if b.Len() > maxPath {
			break // cutPath cuts it
		}
		if _, err := strconv.Atoi(tok); err == nil && tok != "" {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return cutPath(b.String())
}
