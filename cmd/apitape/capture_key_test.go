package main

import (
	"path/filepath"
	"regexp"
	"testing"
)

// TestCaptureUsesUserKey: a capture and a later convert of the same
// secret name the same placeholder, because both use the user's key.
func TestCaptureUsesUserKey(t *testing.T) {
	t.Setenv("APITAPE_KEY_FILE", filepath.Join(t.TempDir(), "redact.key"))
	entry := []byte(`{"startedDateTime":"2026-01-01T00:00:00Z","time":1,"request":{"method":"GET","url":"http://127.0.0.1/v3/clusters","httpVersion":"HTTP/1.1","cookies":[],"headers":[{"name":"Authorization","value":"Bearer token-abcde:q8w7e6r5t4y3u2i1o9p8a7s6d5f4g3h2j1k0l9z8x7c6v5b4n3m2"}],"queryString":[],"headersSize":-1,"bodySize":0},"response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","cookies":[],"headers":[],"content":{"size":0,"mimeType":"application/json"},"redirectURL":"","headersSize":-1,"bodySize":0},"cache":{},"timings":{"send":0,"wait":1,"receive":0}}`)
	placeholder := regexp.MustCompile(`REDACTED-[a-z-]+-[a-p]{8}`)

	_, capture, err := newCaptureRedactor()
	if err != nil {
		t.Fatal(err)
	}
	captured, err := capture(0, entry)
	if err != nil {
		t.Fatal(err)
	}
	converted, err := newConvertRedactor(nil)(0, entry)
	if err != nil {
		t.Fatal(err)
	}
	a, b := placeholder.FindString(string(captured)), placeholder.FindString(string(converted))
	if a == "" || a != b {
		t.Fatalf("capture placeholder %q, convert placeholder %q: want the same, non-empty", a, b)
	}
}
