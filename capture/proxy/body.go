package proxy

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/base64"
	"fmt"
	"github.com/andybalholm/brotli"
	"io"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/apitape/apitape/har"
)

// bodyTap passes a body through and keeps its first max bytes. It calls
// done (once) as soon as the body is complete: at EOF, or when the declared
// length has been read, which is before the last bytes reach the client.
type bodyTap struct {
	rc   io.ReadCloser
	want int64 // declared length, -1 if unknown
	done func()

	mu       sync.Mutex
	max      int64 // 0 once sealed by snapshot
	body     bodyBuf
	complete bool
	err      error
}

func newBodyTap(rc io.ReadCloser, max, want int64, done func()) *bodyTap {
	t := &bodyTap{rc: rc, max: max, want: want, done: done}
	if want > 0 {
		t.body.buf = make([]byte, 0, min(want, max))
	}
	return t
}

func (t *bodyTap) Read(p []byte) (int, error) {
	n, err := t.rc.Read(p)
	t.mu.Lock()
	t.body.add(p[:n], t.max)
	if err == io.EOF || (t.want >= 0 && t.body.total >= t.want) {
		t.complete = true
	} else if err != nil && t.err == nil {
		t.err = err
	}
	fire := t.complete && t.done != nil
	t.mu.Unlock()
	if fire {
		t.done()
	}
	return n, err
}

func (t *bodyTap) Close() error { return t.rc.Close() }

// kept is how many bytes are held for the recording; none without a body.
func (t *bodyTap) kept() int64 {
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return int64(len(t.body.buf))
}

// whole reports whether the whole body went through; no body did.
func (t *bodyTap) whole() bool {
	if t == nil {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.complete
}

type snapshot struct {
	data     []byte
	total    int64
	complete bool
	err      error
}

func (s snapshot) truncated() bool { return int64(len(s.data)) < s.total }

// snapshot returns what was kept and stops keeping more: a late Read from a
// transport goroutine must not touch data already turned into an entry.
func (t *bodyTap) snapshot() snapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.body.snapshot(t.complete)
	s.err = t.err
	t.body.buf, t.max = nil, 0
	return s
}

// bodyBuf keeps the first max bytes of a body and counts the rest.
type bodyBuf struct {
	buf   []byte
	total int64
}

func (b *bodyBuf) add(p []byte, max int64) {
	if keep := min(int64(len(p)), max-int64(len(b.buf))); keep > 0 {
		b.buf = append(b.buf, p[:keep]...)
	}
	b.total += int64(len(p))
}

func (b *bodyBuf) snapshot(complete bool) snapshot {
	return snapshot{data: b.buf, total: b.total, complete: complete}
}

// setContent stores a response body in c: decoded when the body is whole
// and its Content-Encoding is gzip, deflate or br, otherwise as received,
// with `_contentEncoding` saying so.
func setContent(c *har.Content, s snapshot, encoding string, max int64) {
	encs := contentEncodings(encoding)
	if len(encs) > 0 && !s.truncated() && s.complete {
		body, size, err := decode(s.data, encs, max)
		if err == nil {
			setBytes(c, body)
			c.Size = size
			if saved := size - s.total; saved > 0 {
				c.Compression = &saved
			}
			if int64(len(body)) < size {
				markTruncated(c, size)
			}
			return
		}
		c.Comment = fmt.Sprintf("body kept as received: cannot decode %s: %v", encoding, err)
	} else if len(encs) > 0 && !s.truncated() {
		c.Comment = "body kept as received: incomplete, so not decoded"
	} else if encoding != "" && !isIdentity(encoding) && !s.truncated() {
		c.Comment = "body kept as received: apitape cannot decode " + encoding
	}
	setBytes(c, s.data)
	c.Size = s.total
	if encoding != "" && !isIdentity(encoding) {
		c.Extra.Set("_contentEncoding", encoding)
		if c.Encoding == "" {
			// Encoded bytes are not text even when they happen to be UTF-8.
			c.Text, c.Encoding = har.String(base64Encode(s.data)), "base64"
		}
	}
	if s.truncated() {
		markTruncated(c, s.total)
	}
}

func markTruncated(c *har.Content, size int64) {
	c.Extra.Set("_truncated", true)
	c.Extra.Set("_originalSize", size)
}

func isIdentity(enc string) bool { return strings.EqualFold(strings.TrimSpace(enc), "identity") }

// contentEncodings lists the codings to undo, last applied first, or nil
// when one of them is not gzip, deflate or br.
func contentEncodings(header string) []string {
	if header == "" {
		return nil
	}
	var out []string
	for part := range strings.SplitSeq(header, ",") {
		switch e := strings.ToLower(strings.TrimSpace(part)); e {
		case "gzip", "x-gzip", "deflate", "br":
			out = append([]string{e}, out...)
		case "identity", "":
		default:
			return nil
		}
	}
	return out
}

// maxDecodedCount bounds how far a decompression bomb is followed to learn
// its size.
const maxDecodedCount = 256 << 20

// decode undoes the codings, keeping at most max bytes and counting the
// rest (up to maxDecodedCount).
func decode(data []byte, encs []string, max int64) (body []byte, size int64, err error) {
	var r io.Reader = bytes.NewReader(data)
	for _, e := range encs {
		switch e {
		case "gzip", "x-gzip":
			zr, err := gzip.NewReader(r)
			if err != nil {
				return nil, 0, err
			}
			defer zr.Close()
			r = zr
		case "deflate":
			r = newDeflateReader(r)
		case "br":
			r = brotli.NewReader(r)
		}
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(r, max))
	if err != nil {
		return nil, 0, err
	}
	rest, err := io.Copy(io.Discard, io.LimitReader(r, maxDecodedCount))
	if err != nil {
		return nil, 0, err
	}
	return buf.Bytes(), n + rest, nil
}

// newDeflateReader reads "deflate", which HTTP defines as zlib but some
// servers send as raw DEFLATE.
func newDeflateReader(r io.Reader) io.Reader {
	br := bufio.NewReader(r)
	head, _ := br.Peek(2)
	if len(head) == 2 && head[0]&0x0f == 8 && (uint16(head[0])<<8|uint16(head[1]))%31 == 0 {
		zr, err := zlib.NewReader(br)
		if err == nil {
			return zr
		}
		return errReader{err}
	}
	return flate.NewReader(br)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func base64Encode(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// setBytes is har.Content.SetBytes without the size, which its callers
// set, and without the copy of a text body: body is a sealed snapshot (or
// a fresh decode) that nothing writes again, and a copy of a body of
// --max-body for each of many large downloads ending at once is what made
// memory peak.
func setBytes(c *har.Content, body []byte) {
	c.Text, c.Encoding = har.String(bytesText(body)), ""
	if !utf8.Valid(body) {
		c.Text, c.Encoding = har.String(base64Encode(body)), "base64"
	}
}

// bytesText views b as a string; b must never change afterwards.
func bytesText(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
