package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/chromedp/cdproto"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// tap sits between chromedp and the browser connection. chromedp drives the
// page (navigation, clicks, waits) through it unchanged; the recorder uses it
// to see every message of every session in the order the browser sent it, and
// to talk to sessions chromedp does not know about.
//
// This is why the tap exists: chromedp routes messages by session and drops
// those of sessions it did not attach itself, so the targets that
// Target.setAutoAttach attaches (iframes in other processes, dedicated,
// shared and service workers) would be invisible, and a target paused by
// waitForDebuggerOnStart could never be resumed. The tap claims those
// sessions: their events go to the recorder, never to chromedp, and the
// recorder's commands to them use ids far above chromedp's counter so their
// replies can be recognised and kept from chromedp too.
//
// Read runs on chromedp's reader goroutine, so nothing here waits for the
// browser: events are handed to onEvent (which must only enqueue) and
// replies to callbacks (which must only enqueue).
type tap struct {
	conn    chromedp.Transport
	onEvent func(ev event)

	nextID atomic.Int64

	mu          sync.Mutex
	replies     map[int64]func(reply)
	own         map[string]bool  // sessions the recorder attached
	autoAttach  bool             // the recorder asked the browser session to auto-attach
	theirTarget map[string]bool  // targets chromedp is attaching right now
	theirCmd    map[int64]string // chromedp's Target.attachToTarget id → target id
	closed      chan struct{}
}

// idBase is where the recorder's command ids start: chromedp counts from 1,
// one id per command, and will never get near it. Chrome rejects ids that do
// not fit in 32 bits (the error then comes back without an id at all).
const idBase = 1 << 30

// event is one CDP event: the session it came from ("" for the browser),
// its method and its raw parameters.
type event struct {
	session string
	method  string
	params  []byte
}

// reply is the answer to one of the recorder's commands.
type reply struct {
	result []byte
	err    error
}

// errClosed is the error of commands that were waiting when the browser
// connection ended.
var errClosed = errors.New("browser connection closed")

func newTap(conn chromedp.Transport, onEvent func(event)) *tap {
	t := &tap{
		conn:        conn,
		onEvent:     onEvent,
		replies:     make(map[int64]func(reply)),
		own:         make(map[string]bool),
		theirTarget: make(map[string]bool),
		theirCmd:    make(map[int64]string),
		closed:      make(chan struct{}),
	}
	t.nextID.Store(idBase)
	return t
}

// Read returns the next message chromedp should see, after handing the
// recorder what it needs.
func (t *tap) Read(ctx context.Context, msg *cdproto.Message) error {
	for {
		*msg = cdproto.Message{}
		if err := t.conn.Read(ctx, msg); err != nil {
			t.shut()
			return err
		}
		if msg.Method == "" {
			if msg.ID >= idBase {
				t.answer(msg)
				continue
			}
			t.noteTheirReply(msg)
			return nil
		}
		if !t.observe(msg) {
			return nil
		}
	}
}

// Write sends chromedp's message, noting the targets chromedp attaches so
// that their attachedToTarget events are not taken for the recorder's.
func (t *tap) Write(ctx context.Context, msg *cdproto.Message) error {
	if msg.Method == "Target.attachToTarget" {
		var p evTargetInfo
		if json.Unmarshal(msg.Params, &p) == nil {
			t.mu.Lock()
			t.theirTarget[p.TargetID] = true
			t.theirCmd[msg.ID] = p.TargetID
			t.mu.Unlock()
		}
	}
	return t.conn.Write(ctx, msg)
}

func (t *tap) Close() error {
	t.shut()
	return t.conn.Close()
}

func (t *tap) noteTheirReply(msg *cdproto.Message) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if id, ok := t.theirCmd[msg.ID]; ok {
		delete(t.theirCmd, msg.ID)
		delete(t.theirTarget, id)
	}
}

