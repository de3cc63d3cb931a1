package proxy

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func TestParseHead(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		start  string
		fields string
		n      int
		reason string
	}{
		{"request", "GET / HTTP/1.1\r\nHost: a\r\nX-B:  2 \r\n\r\nbody", "GET / HTTP/1.1", "Host=a|X-B=2", 37, "values trimmed; body not part of the head"},
		{"bare LF", "HTTP/1.1 200 OK\nA: 1\n\n", "HTTP/1.1 200 OK", "A=1", 22, "LF-only line ends are tolerated, as net/http does"},
		{"folded", "GET / HTTP/1.1\r\nA: x\r\n  y\r\n\ty2\r\n\r\n", "GET / HTTP/1.1", "A=x y y2", 34, "obsolete folding joins with a space"},
		{"incomplete", "GET / HTTP/1.1\r\nA: 1\r\n", "", "", 0, "no end of head yet"},
		{"no colon", "GET / HTTP/1.1\r\nnonsense\r\nB: 2\r\n\r\n", "GET / HTTP/1.1", "B=2", 34, "a line without a colon is skipped, like net/http rejects it"},
		{"empty value", "GET / HTTP/1.1\r\nX-Empty:\r\n\r\n", "GET / HTTP/1.1", "X-Empty=", 28, "an empty value is a value"},
	}
	for _, tt := range tests {
		start, fields, n := parseHead([]byte(tt.in))
		var fs []string
		for _, f := range fields {
			fs = append(fs, f.name+"="+f.value)
		}
		if string(start) != tt.start || strings.Join(fs, "|") != tt.fields || n != tt.n {
			t.Errorf("%s: got %q %q %d, want %q %q %d (%s)", tt.name, start, strings.Join(fs, "|"), n, tt.start, tt.fields, tt.n, tt.reason)
		}
	}
}

func TestOriginForm(t *testing.T) {
	tests := []struct{ in, want, reason string }{
		{"http://h:1/a/b?c=%2F", "/a/b?c=%2F", "path and query kept as written"},
		{"http://h", "/", "no path: the root"},
		{"http://h?x=1", "/?x=1", "a query without a path"},
		{"/already", "/already", "origin form stays"},
		{"*", "*", "asterisk form stays"},
		{"HTTP://H/%7e", "/%7e", "escapes not normalised"},
	}
	for _, tt := range tests {
		if got := originForm(tt.in); got != tt.want {
			t.Errorf("originForm(%q) = %q, want %q (%s)", tt.in, got, tt.want, tt.reason)
		}
	}
}

// FuzzOriginForm: the target sent upstream is the tail of what the client
// wrote, starting with "/", or the input itself when it had no scheme.
func FuzzOriginForm(f *testing.F) {
	for _, s := range []string{"http://h/a?b", "http://h", "*", "/x", "https://[::1]:8/?q", "http://a?b/c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := originForm(in)
		if !strings.Contains(in, "://") {
			if got != in {
				t.Fatalf("%q became %q", in, got)
			}
			return
		}
		if !strings.HasPrefix(got, "/") {
			t.Fatalf("%q became %q, not origin form", in, got)
		}
		if got != "/" && !strings.HasSuffix(in, strings.TrimPrefix(got, "/")) {
			t.Fatalf("%q became %q, which is not its tail", in, got)
		}
	})
}

// FuzzParseHead: never panics, never reads past the end, and a head it
// accepts ends with an empty line.
func FuzzParseHead(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nA: 1\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nB:2\r\n\r\n"))
	f.Add([]byte("\n\n"))
	f.Add([]byte(" : \r\n\t\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		start, fields, n := parseHead(b)
		if n == 0 {
			return
		}
		if n > len(b) || !(bytes.HasSuffix(b[:n], []byte("\n\n")) || bytes.HasSuffix(b[:n], []byte("\n\r\n"))) {
			t.Fatalf("head of %d bytes does not end with an empty line: %q", n, b[:n])
		}
		if bytes.Contains(start, []byte("\n")) {
			t.Fatalf("start line %q spans lines", start)
		}
		// A stray CR inside a line stays (net/http refuses such a request
		// before the tap is asked); LF always ends a line.
		for _, f := range fields {
			if strings.Contains(f.name, "\n") || strings.Contains(f.value, "\n") {
				t.Fatalf("field %q spans lines", fmt.Sprint(f))
			}
		}
	})
}
