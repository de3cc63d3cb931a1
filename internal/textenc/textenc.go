// Package textenc undoes what people's tools do to a text file on the way
// to apitape: PowerShell 5's > saves it as UTF-16 with a byte order mark,
// and a recording kept or mailed as session.har.gz is gzip. Every command
// that reads a HAR or a script reads it through Decode, so a file one of
// them reads, the others read too.
package textenc

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Encoding is what Decode undid.
type Encoding string

const (
	Plain Encoding = ""       // as it is (UTF-8, or anything else)
	UTF16 Encoding = "UTF-16" // with a byte order mark, either order
	Gzip  Encoding = "gzip"   // and what was inside (UTF-16 too)
)

// Sniff tells the encoding from the first bytes of an input.
func Sniff(head []byte) Encoding {
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return UTF16
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return Gzip
	}
	return Plain
}

// Decode returns br's text in UTF-8: UTF-16 with a byte order mark
// decoded, gzip inflated (and UTF-16 inside it decoded; one layer of gzip
// only, as each layer would hold a buffer). Anything else is returned as
// it is, for the reader's own checks; a UTF-8 byte order mark stays too.
// The error is a gzip header that does not read.
func Decode(br *bufio.Reader) (*bufio.Reader, Encoding, error) {
	head, _ := br.Peek(2)
	switch Sniff(head) {
	case UTF16:
		return utf16Reader(br), UTF16, nil
	case Gzip:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, Gzip, fmt.Errorf("invalid gzip: %v", err)
		}
		inner := bufio.NewReaderSize(gzipErrors{zr}, 64<<10)
		if head, _ := inner.Peek(2); Sniff(head) == UTF16 {
			inner = utf16Reader(inner)
		}
		return inner, Gzip, nil
	}
	return br, Plain, nil
}

func utf16Reader(br *bufio.Reader) *bufio.Reader {
	dec := unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()
	return bufio.NewReaderSize(transform.NewReader(br, dec), 64<<10)
}

// gzipErrors names gzip in what goes wrong inside it (a truncated file
// ends with "unexpected EOF", which said nothing of where).
type gzipErrors struct{ r io.Reader }

func (g gzipErrors) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("gzip: %w", err)
	}
	return n, err
}
