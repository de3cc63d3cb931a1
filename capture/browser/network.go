package browser

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apitape/apitape/har"
	jsonv2 "github.com/chromedp/cdproto/cdp/jsonv2"
)

// Buffer sizes. Chrome keeps response bodies until they are fetched and
// evicts the oldest when a buffer is full ("Request content was evicted
// from inspector cache"); its defaults lose large API answers. The
// recorder fetches every body as soon as it has loaded, so the buffers
// only hold what is in flight. Bodies come from the durable store in the
// browser process (Network.configureDurableMessages); the renderer's own
// store, which would only hold a second copy, gets one byte, so it keeps
// nothing.
const (
	maxTotalBuffer    = 512 << 20
	maxResourceBuffer = 256 << 20
	rendererBuffer    = 1
)

// autoAttachFilter limits auto-attach to the targets that make the page's
// requests. Headless Chrome also runs browser_ui targets (the omnibox popup)
// whose WebUI traffic is not the page's.
var autoAttachFilter = []map[string]any{
	{"type": "page"}, {"type": "iframe"}, {"type": "worker"},
	{"type": "shared_worker"}, {"type": "service_worker"},
	{"exclude": true},
}

// recorder turns the CDP events of every attached session into HAR entries.
// All its state belongs to one goroutine (run); everything else talks to it
// by pushing closures onto q.
type recorder struct {
	ctx      context.Context
	tap      *tap
	q        *queue
	sink     func(*har.Entry)
	finished bool

	sessions map[string]*session // the recorder's sessions
	targets  map[string]string   // target id → the session that records it
	pages    map[string]bool     // live page targets
	sawPage  bool
	requests map[string]*request
	sockets  map[string]*socket
	haveSW   bool              // a service worker was attached
	shadow   map[string]string // target id → its shadow session (see addShadow)

	// Used on the reader goroutine too, hence the locks.
	shadowMu       sync.Mutex
	shadowSessions map[string]bool
	shadowOf       map[string]string // recording session → the shadow session of its target
	swServed       map[string]bool   // requests a service worker answered, until their loadingFinished
	skipAssets     bool              // the default selection: the bodies of assets are not fetched (see keepByDefault)
	skipMu         sync.Mutex
	skip           map[string]bool // requests whose bodies are not fetched
	pageSessions   map[string]bool // sessions of page targets, whose bodies may wait (see deferBody); under skipMu

	// Bodies that wait until the network is quiet (see deferBody).
	inflight      int // requests loading, EventSource streams aside
	deferred      []deferredBody
	deferredBytes int64
	deferGen      int // counts flushes, so that an old timer does not cut a new batch short

	setups       int       // setup commands not answered yet
	lastActivity time.Time // last network event, for "quiet"
	allClosed    chan struct{}
	closedOnce   bool
}

type session struct {
	target, kind string
}

// request is one requestId: a redirect chain of hops, the ExtraInfo events
// of those hops in arrival order (DevTools matches them to hops by index),
// and EventSource messages.
type request struct {
	id        string
	hops      []*hop
	reqExtra  []*evRequestExtra
	respExtra []*evResponseExtra
	sse       []sseMessage
	emitted   int
}

type hop struct {
	session  string
	sent     *evRequest
	resp     *cdpResponse
	respTime float64
	hasExtra bool
	done     bool
	endTime  float64
	encoded  float64
	received int64     // decoded bytes, from dataReceived
	lastData time.Time // when the response or its last data arrived
	failed   *evFailed
	cached   bool

	body        []byte
	hasBody     bool
	bodyNote    string // why there is no body
	bodyPending bool
	bodyTries   int
	triedOther  bool
	rescued     bool
	partial     bool // the body is what the browser had when the recording stopped

	post        []byte
	hasPost     bool
	postNote    string
	postPending bool

	extraExpired bool
	extraTimer   bool
	loading      bool // counted in recorder.inflight
}

