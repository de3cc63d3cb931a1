package proxy

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"github.com/apitape/apitape/capture"
	"github.com/apitape/apitape/har"
)

// dialThroughProxy opens a CONNECT tunnel to target and, for wss, starts
// TLS inside it, as browsers do for WebSockets behind a proxy.
func dialThroughProxy(t *testing.T, h *harness, target *url.URL) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", h.proxyURL.Host)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target.Host, target.Host)
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"})
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", res, err)
	}
	if br.Buffered() > 0 {
		t.Fatal("proxy sent bytes after the CONNECT response")
	}
	if target.Scheme == "wss" {
		tc := tls.Client(conn, &tls.Config{RootCAs: h.clientCA, ServerName: target.Hostname()})
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		return tc
	}
	return conn
}

// typedEcho sends every message back with its own frame type.
var typedEcho = websocket.Handler(func(ws *websocket.Conn) {
	type msg struct {
		data []byte
		typ  byte
	}
	codec := websocket.Codec{
		Marshal: func(v any) ([]byte, byte, error) { m := v.(msg); return m.data, m.typ, nil },
		Unmarshal: func(data []byte, typ byte, v any) error {
			*(v.(*msg)) = msg{data, typ}
			return nil
		},
	}
	for {
		var m msg
		if codec.Receive(ws, &m) != nil || codec.Send(ws, m) != nil {
			return
		}
	}
})

func TestWebSocketEcho(t *testing.T) {
	echo := typedEcho
	for _, scheme := range []string{"ws", "wss"} {
		t.Run(scheme, func(t *testing.T) {
			h := newHarness(t, nil, capture.Options{})
			srv := httptest.NewUnstartedServer(echo)
			if scheme == "wss" {
				srv.StartTLS()
			} else {
				srv.Start()
			}
			defer srv.Close()
			target, _ := url.Parse(strings.Replace(srv.URL, "http", "ws", 1) + "/echo")
			cfg, err := websocket.NewConfig(target.String(), "http://"+target.Host)
			if err != nil {
				t.Fatal(err)
			}
			ws, err := websocket.NewClient(cfg, dialThroughProxy(t, h, target))
			if err != nil {
				t.Fatal(err)
			}
			msgs := []string{"hello", strings.Repeat("long message ", 20), `{"op":"ping"}`}
			for _, m := range msgs {
				if err := websocket.Message.Send(ws, m); err != nil {
					t.Fatal(err)
				}
				var got string
				ws.SetDeadline(time.Now().Add(5 * time.Second))
				if err := websocket.Message.Receive(ws, &got); err != nil {
					t.Fatal(err)
				}
				if got != m {
					t.Fatalf("echo %q, want %q", got, m)
				}
			}
			bin := []byte{0, 1, 2, 0xff}
			websocket.Message.Send(ws, bin)
			var gotBin []byte
			if err := websocket.Message.Receive(ws, &gotBin); err != nil || !bytes.Equal(gotBin, bin) {
				t.Fatalf("binary echo %v %v", gotBin, err)
			}
			ws.Close()

			var e = waitEntries(t, h, 1)[0]
			if e.Response.Status != 101 || e.ResourceType() != "websocket" {
				t.Fatalf("status %d resourceType %q", e.Response.Status, e.ResourceType())
			}
			wantURL := map[string]string{"ws": "http://", "wss": "https://"}[scheme] + target.Host + "/echo"
			if e.Request.URL != wantURL {
				t.Errorf("url %s, want %s", e.Request.URL, wantURL)
			}
			raw, _ := e.Extra.Get("_webSocketMessages")
			var got []wsMessage
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatal(err)
			}
			var want []wsMessage
			for _, m := range msgs {
				want = append(want, wsMessage{Type: "send", Opcode: 1, Data: m}, wsMessage{Type: "receive", Opcode: 1, Data: m})
			}
			b64 := base64.StdEncoding.EncodeToString(bin)
			want = append(want, wsMessage{Type: "send", Opcode: 2, Data: b64}, wsMessage{Type: "receive", Opcode: 2, Data: b64})
			for i := range got {
				if got[i].Time < float64(time.Now().Add(-time.Minute).Unix()) {
					t.Errorf("message %d: time %v", i, got[i].Time)
				}
				got[i].Time = 0
			}
			if !slices.Equal(got, want) {
				t.Errorf("_webSocketMessages:\n got %d %+v\nwant %d %+v", len(got), got[max(0, len(got)-3):], len(want), want[len(want)-3:])
			}
		})
	}
}

