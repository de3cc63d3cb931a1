package replay

import (
	"context"
	"strings"
	"testing"

	"github.com/apitape/apitape/har"
)

// TestDoubleSlashPath: a recorded path that starts with "//" goes out as
// that path. net/http writes an Opaque that starts with "//" as
// "http://…", so the server read the first segment as the host:
// "GET http://double//x HTTP/1.1".
func TestDoubleSlashPath(t *testing.T) {
	srv := newRawServer(t, okAnswer)
	host := strings.TrimPrefix(srv.url(), "http://")
	cases := []struct{ url, want string }{
		{"http://rancher.test//double//x/../y/./z?q=1", "//double//x/../y/./z?q=1"},
		{"http://rancher.test//a:b@c/%2F", "//a:b@c/%2F"},
		// Not a valid encoding of itself as a path: the absolute form,
		// which names the target's host.
		{"http://rancher.test//a{b}/%zz", "http://" + host + "//a{b}/%zz"},
	}
	for _, c := range cases {
		r, err := New(srv.url())
		if err != nil {
			t.Fatal(err)
		}
		before := len(srv.got())
		res, err := r.Run(context.Background(), []*har.Entry{entry("GET", c.url, nil, "")})
		if err != nil {
			t.Fatal(err)
		}
		if res.Calls[0].Outcome != Pass {
			t.Errorf("%s: %s %+v", c.url, res.Calls[0].Outcome, res.Calls[0].Error)
		}
		got := srv.got()
		if len(got) != before+1 {
			t.Fatalf("%s: server saw %d requests, want 1", c.url, len(got)-before)
		}
		if want := "GET " + c.want + " HTTP/1.1"; got[before].line != want {
			t.Errorf("%s: request line %q, want %q", c.url, got[before].line, want)
		}
	}
}
