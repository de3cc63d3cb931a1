package har

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/go-json-experiment/json"
)

// Error is a problem with a HAR file, located as precisely as the reader
// can: the file, the entry index, the field path inside the entry, and the
// byte offset for malformed JSON. Its text is one line.
type Error struct {
	File   string // "-" for standard input
	Entry  int    // -1 when the problem is outside the entries
	Field  string // e.g. "request.url"
	Offset int64  // -1 when unknown
	Msg    string
}

func (e *Error) Error() string {
	s := e.File
	if e.Entry >= 0 {
		s += ": entry " + strconv.Itoa(e.Entry)
	}
	if e.Field != "" {
		s += ": " + e.Field
	}
	if e.Offset >= 0 {
		s += ": offset " + strconv.FormatInt(e.Offset, 10)
	}
	return s + ": " + e.Msg
}

// Reader reads a HAR file one entry at a time, so memory holds a few
// entries and not the file. It also hands out the exact bytes around each
// entry (Gap) and of each entry (Raw), which lets redact rewrite a file
// while keeping every byte it does not change.
//
// Next works on batches of at most batchEntries entries or batchBytes of
// JSON, so memory stays flat: while a helper goroutine starts decoding a
// batch, the caller's goroutine frames the next one and then joins in
// (decoding is most of the time, and entries decode independently).
type Reader struct {
	name   string
	br     *bufio.Reader
	off    int64 // bytes consumed so far
	state  int
	index  int // of the entry last framed
	gap    bytes.Buffer
	head   []byte // gap before the first entry, kept for Log
	tail   []byte // nil when cut
	cut    bool   // the tail was longer than MaxTail: Gap holds its start
	cutOff int64  // where the part of the tail Gap lacks begins
	rawBuf []byte // the entry last framed by NextRaw
	rawOff int64
	err    error

	cur     item  // what Raw, Gap, Index and EntryError describe
	ready   batch // decoded, handed out from next on
	next    int
	ahead   batch // framed by Next while ready was decoded
	decoder [2]entryDecoder
}

// batch is entries framed together, their gaps and text in buf.
type batch struct {
	items  []item
	buf    []byte
	end    error  // what framing stopped at after the items (io.EOF, an error)
	endGap []byte // Gap after io.EOF
	framed bool
}

// item is one entry of a batch.
type item struct {
	e        *Entry
	err      error
	raw, gap []byte
	rawOff   int64
	index    int
}

const (
	batchEntries = 64
	batchBytes   = 1 << 20
)

const (
	stateHead = iota
	stateEntries
	stateDone
)

// NewReader reads HAR JSON from r; name is used in errors ("-" for stdin).
func NewReader(r io.Reader, name string) *Reader {
	return newReaderSize(r, name, 256<<10)
}

func newReaderSize(r io.Reader, name string, size int) *Reader {
	return &Reader{name: name, br: bufio.NewReaderSize(r, size), index: -1, cur: item{index: -1}}
}

