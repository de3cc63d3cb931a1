package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/chromium"
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

	// Selection decides which entries are written (the zero value keeps
	// API calls only).
	Selection har.Selection

	// Redact, when set, rewrites each entry (as JSON) before it reaches the
	// disk; index is the entry's index in the output.
	Redact func(index int, raw []byte) ([]byte, error)

	// Progress, when set, is called after each recorded entry.
	Progress func(Progress)

	// Version is apitape's version, for log.creator.
	Version string
}

// Progress counts the entries seen and written so far.
type Progress struct {
	Seen, Written int
}

// Result says what a recording did.
type Result struct {
	Progress
	Stopped string // why the recording stopped
	Browser string // product and version, e.g. "HeadlessChrome/156.0.8078.108"
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
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.LookupEnv
	}

	// The browser lives in a context of its own: after an interrupt or a
	// timeout it must still answer for the last bodies.
	base := context.WithoutCancel(ctx)
	out := make(chan *har.Entry, 64)
	rec := newRecorder(base, func(e *har.Entry) { out <- e })
	tp, bctx, stopBrowser, err := launch(base, execPath, o, rec)
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
	w := &writer{app: app, sel: o.Selection, redact: o.Redact, progress: o.Progress}
	writerDone := make(chan struct{})
	go func() { w.drain(out); close(writerDone) }()
	defer func() {
		close(out)
		<-writerDone
		if cerr := app.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if err == nil {
			err = w.err
		}
		res.Progress = w.counts()
	}()

	if err := startRecording(bctx, tp, rec); err != nil {
		return res, err
	}

	// rctx ends the recording: Ctrl-C (ctx), the timeout, or the browser
	// going away (bctx).
	rctx, rcancel := context.WithCancel(bctx)
	defer rcancel()
	defer context.AfterFunc(ctx, rcancel)()
	if o.Timeout > 0 {
		var c context.CancelFunc
		rctx, c = context.WithTimeout(rctx, o.Timeout)
		defer c()
	}
	why := func() string {
		select {
		case <-tp.closed:
			return "the browser was closed"
		default:
		}
		switch {
		case ctx.Err() != nil:
			return "interrupted"
		case errors.Is(rctx.Err(), context.DeadlineExceeded):
			return "timeout " + o.Timeout.String() + " reached"
		}
		return ""
	}

	runErr := drive(rctx, o, rec, getenv)
	res.Stopped = why()
	var se *StepsError
	switch {
	case errors.As(runErr, &se) && res.Stopped != "":
		se.Msg += " (" + res.Stopped + ")"
	case runErr != nil && res.Stopped != "":
		// The page was closed or the user interrupted while a URL was
		// loading: not a failure of the recording.
		runErr = nil
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
	_ = rec.do(base, func() { rec.finish(res.Stopped) })
	return res, runErr
}

// drive opens the URL and runs the steps, or waits for the person using the
// window to finish.
func drive(rctx context.Context, o Options, rec *recorder, getenv func(string) (string, bool)) error {
	if o.URL != "" {
		if err := chromedp.Do(rctx, chromedp.Navigate(o.URL)); err != nil {
			return fmt.Errorf("opening %s: %w", o.URL, err)
		}
	}
	if len(o.Steps) > 0 {
		for i, s := range o.Steps {
			if err := runStep(rctx, s, getenv); err != nil {
				msg := err.Error()
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
// first tab.
func launch(ctx context.Context, execPath string, o Options, rec *recorder) (*tap, context.Context, func(), error) {
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
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	quietLog := func(string, ...any) {}
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithLogf(quietLog), chromedp.WithErrorf(quietLog))
	stop := func() {
		sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
		defer c()
		done := make(chan struct{})
		go func() { chromedp.Cancel(bctx); close(done) }()
		select {
		case <-done:
		case <-sctx.Done():
		}
		bcancel()
		acancel()
	}
	if err := chromedp.Do(bctx); err != nil {
		stop()
		if errors.Is(err, chromedp.ErrNoDisplay) {
			return nil, nil, nil, fmt.Errorf("no display for a browser window: %w", err)
		}
		return nil, nil, nil, fmt.Errorf("starting %s: %s", execPath, firstLine(err.Error()))
	}
	return tp, bctx, stop, nil
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

// writer applies the selection and the redaction to each entry and appends
// it to the file. It runs on its own goroutine so that a slow disk never
// holds up the recorder's loop, which must fetch bodies in time.
type writer struct {
	app      *har.Appender
	sel      har.Selection
	redact   func(int, []byte) ([]byte, error)
	progress func(Progress)

	mu  sync.Mutex
	n   Progress
	err error
}

func (w *writer) drain(in <-chan *har.Entry) {
	for e := range in {
		if w.err != nil {
			continue // keep draining so the recorder never blocks
		}
		if err := w.write(e); err != nil {
			w.mu.Lock()
			w.err = err
			w.mu.Unlock()
		}
	}
}

func (w *writer) write(e *har.Entry) error {
	w.mu.Lock()
	index := w.n.Seen
	w.n.Seen++
	w.mu.Unlock()
	if w.sel.Keep(index, e) {
		raw, err := e.MarshalJSON()
		if err != nil {
			return err
		}
		if w.redact != nil {
			if raw, err = w.redact(w.n.Written, raw); err != nil {
				return fmt.Errorf("redacting entry %d: %w", w.n.Written, err)
			}
		}
		if err := w.app.AppendRaw(raw); err != nil {
			return err
		}
		w.mu.Lock()
		w.n.Written++
		w.mu.Unlock()
	}
	if w.progress != nil {
		w.progress(w.counts())
	}
	return nil
}

func (w *writer) counts() Progress {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}
