package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"strings"

	"github.com/apitape/apitape/capture/browser"
	"github.com/apitape/apitape/internal/chromium"
	"github.com/apitape/apitape/redact"
)

const captureBrowserUsage = `Usage:
    apitape capture browser [URL] -o FILE [flags]

Opens Chromium (or Chrome) with a fresh profile at URL and records every
request of the page, its frames and its workers as HAR. With a display it is
a normal window: use the UI, then close the window (or press Ctrl-C) to stop.
With --steps, a steps file drives the page and the recording stops after the
last step: this is how flows are recorded in CI. Each call is redacted and
written to FILE as soon as it completes, so FILE is valid HAR at every moment.

Flags:
    -o, --output FILE     the HAR file to write (required; replaced if it
                          exists; mode 0600)
        --steps FILE      run the UI actions in FILE (YAML or JSON; - reads
                          stdin), then stop
        --headless        run without a window (the default when $DISPLAY and
                          $WAYLAND_DISPLAY are unset); without --steps or
                          --timeout, stop once URL has loaded and the network
                          is quiet
        --browser PATH    the browser to run (default: $APITAPE_BROWSER, then
                          chromium, chromium-browser, google-chrome on PATH)
        --profile DIR     use and keep this browser profile, e.g. to stay
                          logged in (default: a fresh temporary one)
        --timeout D       stop recording after D, e.g. 90s or 5m (default: none)
        --no-redact       write secrets as they are (default: redact each call
                          before it reaches the disk, with the token rules of
                          .gitleaks.toml in the current folder if there is one)

` + selectionUsage + `    capture browser's default also keeps every page navigation (a login
    form's POST and its redirects) and every answer that sets a cookie, so
    a login done in a page is recorded; other assets are left out.

Steps file: a list of actions, one per item, run in order.
    - navigate: /login             # absolute, or relative to the current page
    - fill: "#username"            # a CSS selector
      value: ${APITAPE_USER}       # ${NAME} is read from the environment
    - select: "#region"
      value: eu-west-1             # an option's value or its label
    - click: "#login"
    - wait: "#status"              # until visible; with text, until it
      text: Logged in              # contains the text
    - expect: Cluster lab created  # fail unless the page shows the text
      in: "#status"                # (default: anywhere)
    - sleep: 500ms
Every action but sleep takes "timeout: 30s" (default 15s). A step that fails
stops the recording with an error naming the file, line, step and selector;
what was recorded until then is kept.

Examples:
    apitape capture browser https://rancher.example -o session.har
    apitape capture browser https://rancher.example --steps login.yaml -o login.har
    apitape capture browser http://127.0.0.1:8080 --all --timeout 2m -o everything.har
`

func runCaptureBrowser(ctx context.Context, st *streams, args []string) error {
	fs := newFlagSet("capture browser")
	var o browser.Options
	var stepsFile, browserPath string
	fs.StringVarP(&o.Output, "output", "o", "", "the HAR file to write")
	fs.StringVar(&stepsFile, "steps", "", "steps file")
	headless := fs.Bool("headless", false, "run without a window")
	fs.StringVar(&browserPath, "browser", "", "the browser to run")
	fs.StringVar(&o.Profile, "profile", "", "browser profile directory")
	fs.DurationVar(&o.Timeout, "timeout", 0, "stop after this long")
	noRedact := fs.Bool("no-redact", false, "do not redact")
	selFlags := addSelectionFlags(fs)
	if err := parseFlags(st, fs, captureBrowserUsage, args); err != nil {
		return err
	}

	// Everything that can be checked is checked before the browser starts.
	switch {
	case fs.NArg() > 1:
		return usageErrorf("capture browser takes one URL, got %d arguments", fs.NArg())
	case o.Output == "":
		return usageErrorf("-o FILE is required: where to write the HAR")
	case o.Output == "-":
		return usageErrorf("-o -: a capture is written as it happens and needs a file, not stdout")
	case o.Timeout < 0:
		return usageErrorf("--timeout %s: must not be negative", o.Timeout)
	}
	if err := checkProfile(o.Profile); err != nil {
		return err
	}
	if fs.NArg() == 1 {
		u, err := checkStartURL(fs.Arg(0))
		if err != nil {
			return err
		}
		o.URL = u
	}
	sel, err := selFlags.selection()
	if err != nil {
		return err
	}
	o.Selection = sel
	o.Headless = *headless
	noDisplay := !o.Headless && st.getenv("DISPLAY") == "" && st.getenv("WAYLAND_DISPLAY") == ""
	if noDisplay {
		o.Headless = true
	}
	o.Getenv = func(k string) (string, bool) {
		v := st.getenv(k)
		return v, v != ""
	}
	if stepsFile != "" {
		if o.Steps, err = readSteps(st, stepsFile); err != nil {
			return err
		}
		if sfi, err := os.Stat(stepsFile); err == nil && stepsFile != "-" {
			if ofi, err := os.Stat(o.Output); err == nil && sfi.Mode().IsRegular() && os.SameFile(sfi, ofi) {
				return usageErrorf("-o %s is the steps file: the recording would replace %s", o.Output, stepsFile)
			}
		}
		if stepsFile == "-" {
			stepsFile = "stdin"
		}
		o.StepsFile = stepsFile
		if err := checkFirstStep(o.URL, stepsFile, o.Steps); err != nil {
			return err
		}
		if err := browser.CheckEnv(stepsFile, o.Steps, o.Getenv); err != nil {
			return err
		}
	}
	if o.URL == "" && len(o.Steps) == 0 && o.Headless {
		return usageErrorf("nothing to record: without a window, give a URL or --steps")
	}
	if o.Browser, err = findBrowser(browserPath); err != nil {
		return err
	}
	if noDisplay {
		hintf(st, "no display ($DISPLAY and $WAYLAND_DISPLAY are unset): running the browser headless")
	}
	o.Version = versionString()

	errw := &lineWriter{w: st.err, tty: st.errTTY}
	logst := &streams{err: errw}
	var redactor *redact.Redactor
	if *noRedact {
		warningf(logst, "--no-redact: %s will hold cookies, tokens and passwords as they were sent", o.Output)
	} else if redactor, o.Redact, err = newCaptureRedactor(); err != nil {
		return err
	}
	o.Warnf = func(format string, args ...any) { warningf(logst, format, args...) }
	if st.errTTY {
		o.Progress = errw.progress()
	}
	if !o.Headless && len(o.Steps) == 0 {
		fmt.Fprintf(errw, "apitape: recording; close the browser window or press Ctrl-C to stop\n")
	}

	out, err := openCaptureOutput(o.Output)
	if err != nil {
		return err
	}
	defer out.close()
	o.Output = out.path
	res, err := browser.Record(ctx, o)
	var le *browser.LoadError
	if errors.As(err, &le) {
		// Said first: the count that follows is the consequence.
		errorf(logst, "capture browser: %v", le)
		err = &exitError{code: 1}
	}
	var se *browser.StepsError
	// A failed step or page load still leaves a complete file, which is
	// worth redacting again; a failure to write it is not.
	if redactor != nil && res.Written > 0 && (err == nil || errors.As(err, &se) || le != nil) {
		reRedact(logst, redactor, o.Output)
	}
	if ferr := out.finish(); ferr != nil && err == nil {
		err = ferr
	}
	if res.Summary != "" {
		fmt.Fprintf(errw, "apitape: %s to %s (%s)\n", res.Summary, out.name, res.Stopped)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, chromium.ErrNotFound):
		return withHint(err, "install Chromium (Debian/Ubuntu: apt-get install chromium), or pass --browser PATH")
	}
	if errors.As(err, &se) && res.Summary != "" {
		return withHint(err, fmt.Sprintf("%s keeps what was recorded before the failure", out.name))
	}
	return err
}