type sseMessage struct {
	Type string  `json:"type"`
	Time float64 `json:"time"`
	ID   string  `json:"id"`
	Data string  `json:"data"`
}

type wsMessage struct {
	Type   string  `json:"type"`
	Time   float64 `json:"time"`
	Opcode int     `json:"opcode"`
	Data   string  `json:"data"`
}

type socket struct {
	id, url    string
	initiator  json.RawMessage
	start      float64 // monotonic seconds of the handshake request
	wallStart  float64
	reqHeaders headerList
	resp       *evWS // the handshake response
	messages   []wsMessage
	errors     []string
	end        float64
}

func newRecorder(ctx context.Context, emit func(*har.Entry)) *recorder {
	return &recorder{
		ctx:      ctx,
		q:        newQueue(),
		sink:     emit,
		sessions: make(map[string]*session),
		shadow:   make(map[string]string),

		shadowSessions: make(map[string]bool),
		shadowOf:       make(map[string]string),
		swServed:       make(map[string]bool),
		skip:           make(map[string]bool),
		pageSessions:   make(map[string]bool),
		targets:        make(map[string]string),
		pages:          make(map[string]bool),
		requests:       make(map[string]*request),
		sockets:        make(map[string]*socket),
		allClosed:      make(chan struct{}),
	}
}

// emit hands an entry on; after finish nothing more is written.
func (r *recorder) emit(e *har.Entry) {
	if !r.finished {
		r.sink(e)
	}
}

// onEvent is the tap's callback. It runs on chromedp's reader goroutine, so
// it never waits: it enqueues the event for the loop and, for the two
// events that make a body available, sends the command that fetches it
// right away. Sending here rather than from the loop is what keeps the
// body of a fetch that is followed at once by a navigation: the loop may
// be busy for milliseconds with a large body, and a navigation throws the
// old document's bodies away. The answer is decoded on a goroutine of its
// own and handed to the loop.
func (r *recorder) onEvent(ev event) {
	if strings.HasPrefix(ev.method, "Network.") && r.isShadow(ev.session) {
		return
	}
	switch ev.method {
	case evAttached, evDetached:
		if p, ok := decode[evTargetInfo](ev.params); ok {
			r.skipMu.Lock()
			if ev.method == evAttached && p.TargetInfo.Type == "page" {
				r.pageSessions[p.SessionID] = true
			} else {
				delete(r.pageSessions, p.SessionID)
			}
			r.skipMu.Unlock()
		}
		r.q.push(func() { r.handle(ev) })
	case evLoadingFinished:
		p, ok := decode[evFinished](ev.params)
		if !ok {
			return
		}
		f := &fetch{}
		sh := r.swShadow(ev.session, p.RequestID)
		if r.unwanted(p.RequestID, true) {
			r.q.push(func() { r.loadingFinished(ev.session, p, f, false) })
			f.err = errNotKept
			r.q.push(func() { r.fetched(f, "Network.getResponseBody") })
			return
		}
		// A body a service worker answered is only in the renderer's
		// store (see addShadow), which evicts: it is asked for at once,
		// from the shadow session.
		from, wait := ev.session, r.mayWait(ev.session)
		if sh != "" {
			from, wait = sh, false
		}
		r.q.push(func() { r.loadingFinished(ev.session, p, f, wait) })
		if !wait {
			r.fetch(from, "Network.getResponseBody", p.RequestID, "body", f)
		}
	case evResponseReceived:
		if bytes.Contains(ev.params, []byte(`"fromServiceWorker":true`)) {
			if p, ok := decode[evRequestID](ev.params); ok {
				r.shadowMu.Lock()
				r.swServed[p.RequestID] = true
				r.shadowMu.Unlock()
			}
		}
		r.q.push(func() { r.handle(ev) })
	case evRequestWillBeSent:
		p, ok := decode[evRequest](ev.params)
		if !ok {
			return
		}
		if !recordable(p.Request.URL) || r.skipAssets && !bodyType(p.Type) {
			r.skipMu.Lock()
			r.skip[p.RequestID] = true
			r.skipMu.Unlock()
		}
		var f *fetch
		if p.Request.PostData == nil && p.Request.HasPostData && !r.unwanted(p.RequestID, false) {
			// Chrome leaves out bodies above 64 KiB, blobs, files and
			// multipart uploads and only says hasPostData.
			f = &fetch{}
		}
		r.q.push(func() { r.requestWillBeSent(ev.session, p, f) })
		if f != nil {
			r.fetch(ev.session, "Network.getRequestPostData", p.RequestID, "postData", f)
		}
	default:
		r.q.push(func() { r.handle(ev) })
	}
}

