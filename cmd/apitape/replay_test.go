package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/demo"
	"github.com/apitape/apitape/replay"
	"github.com/apitape/apitape/replay/replaytest"
)

// replayDemoPassword is the admin password of every demo server the replay
// scripts start, so that a session recorded on one logs in on another.
const replayDemoPassword = "replay-script-password"

func init() {
	scriptCmds["replayserver"] = cmdReplayServer
	scriptCmds["recordsession"] = cmdRecordSession
}

// cmdReplayServer starts a server for a replay script and exports its URL
// as $NAME:
//
//	replayserver NAME fake [nonce] [rename] [status=N]   the small Rancher-like fake
//	replayserver NAME fake-tls                           the same over HTTPS (self-signed)
//	replayserver NAME demo [VARIANT]                     the demo server
//	replayserver NAME trouble [good]                     /ok /slow /reset /big /badjson
//	replayserver NAME down                               a loopback port nothing listens on
func cmdReplayServer(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: replayserver NAME fake|demo|trouble|down [options]")
	}
	name, kind, opts := args[0], args[1], args[2:]
	switch kind {
	case "fake":
		var o replaytest.FakeOptions
		for _, a := range opts {
			switch {
			case a == "nonce":
				o.Nonce = true
			case a == "rename":
				o.RenameVersion = true
			case strings.HasPrefix(a, "status="):
				o.CreateStatus, _ = strconv.Atoi(strings.TrimPrefix(a, "status="))
			default:
				ts.Fatalf("replayserver fake: unknown option %q", a)
			}
		}
		srv := httptest.NewServer(replaytest.NewFake(o))
		ts.Defer(srv.Close)
		ts.Setenv(name, srv.URL)
	case "fake-tls":
		srv := httptest.NewUnstartedServer(replaytest.NewFake(replaytest.FakeOptions{}))
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
		srv.StartTLS()
		ts.Defer(srv.Close)
		ts.Setenv(name, srv.URL)
	case "demo":
		variant := ""
		if len(opts) > 0 {
			variant = opts[0]
		}
		ctx, cancel := context.WithCancel(context.Background())
		srv, err := demo.Start(ctx, "127.0.0.1:0", demo.Options{Password: replayDemoPassword, Variant: variant})
		if err != nil {
			cancel()
			ts.Fatalf("demo: %v", err)
		}
		ts.Defer(func() { cancel(); srv.Close() })
		ts.Setenv(name, srv.URL)
	case "trouble":
		srv := httptest.NewServer(troubleHandler(len(opts) > 0 && opts[0] == "good"))
		ts.Defer(srv.Close)
		ts.Setenv(name, srv.URL)
	case "down":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			ts.Fatalf("%v", err)
		}
		addr := ln.Addr().String()
		ln.Close()
		ts.Setenv(name, "http://"+addr)
	default:
		ts.Fatalf("replayserver: unknown kind %q", kind)
	}
}

// bigBody is a 5 MiB JSON document.
func bigBody() []byte {
	var b strings.Builder
	b.WriteString(`{"items":[`)
	for i := 0; b.Len() < 5<<20; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"i":%d,"pad":"%s"}`, i, strings.Repeat("x", 100))
	}
	b.WriteString("]}")
	return []byte(b.String())
}

// troubleHandler answers well when good, and otherwise misbehaves on every
// path but /ok: /slow is late, /reset closes the connection, /big is a
// 5 MiB body (also when good), /badjson claims JSON but is not.
func troubleHandler(good bool) http.Handler {
	big := bigBody()
	ok := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok":true}`)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { ok(w) })
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(big)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		if !good {
			select {
			case <-time.After(3 * time.Second):
			case <-r.Context().Done():
			}
		}
		ok(w)
	})
	mux.HandleFunc("/reset", func(w http.ResponseWriter, r *http.Request) {
		if good {
			ok(w)
			return
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			if tc, isTCP := conn.(*net.TCPConn); isTCP {
				tc.SetLinger(0) // RST, not FIN
			}
			conn.Close()
		}
	})
	mux.HandleFunc("/badjson", func(w http.ResponseWriter, r *http.Request) {
		if good {
			ok(w)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok":tru`)
	})
	return mux
}

// cmdRecordSession records a session against a server into a HAR file:
//
//	recordsession fake URL FILE            login, create, edit, get, list
//	recordsession demo-browser URL FILE    the demo UI's cookie and CSRF session
//	recordsession demo-token URL FILE      an API client's token session
//	recordsession demo-chain URL FILE      a provisioning script: credential, template, cluster, pool
//	recordsession trouble URL FILE         GET /ok /slow /reset /big /badjson
func cmdRecordSession(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: recordsession fake|demo-browser|demo-token|demo-chain|trouble URL FILE")
	}
	var entries []*har.Entry
	var err error
	switch args[0] {
	case "fake":
		entries, err = replaytest.RecordSession(args[1])
	case "demo-browser":
		entries, err = replaytest.RecordDemoBrowserSession(args[1], replayDemoPassword)
	case "demo-token":
		entries, err = replaytest.RecordDemoTokenSession(args[1], replayDemoPassword)
	case "demo-chain":
		entries, err = replaytest.RecordDemoChainSession(args[1], replayDemoPassword)
	case "trouble":
		rec := replaytest.NewRecorder(args[1])
		for _, p := range []string{"/ok", "/slow", "/reset", "/big", "/badjson"} {
			if _, err = rec.Do("GET", p, ""); err != nil {
				break
			}
		}
		entries = rec.Entries
	default:
		ts.Fatalf("recordsession: unknown session %q", args[0])
	}
	if err != nil {
		ts.Fatalf("recordsession: %v", err)
	}
	if err := os.WriteFile(ts.MkAbs(args[2]), replaytest.HARBytes(entries), 0o600); err != nil {
		ts.Fatalf("%v", err)
	}
}

func TestReplayProgress(t *testing.T) {
	var b strings.Builder
	p := &replayProgress{w: &b}
	p.update(replay.Progress{Done: 1, Total: 3})
	p.update(replay.Progress{Done: 2, Total: 3, Failed: 1}) // within 100ms: not drawn
	p.update(replay.Progress{Done: 3, Total: 3, Failed: 1}) // the last one always is
	p.clear()
	want := "\r\x1b[Kreplaying 1/3\r\x1b[Kreplaying 3/3 (1 differ)\r\x1b[K"
	if b.String() != want {
		t.Errorf("progress wrote %q, want %q", b.String(), want)
	}
	var nilProgress *replayProgress
	nilProgress.clear() // no terminal: nothing to clear, no panic
}
