// Package capture holds what apitape's two ways of recording (a browser
// driven over CDP, and a MITM proxy) share: the [Sink] that decides which
// finished exchanges are kept, redacts them, and appends them to a HAR file
// on disk as they complete, so that a crash loses nothing already recorded.
package capture

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/atomicfile"
	"github.com/apitape/apitape/internal/selection"
)

// RedactFunc rewrites one entry's JSON before it reaches the disk. index is
// the entry's position in the output file. An error drops the entry: an
// entry that could not be redacted is never written.
type RedactFunc func(index int, raw []byte) ([]byte, error)

// Options configure a [Sink].
type Options struct {
	// Selection decides which exchanges are written; the others were still
	// forwarded or loaded, they are just not recorded. Its Entries ranges
	// count exchanges in the order they finished.
	Selection selection.Filter
	// Default, when set and Selection.All is not, replaces the selection's
	// default of API calls only (capture browser also keeps documents and
	// answers that set a cookie); Selection's other rules still apply.
	Default func(*har.Entry) bool
	// Redact, when set, is applied to every kept entry before it is written.
	Redact RedactFunc
}

// Sink receives finished exchanges. It is safe for concurrent use.
type Sink struct {
	app    *har.Appender
	sel    selection.Filter
	def    func(*har.Entry) bool
	redact RedactFunc

	seen     atomic.Int64
	recorded atomic.Int64

	mu  sync.Mutex // orders redaction with appending, so index = file position
	err error
}

// NewSink writes kept entries to app. The caller closes app after the last
// Add.
func NewSink(app *har.Appender, opts Options) *Sink {
	s := &Sink{app: app, sel: opts.Selection, redact: opts.Redact}
	if opts.Default != nil && !s.sel.All {
		s.def, s.sel.All = opts.Default, true
	}
	return s
}

// Add offers one finished exchange. It returns an error when the entry was
// kept but could not be written; a write error (disk full, file gone) is
// also remembered and reported by [Sink.Err], and every later Add fails
// with it, since a file that missed one entry must not pretend to be whole.
// A redaction error drops only this entry.
func (s *Sink) Add(e *har.Entry) error {
	index := int(s.seen.Add(1) - 1)
	if s.def != nil && !s.def(e) || !s.sel.Keep(index, e) {
		return nil
	}
	raw, err := e.MarshalJSON()
	if err != nil {
		return fmt.Errorf("exchange %d: %w", index, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if s.redact != nil {
		red, err := s.redact(s.Recorded(), raw)
		if err != nil {
			// The redactor's error must not carry the secret it choked on;
			// say which exchange, and drop it.
			return fmt.Errorf("exchange %d not recorded: redaction failed: %w", index, err)
		}
		raw = red
	}
	if err := s.app.AppendRaw(raw); err != nil {
		s.err = fmt.Errorf("writing the HAR file: %w", err)
		return s.err
	}
	s.recorded.Add(1)
	return nil
}

// Seen is the number of exchanges offered to Add.
func (s *Sink) Seen() int { return int(s.seen.Load()) }

// Recorded is the number of entries written.
func (s *Sink) Recorded() int { return int(s.recorded.Load()) }

// Err is the first write error, after which nothing more is recorded.
func (s *Sink) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Progress keeps one live line on w ("recorded 12 calls (30 requests
// seen)"), rewritten in place at most every interval while the count
// changes. w should be a terminal. stop ends the line with a newline and
// returns once the line is final.
func (s *Sink) Progress(w io.Writer, prefix string, interval time.Duration) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		last := ""
		show := func() {
			if line := s.Summary(); line != last {
				last = line
				fmt.Fprintf(w, "\r\x1b[K%s%s", prefix, line)
			}
		}
		show()
		for {
			select {
			case <-t.C:
				show()
			case <-done:
				show()
				fmt.Fprint(w, "\n")
				return
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		<-finished
	}
}

// Summary is the count in words, as the progress line shows it.
func (s *Sink) Summary() string {
	rec, seen := s.Recorded(), s.Seen()
	calls := "calls"
	if rec == 1 {
		calls = "call"
	}
	if seen == rec {
		return fmt.Sprintf("recorded %d %s", rec, calls)
	}
	requests := "requests"
	if seen == 1 {
		requests = "request"
	}
	return fmt.Sprintf("recorded %d %s (%d %s seen)", rec, calls, seen, requests)
}

// ErrNotRegular is returned by [Rewrite] for a path that is not a regular
// file (a FIFO or a device): what went through it cannot be read back.
var ErrNotRegular = errors.New("not a regular file, so it cannot be rewritten")

// Rewrite replaces the finished HAR file at path with what fn makes of it:
// fn reads the file and writes the new one to a temporary file beside it,
// which then replaces the file by rename, so a failure or a kill at any
// moment leaves either the old file or the new one, never half of one. The
// new file is mode 0600 whatever the old one was, since recordings hold
// credentials. A symbolic link is followed: its target is replaced and the
// link stays.
func Rewrite(path string, fn func(in io.ReadSeeker, out io.Writer) error) error {
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return err
	}
	// Stat before opening: opening a FIFO would wait for a writer.
	if fi, err := os.Stat(target); err != nil {
		return err
	} else if !fi.Mode().IsRegular() {
		return ErrNotRegular
	}
	in, err := os.Open(target)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := atomicfile.Create(target, 0o600)
	if err != nil {
		return err
	}
	defer out.Abort()
	if err := fn(in, out); err != nil {
		return err
	}
	return out.Commit()
}

// QueryString is a HAR queryString from a raw query (the part after "?"
// and before any "#"): parameters in order, repeats kept, names and values
// percent-decoded where they decode and kept as written where they do not.
func QueryString(rawQuery string) []har.NameValue {
	out := []har.NameValue{}
	for part := range strings.SplitSeq(rawQuery, "&") {
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		out = append(out, har.NameValue{Name: unescape(name), Value: unescape(value)})
	}
	return out
}

func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}
