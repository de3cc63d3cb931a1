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

// signalContext returns a context cancelled by the first SIGINT or
// SIGTERM. From then on the process exits with status 128+signal when a
// second one comes or signalGrace has passed, whatever the command is
// doing. stop releases the signals.
func signalContext() (ctx context.Context, stop context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		var first os.Signal
		select {
		case first = <-sigs:
		case <-done:
			return
		}
		cancel()
		t := time.NewTimer(signalGrace)
		defer t.Stop()
		select {
		case s := <-sigs:
			fmt.Fprintf(os.Stderr, "apitape: %s again: exiting now\n", signalName(s))
			atomicfile.RemovePending()
			os.Exit(signalStatus(s))
		case <-t.C:
			fmt.Fprintf(os.Stderr, "apitape: not stopped %s after %s: exiting\n", signalGrace, signalName(first))
			atomicfile.RemovePending()
			os.Exit(signalStatus(first))
		case <-done:
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(sigs)
			close(done)
			cancel()
		})
	}
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
