package browser

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apitape/apitape/capture"
	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/chromium"
	"github.com/apitape/apitape/internal/selection"
	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/remote"
)

// Options configures [Record].
type Options struct {
	// URL is opened first. It may be empty when the steps start with an
	// absolute navigate, or when a person will type one.
	URL string

	// Steps are run in order, then the recording stops. Without steps the
	// recording runs until the window is closed, ctx ends or Timeout
	// passes; headless and without a Timeout, until URL has loaded and
	// the network has been quiet for a moment.
	Steps     []Step
	StepsFile string // named in step errors

	// Getenv looks up the ${NAME} references of steps; nil means
	// os.LookupEnv.
	Getenv func(string) (string, bool)

	Browser  string // executable; "" finds Chromium or Chrome (see internal/chromium)
	Headless bool
	Profile  string        // user data directory; "" is a fresh temporary profile
	Timeout  time.Duration // 0: none

	// Output is the HAR file. It is written as entries complete (mode 0600)
	// and is a valid HAR after each one, so a killed recording keeps what
	// had completed.
	Output string

	// Selection decides which entries are written. Without All, API
	// calls, document navigations and answers that set a cookie are kept
	// (see keepByDefault), then Selection's other rules apply.
	Selection selection.Filter

	// Redact, when set, rewrites each kept entry before it reaches the
	// disk. An entry it fails on is not written.
	Redact capture.RedactFunc

	// Progress, when set, gets a live "recorded N calls" line (a
	// terminal).
	Progress io.Writer

	// Warnf, when set, is told about entries that could not be written.
	Warnf func(format string, args ...any)

	// Version is apitape's version, for log.creator.
	Version string
}

// Result says what a recording did.
type Result struct {
	Seen, Written int
	Summary       string // "recorded 12 calls (30 requests seen)"
	Stopped       string // why the recording stopped
	Browser       string // product and version, e.g. "HeadlessChrome/156.0.8078.108"
}

// quiet is how long the network must have been idle before a recording
// that ran out of steps (or a page load) is considered finished; it lets
// the requests the last click started arrive. settleMax bounds the wait.
const (
	quiet          = 400 * time.Millisecond
	settleMax      = 10 * time.Second
	interruptGrace = 2 * time.Second
)

