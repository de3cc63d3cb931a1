package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInterruptedRedactWritesNothing: Ctrl-C or SIGTERM during redact
// (here: before it starts, the same to a command that checks) must leave
// no output and fail. redact never looked at the signal: it ran to the
// end, wrote the HAR and the report and exited 0.
func TestInterruptedRedactWritesNothing(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "session.har")
	entry := `{"startedDateTime":"","time":0,"request":{"method":"GET","url":"https://api.example/","httpVersion":"HTTP/1.1","cookies":[],"headers":[],"queryString":[],"headersSize":-1,"bodySize":0},"response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","cookies":[],"headers":[],"content":{"size":2,"mimeType":"application/json","text":"{}"},"redirectURL":"","headersSize":-1,"bodySize":0},"cache":{},"timings":{"send":0,"wait":0,"receive":0}}`
	har := `{"log":{"version":"1.2","creator":{"name":"t","version":"1"},"entries":[` + strings.Repeat(entry+",", 99) + entry + `]}}`
	if err := os.WriteFile(in, []byte(har), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"file", []string{"-o", filepath.Join(dir, "out.har"), "--report", filepath.Join(dir, "rep.json")}},
		{"stdout", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			var out, errb bytes.Buffer
			st := &streams{in: strings.NewReader(""), out: &out, err: &errb, getenv: func(k string) string {
				if k == "APITAPE_KEY_FILE" {
					return filepath.Join(dir, "k.key")
				}
				return ""
			}}
			code := run(ctx, st, append([]string{"redact", in}, tc.args...))
			if code != 1 || !strings.Contains(errb.String(), "apitape: error: interrupted") {
				t.Errorf("exit %d, stderr %q; want 1 and interrupted", code, errb.String())
			}
			if out.Len() > 0 {
				t.Errorf("%d bytes written to stdout", out.Len())
			}
			for _, f := range []string{"out.har", "rep.json"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
					t.Errorf("%s written", f)
				}
			}
		})
	}
}

// TestInterruptedScanIsNotClean: scan interrupted while it reads a file
// must not exit 0 as if the file were clean; it read on to the end and
// said nothing. The input here cancels the command as it is first read.
func TestInterruptedScanIsNotClean(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in := &cancelOnRead{r: strings.NewReader(strings.Repeat("nothing secret here\n", 10000)), cancel: cancel}
	var out, errb bytes.Buffer
	st := &streams{in: in, out: &out, err: &errb, getenv: func(string) string { return "" }}
	if code := run(ctx, st, []string{"scan", "-"}); code != 1 || !strings.Contains(errb.String(), "interrupted") {
		t.Errorf("exit %d, stderr %q; want 1 and interrupted", code, errb.String())
	}
}

// cancelOnRead cancels a context when it is first read, as Ctrl-C would
// while a command reads its input.
type cancelOnRead struct {
	r      io.Reader
	cancel context.CancelFunc
}

func (c *cancelOnRead) Read(p []byte) (int, error) {
	c.cancel()
	return c.r.Read(p[:min(len(p), 512)])
}
