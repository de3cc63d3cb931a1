package browser

import (
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/chromedp/cdproto"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// runStep performs one step in the page of ctx.
func runStep(ctx context.Context, s Step, getenv func(string) (string, bool)) error {
	// Only this copy of the step holds the values: messages show the step
	// as written.
	var err error
	for _, f := range []*string{&s.Selector, &s.URL, &s.Value, &s.Text} {
		if *f, err = expand(*f, getenv); err != nil {
			return err
		}
	}
	sel := s.Selector
	timeout := s.timeout()
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	switch s.Action {
	case "navigate":
		target, err := resolveURL(sctx, s.URL)
		if err != nil {
			return err
		}
		err = chromedp.Do(sctx, chromedp.Navigate(target))
		if reason, ok := loadFailure(err); ok {
			return errors.New("page did not load: " + reason)
		}
		return timedOut(err, timeout, "the page did not load")
	case "click":
		return timedOut(chromedp.Do(sctx, chromedp.Click(chromedp.CSS(sel))), timeout, "no visible element matched")
	case "fill":
		if err := timedOut(chromedp.Do(sctx, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Focus(chromedp.CSS(sel))), timeout, "no visible element matched"); err != nil {
			return err
		}
		// Clear through the native setter (frameworks such as React
		// replace the property) and type with Input.insertText, which the
		// page sees as trusted input events, then say the edit is done.
		if _, err := chromedp.Run(sctx, chromedp.Evaluate[chromedp.Void](jsCall("clear", sel))); err != nil {
			return err
		}
		if s.Value != "" {
			if _, err := chromedp.Call(sctx, input.InsertText, input.InsertTextParams{Text: s.Value}); err != nil {
				return err
			}
		}
		_, err = chromedp.Run(sctx, chromedp.Evaluate[chromedp.Void](jsCall("changed", sel)))
		return err
	case "select":
		if err := timedOut(chromedp.Do(sctx, chromedp.WaitVisible(chromedp.CSS(sel))), timeout, "no visible element matched"); err != nil {
			return err
		}
		msg, err := chromedp.Run(sctx, chromedp.Evaluate[string](jsCall("select", sel, s.Value)))
		if err != nil {
			return err
		}
		if msg != "" {
			return errors.New(msg)
		}
		return nil
	case "wait":
		if s.Text == "" {
			err := acrossNavigations(sctx, func() error { return chromedp.Do(sctx, chromedp.WaitVisible(chromedp.CSS(sel))) })
			return timedOut(err, timeout, "no visible element matched")
		}
		return waitText(sctx, sel, s.Text, timeout)
	case "expect":
		return waitText(sctx, cmp.Or(sel, "body"), s.Text, timeout)
	case "sleep":
		select {
		case <-time.After(s.Duration):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return fmt.Errorf("unknown action %q", s.Action)
}

func waitText(ctx context.Context, sel, text string, timeout time.Duration) error {
	err := acrossNavigations(ctx, func() error {
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](jsCall("hasText", sel, text),
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
		return err
	})
	if errors.Is(err, chromedp.ErrPollingTimeout) {
		err = context.DeadlineExceeded
	}
	return timedOut(err, timeout, "the text did not appear")
}

// acrossNavigations runs a wait again when the page it was watching
// navigated (a form's POST, a redirect after a login): the element or the
// text is expected on the page that comes next. ctx bounds it.
func acrossNavigations(ctx context.Context, wait func() error) error {
	for {
		err := wait()
		if err == nil || ctx.Err() != nil || !navigated(err) {
			return err
		}
		// Let the next document start before looking again.
		_ = chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS("body")))
	}
}

// navigated reports the error of a command whose page went away under it.
func navigated(err error) bool {
	var e *cdproto.Error
	return errors.As(err, &e) && strings.Contains(e.Message, "navigated or closed") ||
		strings.Contains(err.Error(), "Cannot find context with specified id") ||
		strings.Contains(err.Error(), "Execution context was destroyed")
}

// timedOut turns a step's deadline into a sentence; the selector and the
// step itself are named by the caller's message.
// badSelector puts Chrome's ways of rejecting a selector it cannot parse (a
// DevTools "DOM Error while querying (-32000)", or a SyntaxError with a
// JavaScript stack) in one plain line. sel is the selector as written.
func badSelector(err error, sel string) error {
	var ce *cdproto.Error
	if sel != "" && (errors.As(err, &ce) && ce.Message == "DOM Error while querying" || err != nil && strings.Contains(err.Error(), "is not a valid selector")) {
		return fmt.Errorf("%q is not a valid CSS selector", sel)
	}
	return err
}

func timedOut(err error, d time.Duration, what string) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s within %s", what, d)
	}
	return err
}

// resolveURL resolves a relative URL against the page's location, the way
// a link would.
func resolveURL(ctx context.Context, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("invalid URL")
	}
	if u.IsAbs() {
		return raw, nil
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "", err
	}
	base, err := url.Parse(loc)
	if err != nil || base.Scheme == "about" || base.Host == "" {
		return "", fmt.Errorf("relative URL with no page open: give a start URL or an absolute URL")
	}
	return base.ResolveReference(u).String(), nil
}

// pageJS holds the functions the steps call in the page.
//
//go:embed page.js
var pageJS string

// jsCall builds a call of page.js's function fn with JSON-encoded
// arguments, so that selectors and values are never spliced into code.
func jsCall(fn string, args ...string) string {
	b, _ := json.Marshal(args)
	return "(() => {\n" + pageJS + "return " + fn + ";\n})()(..." + string(b) + ")"
}

// jsNavigationStatus is the HTTP status of the document (0 when the
// browser does not say).
const jsNavigationStatus = `(performance.getEntriesByType('navigation')[0] || {}).responseStatus || 0`