// Record starts the browser, records every request of its pages, frames and
// workers while the steps run (or a person uses the window), and writes the
// entries the selection keeps to o.Output. Step failures are
// [*StepsError]s; the file is left valid with everything recorded before
// the failure.
func Record(ctx context.Context, o Options) (res Result, err error) {
	if o.Output == "" {
		return res, errors.New("no output file")
	}
	if fi, err := os.Stat(filepath.Dir(o.Output)); err != nil || !fi.IsDir() {
		return res, fmt.Errorf("%s: directory does not exist", o.Output)
	}
	execPath := o.Browser
	if execPath == "" {
		if execPath, err = chromium.Find(); err != nil {
			return res, err
		}
	}
	if o.Getenv == nil {
		o.Getenv = os.LookupEnv
	}

	// The browser lives in a context of its own: after an interrupt or a
	// timeout it must still answer for the last bodies.
	base := context.WithoutCancel(ctx)
	out := make(chan *har.Entry, 64)
	rec := newRecorder(base, func(e *har.Entry) { out <- e })
	rec.skipAssets = !o.Selection.All
	tp, bctx, stopBrowser, err := launch(base, ctx, execPath, o, rec)
	if err != nil {
		return res, err
	}
	defer stopBrowser()
	loopCtx, stopLoop := context.WithCancel(base)
	loopDone := make(chan struct{})
	go func() { rec.run(loopCtx); close(loopDone) }()
	defer func() { stopLoop(); <-loopDone }()

	if v, err := chromedp.CallBrowser(bctx, browser.GetVersion, cdp.Empty{}); err == nil {
		res.Browser = v.Product
	}
	log := har.NewLog(o.Version)
	if name, version, ok := strings.Cut(res.Browser, "/"); ok {
		log.Log.Browser = &har.Creator{Name: name, Version: version}
	}
	app, err := har.CreateAppender(o.Output, log)
	if err != nil {
		return res, fmt.Errorf("%s: %w", o.Output, unwrapPath(err))
	}
	sink := capture.NewSink(app, capture.Options{Selection: o.Selection, Default: keepByDefault, Redact: o.Redact})
	// The live line starts once the page has loaded: a page that does
	// not load is reported before any count.
	stopProgress := func() {}
	startProgress := func() {
		if o.Progress != nil {
			stopProgress = sink.Progress(o.Progress, "apitape: ", 200*time.Millisecond)
		}
	}

	// rctx ends the recording: Ctrl-C (ctx), the timeout, the browser
	// going away (bctx) or a file that cannot be written.
	rctx, rcancel := context.WithCancel(bctx)
	defer rcancel()
	defer context.AfterFunc(ctx, rcancel)()
	if o.Timeout > 0 {
		var c context.CancelFunc
		rctx, c = context.WithTimeout(rctx, o.Timeout)
		defer c()
	}

	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		// The writer runs apart from the recorder's loop, so that
		// marshalling and redacting a large body never delays the fetch
		// of the next one.
		for e := range out {
			if err := sink.Add(e); err != nil {
				if sink.Err() != nil {
					rcancel()
				} else if o.Warnf != nil {
					o.Warnf("%v", err)
				}
			} else if testHookAdded != nil {
				testHookAdded(e)
			}
		}
	}()
	defer func() {
		// Nothing may be emitted after out is closed: stop the loop's
		// output first (finish did, unless the recording failed early).
		_ = rec.do(base, func() { rec.finished = true })
		close(out)
		<-writerDone
		stopProgress()
		if cerr := app.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("%s: %w", o.Output, cerr)
		}
		if err == nil {
			err = sink.Err()
		}
		if err == nil {
			err = sortBySendTime(o.Output)
		}
		res.Seen, res.Written, res.Summary = sink.Seen(), sink.Recorded(), sink.Summary()
	}()

	if err := startRecording(bctx, tp, rec); err != nil {
		return res, err
	}
	if testHookRecording != nil {
		testHookRecording(bctx)
	}

	why := func() string {
		select {
		case <-tp.closed:
			return "the browser was closed"
		default:
		}
		switch {
		case sink.Err() != nil:
			return "the HAR file could not be written"
		case ctx.Err() != nil:
			return "interrupted"
		case errors.Is(rctx.Err(), context.DeadlineExceeded):
			return "timeout " + o.Timeout.String() + " reached"
		}
		return ""
	}

	runErr := drive(rctx, o, rec, startProgress)
	res.Stopped = why()
	var se *StepsError
	var le *LoadError
	switch {
	case errors.As(runErr, &le) && res.Stopped == "":
		res.Stopped = "the page did not load"
	case errors.As(runErr, &se) && res.Stopped != "":
		se.Msg += " (" + res.Stopped + ")"
	case runErr != nil && res.Stopped != "":
		// The page was closed or the user interrupted while a URL was
		// loading: not a failure of the recording.
		runErr = nil
	}
	if res.Stopped == "" && se != nil {
		res.Stopped = fmt.Sprintf("step %d failed", se.Step)
	}
	if res.Stopped == "" {
		if len(o.Steps) > 0 {
			res.Stopped = "steps done"
		} else {
			res.Stopped = "page loaded"
		}
		select {
		case <-rec.allClosed:
			res.Stopped = "the window was closed"
		default:
		}
	}

	grace := settleMax
	if ctx.Err() != nil {
		grace = interruptGrace
	}
	settle(tp, rec, grace)
	_ = rec.do(base, rec.rescue)
	settle(tp, rec, interruptGrace)
	_ = rec.do(base, func() { rec.finish(res.Stopped) })
	return res, runErr
}

// LoadError is the error of a start URL that did not load: the browser
// got no page (connection refused, a name that does not resolve, a TLS
// error…). Reason is the browser's, e.g. net::ERR_CONNECTION_REFUSED.
type LoadError struct{ URL, Reason string }