// waitEntries waits for n entries: an upgraded connection is recorded
// when it closes, slightly after the client closed it. The harness says
// when the sink has taken an entry; the file is read once it has n.
func waitEntries(t *testing.T, h *harness, n int) []*har.Entry {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for h.sink.Recorded() < n {
		select {
		case <-h.recorded:
		case <-timeout:
			t.Fatalf("%d entries recorded after 10s, want %d", h.sink.Recorded(), n)
		}
	}
	es := h.entries(t)
	if len(es) != n {
		t.Fatalf("%d entries, want %d", len(es), n)
	}
	return es
}

// An open WebSocket is recorded when the proxy closes.
func TestWebSocketRecordedOnClose(t *testing.T) {
	h := newHarness(t, nil, capture.Options{})
	srv := httptest.NewServer(typedEcho)
	defer srv.Close()
	target, _ := url.Parse(strings.Replace(srv.URL, "http", "ws", 1))
	cfg, _ := websocket.NewConfig(target.String(), srv.URL)
	ws, err := websocket.NewClient(cfg, dialThroughProxy(t, h, target))
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	websocket.Message.Send(ws, "before close")
	var got string
	websocket.Message.Receive(ws, &got)
	if err := h.proxy.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	es := h.entries(t)
	if len(es) != 1 {
		t.Fatalf("%d entries after Close", len(es))
	}
	raw, _ := es[0].Extra.Get("_webSocketMessages")
	if !strings.Contains(string(raw), "before close") {
		t.Errorf("_webSocketMessages = %s", raw)
	}
}

