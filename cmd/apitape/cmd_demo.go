package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/apitape/apitape/internal/demorun"
	"github.com/apitape/apitape/internal/shellquote"
)

const demoUsage = `Usage:
    apitape demo [--dir DIR] [--bundled] [--browser PATH]
    apitape demo serve [flags]

'apitape demo' runs the whole pipeline on the built-in Rancher-like demo
server, on 127.0.0.1 only: it records a UI flow with headless Chromium (log
in, add a cloud credential, create a cluster, edit it, add a node pool,
download its kubeconfig), redacts the recording, converts it to curl, bash
and Go, runs the bash script against a second, fresh server and shows the
cluster it created there, replays the recording against a fresh server (no
regressions) and against one started with --variant rename-field (a real
regression). Every artifact is left in DIR, with a summary of what each file
is. Without Chromium it says how to install it and uses a recording bundled
with apitape.

'apitape demo serve' runs the demo server and its UI until interrupted; see
'apitape demo serve --help'.

Flags:
        --dir DIR        where to write the artifacts (default ./apitape-demo)
        --bundled        use the bundled recording even when Chromium is installed
        --browser PATH   the Chromium or Chrome to record with

Examples:
    apitape demo
    apitape demo --dir /tmp/demo && less /tmp/demo/provision.sh
    apitape demo serve --listen 127.0.0.1:8443
`

func demoCommand() *command {
	serve := demoServeCommand()
	return &command{
		name:    "demo",
		summary: "try apitape end to end on a built-in Rancher-like server",
		usage:   demoUsage,
		run: func(ctx context.Context, st *streams, args []string) error {
			if len(args) > 0 && args[0] == "serve" {
				return usageFor("demo serve", serve.run(ctx, st, args[1:]))
			}
			fs := newFlagSet("demo")
			dir := fs.String("dir", "apitape-demo", "")
			bundled := fs.Bool("bundled", false, "")
			browserPath := fs.String("browser", "", "")
			if err := parseFlags(st, fs, demoUsage, args); err != nil {
				return err
			}
			if fs.NArg() > 0 {
				return &usageError{cmd: "demo", err: fmt.Errorf("unexpected argument %q", fs.Arg(0))}
			}
			_, err := demorun.Run(ctx, demorun.Options{
				Dir:     *dir,
				Out:     st.out,
				Version: versionString(),
				Bundled: *bundled,
				Browser: *browserPath,
				Command: selfCommand(),
			})
			if err != nil {
				return fmt.Errorf("demo: %w", err)
			}
			return nil
		},
	}
}

// modulePath is apitape's module, for `go run` lines.
const modulePath = "github.com/apitape/apitape"

// selfCommand is how to run this apitape again from the current directory,
// for lines the user is meant to paste: "apitape" when that is what PATH
// finds, "go run ./cmd/apitape" (relative to the module root) when this
// binary was built by `go run` inside apitape's source tree, and otherwise
// the executable's path or a `go run module@version` line.
func selfCommand() string {
	exe, err := os.Executable()
	if err != nil {
		return "apitape"
	}
	if goRunBinary(exe) {
		if rel, ok := sourceMain(); ok {
			return "go run " + shellquote.Quote(rel)
		}
		v := versionString()
		if !strings.HasPrefix(v, "v") {
			v = "latest"
		}
		return "go run " + modulePath + "/cmd/apitape@" + v
	}
	if p, err := exec.LookPath("apitape"); err == nil && sameFile(p, exe) {
		return "apitape"
	}
	return shellquote.Quote(exe)
}

// goRunBinary reports whether exe was built by `go run`: it then lives in
// the build cache or a go-build temporary folder, both named go-build, and
// is gone (or may be evicted) once the command ends.
func goRunBinary(exe string) bool {
	for _, part := range strings.Split(filepath.ToSlash(exe), "/") {
		if strings.HasPrefix(part, "go-build") {
			return true
		}
	}
	return false
}

// sourceMain finds apitape's module root from the working directory up and
// returns ./cmd/apitape relative to the working directory.
func sourceMain() (string, bool) {
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			if !bytes.HasPrefix(mod, []byte("module "+modulePath+"\n")) {
				return "", false
			}
			rel, err := filepath.Rel(wd, filepath.Join(dir, "cmd", "apitape"))
			if err != nil {
				return "", false
			}
			// go run takes a relative package path only with a leading dot.
			if rel = filepath.ToSlash(rel); !strings.HasPrefix(rel, ".") {
				rel = "./" + rel
			}
			return rel, true
		}
		if filepath.Dir(dir) == dir {
			return "", false
		}
	}
}

func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}
