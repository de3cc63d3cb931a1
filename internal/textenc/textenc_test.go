package textenc

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"
	"unicode/utf16"
)

func utf16Bytes(s string, bigEndian bool) []byte {
	b := []byte{0xFF, 0xFE}
	if bigEndian {
		b = []byte{0xFE, 0xFF}
	}
	for _, u := range utf16.Encode([]rune(s)) {
		if bigEndian {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	return b
}

func gzipBytes(b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

func TestDecode(t *testing.T) {
	const har = `{"log":{"entries":[{"comment":"naïve €"}]}}`
	for _, tt := range []struct {
		name    string
		in      []byte
		want    string
		enc     Encoding
		wantErr string
	}{
		{"utf-8", []byte(har), har, Plain, ""},
		{"utf-8 with a byte order mark, kept", []byte("\xef\xbb\xbf" + har), "\xef\xbb\xbf" + har, Plain, ""},
		{"not text at all, for the reader to refuse", []byte{0, 1, 2, 0xff}, "\x00\x01\x02\xff", Plain, ""},
		{"empty", nil, "", Plain, ""},
		{"utf-16 little-endian", utf16Bytes(har, false), har, UTF16, ""},
		{"utf-16 big-endian", utf16Bytes(har, true), har, UTF16, ""},
		{"gzip", gzipBytes([]byte(har)), har, Gzip, ""},
		{"gzip of utf-16", gzipBytes(utf16Bytes(har, false)), har, Gzip, ""},
		{"gzip of gzip: one layer only", gzipBytes(gzipBytes([]byte(har))), string(gzipBytes([]byte(har))), Gzip, ""},
		{"a gzip header cut short", []byte{0x1f, 0x8b, 8}, "", Gzip, "invalid gzip: unexpected EOF"},
		{"gzip cut after its header", gzipBytes([]byte(har))[:14], "", Gzip, "gzip: unexpected EOF"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			br, enc, err := Decode(bufio.NewReader(bytes.NewReader(tt.in)))
			if enc != tt.enc {
				t.Errorf("encoding %q, want %q", enc, tt.enc)
			}
			var got []byte
			if err == nil {
				got, err = io.ReadAll(br)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzDecode: any input decodes without a panic, and input that is neither
// UTF-16 nor gzip comes back byte for byte.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"log":{}}`))
	f.Add(utf16Bytes(`{"log":{}}`, false))
	f.Add(utf16Bytes(`{"log":{}}`, true))
	f.Add(gzipBytes([]byte(`{"log":{}}`)))
	f.Add([]byte{0xFF, 0xFE, 0x00})
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, in []byte) {
		br, enc, err := Decode(bufio.NewReader(bytes.NewReader(in)))
		if err != nil {
			return
		}
		out, _ := io.ReadAll(io.LimitReader(br, 1<<20))
		if Sniff(in) == Plain && (enc != Plain || !bytes.Equal(out, in)) {
			t.Errorf("plain input changed: %q → %q (%q)", in, out, enc)
		}
	})
}