// frame builds one WebSocket frame.
func frame(fin bool, op byte, payload []byte, mask []byte) []byte {
	var b []byte
	b0 := op
	if fin {
		b0 |= 0x80
	}
	b = append(b, b0)
	m := byte(0)
	if mask != nil {
		m = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		b = append(b, m|byte(n))
	case n < 1<<16:
		b = append(b, m|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, m|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if mask != nil {
		b = append(b, mask...)
		for i, c := range payload {
			b = append(b, c^mask[i%4])
		}
		return b
	}
	return append(b, payload...)
}

type parsed struct {
	op    byte
	data  string
	whole bool
}

func parseAll(chunks [][]byte, max int64) []parsed {
	var f frameParser
	var out []parsed
	for _, c := range chunks {
		f.feed(c, max, func(op byte, data []byte, whole bool) { out = append(out, parsed{op, string(data), whole}) })
	}
	return out
}

func TestFrameParser(t *testing.T) {
	mask := []byte{1, 2, 3, 4}
	long := strings.Repeat("L", 70000)
	tests := []struct {
		name   string
		stream []byte
		max    int64
		want   []parsed
		reason string
	}{
		{"text", frame(true, 1, []byte("hi"), nil), 100, []parsed{{1, "hi", true}}, "the simplest frame"},
		{"masked", frame(true, 1, []byte("hello"), mask), 100, []parsed{{1, "hello", true}}, "client frames are masked"},
		{"16-bit length", frame(true, 2, []byte(strings.Repeat("m", 300)), mask), 1000, []parsed{{2, strings.Repeat("m", 300), true}}, "126 means a 2-byte length"},
		{"64-bit length", frame(true, 1, []byte(long), nil), 1 << 20, []parsed{{1, long, true}}, "127 means an 8-byte length"},
		{"fragmented with ping inside", slices.Concat(frame(false, 1, []byte("ab"), mask), frame(true, 9, []byte("p"), mask),
			frame(false, 0, []byte("cd"), mask), frame(true, 0, []byte("e"), mask)), 100,
			[]parsed{{1, "abcde", true}}, "continuations join; control frames in between are skipped"},
		{"empty", frame(true, 1, nil, nil), 100, []parsed{{1, "", true}}, "a zero-length message is a message"},
		{"over max", slices.Concat(frame(true, 1, []byte("0123456789"), nil), frame(true, 1, []byte("ok"), nil)), 5,
			[]parsed{{1, "", false}, {1, "ok", true}}, "a message over max is reported but not kept, and parsing goes on"},
		{"close frame", frame(true, 8, []byte{3, 232}, nil), 100, nil, "control frames are not messages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			whole := parseAll([][]byte{tt.stream}, tt.max)
			var bytewise [][]byte
			for i := range tt.stream {
				bytewise = append(bytewise, tt.stream[i:i+1])
			}
			split := parseAll(bytewise, tt.max)
			if !slices.Equal(whole, tt.want) || !slices.Equal(split, tt.want) {
				t.Errorf("got %v (byte by byte %v), want %v: %s", trim(whole), trim(split), trim(tt.want), tt.reason)
			}
		})
	}
}

func trim(ps []parsed) []string {
	var s []string
	for _, p := range ps {
		d := p.data
		if len(d) > 20 {
			d = d[:20] + "…"
		}
		s = append(s, fmt.Sprintf("%d:%q:%v", p.op, d, p.whole))
	}
	return s
}

// FuzzFrameParser: any byte stream, cut anywhere, parses the same as in
// one piece, and never panics.
func FuzzFrameParser(f *testing.F) {
	f.Add(frame(true, 1, []byte("hello"), []byte{9, 8, 7, 6}), uint16(3))
	f.Add(slices.Concat(frame(false, 2, []byte{1, 2}, nil), frame(true, 0, []byte{3}, nil)), uint16(1))
	f.Add(frame(true, 1, bytes.Repeat([]byte("x"), 200), nil), uint16(100))
	f.Add([]byte{0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, uint16(4))
	f.Fuzz(func(t *testing.T, stream []byte, cut uint16) {
		whole := parseAll([][]byte{stream}, 64)
		c := int(cut)
		if len(stream) > 0 {
			c %= len(stream) + 1
		} else {
			c = 0
		}
		split := parseAll([][]byte{stream[:c], stream[c:]}, 64)
		if !slices.Equal(whole, split) {
			t.Fatalf("cut at %d changes the result: %v vs %v", c, whole, split)
		}
		for _, p := range whole {
			if len(p.data) > 64 {
				t.Fatalf("kept %d bytes over max", len(p.data))
			}
		}
	})
}

// An upgrade sent to the proxy in absolute form (no CONNECT) works too.
func TestWebSocketAbsoluteForm(t *testing.T) {
	h := newHarness(t, nil, capture.Options{})
	srv := httptest.NewServer(typedEcho)
	defer srv.Close()
	conn, err := net.Dial("tcp", h.proxyURL.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	host := srv.Listener.Addr().String()
	fmt.Fprintf(conn, "GET http://%s/ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://%s\r\n"+
		"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n", host, host, host)
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, &http.Request{Method: "GET"})
	if err != nil || res.StatusCode != 101 {
		t.Fatalf("handshake: %v %v", res, err)
	}
	if ext := res.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
		t.Errorf("compression negotiated (%q): frames would not be readable", ext)
	}
	conn.Write(frame(true, 1, []byte("over absolute form"), []byte{1, 2, 3, 4}))
	reply := make([]byte, 2+len("over absolute form"))
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(br, reply); err != nil || string(reply[2:]) != "over absolute form" {
		t.Fatalf("echo %q %v", reply, err)
	}
	conn.Close()
	e := waitEntries(t, h, 1)[0]
	raw, _ := e.Extra.Get("_webSocketMessages")
	if !strings.Contains(string(raw), `"type":"receive","time":`) || strings.Count(string(raw), "over absolute form") != 2 {
		t.Errorf("_webSocketMessages = %s", raw)
	}
	if e.Request.URL != "http://"+host+"/ws" {
		t.Errorf("url %s", e.Request.URL)
	}
}
