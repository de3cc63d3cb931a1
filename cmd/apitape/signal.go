package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/apitape/apitape/internal/atomicfile"
)

// signalGrace is how long a command may take to stop after Ctrl-C or
// SIGTERM (a recording writes its last calls and closes the browser)
// before the process exits anyway: a cancel that hangs must never keep it
// alive. A second signal exits at once.
var signalGrace = 15 * time.Second

// settling tells the signal watcher that the command has reached a final
// step that makes steady progress (a capture redacting its whole file
// again): from then on only a second signal ends the process early, not
// signalGrace, which is there for hangs.
var settling = make(chan struct{}, 1)

func settle() {
	select {
	case settling <- struct{}{}:
	default:
	}
}

// signalContext returns a context cancelled by the first SIGINT or
// SIGTERM. From then on the process exits with status 128+signal when a
// second one comes or signalGrace has passed (unless the command settled),
// whatever the command is doing; the temporary files of unfinished outputs
// are removed first, so the outputs stay as they were. stop releases the
// signals.
func signalContext() (ctx context.Context, stop context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	select { // a settle left by an earlier command of this process
	case <-settling:
	default:
	}
	go func() {
		var first os.Signal
		settled := false
		for first == nil {
			select {
			case first = <-sigs:
			case <-settling:
				settled = true
			case <-done:
				return
			}
		}
		cancel()
		var grace <-chan time.Time
		if !settled {
			t := time.NewTimer(signalGrace)
			defer t.Stop()
			grace = t.C
		}
		for {
			select {
			case s := <-sigs:
				fmt.Fprintf(os.Stderr, "apitape: %s again: exiting now\n", signalName(s))
				atomicfile.RemovePending()
				os.Exit(signalStatus(s))
			case <-grace:
				fmt.Fprintf(os.Stderr, "apitape: not stopped %s after %s: exiting\n", signalGrace, signalName(first))
				atomicfile.RemovePending()
				os.Exit(signalStatus(first))
			case <-settling:
				grace = nil
				continue
			case <-done:
			}
			return
		}
	}()
	return ctx, sync.OnceFunc(func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	})
}

func signalName(s os.Signal) string {
	switch s {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// signalStatus is the shell's exit status of a process ended by s.
func signalStatus(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 1
}
