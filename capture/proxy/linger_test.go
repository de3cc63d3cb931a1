package proxy

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apitape/apitape/capture"
	"github.com/apitape/apitape/internal/testtool"
)

// A client sending a large body the proxy does not read to the end (the
// upstream answers without reading it, the proxy refuses the request)
// reads the whole answer, five times over on one proxy. The upstream
// transport closes such a body from a goroutine of its own, which
// read the connection after the proxy had put the connection's reader
// back in its pool: the proxy crashed (nil pointer in bufio.Reader.Read).
func TestUnreadBodyAnswerArrives(t *testing.T) {
	curl := testtool.Need(t, "curl")
	h := newHarness(t, nil, capture.Options{})
	early := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		io.WriteString(w, strings.Repeat("too large\n", 400_000))
	}))
	t.Cleanup(early.Close)
	body := filepath.Join(t.TempDir(), "body")
	if err := os.WriteFile(body, bytes.Repeat([]byte("x"), 32<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, url string
		status    string
		want      string
		direct    bool // sent to the proxy as if it were the server
	}{
		{"a request to the proxy as a server", h.proxyURL.String() + "/upload", "400", "(for example curl --proxy http://" + h.proxyURL.Host + " URL)\n", true},
		{"the upstream answers early", early.URL + "/upload", "413", strings.Repeat("too large\n", 400_000), false},
		{"the proxy refuses a request to itself", h.proxyURL.String() + "/upload", "508", "refusing to send a request to the proxy itself\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := range 5 {
				args := []string{"-sS", "--proxy", h.proxyURL.String(), "-H", "Expect:", "--data-binary", "@" + body, "-w", "\n%{http_code}", tt.url}
				if tt.direct {
					args = append(args, "--noproxy", "*")
				}
				out, err := exec.Command(curl, args...).Output()
				got, status, _ := strings.Cut(string(out), "\n"+tt.status)
				if err != nil || status != "" || !strings.HasSuffix(got, tt.want) {
					t.Fatalf("run %d: curl: %v; got %d bytes ending %q, status %q", i, err, len(got), got[max(0, len(got)-60):], tt.status)
				}
			}
		})
	}
}