// errNotKept is the note of a body not fetched because the default
// selection keeps the entry only for its Set-Cookie, or drops it.
var errNotKept = errors.New("not fetched: an asset, kept only for the cookie it sets (record with --all for the bodies of assets)")

// bodyType reports the CDP resource types whose bodies the default
// selection fetches: API calls and documents (see keepByDefault).
func bodyType(t string) bool {
	switch t {
	case "XHR", "Fetch", "EventSource", "WebSocket", "Document":
		return true
	}
	return false
}

// keepByDefault is capture browser's selection without --all: API calls
// (har.IsAPICall), and what a script needs to log in the way the page
// did: every document navigation (a login form's POST and its redirects,
// a page that carries a token) and every answer that sets a cookie. Other
// assets, preflights and requests without an answer are left out.
func keepByDefault(e *har.Entry) bool {
	if har.IsAPICall(e) {
		return true
	}
	if e.Response.Status == 0 || har.IsPreflight(e) || !recordable(e.Request.URL) {
		return false
	}
	if e.ResourceType() == "document" {
		return true
	}
	_, ok := har.Header(e.Response.Headers, "Set-Cookie")
	return ok
}

// unwanted reports whether the body of requestID is not worth fetching:
// the entry will not be written (a data: URL, or an asset the default
// selection drops) or is kept only for its Set-Cookie. Fetching those
// bodies would cost the page time for nothing. done forgets the request.
func (r *recorder) unwanted(requestID string, done bool) bool {
	r.skipMu.Lock()
	defer r.skipMu.Unlock()
	skip := r.skip[requestID]
	if done {
		delete(r.skip, requestID)
	}
	return skip
}

// fetch is a body on its way: a response body or a request body.
type fetch struct {
	data    []byte
	err     error
	session string   // the session asked
	hop     *hop     // set by the loop when it took the event; nil for a duplicate
	req     *request // the request the hop belongs to
}

func (r *recorder) fetch(session, method, requestID, field string, f *fetch) {
	f.session = session
	r.tap.send(r.ctx, session, method, map[string]string{"requestId": requestID}, func(rep reply) {
		go func() {
			f.data, f.err = decodeBody(rep, field)
			r.q.push(func() { r.fetched(f, method) })
		}()
	})
}

// decodeBody reads {field: text, base64Encoded: bool}, the answer of both
// Network.getResponseBody and Network.getRequestPostData.
func decodeBody(rep reply, field string) ([]byte, error) {
	if rep.err != nil {
		return nil, rep.err
	}
	var res struct {
		Body          *string `json:"body"`
		PostData      *string `json:"postData"`
		Base64Encoded bool    `json:"base64Encoded"`
	}
	if err := jsonv2.Unmarshal(rep.result, &res, unmarshalOptions); err != nil {
		return nil, err
	}
	text := res.Body
	if field == "postData" {
		text = res.PostData
	}
	if text == nil {
		return nil, errors.New("the browser sent no " + field)
	}
	if !res.Base64Encoded {
		return []byte(*text), nil
	}
	b, err := base64.StdEncoding.DecodeString(*text)
	if err != nil {
		return nil, errors.New("the browser sent invalid base64")
	}
	return b, nil
}

