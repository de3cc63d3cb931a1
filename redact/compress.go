package redact

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// Compressed bodies, as HAR writers that keep the wire bytes store them
// (base64 of gzip, deflate, br or zstd).

var errTooLarge = errors.New("inflates past the limit")

// compression names the compression of raw: by magic bytes (gzip, zstd,
// zlib), or by the Content-Encoding header when the bytes are not text
// (brotli has no magic; a decoded body under a stale header is text).
func compression(raw []byte, cenc string) string {
	switch {
	case len(raw) >= 2 && raw[0] == 0x1f && raw[1] == 0x8b:
		return "gzip"
	case len(raw) >= 4 && raw[0] == 0x28 && raw[1] == 0xb5 && raw[2] == 0x2f && raw[3] == 0xfd:
		return "zstd"
	}
	enc := lower(strings.TrimSpace(cenc))
	if i := strings.LastIndexByte(enc, ','); i >= 0 {
		enc = strings.TrimSpace(enc[i+1:]) // the last coding applied is undone first
	}
	if enc == "x-gzip" {
		enc = "gzip"
	}
	switch enc {
	case "gzip", "deflate", "br", "zstd":
		if !printable(string(raw[:min(len(raw), 4096)])) {
			return enc
		}
	}
	return ""
}

// inflate undoes codec, reading at most maxGunzip bytes.
func inflate(codec string, raw []byte) ([]byte, error) {
	var r io.Reader
	switch codec {
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, err
		}
		r = zr
	case "deflate":
		if zr, err := zlib.NewReader(bytes.NewReader(raw)); err == nil {
			r = zr
		} else {
			r = flate.NewReader(bytes.NewReader(raw)) // raw deflate, as some servers send
		}
	case "br":
		r = brotli.NewReader(bytes.NewReader(raw))
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(raw), zstd.WithDecoderMaxMemory(maxGunzip))
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		r = zr
	default:
		return nil, errors.New("unknown compression")
	}
	plain, err := io.ReadAll(io.LimitReader(r, maxGunzip+1))
	if err != nil {
		return nil, err
	}
	if len(plain) > maxGunzip {
		return nil, errTooLarge
	}
	return plain, nil
}

// deflate compresses data with codec again.
func deflate(codec string, data []byte) ([]byte, error) {
	var b bytes.Buffer
	var w io.WriteCloser
	switch codec {
	case "gzip":
		w = gzip.NewWriter(&b)
	case "deflate":
		w, _ = zlib.NewWriterLevel(&b, zlib.DefaultCompression)
	case "br":
		w = brotli.NewWriter(&b)
	case "zstd":
		zw, err := zstd.NewWriter(&b)
		if err != nil {
			return nil, err
		}
		w = zw
	default:
		return nil, errors.New("unknown compression")
	}
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
