package jsondiff

import (
	"bytes"
	"encoding/json"
	"errors"
	"hash/maphash"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/apitape/apitape/har"
)

// Decode parses one JSON document into the values encoding/json produces
// with UseNumber (map[string]any, []any, string, json.Number, bool, nil),
// with the same results, including for invalid UTF-8 and lone surrogates
// (replaced by U+FFFD) and duplicate keys (the last wins). Nesting deeper
// than har.MaxDepth is a [jsontext.SyntacticError] at the offending
// bracket. It reads tokens rather than unmarshaling into any because
// replay decodes two bodies per call and reflection was the largest cost
// of a replay.
func Decode(b []byte) (any, error) {
	d := decoders.Get().(*jsontext.Decoder)
	defer func() {
		d.Reset(empty) // not to keep b alive in the pool
		decoders.Put(d)
	}()
	// A bytes.Buffer is read in place, without a copy.
	d.Reset(bytes.NewBuffer(b), jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))
	v, err := decodeValue(d, 0)
	if err == nil {
		end := d.InputOffset()
		if _, err = d.ReadToken(); err == nil {
			err = errorAt(end, "data after the top-level value")
		} else if err == io.EOF {
			return v, nil
		}
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return nil, err
}

// decoders keeps decoders with their state stacks between documents.
var (
	decoders = sync.Pool{New: func() any { return new(jsontext.Decoder) }}
	empty    = new(bytes.Reader)
)

func errorAt(off int64, msg string) error {
	return &jsontext.SyntacticError{ByteOffset: off, Err: errors.New(msg)}
}

func decodeValue(d *jsontext.Decoder, depth int) (any, error) {
	tok, err := d.ReadToken()
	if err != nil {
		return nil, err
	}
	switch k := tok.Kind(); k {
	case '{', '[':
		if depth >= har.MaxDepth {
			return nil, errorAt(d.InputOffset()-1, "nesting deeper than "+strconv.Itoa(har.MaxDepth)+" levels")
		}
		if k == '{' {
			return decodeObject(d, depth+1)
		}
		return decodeArray(d, depth+1)
	case '"':
		return tok.String(), nil
	case '0':
		return json.Number(tok.String()), nil
	case 't':
		return true, nil
	case 'f':
		return false, nil
	default: // 'n'
		return nil, nil
	}
}

func decodeObject(d *jsontext.Decoder, depth int) (any, error) {
	m := make(map[string]any, 8)
	for d.PeekKind() != '}' {
		tok, err := d.ReadToken()
		if err != nil {
			return nil, err
		}
		k := key(tok.String())
		v, err := decodeValue(d, depth)
		if err != nil {
			return nil, err
		}
		m[k] = v
	}
	_, err := d.ReadToken()
	return m, err
}

func decodeArray(d *jsontext.Decoder, depth int) (any, error) {
	a := []any{}
	for d.PeekKind() != ']' {
		v, err := decodeValue(d, depth)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
	}
	_, err := d.ReadToken()
	return a, err
}

// keys remembers object keys across documents: an API answers with the
// same few dozen keys over and over, and a remembered key is not allocated
// again. A slot holds the last key that hashed to it.
var (
	keys    [1024]atomic.Pointer[string]
	keySeed = maphash.MakeSeed()
)

// key returns k, from keys when it is there; k itself never escapes, so
// the token's bytes are not copied for a key already seen.
func key(k string) string {
	slot := &keys[maphash.String(keySeed, k)%uint64(len(keys))]
	if p := slot.Load(); p != nil && *p == k {
		return *p
	}
	c := strings.Clone(k)
	slot.Store(&c)
	return c
}