func (e *LoadError) Error() string { return safeURL(e.URL) + ": page did not load: " + e.Reason }

// safeURL is raw as messages show it: without a password, a query string
// or a fragment with a value (#access_token=), which may hold a secret;
// messages go to terminals and CI logs. It works on the text, so a step's
// ${NAME} stays as written.
func safeURL(raw string) string {
	s, _, _ := strings.Cut(raw, "?")
	if base, frag, ok := strings.Cut(s, "#"); ok && strings.Contains(frag, "=") {
		s = base
	}
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		end := strings.IndexAny(rest, "/#")
		if end < 0 {
			end = len(rest)
		}
		if at := strings.LastIndex(rest[:end], "@"); at >= 0 {
			s = scheme + "://" + rest[at+1:]
		}
	}
	return s
}

// loadFailure returns the browser's reason when err is a navigation that
// got no page.
func loadFailure(err error) (string, bool) {
	if err == nil {
		return "", false
	}
	return strings.CutPrefix(err.Error(), "page load error ")
}

// drive opens the URL and runs the steps, or waits for the person using the
// window to finish. loaded is called once the URL has loaded.
func drive(rctx context.Context, o Options, rec *recorder, loaded func()) error {
	if o.URL != "" {
		if err := chromedp.Do(rctx, chromedp.Navigate(o.URL)); err != nil {
			if reason, ok := loadFailure(err); ok && rctx.Err() == nil {
				return &LoadError{URL: o.URL, Reason: reason}
			}
			return fmt.Errorf("opening %s: %w", safeURL(o.URL), err)
		}
		// An error page is a page: the recording goes on, but the person
		// is told, since a login page that answered 502 is seldom meant.
		status, err := chromedp.Run(rctx, chromedp.Evaluate[int](jsNavigationStatus))
		if err == nil && status >= 400 && o.Warnf != nil {
			o.Warnf("%s: the page answered HTTP %d", safeURL(o.URL), status)
		}
	}
	loaded()
	if len(o.Steps) > 0 {
		for i, s := range o.Steps {
			if err := runStep(rctx, s, o.Getenv); err != nil {
				msg := badSelector(err, s.Selector).Error()
				if rctx.Err() != nil {
					msg = "the recording stopped before the step finished"
				}
				return &StepsError{File: o.StepsFile, Line: s.Line, Step: i + 1, Msg: s.String() + ": " + msg}
			}
		}
		return nil
	}
	if o.Headless && o.Timeout == 0 {
		return nil
	}
	select {
	case <-rctx.Done():
	case <-rec.allClosed:
	}
	return nil
}

