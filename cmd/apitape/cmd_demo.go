package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/apitape/apitape/internal/chromium"
	"github.com/apitape/apitape/internal/demorun"
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
is; a later run replaces them, but a DIR that already holds a session.har or
provision.sh no demo wrote is refused before anything is written. Without Chromium it says how to install it and uses a recording bundled
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

func runDemo(ctx context.Context, st *streams, args []string) error {
	if len(args) > 0 && args[0] == "serve" {
		return usageFor("demo serve", runDemoServe(ctx, st, args[1:]))
	}
	fs := newFlagSet("demo")
	dir := fs.String("dir", "apitape-demo", "where to write the artifacts")
	bundled := fs.Bool("bundled", false, "use the bundled recording even when Chromium is installed")
	browserPath := fs.String("browser", "", "the Chromium or Chrome to record with")
	if err := parseFlags(st, fs, demoUsage, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		ue := &usageError{err: fmt.Errorf("unexpected argument %q", fs.Arg(0))}
		if len(closest(fs.Arg(0), []string{"serve"})) > 0 {
			ue.hints = []string{"did you mean 'apitape demo serve'?"}
		}
		return ue
	}
	if *dir == "" {
		return usageErrorf("--dir must not be empty")
	}
	if !*bundled && (*browserPath != "" || os.Getenv(chromium.EnvVar) != "") {
		// The browser asked for is checked before anything starts, as
		// capture browser does; only a browser that nobody named may be
		// missing (the bundled recording is used then).
		p, err := findBrowser(*browserPath)
		if err != nil {
			return err
		}
		*browserPath = p
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return withHint(demoDirError(*dir, err), "--dir DIR writes the artifacts elsewhere")
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
		var re *demorun.RecordError
		if errors.As(err, &re) && ctx.Err() == nil {
			return withHint(fmt.Errorf("demo: %w", err), "--bundled runs the demo on the recording bundled with apitape, without a browser")
		}
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}

// demoDirError says why the artifacts folder could not be made in the
// user's words ("exists and is not a directory"), not as the mkdir call
// that failed.
func demoDirError(dir string, err error) error {
	if fi, serr := os.Stat(dir); serr == nil && !fi.IsDir() {
		return fmt.Errorf("demo: %s exists and is not a directory", dir)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		if filepath.Clean(pe.Path) == filepath.Clean(dir) {
			err = pe.Err
		} else {
			err = fmt.Errorf("%s: %w", pe.Path, pe.Err)
		}
	}
	return fmt.Errorf("demo: cannot create %s: %w", dir, err)
}