func (r *recorder) fetched(f *fetch, method string) {
	h := f.hop
	if h == nil {
		return
	}
	if method == "Network.getRequestPostData" {
		h.postPending = false
		if f.err == nil {
			h.post, h.hasPost = f.data, true
		} else if b, ok := postDataEntries(&h.sent.Request); ok {
			h.post, h.hasPost = b, true
		} else {
			h.postNote = f.err.Error()
		}
	} else {
		sw := h.resp != nil && h.resp.FromServiceWorker
		// Which store holds a body a service worker answered varies:
		// the recording session's says "No data found" or, when the
		// renderer saw the bytes, "evicted" (its buffer is one byte); the
		// shadow session's may not have them yet.
		missing := (f.err == nil && len(f.data) == 0 || isNoData(f.err) || sw && isEvicted(f.err)) && h.expectsBody()
		if missing {
			if from, d, ok := r.retryBody(h, f.session); ok {
				g := &fetch{hop: h, req: f.req}
				id := f.req.id
				if d == 0 {
					r.fetch(from, method, id, "body", g)
				} else {
					time.AfterFunc(d, func() { r.fetch(from, method, id, "body", g) })
				}
				return
			}
		}
		switch {
		case f.err != nil:
			h.bodyNote = f.err.Error()
		case len(f.data) == 0 && h.expectsBody():
			// A body read as a stream or a blob comes back empty with no
			// error.
			h.bodyNote = "the browser returned an empty body for a response that had one (read as a stream or blob, or passed on by a service worker)"
		default:
			h.body, h.hasBody = f.data, true
		}
		h.bodyPending = false
	}
	r.check(f.req)
}

func isNoData(err error) bool {
	return err != nil && strings.Contains(err.Error(), "No data found")
}

func isEvicted(err error) bool {
	return err != nil && strings.Contains(err.Error(), "evicted")
}

// bodyRetries space the retries of a body that came through a service
// worker: it can reach DevTools after loadingFinished ("No data found", or
// an empty body).
var bodyRetries = []time.Duration{20 * time.Millisecond, 100 * time.Millisecond, 300 * time.Millisecond, time.Second}

// retryBody says where and when to ask again for a body that was missing
// when last asked from session last. A service worker's answer is asked
// once from the other of the recording and the shadow session, at once,
// then again from the shadow session, whose store is the only one that
// can hold it, after a pause; any other body from its own session after
// a pause.
func (r *recorder) retryBody(h *hop, last string) (session string, delay time.Duration, ok bool) {
	session = h.session
	if h.resp != nil && h.resp.FromServiceWorker {
		if sh := r.shadowFor(h.session); sh != "" {
			if !h.triedOther {
				h.triedOther = true
				if last == sh {
					return h.session, 0, true
				}
				return sh, 0, true
			}
			session = sh
		}
	}
	if h.bodyTries >= len(bodyRetries) {
		return "", 0, false
	}
	delay = bodyRetries[h.bodyTries]
	h.bodyTries++
	return session, delay, true
}

// expectsBody reports whether the response had a body: Chrome received
// bytes for it, or its Content-Length says so.
func (h *hop) expectsBody() bool {
	if h.received > 0 {
		return true
	}
	if h.resp == nil {
		return false
	}
	n, ok := h.resp.Headers.get("Content-Length")
	return ok && n != "0" && n != ""
}

// run works through the queue until ctx ends.
func (r *recorder) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.q.signal:
			for _, f := range r.q.take() {
				f()
			}
		}
	}
}