// settle waits until no exchange that should end is still running and the
// network has been quiet, so the requests of the last step are complete.
func settle(tp *tap, rec *recorder, max time.Duration) {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		var busy bool
		var last time.Time
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := rec.do(ctx, func() { busy, last = rec.busy(), rec.lastActivity })
		cancel()
		if err != nil || (!busy && time.Since(last) >= quiet) {
			return
		}
		select {
		case <-tp.closed:
			return
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// launch starts the browser with a tap on its connection and opens the
// first tab. The browser lives in ctx; interrupt (the caller's context)
// only stops the start: a browser that does not come up must not hold a
// Ctrl-C or SIGTERM for chromedp's 20 s.
func launch(ctx, interrupt context.Context, execPath string, o Options, rec *recorder) (*tap, context.Context, func(), error) {
	var tp *tap
	dial := func(ctx context.Context, wsURL string) (chromedp.Transport, error) {
		conn, err := remote.DialContext(ctx, wsURL)
		if err != nil {
			return nil, err
		}
		tp = newTap(conn, rec.onEvent)
		rec.tap = tp // before the first message can arrive
		return tp, nil
	}
	opts := append(chromium.AllocatorOptions(execPath, o.Profile, o.Headless), chromedp.WithDialer(dial))
	// The start is stopped through a context of its own: the allocator's
	// cancel also waits for its browsers, and a wait begun while chromedp
	// is still starting one races with it (go test -race).
	startCtx, stopStart := context.WithCancel(ctx)
	actx, acancel := chromedp.NewExecAllocator(startCtx, opts...)
	quietLog := func(string, ...any) {}
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithLogf(quietLog), chromedp.WithErrorf(quietLog))
	// chromedp's cancel functions can wait forever (for a browser that
	// never started, or that does not answer), so every wait is bounded:
	// after a graceful close, the allocator's cancel kills the browser.
	stop := func() {
		bounded(stopGrace, func() { chromedp.Cancel(bctx); bcancel() })
		bounded(stopGrace, acancel)
		stopStart()
	}
	unwatch := context.AfterFunc(interrupt, stopStart)
	err := chromedp.Do(bctx)
	unwatch()
	if err != nil {
		stopStart()
		bounded(stopGrace, acancel)
		bounded(time.Second, bcancel)
		if interrupt.Err() != nil {
			return nil, nil, nil, fmt.Errorf("starting %s: interrupted", execPath)
		}
		if errors.Is(err, chromedp.ErrNoDisplay) {
			return nil, nil, nil, fmt.Errorf("no display for a browser window: %w", err)
		}
		msg := strings.TrimRight(firstLine(err.Error()), ": ")
		if why := startFailure(err.Error(), o.Profile); why != "" {
			msg += ": " + why
		}
		return nil, nil, nil, fmt.Errorf("starting %s: %s", execPath, msg)
	}
	return tp, bctx, stop, nil
}

// stopGrace bounds each step of stopping the browser.
const stopGrace = 5 * time.Second

// bounded runs f and waits for it at most d; f then goes on alone.
func bounded(d time.Duration, f func()) {
	done := make(chan struct{})
	go func() { f(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// startRecording hands the page's network to the recorder: chromedp's own
// session stops listening (its copies of every event and body would only
// cost time), the browser auto-attaches every page, frame and worker to the
// recorder, and the first tab is recorded before anything is opened in it.
func startRecording(bctx context.Context, tp *tap, rec *recorder) error {
	if _, err := chromedp.Call(bctx, network.Disable, cdp.Empty{}); err != nil {
		return err
	}
	if _, err := chromedp.Call(bctx, target.SetAutoAttach, target.SetAutoAttachParams{AutoAttach: false, Flatten: new(true)}); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(bctx, 10*time.Second)
	defer cancel()
	err := tp.setAutoAttach(ctx, map[string]any{
		"autoAttach": true, "waitForDebuggerOnStart": true, "flatten": true, "filter": autoAttachFilter,
	})
	if err != nil {
		return fmt.Errorf("attaching to the browser's targets: %w", err)
	}
	first := string(chromedp.FromContext(bctx).Target.TargetID)
	for {
		var ready bool
		if err := rec.do(ctx, func() { ready = rec.recording(first) }); err != nil {
			return fmt.Errorf("the browser did not attach its first tab: %w", err)
		}
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the browser did not attach its first tab: %w", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// testHookAdded, set by tests, gets each entry once the sink has taken it
// (written, or left out by the selection).
var testHookAdded func(e *har.Entry)

// testHookRecording, set by tests, gets the browser's context once the
// recording runs, to do what a person would (close the window).
var testHookRecording func(bctx context.Context)

// startFailure picks out of what a browser that exited at once printed
// the reason it gave, "" when it gave none; the rest of its output is noise
// (D-Bus, the zygote). profile is --profile, for the message.
func startFailure(out, profile string) string {
	if strings.Contains(out, "Failed to create a ProcessSingleton for your profile directory") {
		if profile != "" {
			return "the profile directory " + profile + " is in use by another browser (close it, or pass another --profile)"
		}
		return "the profile directory is in use by another browser"
	}
	for line := range strings.Lines(out) {
		if i := strings.Index(line, ":FATAL:"); i >= 0 {
			if _, why, ok := strings.Cut(line[i:], "] "); ok {
				return strings.TrimSpace(why)
			}
		}
	}
	return ""
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