// readSteps reads --steps: a file, or stdin for "-" (a steps file passed
// through envsubst, say), named "stdin" in messages.
func readSteps(st *streams, file string) ([]browser.Step, error) {
	if file == "-" {
		data, err := io.ReadAll(st.in)
		if err != nil {
			return nil, fmt.Errorf("--steps -: reading stdin: %w", err)
		}
		return browser.ParseSteps("stdin", data)
	}
	steps, err := browser.ReadSteps(file)
	var pe *os.PathError
	if errors.As(err, &pe) {
		return nil, fmt.Errorf("%s: %w", file, pe.Err)
	}
	return steps, err
}

// checkProfile makes sure --profile is a directory, creating it (0700: it
// will hold cookies) if missing. Chromium given a file, or a path it cannot
// create, runs with the user's own default profile without a word.
func checkProfile(dir string) error {
	if dir == "" {
		return nil
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return usageErrorf("--profile %s: not a directory", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("--profile %s: %w", dir, unwrapPathError(err))
	}
	return nil
}

// checkStartURL accepts absolute http(s) URLs; a bare host is the likeliest
// mistake, so it gets a suggestion rather than a guess.
func checkStartURL(raw string) (string, error) {
	if err := checkScheme("URL", raw, "about", "file"); err != nil {
		return "", err
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", usageErrorf("URL %q: %v", raw, err)
	case u.Scheme == "":
		return "", usageErrorf("URL %q has no scheme: did you mean https://%s ?", raw, strings.TrimPrefix(raw, "//"))
	}
	switch strings.ToLower(u.Scheme) {
	case "about", "file":
	case "http", "https":
		if u.Host == "" {
			return "", usageErrorf("URL %q has no host", raw)
		}
	default:
		return "", usageErrorf("URL %q: want an http:// or https:// URL", raw)
	}
	return raw, nil
}

// checkFirstStep makes sure a recording without a URL starts somewhere.
func checkFirstStep(startURL, file string, steps []browser.Step) error {
	if startURL != "" {
		return nil
	}
	s := steps[0]
	if s.Action == "navigate" && (strings.HasPrefix(s.URL, "${") || isAbsolute(s.URL)) {
		return nil
	}
	return &browser.StepsError{File: file, Line: s.Line, Step: 1, Msg: "with no URL to open, the first step must navigate to an absolute URL"}
}

func isAbsolute(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.IsAbs()
}

// findBrowser resolves --browser (a path or a name on PATH), or leaves the
// search to internal/chromium.
func findBrowser(flag string) (string, error) {
	if flag == "" {
		p, err := chromium.Find()
		if err != nil {
			return "", withHint(err, "install Chromium (Debian/Ubuntu: apt-get install chromium), or pass --browser PATH")
		}
		return p, nil
	}
	if strings.ContainsRune(flag, os.PathSeparator) {
		fi, err := os.Stat(flag)
		if err != nil {
			return "", usageErrorf("--browser %s: %v", flag, unwrapPathError(err))
		}
		if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return "", usageErrorf("--browser %s: not an executable file", flag)
		}
		return flag, nil
	}
	p, err := exec.LookPath(flag)
	if err != nil {
		return "", usageErrorf("--browser %s: not found on PATH", flag)
	}
	return p, nil
}
