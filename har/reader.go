package har

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
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
	var b bytes.Buffer
	b.WriteString(e.File)
	if e.Entry >= 0 {
		b.WriteString(": entry ")
		b.WriteString(strconv.Itoa(e.Entry))
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	if e.Offset >= 0 {
		b.WriteString(": offset ")
		b.WriteString(strconv.FormatInt(e.Offset, 10))
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Reader reads a HAR file one entry at a time, so memory holds a few
// entries and not the file. It also hands out the exact bytes around each
// entry (Gap) and of each entry (Raw), which lets redact rewrite a file
// while keeping every byte it does not change.
//
// Next decodes entries a batch ahead on two goroutines (decoding is most
// of the time, and entries decode independently); a batch is at most
// batchEntries entries or batchBytes of JSON, so memory stays flat.
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
	rawBuf []byte // the entry last framed
	rawOff int64
	err    error

	cur     item   // what Raw, Gap, Index and EntryError describe
	batch   []item // framed and decoded ahead by Next
	next    int    // the first item of batch not handed out
	end     error  // what framing stopped at after the batch (io.EOF, an error)
	endGap  []byte // Gap after io.EOF
	buf     []byte // the batch's gaps and entries
	decoder [2]entryDecoder
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
	if r.next == len(r.batch) && r.end == nil {
		r.fill()
	}
	if r.next == len(r.batch) {
		return nil, r.atEnd()
	}
	it := r.batch[r.next]
	r.batch[r.next] = item{}
	r.next++
	r.cur = it
	r.cur.e = nil // the caller's now: a large entry is not kept alive here
	if it.err != nil {
		r.err = it.err
		return nil, it.err
	}
	return it.e, nil
}

// fill frames the next batch, copying each gap and entry out of the read
// buffer, and decodes it.
func (r *Reader) fill() {
	r.batch, r.next, r.buf = r.batch[:0], 0, r.buf[:0]
	type span struct{ gap, raw int }
	var spans [batchEntries]span
	for len(r.batch) < batchEntries && len(r.buf) < batchBytes {
		raw, err := r.frame()
		if err != nil {
			r.end = err
			r.endGap = append([]byte(nil), r.gap.Bytes()...)
			break
		}
		if len(r.batch) == 0 && len(raw) >= batchBytes {
			// A large entry alone, where it lies: no copy.
			e, err := parseEntry(&r.decoder[0], r.name, raw, r.index, r.rawOff)
			r.batch = append(r.batch, item{e: e, err: err, raw: raw, gap: r.gap.Bytes(), rawOff: r.rawOff, index: r.index})
			return
		}
		spans[len(r.batch)] = span{r.gap.Len(), len(raw)}
		r.buf = append(r.buf, r.gap.Bytes()...)
		r.buf = append(r.buf, raw...)
		r.batch = append(r.batch, item{rawOff: r.rawOff, index: r.index})
	}
	at := 0
	for i := range r.batch {
		it := &r.batch[i]
		it.gap = r.buf[at : at+spans[i].gap : at+spans[i].gap]
		at += spans[i].gap
		it.raw = r.buf[at : at+spans[i].raw : at+spans[i].raw]
		at += spans[i].raw
	}
	r.decodeBatch()
}

// decodeBatch decodes the batch on this goroutine and one more, each
// taking the next entry not yet taken.
func (r *Reader) decodeBatch() {
	var taken atomic.Int32
	work := func(d *entryDecoder) {
		for {
			i := int(taken.Add(1)) - 1
			if i >= len(r.batch) {
				return
			}
			it := &r.batch[i]
			it.e, it.err = parseEntry(d, r.name, it.raw, it.index, it.rawOff)
		}
	}
	if len(r.batch) < 2 {
		work(&r.decoder[0])
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() { work(&r.decoder[1]) })
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
	if r.next < len(r.batch) { // framed ahead by Next
		r.cur = r.batch[r.next]
		r.batch[r.next] = item{}
		r.next++
		return r.cur.raw, nil
	}
	if r.end != nil {
		return nil, r.atEnd()
	}
	raw, err := r.frame()
	r.cur = item{raw: raw, gap: r.gap.Bytes(), rawOff: r.rawOff, index: r.index}
	if err != nil && err != io.EOF {
		r.err = err
	}
	return raw, err
}

// atEnd hands out where framing stopped: io.EOF with the text after the
// entries as Gap (once), or the error, for good.
func (r *Reader) atEnd() error {
	r.cur = item{index: r.index, gap: r.endGap}
	r.endGap = nil
	if r.end != io.EOF {
		r.err = r.end
	}
	return r.end
}

// frame advances to the next entry and returns its exact JSON text, with
// the text before it in r.gap.
func (r *Reader) frame() ([]byte, error) {
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
		c, err := r.readByte()
		if err != nil {
			return nil, r.errorf(-1, r.off, "unexpected end of file in log.entries")
		}
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
			return r.readEntry()
		default:
			return nil, r.errorf(r.index+1, r.off-1, "malformed JSON: unexpected %q in log.entries", c)
		}
	}
}

func (r *Reader) readByte() (byte, error) {
	c, err := r.br.ReadByte()
	if err == nil {
		r.off++
	}
	return c, err
}

// readEntry copies one JSON object (its '{' already read) into r.rawBuf.
func (r *Reader) readEntry() ([]byte, error) {
	r.rawOff = r.off - 1
	r.rawBuf = append(r.rawBuf[:0], '{')
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
				// Jump to the next quote or backslash: bodies are long
				// strings, and this is where the time goes.
				if escaped {
					escaped = false
					i++
					continue
				}
				rest := buf[i:]
				q := bytes.IndexByte(rest, '"')
				if q < 0 {
					q = len(rest)
				}
				if bs := bytes.IndexByte(rest[:q], '\\'); bs >= 0 {
					i += bs + 1
					escaped = true
				} else if q < len(rest) {
					i += q + 1
					inString = false
				} else {
					i = len(buf)
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
		if need := len(r.rawBuf) + i; need > cap(r.rawBuf) {
			// Double: append's growth for large slices (1.25×) made a
			// 100 MB body cost five times its size in copies on the way.
			r.rawBuf = slices.Grow(r.rawBuf, max(need, 2*cap(r.rawBuf))-len(r.rawBuf))
		}
		r.rawBuf = append(r.rawBuf, buf[:i]...)
		r.br.Discard(i)
		r.off += int64(i)
	}
	return r.rawBuf, nil
}

// endInsideEntry is the message for a file that ends inside an entry.
const endInsideEntry = "unexpected end of file inside the entry"

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
