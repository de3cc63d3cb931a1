package proxy

import (
	"encoding/base64"
	"encoding/binary"
	"io"
	"sync"
	"time"

	"github.com/apitape/apitape/har"
)

// wsMessage is one entry of Chrome's `_webSocketMessages`.
type wsMessage struct {
	Type   string  `json:"type"` // "send" (client to server) or "receive"
	Time   float64 `json:"time"` // Unix seconds
	Opcode int     `json:"opcode"`
	Data   string  `json:"data"` // text, or base64 for binary messages
}

// wsTap sits on an upgraded connection's upstream side: the proxy reads
// what the server sends and writes what the client sends through it, and
// it parses both byte streams into WebSocket messages.
type wsTap struct {
	rwc       io.ReadWriteCloser
	max       int64
	send      frameParser // touched only by the writing goroutine
	recv      frameParser // touched only by the reading goroutine
	closeOnce sync.Once
	closeErr  error

	mu      sync.Mutex
	msgs    []wsMessage
	kept    int64
	dropped int
	sealed  bool
}

func (t *wsTap) Read(p []byte) (int, error) {
	n, err := t.rwc.Read(p)
	if n > 0 {
		t.recv.feed(p[:n], t.max, func(op byte, data []byte, whole bool) { t.add("receive", op, data, whole) })
	}
	return n, err
}

func (t *wsTap) Write(p []byte) (int, error) {
	// Parse before sending: once sent, the answer may be read (and
	// recorded) before this goroutine runs again.
	t.send.feed(p, t.max, func(op byte, data []byte, whole bool) { t.add("send", op, data, whole) })
	return t.rwc.Write(p)
}

func (t *wsTap) Close() error {
	t.closeOnce.Do(func() { t.closeErr = t.rwc.Close() })
	return t.closeErr
}

func (t *wsTap) add(dir string, op byte, data []byte, whole bool) {
	m := wsMessage{Type: dir, Time: float64(time.Now().UnixMicro()) / 1e6, Opcode: int(op)}
	if op == 1 {
		m.Data = string(data)
	} else {
		m.Data = base64.StdEncoding.EncodeToString(data)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sealed {
		return
	}
	if !whole || t.kept+int64(len(data)) > t.max {
		t.dropped++
		return
	}
	t.kept += int64(len(data))
	t.msgs = append(t.msgs, m)
}

// addTo puts the messages seen so far into e and stops collecting.
func (t *wsTap) addTo(e *har.Entry) {
	t.mu.Lock()
	t.sealed = true
	msgs, dropped := t.msgs, t.dropped
	t.mu.Unlock()
	if msgs == nil {
		msgs = []wsMessage{}
	}
	e.Extra.Set("_webSocketMessages", msgs)
	if dropped > 0 {
		// Over --max-body in total, or a single message larger than it.
		e.Extra.Set("_webSocketMessagesDropped", dropped)
	}
}

// frameParser reassembles WebSocket messages (RFC 6455 §5) from a byte
// stream that arrives in arbitrary pieces. Control frames are skipped;
// fragmented messages are joined. A message longer than max is reported
// as not whole and its bytes are not kept.
type frameParser struct {
	hdr       [14]byte
	nhdr      int
	need      int // header length once known
	inPayload bool
	fin       bool
	opcode    byte
	masked    bool
	mask      [4]byte
	remaining uint64
	pos       uint64 // position in this frame's payload, for the mask
	msgOp     byte   // opcode of the message being assembled (0: none)
	msg       []byte
	msgBig    bool
}

func (f *frameParser) feed(b []byte, max int64, emit func(op byte, data []byte, whole bool)) {
	for len(b) > 0 {
		if !f.inPayload {
			b = f.readHeader(b)
			if !f.inPayload {
				return
			}
			if f.remaining == 0 {
				f.endFrame(emit)
			}
			continue
		}
		k := min(uint64(len(b)), f.remaining)
		chunk := b[:k]
		b = b[k:]
		data := f.opcode <= 2 // text, binary, continuation
		if data && !f.msgBig {
			if int64(len(f.msg))+int64(len(chunk)) > max {
				f.msgBig, f.msg = true, nil
			} else {
				start := len(f.msg)
				f.msg = append(f.msg, chunk...)
				if f.masked {
					for i := start; i < len(f.msg); i++ {
						f.msg[i] ^= f.mask[(f.pos+uint64(i-start))%4]
					}
				}
			}
		}
		f.pos += k
		f.remaining -= k
		if f.remaining == 0 {
			f.endFrame(emit)
		}
	}
}

// readHeader consumes header bytes; inPayload turns true once the header
// is complete.
func (f *frameParser) readHeader(b []byte) []byte {
	for len(b) > 0 && (f.need == 0 || f.nhdr < f.need) {
		f.hdr[f.nhdr] = b[0]
		f.nhdr++
		b = b[1:]
		if f.nhdr == 2 {
			f.need = 2
			switch f.hdr[1] & 0x7f {
			case 126:
				f.need += 2
			case 127:
				f.need += 8
			}
			if f.hdr[1]&0x80 != 0 {
				f.need += 4
			}
		}
	}
	if f.need == 0 || f.nhdr < f.need {
		return b
	}
	f.fin = f.hdr[0]&0x80 != 0
	f.opcode = f.hdr[0] & 0x0f
	f.masked = f.hdr[1]&0x80 != 0
	n := uint64(f.hdr[1] & 0x7f)
	i := 2
	switch n {
	case 126:
		n = uint64(binary.BigEndian.Uint16(f.hdr[2:4]))
		i = 4
	case 127:
		n = binary.BigEndian.Uint64(f.hdr[2:10])
		i = 10
	}
	if f.masked {
		copy(f.mask[:], f.hdr[i:i+4])
	}
	f.remaining, f.pos = n, 0
	f.nhdr, f.need = 0, 0
	f.inPayload = true
	if f.opcode == 1 || f.opcode == 2 {
		f.msgOp, f.msg, f.msgBig = f.opcode, f.msg[:0], false
	}
	return b
}

func (f *frameParser) endFrame(emit func(op byte, data []byte, whole bool)) {
	f.inPayload = false
	if f.opcode > 2 || !f.fin || f.msgOp == 0 {
		return
	}
	emit(f.msgOp, f.msg, !f.msgBig)
	f.msgOp, f.msg, f.msgBig = 0, nil, false
}