func (r *Reader) errorf(entry int, off int64, format string, args ...any) error {
	return &Error{File: r.name, Entry: entry, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// Next returns the next entry, or io.EOF after the last one. Any other error
// is an *Error and is returned again by later calls.
func (r *Reader) Next() (*Entry, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.next == len(r.ready.items) && r.ready.end == nil {
		r.fill()
	}
	if r.next == len(r.ready.items) {
		return nil, r.atEnd()
	}
	it := r.ready.items[r.next]
	r.ready.items[r.next] = item{}
	r.next++
	if it.e == nil && it.err == nil { // framed ahead, then handed to NextRaw
		it.e, it.err = parseEntry(&r.decoder[0], r.name, it.raw, it.index, it.rawOff)
	}
	r.cur = it
	r.cur.e = nil // the caller's now: a large entry is not kept alive here
	if it.err != nil {
		r.err = it.err
		return nil, it.err
	}
	return it.e, nil
}

// fill makes the batch framed ahead the ready one and decodes it, framing
// the next batch meanwhile.
func (r *Reader) fill() {
	if !r.ahead.framed {
		r.frameBatch(&r.ahead)
	}
	r.ready, r.ahead = r.ahead, r.ready
	r.next, r.ahead.framed = 0, false
	var frameNext func()
	if r.ready.end == nil {
		frameNext = func() { r.frameBatch(&r.ahead) }
	}
	r.decodeBatch(r.ready.items, frameNext)
}

// frameBatch frames entries into b, each with the gap before it.
func (r *Reader) frameBatch(b *batch) {
	b.items, b.buf, b.end, b.endGap, b.framed = b.items[:0], b.buf[:0], nil, nil, true
	var ends [batchEntries]struct{ raw, gap int } // where each ends in buf
	for len(b.items) < batchEntries && len(b.buf) < batchBytes {
		buf, err := r.frame(b.buf)
		if err != nil {
			b.end = err
			b.endGap = append([]byte(nil), r.gap.Bytes()...)
			break
		}
		b.buf = append(buf, r.gap.Bytes()...)
		ends[len(b.items)] = struct{ raw, gap int }{len(buf), len(b.buf)}
		b.items = append(b.items, item{rawOff: r.rawOff, index: r.index})
	}
	at := 0
	for i := range b.items {
		e := ends[i]
		b.items[i].raw = b.buf[at:e.raw:e.raw]
		b.items[i].gap = b.buf[e.raw:e.gap:e.gap]
		at = e.gap
	}
}

// decodeBatch decodes items on this goroutine and one more, each taking
// the next entry not yet taken; this goroutine runs also first, when
// there is one.
func (r *Reader) decodeBatch(items []item, also func()) {
	var taken atomic.Int32
	work := func(d *entryDecoder) {
		for {
			i := int(taken.Add(1)) - 1
			if i >= len(items) {
				return
			}
			it := &items[i]
			it.e, it.err = parseEntry(d, r.name, it.raw, it.index, it.rawOff)
		}
	}
	if len(items) < 2 && also == nil {
		work(&r.decoder[0])
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() { work(&r.decoder[1]) })
	if also != nil {
		also()
	}
	work(&r.decoder[0])
	wg.Wait()
}

// parseEntry decodes the raw bytes of entry index of file name, which
// begin at rawOff in the file.
func parseEntry(d *entryDecoder, name string, raw []byte, index int, rawOff int64) (*Entry, error) {
	e := new(Entry)
	err := d.decode(raw, e)
	if err == nil {
		err = d.end()
	}
	d.src = bytes.Buffer{}
	if err != nil {
		field, off, msg := readError(err)
		if off >= 0 {
			off += rawOff
		}
		return nil, &Error{File: name, Entry: index, Field: field, Offset: off, Msg: msg}
	}
	if e.Request.URL == "" {
		return nil, &Error{File: name, Entry: index, Field: "request.url", Offset: -1, Msg: "missing"}
	}
	if e.Request.Method == "" {
		return nil, &Error{File: name, Entry: index, Field: "request.method", Offset: -1, Msg: "missing"}
	}
	return e, nil
}

// ParseEntry decodes one entry's JSON with the same checks as Next.
func ParseEntry(raw []byte) (*Entry, error) {
	d := entryDecoders.Get().(*entryDecoder)
	defer entryDecoders.Put(d)
	return parseEntry(d, "entry", raw, 0, 0)
}

// entryDecoders keep ParseEntry from setting up a decoder for every entry
// (a stage that redacts entries one by one parses each redacted entry).
var entryDecoders = sync.Pool{New: func() any { return new(entryDecoder) }}

// EntryError is an error about a field of the entry last returned, found
// by a check made after reading (a method no server accepts, say); its
// offset is the entry's.
func (r *Reader) EntryError(field, msg string) *Error {
	return &Error{File: r.name, Entry: r.cur.index, Field: field, Offset: r.cur.rawOff, Msg: msg}
}

// Index is the 0-based index of the entry last returned.
func (r *Reader) Index() int { return r.cur.index }

// Raw is the exact JSON text of the entry last returned; valid until the next
// call to Next or NextRaw.
func (r *Reader) Raw() []byte { return r.cur.raw }

// Gap is the exact text between the previous entry (or the start of the
// file) and the entry last returned; after io.EOF it is the text that
// follows the last entry up to the end of the file.
func (r *Reader) Gap() []byte { return r.cur.gap }

// Log returns the file's log object without its entries. It is complete
// only after Next has returned io.EOF; before that it holds what preceded
// the entries.
func (r *Reader) Log() (*File, error) {
	if r.cut {
		return nil, &Error{File: r.name, Entry: -1, Field: "log", Offset: -1, Msg: fmt.Sprintf("more than %d MiB after log.entries: too large to decode", MaxTail>>20)}
	}
	doc := append(append([]byte(nil), r.head...), r.tail...)
	if r.state != stateDone {
		doc = append(doc, []byte("]}}")...)
	}
	h := new(File)
	if err := json.Unmarshal(doc, h, readOptions); err != nil {
		field, _, msg := readError(err)
		return nil, &Error{File: r.name, Entry: -1, Field: field, Offset: -1, Msg: msg}
	}
	if h.Log == nil {
		return nil, &Error{File: r.name, Entry: -1, Field: "log", Offset: -1, Msg: "missing"}
	}
	for i := range h.Log.Pages {
		h.Log.Pages[i].PageTimings = fixRaw(h.Log.Pages[i].PageTimings)
	}
	return h, nil
}

// NextRaw advances to the next entry and returns its exact JSON text without
// decoding it.
func (r *Reader) NextRaw() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.next == len(r.ready.items) && r.ready.end == nil && r.ahead.framed {
		r.ready, r.ahead = r.ahead, r.ready
		r.next, r.ahead.framed = 0, false
	}
	if r.next < len(r.ready.items) { // framed ahead by Next
		r.cur = r.ready.items[r.next]
		r.ready.items[r.next] = item{}
		r.next++
		r.cur.e = nil
		return r.cur.raw, nil
	}
	if r.ready.end != nil {
		return nil, r.atEnd()
	}
	raw, err := r.frame(r.rawBuf[:0])
	if err == nil {
		r.rawBuf = raw
	}
	r.cur = item{raw: raw, gap: r.gap.Bytes(), rawOff: r.rawOff, index: r.index}
	if err != nil && err != io.EOF {
		r.err = err
	}
	return raw, err
}

// atEnd hands out where framing stopped: io.EOF with the text after the
// entries as Gap (once), or the error, for good.
func (r *Reader) atEnd() error {
	r.cur = item{index: r.index, gap: r.ready.endGap}
	r.ready.endGap = nil
	if r.ready.end != io.EOF {
		r.err = r.ready.end
	}
	return r.ready.end
}

// frame advances to the next entry and appends its exact JSON text to
// dst, with the text before it in r.gap.
func (r *Reader) frame(dst []byte) ([]byte, error) {
	r.gap.Reset()
	if r.state == stateHead {
		if err := r.findEntries(); err != nil {
			return nil, err
		}
		r.head = append([]byte(nil), r.gap.Bytes()...)
		r.gap.Reset()
		r.state = stateEntries
	}
	if r.state == stateDone {
		return nil, io.EOF
	}
	// Between entries: whitespace and one comma.
	first := r.index == -1
	if first {
		// The first entry's gap is everything before it, head included.
		r.gap.Write(r.head)
	}
	tailStart := r.gap.Len()
	comma := false
	for {
		c, err := r.br.ReadByte()
		if err != nil {
			return nil, r.errorf(-1, r.off, "unexpected end of file in log.entries")
		}
		r.off++
		switch {
		case isSpace(c):
			r.gap.WriteByte(c)
		case c == ',' && !first && !comma:
			comma = true
			r.gap.WriteByte(c)
		case c == ']' && !comma:
			r.gap.WriteByte(c)
			if err := r.readTail(tailStart); err != nil {
				return nil, err
			}
			r.state = stateDone
			return nil, io.EOF
		case c == '{' && (first || comma):
			r.index++
			return r.readEntry(dst)
		case (first || comma) && valueStart(c):
			// Valid JSON, but not an entry: a type error, not a syntax one.
			return nil, r.errorf(r.index+1, r.off-1, "expected an object, got %s", valueKind(c))
		default:
			return nil, r.errorf(r.index+1, r.off-1, "malformed JSON: unexpected %q in log.entries", c)
		}
	}
}

// readEntry appends one JSON object (its '{' already read) to dst.
func (r *Reader) readEntry(dst []byte) ([]byte, error) {
	r.rawOff = r.off - 1
	dst = append(dst, '{')
	depth, inString, escaped := 1, false, false
	for depth > 0 {
		buf, err := r.br.Peek(1)
		if err != nil {
			return nil, r.errorf(r.index, r.off, endInsideEntry)
		}
		n := r.br.Buffered()
		if n > len(buf) {
			buf, _ = r.br.Peek(n)
		}
		i := 0
		for i < len(buf) && depth > 0 {
			if inString {
				if escaped {
					escaped = false
					i++
					continue
				}
				// To the string's end or next backslash: most strings
				// are short, and IndexByte pays off only on long ones
				// (bodies), so a few bytes go one at a time first.
				j, end := i, min(i+16, len(buf))
				for j < end && buf[j] != '"' && buf[j] != '\\' {
					j++
				}
				if j == end {
					j += stringStop(buf[j:])
				}
				if i = j; i < len(buf) {
					if buf[i] == '\\' {
						escaped = true
					} else {
						inString = false
					}
					i++
				}
				continue
			}
			switch buf[i] {
			case '"':
				inString = true
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			i++
		}
		if need := len(dst) + i; need > cap(dst) {
			// Double: append's growth for large slices (1.25×) made a
			// 100 MB body cost five times its size in copies on the way.
			// Not slices.Grow, which grows past the double (up to 2.4×).
			dst = append(make([]byte, 0, max(need, 2*cap(dst))), dst...)
		}
		dst = append(dst, buf[:i]...)
		r.br.Discard(i)
		r.off += int64(i)
	}
	return dst, nil
}

// stringStop is the index of the first quote or backslash in b, or len(b).
func stringStop(b []byte) int {
	q := bytes.IndexByte(b, '"')
	if q < 0 {
		q = len(b)
	}
	if bs := bytes.IndexByte(b[:q], '\\'); bs >= 0 {
		return bs
	}
	return q
}

// endInsideEntry is the message for a file that ends inside an entry.
const endInsideEntry = "unexpected end of file inside the entry"

// valueStart reports whether c can start a JSON value other than an object.
func valueStart(c byte) bool {
	return c == '[' || c == '"' || c == 'n' || c == 't' || c == 'f' || c == '-' || '0' <= c && c <= '9'
}

// valueKind names the kind of a value that starts with c.
func valueKind(c byte) string {
	switch c {
	case '[':
		return "array"
	case '"':
		return "string"
	case 'n':
		return "null"
	case 't', 'f':
		return "boolean"
	}
	return "number"
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// ReadKilled reads a file a capture was writing when it was killed with
// kill -9, which can cut off the entry being written (see [Appender]): the
// whole entries, and the index of an entry cut off at the end of the file
// (-1 when there is none). Any other fault is an error, as for ReadAll.
func ReadKilled(rd io.Reader, name string) (entries []*Entry, cut int, err error) {
	r := NewReader(rd, name)
	for {
		e, err := r.Next()
		switch {
		case err == io.EOF:
			return entries, -1, nil
		case err != nil:
			var he *Error
			if errors.As(err, &he) && he.Msg == endInsideEntry && he.Entry == len(entries) {
				return entries, he.Entry, nil
			}
			return entries, -1, err
		}
		entries = append(entries, e)
	}
}

// ReadAll reads a whole HAR into memory; for small files and tests.
func ReadAll(rd io.Reader, name string) (*File, error) {
	r := NewReader(rd, name)
	var entries []*Entry
	for {
		e, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	h, err := r.Log()
	if err != nil {
		return nil, err
	}
	h.Log.Entries = entries
	return h, nil
}