// do runs f on the loop and waits for it.
func (r *recorder) do(ctx context.Context, f func()) error {
	done := make(chan struct{})
	r.q.push(func() { f(); close(done) })
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// decode reads an event's parameters; a malformed event is ignored, as
// the browser is the only one sending them.
func decode[T any](raw []byte) (*T, bool) {
	p := new(T)
	return p, jsonv2.Unmarshal(raw, p, unmarshalOptions) == nil
}

func (r *recorder) handle(ev event) {
	switch ev.method {
	case evAttached, evDetached, evTargetCreated, evTargetInfoChanged, evTargetDestroyed, evTargetCrashed:
		r.handleTarget(ev)
		return
	}
	r.lastActivity = time.Now()
	switch ev.method {
	case evRequestExtraInfo:
		if p, ok := decode[evRequestExtra](ev.params); ok {
			q := r.request(p.RequestID)
			q.reqExtra = append(q.reqExtra, p)
			r.check(q)
		}
	case evResponseReceived:
		if p, ok := decode[evResponse](ev.params); ok {
			r.responseReceived(p)
		}
	case evResponseExtraInfo:
		if p, ok := decode[evResponseExtra](ev.params); ok {
			q := r.request(p.RequestID)
			q.respExtra = append(q.respExtra, p)
			r.check(q)
		}
	case evLoadingFailed:
		if p, ok := decode[evFailed](ev.params); ok {
			r.loadingFailed(p)
		}
	case evDataReceived:
		if p, ok := decode[evData](ev.params); ok {
			if h := r.current(p.RequestID); h != nil && !h.done {
				h.received += int64(p.DataLength)
				h.lastData = time.Now()
			}
		}
	case evServedFromCache:
		if p, ok := decode[evRequestID](ev.params); ok {
			if h := r.current(p.RequestID); h != nil {
				h.cached = true
			}
		}
	case evEventSourceMessage:
		if p, ok := decode[evEventSource](ev.params); ok {
			if q := r.requests[p.RequestID]; q != nil && len(q.hops) > 0 {
				q.sse = append(q.sse, sseMessage{Type: p.EventName, Time: r.wall(q.hops[len(q.hops)-1], p.Timestamp), ID: p.EventID, Data: p.Data})
			}
		}
	default:
		if strings.HasPrefix(ev.method, "Network.webSocket") {
			r.handleSocket(ev)
		}
	}
}

// request returns the state of id, creating it: ExtraInfo events may come
// before the event they complete.
func (r *recorder) request(id string) *request {
	q := r.requests[id]
	if q == nil {
		q = &request{id: id}
		r.requests[id] = q
	}
	return q
}

func (r *recorder) current(id string) *hop {
	q := r.requests[id]
	if q == nil || len(q.hops) == 0 {
		return nil
	}
	return q.hops[len(q.hops)-1]
}

func (r *recorder) requestWillBeSent(sess string, p *evRequest, f *fetch) {
	r.lastActivity = time.Now()
	if !recordable(p.Request.URL) {
		return
	}
	q := r.request(p.RequestID)
	if n := len(q.hops); n > 0 {
		cur := q.hops[n-1]
		// The same request can be reported by two sessions (a worker's
		// script by its page and by itself); only a redirect of the hop
		// being loaded starts a new one.
		if p.RedirectResponse == nil || cur.done || p.RedirectResponse.URL != cur.sent.Request.URL {
			return
		}
		cur.resp = p.RedirectResponse
		cur.respTime = p.Timestamp
		cur.hasExtra = p.RedirectHasExtraInfo
		cur.done = true
		cur.endTime = p.Timestamp
		cur.bodyNote = "redirect: Chrome keeps no body for redirect responses"
	}
	h := &hop{session: sess, sent: p}
	if n := len(q.hops); n > 0 {
		h.loading, q.hops[n-1].loading = q.hops[n-1].loading, false
	} else if p.Type != "EventSource" {
		h.loading = true
		r.inflight++
	}
	q.hops = append(q.hops, h)
	switch {
	case p.Request.PostData != nil:
		h.post, h.hasPost = []byte(*p.Request.PostData), true
	case f != nil:
		h.postPending = true
		f.hop, f.req = h, q
	}
	r.check(q)
}

// postDataEntries joins the parts Chrome reported inline, the fallback when
// Network.getRequestPostData fails. A part with no bytes (a file) makes the
// body incomplete, so none is returned then.
func postDataEntries(req *cdpRequest) ([]byte, bool) {
	if len(req.PostDataEntries) == 0 {
		return nil, false
	}
	var out []byte
	for _, e := range req.PostDataEntries {
		if e.Bytes == "" {
			return nil, false
		}
		b, err := base64.StdEncoding.DecodeString(e.Bytes)
		if err != nil {
			return nil, false
		}
		out = append(out, b...)
	}
	return out, true
}

func (r *recorder) responseReceived(p *evResponse) {
	h := r.current(p.RequestID)
	if h == nil || h.done || h.resp != nil {
		return
	}
	resp := p.Response
	h.resp = &resp
	if resp.FromServiceWorker {
		r.servedByWorker(h.session)
	}
	h.respTime = p.Timestamp
	h.lastData = time.Now()
	h.hasExtra = p.HasExtraInfo
}

// loadingFinished ends the hop. Its body is on its way (sent from the
// reader) or, when wait is set, joins the bodies that wait for a quiet
// network.
func (r *recorder) loadingFinished(session string, p *evFinished, f *fetch, wait bool) {
	r.lastActivity = time.Now()
	h := r.current(p.RequestID)
	if h == nil || h.done {
		return
	}
	q := r.requests[p.RequestID]
	h.done, h.endTime, h.encoded = true, p.Timestamp, p.EncodedDataLength
	h.bodyPending = true
	f.hop, f.req = h, q
	if wait {
		r.deferBody(deferredBody{session, p.RequestID, f, int64(max(p.EncodedDataLength, float64(h.received)))})
	}
	r.loaded(h)
}

func (r *recorder) loadingFailed(p *evFailed) {
	h := r.current(p.RequestID)
	if h == nil || h.done {
		return
	}
	q := r.requests[p.RequestID]
	h.done, h.endTime, h.failed = true, p.Timestamp, p
	r.shadowMu.Lock()
	delete(r.swServed, p.RequestID)
	r.shadowMu.Unlock()
	r.loaded(h)
	h.bodyNote = "request failed: " + p.ErrorText
	if p.Canceled {
		h.bodyNote = "request canceled: " + p.ErrorText
	}
	r.check(q)
}

// check emits the hops of q that are complete, in order.
func (r *recorder) check(q *request) {
	for q.emitted < len(q.hops) {
		i := q.emitted
		h := q.hops[i]
		if !h.done || h.bodyPending || h.postPending {
			return
		}
		if h.hasExtra && !h.extraExpired && (len(q.reqExtra) <= i || len(q.respExtra) <= i) {
			if !h.extraTimer {
				h.extraTimer = true
				time.AfterFunc(extraWait, func() {
					r.q.push(func() {
						h.extraExpired = true
						r.check(q)
					})
				})
			}
			return
		}
		r.emit(r.entry(q, i))
		q.emitted++
	}
	if len(q.hops) > 0 && q.emitted == len(q.hops) {
		delete(r.requests, q.id)
	}
}

// busy reports whether an exchange that is expected to end is still
// running: EventSource streams and WebSockets are not expected to.
func (r *recorder) busy() bool {
	if r.setups > 0 {
		return true
	}
	for _, q := range r.requests {
		for _, h := range q.hops[q.emitted:] {
			if h.bodyPending || h.postPending || (h.done && h.hasExtra && !h.extraExpired) {
				return true
			}
			if !h.done && h.sent.Type != "EventSource" && !h.stalled() {
				return true
			}
		}
	}
	return false
}

// extraWait is how long a finished exchange waits for its ExtraInfo events.
const extraWait = time.Second

// stallAfter is how long a response may send nothing before it no longer
// holds up the end of a recording. A page that never reads a body, or that
// navigates away while the body is unread, leaves the exchange open for
// good: Chrome reports neither loadingFinished nor loadingFailed.
const stallAfter = time.Second

// complete reports whether the body is as long as Content-Length says.
func (h *hop) complete() bool {
	n, ok := h.resp.Headers.get("Content-Length")
	return ok && n == strconv.Itoa(len(h.body))
}

func (h *hop) stalled() bool {
	return h.resp != nil && !h.lastData.IsZero() && time.Since(h.lastData) > stallAfter
}

// rescue asks once for the body of every response that never finished:
// the browser's durable store often holds all of it even though the page
// never read it.
func (r *recorder) rescue() {
	r.flushBodies()
	for _, q := range r.requests {
		if len(q.hops) == 0 {
			continue
		}
		h := q.hops[len(q.hops)-1]
		if h.done || h.resp == nil || h.bodyPending || h.rescued {
			continue
		}
		h.rescued, h.bodyPending = true, true
		r.fetch(h.session, "Network.getResponseBody", q.id, "body", &fetch{hop: h, req: q})
	}
}

// finish emits everything still open: WebSockets and streams with what they
// had, exchanges that never ended with a note saying so.
func (r *recorder) finish(why string) {
	qs := make([]*request, 0, len(r.requests))
	for _, q := range r.requests {
		if len(q.hops) > q.emitted {
			qs = append(qs, q)
		}
	}
	slices.SortFunc(qs, func(a, b *request) int { return cmp.Compare(a.hops[0].sent.Timestamp, b.hops[0].sent.Timestamp) })
	for _, q := range qs {
		for i := q.emitted; i < len(q.hops); i++ {
			h := q.hops[i]
			switch {
			case !h.done && h.resp == nil:
				h.bodyNote = "no response before the recording stopped (" + why + ")"
			case !h.done && h.hasBody && h.complete():
			case !h.done && h.hasBody:
				h.partial = true
			case !h.done:
				h.bodyNote = "the response had not finished when the recording stopped (" + why + ")"
			case h.bodyPending:
				h.bodyNote = "the body had not arrived when the recording stopped (" + why + ")"
			}
			if h.postPending {
				h.postNote = "the request body had not arrived when the recording stopped"
			}
			r.emit(r.entry(q, i))
		}
		delete(r.requests, q.id)
	}
	ss := slices.SortedFunc(maps.Values(r.sockets), func(a, b *socket) int { return cmp.Compare(a.start, b.start) })
	for _, s := range ss {
		r.emit(r.socketEntry(s))
		delete(r.sockets, s.id)
	}
	clear(r.requests)
	r.finished = true
}

func (r *recorder) handleSocket(ev event) {
	p, ok := decode[evWS](ev.params)
	if !ok {
		return
	}
	s := r.sockets[p.RequestID]
	if ev.method == evWSCreated {
		if s == nil {
			r.sockets[p.RequestID] = &socket{id: p.RequestID, url: p.URL, initiator: p.Initiator}
		}
		return
	}
	if s == nil {
		return
	}
	switch ev.method {
	case evWSHandshakeRequest:
		if s.start == 0 {
			s.start, s.wallStart, s.reqHeaders = p.Timestamp, p.WallTime, p.Request.Headers
		}
	case evWSHandshakeResponse:
		if s.resp == nil {
			s.resp = p
		}
	case evWSFrameSent, evWSFrameReceived:
		typ := "receive"
		if ev.method == evWSFrameSent {
			typ = "send"
		}
		s.messages = append(s.messages, wsMessage{Type: typ, Time: s.wallTime(p.Timestamp), Opcode: int(p.Response.Opcode), Data: p.Response.PayloadData})
	case evWSFrameError:
		s.errors = append(s.errors, p.ErrorMessage)
	case evWSClosed:
		s.end = p.Timestamp
		r.emit(r.socketEntry(s))
		delete(r.sockets, s.id)
	}
}

// wallTime converts a monotonic timestamp to Unix seconds, from the one
// event that carries both.
func (s *socket) wallTime(ts float64) float64 {
	if s.start == 0 {
		return ts
	}
	return s.wallStart + (ts - s.start)
}

func (r *recorder) wall(h *hop, ts float64) float64 {
	return h.sent.WallTime + (ts - h.sent.Timestamp)
}

// recordable reports whether a request to u belongs in the HAR: only
// http, https, ws and wss, as in DevTools' export. data: and blob: URLs
// never reach a server (a HAR tool then meets httpVersion "data" and
// rejects the file); chrome:, devtools:, extension and WebUI URLs are the
// browser's own business.
func recordable(u string) bool {
	scheme, _, ok := strings.Cut(u, ":")
	if !ok {
		return false
	}
	switch strings.ToLower(scheme) {
	case "http", "https", "ws", "wss":
		return true
	}
	return false
}

// Bodies of page sessions wait until the network is quiet.
//
// Fetching a body costs the browser (its process reads the body from the
// durable store, turns it into JSON and sends it) and the recorder (which
// decodes it, then builds, marshals and writes the entry). On a machine
// with few cores, work done while the page still waits for its other
// calls slows them down: for the benchmark's 200 calls of 2 KiB, fetching
// the bodies costs Chrome about 60 ms of CPU and the recorder about 25 ms.
// Durable messages keep a page's bodies in the browser process, where
// navigations do not reach them, until they are fetched or the page's
// session ends, so they can wait until none of the calls is loading any
// more. Three bounds keep that safe: at most maxDeferredBytes wait (far
// below the durable store's maxTotalBuffer, so nothing is evicted), none
// waits longer than maxDeferral (a long poll or a stalled response must
// not hold the others back; this is also the longest a page that closes
// itself can take waiting bodies with it), and everything is fetched when
// the recording stops. Frames and workers, which can go away with their
// last call, and bodies that a service worker answered (they are only in
// the renderer, see addShadow) are fetched at once.
const (
	maxDeferredBytes = 64 << 20
	maxDeferral      = 500 * time.Millisecond
)

type deferredBody struct {
	session, requestID string
	f                  *fetch
	size               int64
}

// mayWait reports whether the bodies of session may wait. It runs on the
// reader goroutine.
func (r *recorder) mayWait(session string) bool {
	r.skipMu.Lock()
	defer r.skipMu.Unlock()
	return r.pageSessions[session]
}

func (r *recorder) deferBody(d deferredBody) {
	h := d.f.hop
	if h.resp != nil && h.resp.FromServiceWorker {
		r.fetch(d.session, "Network.getResponseBody", d.requestID, "body", d.f)
		return
	}
	r.deferred = append(r.deferred, d)
	r.deferredBytes += d.size
	if r.deferredBytes >= maxDeferredBytes {
		r.flushBodies()
		return
	}
	if len(r.deferred) == 1 {
		gen := r.deferGen
		time.AfterFunc(maxDeferral, func() {
			r.q.push(func() {
				if r.deferGen == gen {
					r.flushBodies()
				}
			})
		})
	}
}

// loaded notes that h no longer loads; once nothing loads, the waiting
// bodies go.
func (r *recorder) loaded(h *hop) {
	if h.loading {
		h.loading = false
		r.inflight--
	}
	if r.inflight == 0 {
		r.flushBodies()
	}
}

// flushBodies asks for every waiting body.
func (r *recorder) flushBodies() {
	if len(r.deferred) == 0 {
		return
	}
	for _, d := range r.deferred {
		r.fetch(d.session, "Network.getResponseBody", d.requestID, "body", d.f)
	}
	if testHookFlush != nil {
		testHookFlush(len(r.deferred))
	}
	r.deferred, r.deferredBytes = nil, 0
	r.deferGen++
}

// testHookFlush, set by tests, is told how many waiting bodies each flush
// asks for.
var testHookFlush func(n int)
