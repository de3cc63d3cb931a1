//go:build linux

package main

// Tests that need Linux's pseudo-terminals and named pipes.

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	// mkfifo PATH: a named pipe, for output that must be written through.
	scriptCmds["mkfifo"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: mkfifo path")
		}
		ts.Check(syscall.Mkfifo(ts.MkAbs(args[0]), 0o644))
	}
}

// openPTY returns the two ends of a new pseudo-terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	unlock := 0
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatal(e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Fatal(e)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

// TestColourOnTerminal replays one call whose answer changed with stdout
// and stderr on a real pseudo-terminal: the text report is coloured, unless
// NO_COLOR is set or TERM is dumb (issue 15: TERM=dumb got colour).
func TestColourOnTerminal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"name":"live"}`)
	}))
	defer srv.Close()
	harPath := filepath.Join(t.TempDir(), "s.har")
	os.WriteFile(harPath, []byte(`{"log":{"version":"1.2","creator":{"name":"t","version":"1"},"entries":[
{"startedDateTime":"2025-03-14T09:26:51Z","time":8,"_resourceType":"fetch",
 "request":{"method":"GET","url":"http://rancher.example/v3/x","httpVersion":"HTTP/1.1","headers":[],"queryString":[],"cookies":[],"headersSize":-1,"bodySize":0},
 "response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[{"name":"Content-Type","value":"application/json"}],"cookies":[],"content":{"size":19,"mimeType":"application/json","text":"{\"name\":\"recorded\"}"},"redirectURL":"","headersSize":-1,"bodySize":19},
 "cache":{},"timings":{"send":0,"wait":7,"receive":1}}]}}`), 0o600)
	sgr := regexp.MustCompile(`\x1b\[[0-9;]*m`)
	tests := []struct {
		env    map[string]string
		colour bool // SGR colour sequences
		escape bool // any escape sequence (progress lines redrawn with ESC[K)
	}{
		{map[string]string{"TERM": "xterm-256color"}, true, true},
		{map[string]string{"TERM": "dumb"}, false, false},
		{map[string]string{"TERM": "xterm", "NO_COLOR": "1"}, false, true},
	}
	for _, tt := range tests {
		master, slave := openPTY(t)
		var out bytes.Buffer
		done := make(chan struct{})
		go func() {
			io.Copy(&out, master) // ends with EIO once the slave is closed
			close(done)
		}()
		st := newStreams(strings.NewReader(""), slave, slave, func(k string) string { return tt.env[k] })
		code := run(context.Background(), st, []string{"replay", harPath, "--target", srv.URL})
		slave.Close()
		<-done
		master.Close()
		if code != 1 {
			t.Fatalf("%v: exit %d, want 1 (a regression)\n%s", tt.env, code, out.String())
		}
		if !strings.Contains(out.String(), "recorded") {
			t.Fatalf("%v: no report on the terminal:\n%q", tt.env, out.String())
		}
		if got := sgr.MatchString(out.String()); got != tt.colour {
			t.Errorf("%v: colour %v, want %v:\n%q", tt.env, got, tt.colour, out.String())
		}
		if got := strings.Contains(out.String(), "\x1b"); got != tt.escape {
			t.Errorf("%v: escape sequences %v, want %v:\n%q", tt.env, got, tt.escape, out.String())
		}
	}
}
