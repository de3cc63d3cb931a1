package proxy

import (
	"bytes"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
)

// net/http hands a handler its headers as a map: order and the spelling of
// names are gone. The client sent them in an order and a case that a
// faithful recording keeps, so a headTap keeps the raw bytes of each
// message head as they come off a connection, and the entry takes names,
// order and case from them.
//
// A tap is armed from the end of one exchange until the next head has been
// taken; in between (bodies, WebSocket frames) it copies nothing. If the
// head cannot be found (pipelined requests, a head over maxHead), the entry
// falls back to the map, sorted.
//
// On an upstream connection the tap also writes: the transport writes a
// request head of its own making (names canonical, in its order, with its
// own additions), and the tap puts in its place the head the proxy built
// from the client's (see replaceHead).
type headTap struct {
	net.Conn
	mu    sync.Mutex
	buf   []byte
	armed bool

	wmu     sync.Mutex
	head    []byte // replaces the next head written
	pending []byte // the transport's head so far, until its end
}

const maxHead = 64 << 10

func newHeadTap(c net.Conn) *headTap { return &headTap{Conn: c, armed: true} }

func (t *headTap) Read(p []byte) (int, error) {
	n, err := t.Conn.Read(p)
	if n > 0 {
		t.mu.Lock()
		if t.armed {
			if len(t.buf)+n > maxHead {
				t.armed, t.buf = false, t.buf[:0]
			} else {
				t.buf = append(t.buf, p[:n]...)
			}
		}
		t.mu.Unlock()
	}
	return n, err
}

// replaceHead makes the next request head written on the connection head
// instead of the transport's.
func (t *headTap) replaceHead(head []byte) {
	t.wmu.Lock()
	t.head, t.pending = head, t.pending[:0]
	t.wmu.Unlock()
}

func (t *headTap) Write(p []byte) (int, error) {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if t.head == nil {
		return t.Conn.Write(p)
	}
	// The transport's head may come in pieces (its write buffer is
	// smaller than some heads): swallow them until its blank line.
	t.pending = append(t.pending, p...)
	i := bytes.Index(t.pending, []byte("\r\n\r\n"))
	if i < 0 {
		if len(t.pending) > 1<<20 {
			return 0, errors.New("proxy: request head too long")
		}
		return len(p), nil
	}
	rest := t.pending[i+4:]
	out := make([]byte, 0, len(t.head)+len(rest))
	out = append(append(out, t.head...), rest...)
	t.head, t.pending = nil, t.pending[:0]
	if _, err := t.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// rearm starts collecting the next head.
func (t *headTap) rearm() {
	t.mu.Lock()
	t.buf, t.armed = t.buf[:0], true
	t.mu.Unlock()
}

// takeRequest returns the header fields of the request whose request line
// is line, if it is at the start of what was collected, and stops
// collecting.
func (t *headTap) takeRequest(line string) []field {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.armed = false
	b := bytes.TrimLeft(t.buf, "\r\n") // servers ignore empty lines before a request
	if !bytes.HasPrefix(b, []byte(line)) || !bytes.HasPrefix(b[len(line):], []byte("\r\n")) && !bytes.HasPrefix(b[len(line):], []byte("\n")) {
		return nil
	}
	_, fields, _ := parseHead(b)
	if fields == nil {
		fields = []field{}
	}
	return fields
}

// stop stops collecting until rearm.
func (t *headTap) stop() {
	t.mu.Lock()
	t.armed, t.buf = false, t.buf[:0]
	t.mu.Unlock()
}

// takeResponse returns the status line and header fields of the first
// response head with the given status (interim 1xx heads come first), and
// stops collecting.
func (t *headTap) takeResponse(status int) (string, []field) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.armed = false
	b := t.buf
	for len(b) > 0 {
		start, fields, n := parseHead(b)
		if n == 0 || !bytes.HasPrefix(start, []byte("HTTP/")) {
			return "", nil
		}
		_, code, _ := strings.Cut(string(start), " ")
		if len(code) >= 3 && code[:3] == strconv.Itoa(status) {
			return string(start), fields
		}
		b = b[n:]
	}
	return "", nil
}

type field struct{ name, value string }

// parseHead splits a message head into its start line and header fields,
// joining obsolete line folding, and returns how many bytes it spans (0 if
// it is incomplete).
func parseHead(b []byte) (start []byte, fields []field, n int) {
	pos := 0
	first := true
	for {
		i := bytes.IndexByte(b[pos:], '\n')
		if i < 0 {
			return nil, nil, 0
		}
		line := bytes.TrimSuffix(b[pos:pos+i], []byte("\r"))
		pos += i + 1
		switch {
		case first:
			start, first = line, false
		case len(line) == 0:
			if fields == nil {
				fields = []field{} // a head without fields, but a whole one
			}
			return start, fields, pos
		case (line[0] == ' ' || line[0] == '\t') && len(fields) > 0:
			f := &fields[len(fields)-1]
			f.value = strings.TrimSpace(f.value + " " + strings.Trim(string(line), " \t"))
		default:
			name, value, ok := bytes.Cut(line, []byte(":"))
			if ok {
				fields = append(fields, field{string(name), strings.Trim(string(value), " \t")})
			}
		}
	}
}
