package har

import (
	"bytes"
	"iter"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Fields are the members of a HAR object that the model has no typed field
// for (Chrome's `_resourceType`, Playwright's `_file`, …), kept verbatim and
// in the order they were read, so that a read-write round trip loses
// nothing. Each model type inlines them (`json:",inline"`), so the JSON
// library keeps and writes them.
type Fields struct {
	// Members is a JSON object of the unknown members, or empty.
	Members jsontext.Value `json:",unknown"`
}

// All yields the members in order, each value without insignificant white
// space; names are decoded.
func (fs Fields) All() iter.Seq2[string, jsontext.Value] {
	return func(yield func(string, jsontext.Value) bool) {
		if len(fs.Members) == 0 {
			return
		}
		dec := jsontext.NewDecoder(bytes.NewReader(fs.Members), readOptions)
		if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
			return
		}
		for dec.PeekKind() == '"' {
			tok, err := dec.ReadToken()
			if err != nil {
				return
			}
			name := tok.String()
			v, err := dec.ReadValue()
			if err != nil {
				return
			}
			if !yield(name, compact(v)) {
				return
			}
		}
	}
}

// Get returns the raw JSON of the named member.
func (fs Fields) Get(name string) ([]byte, bool) {
	// Most lookups are for a member that is not there: skip the decoding.
	if len(fs.Members) == 0 || (!bytes.Contains(fs.Members, []byte(name)) && bytes.IndexByte(fs.Members, '\\') < 0) {
		return nil, false
	}
	for n, v := range fs.All() {
		if n == name {
			return v, true
		}
	}
	return nil, false
}

// Set stores v (marshalled to JSON) under name, replacing an existing member
// in place or adding it at the end.
func (fs *Fields) Set(name string, v any) error {
	raw, err := json.Marshal(v, writeOptions)
	if err != nil {
		return err
	}
	fs.rebuild(name, raw)
	return nil
}

// Delete removes the named member.
func (fs *Fields) Delete(name string) { fs.rebuild(name, nil) }

// rebuild writes the members again with name's value replaced by raw, or
// removed when raw is nil.
func (fs *Fields) rebuild(name string, raw jsontext.Value) {
	var b bytes.Buffer
	enc := jsontext.NewEncoder(&b, writeOptions)
	enc.WriteToken(jsontext.BeginObject)
	done := raw == nil
	for n, v := range fs.All() {
		if n == name {
			if done {
				continue
			}
			v, done = raw, true
		}
		enc.WriteToken(jsontext.String(n))
		enc.WriteValue(v)
	}
	if !done {
		enc.WriteToken(jsontext.String(name))
		enc.WriteValue(raw)
	}
	enc.WriteToken(jsontext.EndObject)
	out := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	if len(out) == 2 {
		out = nil
	}
	fs.Members = out
}

// Equal reports whether fs and other hold the same members in the same
// order, ignoring insignificant white space and how names were escaped.
func (fs Fields) Equal(other Fields) bool {
	next, stop := iter.Pull2(other.All())
	defer stop()
	for n, v := range fs.All() {
		n2, v2, ok := next()
		if !ok || n != n2 || !bytes.Equal(v, v2) {
			return false
		}
	}
	_, _, ok := next()
	return !ok
}

// String is the members as a JSON object, for messages and tests.
func (fs Fields) String() string {
	if len(fs.Members) == 0 {
		return "{}"
	}
	return string(fs.Members)
}

// compact returns raw without insignificant white space, so that a value
// compares equal before and after a round trip.
func compact(raw jsontext.Value) jsontext.Value {
	if bytes.IndexAny(raw, " \t\r\n") < 0 {
		return raw
	}
	v := raw.Clone()
	if v.Compact() != nil {
		return raw
	}
	return v
}

// maxPath bounds a field path in an error: a value nested ten thousand
// levels deep would otherwise make a 30 KB error line. The outer members,
// which say where the value is, are kept.
const maxPath = 60

// cutPath shortens a long field path, keeping its outer members, which
// say where the value is.
func cutPath(p string) string {
	if len(p) <= maxPath {
		return p
	}
	cut := strings.LastIndexAny(p[:maxPath], ".[")
	if cut <= 0 {
		cut = maxPath
	}
	return p[:cut] + "…"
}
