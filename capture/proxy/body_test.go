package proxy

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"testing"

	"github.com/apitape/apitape/har"
)

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zl(b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func rawDeflate(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestSetContent(t *testing.T) {
	text := []byte(`{"items":[1,2,3],"name":"ünïcode"}`)
	long := bytes.Repeat([]byte("a"), 100)
	tests := []struct {
		name      string
		wire      []byte
		total     int64 // bytes on the wire (> len(wire) when the tap kept less)
		encoding  string
		max       int64
		text      string // the body the entry must hold
		size      int64
		truncated bool
		marked    string // _contentEncoding, when kept as received
		reason    string
	}{
		{"plain", text, 0, "", 1000, string(text), int64(len(text)), false, "", "no coding"},
		{"gzip", gz(text), 0, "gzip", 1000, string(text), int64(len(text)), false, "", "decoded"},
		{"x-gzip", gz(text), 0, "x-gzip", 1000, string(text), int64(len(text)), false, "", "old name of gzip"},
		{"deflate zlib", zl(text), 0, "deflate", 1000, string(text), int64(len(text)), false, "", "HTTP's deflate is zlib"},
		{"deflate raw", rawDeflate(text), 0, "deflate", 1000, string(text), int64(len(text)), false, "", "some servers send raw DEFLATE"},
		{"stacked", gz(gz(text)), 0, "gzip, gzip", 1000, string(text), int64(len(text)), false, "", "codings undone last first"},
		{"identity listed", gz(text), 0, "identity, gzip", 1000, string(text), int64(len(text)), false, "", "identity is no coding"},
		{"zstd", []byte{0x28, 0xb5, 0x2f, 0xfd}, 0, "zstd", 1000, "", 4, false, "zstd", "unknown coding: kept as received"},
		{"bad gzip", []byte("not gzip"), 0, "gzip", 1000, "", 8, false, "gzip", "undecodable: kept as received"},
		{"decoded over max", gz(long), 0, "gzip", 10, string(long[:10]), 100, true, "", "keeps max decoded bytes, size is the whole"},
		{"wire over max", gz(long)[:10], int64(len(gz(long))), "gzip", 10, "", int64(len(gz(long))), true, "gzip", "a cut compressed body is not decoded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			total := tt.total
			if total == 0 {
				total = int64(len(tt.wire))
			}
			var c har.Content
			setContent(&c, snapshot{data: tt.wire, total: total, complete: true}, tt.encoding, tt.max)
			got, _, err := c.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			want := []byte(tt.text)
			if tt.marked != "" {
				want = tt.wire
			}
			if !bytes.Equal(got, want) || c.Size != tt.size {
				t.Errorf("body %q size %d, want %q size %d (%s)", got, c.Size, want, tt.size, tt.reason)
			}
			_, truncated := c.Extra.Get("_truncated")
			if truncated != tt.truncated {
				t.Errorf("_truncated = %v, want %v (%s)", truncated, tt.truncated, tt.reason)
			}
			enc, _ := c.Extra.Get("_contentEncoding")
			if tt.marked != "" && string(enc) != `"`+tt.encoding+`"` || tt.marked == "" && enc != nil {
				t.Errorf("_contentEncoding = %s (%s)", enc, tt.reason)
			}
			if tt.marked != "" && c.Encoding != "base64" {
				t.Errorf("a body kept as received must be base64, got %q", c.Encoding)
			}
		})
	}
}

// FuzzDecode: compressed bodies from anywhere never panic the proxy and
// never yield more than max bytes.
func FuzzDecode(f *testing.F) {
	f.Add(gz([]byte("hello")), "gzip")
	f.Add(zl([]byte("hello")), "deflate")
	f.Add(rawDeflate([]byte("hello")), "deflate")
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, "gzip")
	f.Fuzz(func(t *testing.T, data []byte, enc string) {
		encs := contentEncodings(enc)
		if encs == nil {
			return
		}
		body, size, err := decode(data, encs, 64)
		if err == nil && (len(body) > 64 || size < int64(len(body))) {
			t.Fatalf("decode kept %d bytes, size %d", len(body), size)
		}
	})
}
