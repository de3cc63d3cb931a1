// Package browser records what a person (or a steps file) does in a web UI
// as a HAR file, by driving Chromium or Chrome over the DevTools protocol
// with chromedp and listening to the network of every page, frame and
// worker. [Record] is the one entry point; [ParseSteps] reads steps files.
//
// The goal is a complete record: every request the UI makes, once, with
// the headers that went over the wire and its full request and response
// bodies, because later stages (redact, convert, replay) can only be as
// good as the recording.
//
// # How it listens
//
// chromedp drives the page (navigation, clicks, typing) as usual, but its
// connection to the browser goes through a tap (a chromedp.Transport):
// chromedp drops the messages of sessions it did not attach itself, and the
// recorder needs many of those. The browser session auto-attaches every
// page, iframe, dedicated, shared and service worker with
// waitForDebuggerOnStart; each new target gets Network.enable,
// Network.configureDurableMessages, Network.setCacheDisabled and its own
// auto-attach before it is resumed, so no request of a worker or a frame
// in another process is missed. chromedp's own session stops listening to
// the network. Commands are never sent and awaited on the goroutine that
// reads the connection (that deadlocks); events are queued for one loop
// that owns all state, in the order the browser sent them.
//
// The DevTools pitfalls, and what is done about each:
//
//   - Bodies are fetched after loadingFinished, never earlier. A frame's or
//     a worker's are asked for straight from the reader, so that nothing
//     queued delays it; a page's wait until none of its calls is loading
//     (at most 500 ms and 64 MiB), so that the recording does not compete
//     with the page for the CPU while the page waits for its calls.
//   - A navigation throws away the bodies of the old document, and large
//     bodies on the wire can delay the events of the next call by a
//     second: durable messages keep bodies in the browser process, where a
//     navigation does not reach them. Chrome's durable store never sees a
//     body a service worker answered, so once a service worker exists (or
//     a target's first answer comes from one) each page, frame and worker
//     also gets a second, non-durable session that is asked for those
//     bodies only, at loadingFinished, straight from the reader; a body
//     it does not have yet is asked from both sessions in turn a few more
//     times.
//   - Buffers are raised (512 MiB in total, 256 MiB per response) so that
//     large answers are not evicted before they are fetched.
//   - Request bodies Chrome leaves out (above 64 KiB, blobs, files,
//     multipart) are fetched with Network.getRequestPostData.
//   - A redirect chain is one entry per hop: the redirect response rides
//     on the next requestWillBeSent with the same requestId.
//   - requestWillBeSentExtraInfo and responseReceivedExtraInfo, which carry
//     the real Cookie and Set-Cookie headers, are merged whether they come
//     before or after their base event (matched to hops by order, as
//     DevTools does); an entry waits for them up to a second.
//   - The cache is disabled, so every call reaches the server.
//   - CORS preflights are recorded with _resourceType "preflight".
//   - WebSocket frames go in _webSocketMessages in Chrome's shape (type
//     send or receive, time in Unix seconds, opcode, data; binary data in
//     base64), EventSource messages in _eventSourceMessages.
//   - A body that cannot be had is never an empty string: content has no
//     text and content._bodyUnavailable says why (a redirect, a failed
//     request, "No resource with given identifier found", a body the page
//     read as a stream…). A response the page never finished reading is
//     asked for once more when the recording stops; a body that is shorter
//     than its Content-Length is marked _bodyIncomplete.
//   - Bodies of entries the default selection drops (scripts, styles,
//     images…) are not fetched at all, nor those of assets it keeps only
//     for the cookie they set; data:, blob: and other URLs that are not
//     http, https, ws or wss are not recorded, as in DevTools' export.
//
// Entries carry Chrome's custom fields (_resourceType in DevTools'
// lower-case names, _initiator, _priority, _fromCache, response._error,
// _transferSize, _fetchedViaServiceWorker) and timings computed from
// Network.ResourceTiming as DevTools computes them (blocked includes
// queueing, ssl is part of connect, time is the sum of the phases). They
// are written in the order they complete, each as soon as it is complete,
// to a file that is a valid HAR after every entry.
//
// # Steps files
//
// A steps file is a YAML (or JSON) list. Each item is a mapping with
// exactly one action key, whose value is the action's argument, and
// optional keys:
//
//	# flow.yaml
//	- navigate: /clusters          # absolute, or relative to the current page
//	- fill: "#username"            # CSS selector of an input, textarea or contenteditable
//	  value: ${APITAPE_USER}
//	- select: "#region"            # a <select>; value is an option's value or label
//	  value: eu-west-1
//	- click: "button.primary"      # waits until visible, then clicks its center
//	- wait: "#clusters"            # until an element matches and is visible
//	- wait: "#status"              # with text: until its text contains it
//	  text: Active
//	- expect: Cluster lab created  # fails unless the text appears
//	  in: "#status"                # optional; default the whole page
//	- sleep: 500ms
//
// Every action but sleep takes timeout (a Go duration, default
// [DefaultStepTimeout]). ${NAME} is replaced with the environment variable
// NAME when the step runs; an unset or empty variable fails the step. fill
// clears the field and types the value with Input.insertText, so the page
// sees trusted input events, then fires change; select fires input and
// change.
//
// A file that does not parse fails with a [*StepsError] naming the file,
// line and step; a step that fails when it runs does too, with the
// selector and the reason ("click #save: no visible element matched within
// 15s"). Messages show the step as written (never a value after ${…}
// expansion, never a fill value).
//
// # Stopping
//
// With steps, the recording stops after the last one, once the network
// has been quiet for 400 ms (at most 10 s), so the calls the last click
// started are complete. Without steps it stops when every page is closed,
// the browser exits, ctx is cancelled (Ctrl-C) or Options.Timeout passes;
// headless and without a timeout, once the URL has loaded and the network
// is quiet. What is still open then is written too: WebSockets with their
// frames so far, calls without an answer with a note. A URL that does not
// load (connection refused, a name that does not resolve) ends the
// recording with a [*LoadError]; an HTTP error page is a page, recorded
// with a warning through Options.Warnf.
package browser