// observe passes the recorder the events it wants and reports whether the
// message belongs to the recorder alone.
func (t *tap) observe(msg *cdproto.Message) (swallow bool) {
	session := string(msg.SessionID)
	method := string(msg.Method)
	t.mu.Lock()
	own := session != "" && t.own[session]
	t.mu.Unlock()

	switch method {
	case evAttached:
		var p evTargetInfo
		if json.Unmarshal(msg.Params, &p) != nil {
			return own
		}
		t.mu.Lock()
		mine := own || (session == "" && t.autoAttach && !t.theirTarget[p.TargetInfo.TargetID])
		if mine {
			// Claimed here, on the reader goroutine, so that the session's
			// first message (which follows this event) is already ours.
			t.own[p.SessionID] = true
		}
		t.mu.Unlock()
		if mine {
			t.onEvent(event{session, method, msg.Params})
		}
		return mine
	case evDetached:
		var p evTargetInfo
		if json.Unmarshal(msg.Params, &p) != nil {
			return own
		}
		t.mu.Lock()
		mine := t.own[p.SessionID]
		delete(t.own, p.SessionID)
		t.mu.Unlock()
		if mine {
			t.onEvent(event{session, method, msg.Params})
		}
		return own || mine
	case evTargetCreated, evTargetDestroyed, evTargetInfoChanged, evTargetCrashed:
		if session == "" {
			t.onEvent(event{session, method, msg.Params})
		}
		return own
	}
	if own && strings.HasPrefix(method, "Network.") {
		t.onEvent(event{session, method, msg.Params})
	}
	return own
}

func (t *tap) answer(msg *cdproto.Message) {
	t.mu.Lock()
	fn := t.replies[msg.ID]
	delete(t.replies, msg.ID)
	t.mu.Unlock()
	if fn == nil {
		return
	}
	if msg.Error != nil {
		fn(reply{err: &cdpError{msg.Error.Message}})
		return
	}
	fn(reply{result: msg.Result})
}

// cdpError is the browser's answer to a command that failed: only its
// message, which is what a HAR note or an error line can use.
type cdpError struct{ msg string }

func (e *cdpError) Error() string { return e.msg }

func (t *tap) shut() {
	t.mu.Lock()
	select {
	case <-t.closed:
		t.mu.Unlock()
		return
	default:
	}
	close(t.closed)
	pending := t.replies
	t.replies = make(map[int64]func(reply))
	t.mu.Unlock()
	for _, fn := range pending {
		fn(reply{err: errClosed})
	}
}

// send writes a command to session ("" for the browser) and calls done with
// the answer on the reader goroutine; done must not block.
func (t *tap) send(ctx context.Context, session, method string, params any, done func(reply)) {
	raw, err := json.Marshal(params)
	if err != nil {
		done(reply{err: err})
		return
	}
	id := t.nextID.Add(1)
	t.mu.Lock()
	select {
	case <-t.closed:
		t.mu.Unlock()
		done(reply{err: errClosed})
		return
	default:
	}
	t.replies[id] = done
	t.mu.Unlock()
	msg := &cdproto.Message{ID: id, SessionID: target.SessionID(session), Method: cdproto.MethodType(method), Params: raw}
	if err := t.conn.Write(ctx, msg); err != nil {
		t.mu.Lock()
		fn := t.replies[id]
		delete(t.replies, id)
		t.mu.Unlock()
		if fn != nil {
			fn(reply{err: fmt.Errorf("%s: %w", method, err)})
		}
	}
}

// claim marks a session the recorder attached itself as its own.
func (t *tap) claim(session string) {
	t.mu.Lock()
	t.own[session] = true
	t.mu.Unlock()
}

// setAutoAttach marks the browser session's attachedToTarget events as the
// recorder's from now on, then asks the browser for them and waits for
// its answer. Never call it on the reader goroutine.
func (t *tap) setAutoAttach(ctx context.Context, params any) error {
	t.mu.Lock()
	t.autoAttach = true
	t.mu.Unlock()
	ch := make(chan reply, 1)
	t.send(ctx, "", "Target.setAutoAttach", params, func(r reply) { ch <- r })
	select {
	case r := <-ch:
		if r.err != nil {
			return fmt.Errorf("Target.setAutoAttach: %w", r.err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
