package har

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"sync"

	"github.com/go-json-experiment/json"
)

// Writer writes a HAR file entry by entry: the log's other members first,
// then one compact entry per line, so output streams and diffs well.
type Writer struct {
	w    *bufio.Writer
	n    int
	tail []byte
	err  error
}

// NewWriter writes the opening of a HAR file for log (its Entries are
// ignored; write them with Write). A nil log gets apitape's defaults.
func NewWriter(w io.Writer, log *File) (*Writer, error) {
	head, tail, err := splitLog(log)
	if err != nil {
		return nil, err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.Write(head); err != nil {
		return nil, err
	}
	return &Writer{w: bw, tail: tail}, nil
}

// Write appends one entry.
func (w *Writer) Write(e *Entry) error {
	b, err := e.MarshalJSON()
	if err != nil {
		return err
	}
	return w.WriteRaw(b)
}

// WriteRaw appends one entry given as JSON text, which must be one object.
func (w *Writer) WriteRaw(raw []byte) error {
	if w.err != nil {
		return w.err
	}
	if w.n > 0 {
		w.w.WriteString(",\n")
	} else {
		w.w.WriteByte('\n')
	}
	w.n++
	_, w.err = w.w.Write(raw)
	return w.err
}

// Close writes the end of the file and flushes; it does not close the
// underlying writer.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	if w.n > 0 {
		w.w.WriteByte('\n')
	}
	w.w.Write(w.tail)
	return w.w.Flush()
}

// NewLog returns an empty HAR 1.2 log created by apitape.
func NewLog(creatorVersion string) *File {
	return &File{Log: &Log{Version: "1.2", Creator: Creator{Name: "apitape", Version: creatorVersion}}}
}

// splitLog renders the log around its entries: head ends with `"entries":[`
// and tail starts with `]`.
func splitLog(h *File) (head, tail []byte, err error) {
	if h == nil || h.Log == nil {
		h = NewLog("")
	}
	l := *h.Log
	comment, extra := l.Comment, l.Extra
	l.Entries, l.Comment, l.Extra = nil, "", Fields{}
	if l.Version == "" {
		l.Version = "1.2"
	}
	lb, err := json.Marshal(&l, writeOptions)
	if err != nil {
		return nil, nil, err
	}
	const marker = `"entries":[]}`
	if !bytes.HasSuffix(lb, []byte(marker)) {
		return nil, nil, errors.New("har: unexpected log encoding")
	}
	head = append([]byte(`{"log":`), lb[:len(lb)-2]...)
	tail = []byte("]")
	if comment != "" {
		tail = append(tail, `,"comment":`...)
		q, _ := json.Marshal(comment, writeOptions)
		tail = append(tail, q...)
	}
	tail = appendMembers(tail, extra)
	tail = append(tail, '}')
	tail = appendMembers(tail, h.Extra)
	tail = append(tail, "}\n"...)
	return head, tail, nil
}

// appendMembers writes fs as `,"name":value` for each member.
func appendMembers(dst []byte, fs Fields) []byte {
	for n, v := range fs.All() {
		dst = append(dst, ',')
		q, _ := json.Marshal(n, writeOptions)
		dst = append(dst, q...)
		dst = append(dst, ':')
		dst = append(dst, v...)
	}
	return dst
}

// Appender adds entries to a HAR file on disk so that the file is a valid
// HAR after every entry: each append overwrites the closing brackets with
// the entry and new closing brackets in a single write, so a crash (even
// kill -9) leaves every entry that had been appended. A kill during that
// write can still cut off the entry being written: Linux ends a write at a
// page boundary on a fatal signal, and there is no place in a JSON text
// where part of an entry could wait without breaking it. Safe for
// concurrent use.
type Appender struct {
	mu   sync.Mutex
	f    *os.File
	pos  int64 // where the closing brackets start
	tail []byte
	n    int
	buf  bytes.Buffer
}

// CreateAppender creates (or truncates) path with mode 0600, since
// recordings may hold credentials, and writes an empty log. An existing
// file is made 0600 too, before anything is written to it: the mode it
// had was chosen for what it held before.
func CreateAppender(path string, log *File) (*Appender, error) {
	head, tail, err := splitLog(log)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm() != 0o600 {
		if err := f.Chmod(0o600); err != nil {
			f.Close()
			return nil, err
		}
	}
	if _, err := f.Write(append(append([]byte(nil), head...), tail...)); err != nil {
		f.Close()
		return nil, err
	}
	return &Appender{f: f, pos: int64(len(head)), tail: tail}, nil
}

// Append writes one entry.
func (a *Appender) Append(e *Entry) error {
	b, err := e.MarshalJSON()
	if err != nil {
		return err
	}
	return a.AppendRaw(b)
}

// AppendRaw writes one entry given as JSON text.
func (a *Appender) AppendRaw(raw []byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		return os.ErrClosed
	}
	a.buf.Reset()
	if a.n > 0 {
		a.buf.WriteString(",\n")
	} else {
		a.buf.WriteByte('\n')
	}
	a.buf.Write(raw)
	entryLen := a.buf.Len()
	a.buf.WriteByte('\n')
	a.buf.Write(a.tail)
	if _, err := a.f.WriteAt(a.buf.Bytes(), a.pos); err != nil {
		return err
	}
	a.pos += int64(entryLen)
	a.n++
	return nil
}

// Close syncs and closes the file.
func (a *Appender) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		return nil
	}
	err := a.f.Sync()
	if cerr := a.f.Close(); err == nil {
		err = cerr
	}
	a.f = nil
	return err
}
