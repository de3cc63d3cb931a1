package browser

import (
	"encoding/json"
)

// handleTarget keeps track of the recorder's sessions and of the pages that
// are open.
func (r *recorder) handleTarget(ev event) {
	var p evTargetInfo
	if json.Unmarshal(ev.params, &p) != nil {
		return
	}
	switch ev.method {
	case evAttached:
		r.attached(p.SessionID, p.TargetInfo.TargetID, p.TargetInfo.Type)
	case evDetached:
		r.shadowMu.Lock()
		delete(r.shadowOf, p.SessionID)
		r.shadowMu.Unlock()
		if s := r.sessions[p.SessionID]; s != nil {
			if r.targets[s.target] == p.SessionID {
				delete(r.targets, s.target)
			}
			delete(r.sessions, p.SessionID)
		}
	case evTargetCreated, evTargetInfoChanged:
		if p.TargetInfo.Type == "page" {
			r.pages[p.TargetInfo.TargetID] = true
			r.sawPage = true
		}
	case evTargetDestroyed, evTargetCrashed:
		delete(r.pages, p.TargetID)
		if r.sawPage && len(r.pages) == 0 && !r.closedOnce {
			r.closedOnce = true
			close(r.allClosed)
		}
	}
}

// attached sets up a new session. A target can be attached twice (a service
// worker by the browser and by its page); only the first session records
// it, or every request would be written twice. Every session must resume
// its target, which waits for all of its debuggers.
//
// The commands are sent back to back without waiting: a worker paused on
// start does not answer Network.enable until it runs, so waiting for that
// answer before Runtime.runIfWaitingForDebugger would hang. The browser
// handles a session's commands in order, so the network is on before the
// target runs.
func (r *recorder) attached(sessionID, targetID, kind string) {
	r.sessions[sessionID] = &session{target: targetID, kind: kind}
	switch kind {
	case "service_worker":
		r.haveSW = true
		for t, sid := range r.targets {
			if k := r.sessions[sid].kind; k == "page" || k == "iframe" {
				r.addShadow(t)
			}
		}
	case "page", "iframe":
		if r.haveSW {
			r.addShadow(targetID)
		}
	}
	send := func(method string, params any) {
		r.setups++
		r.tap.send(r.ctx, sessionID, method, params, func(reply) {
			// Errors are expected here (workers have no cache to disable,
			// a target can go away while being set up) and change nothing.
			r.q.push(func() { r.setups-- })
		})
	}
	if _, dup := r.targets[targetID]; !dup {
		r.targets[targetID] = sessionID
		send("Network.enable", map[string]any{"maxTotalBufferSize": rendererBuffer, "maxResourceBufferSize": rendererBuffer})
		// Durable messages keep bodies in the browser process, where a
		// navigation cannot throw them away before they are fetched. (The
		// reference notes say they do not help; on Chromium 156 they do:
		// without them the bodies of a fetch followed by a navigation are
		// lost whenever large bodies are on the wire.)
		send("Network.configureDurableMessages", map[string]any{"maxTotalBufferSize": maxTotalBuffer, "maxResourceBufferSize": maxResourceBuffer})
		send("Network.setCacheDisabled", map[string]any{"cacheDisabled": true})
		send("Target.setAutoAttach", map[string]any{"autoAttach": true, "waitForDebuggerOnStart": true, "flatten": true, "filter": autoAttachFilter})
	}
	send("Runtime.runIfWaitingForDebugger", struct{}{})
}

// recording reports whether the target's network is being recorded and its
// setup has been answered: the start waits for it before opening the URL.
func (r *recorder) recording(targetID string) bool {
	_, ok := r.targets[targetID]
	return ok && r.setups == 0
}

// addShadow attaches a second session to a page or frame with the network
// on but without durable messages. Chrome's durable store never sees a body
// that a service worker answered (it did not come from the network), so
// such a body is only in the renderer's own store, which this session
// keeps. Its events are dropped; it is only asked for those bodies. It is
// added once a service worker exists, so pages without one pay nothing.
func (r *recorder) addShadow(targetID string) {
	if _, ok := r.shadow[targetID]; ok {
		return
	}
	r.shadow[targetID] = ""
	r.setups++
	r.tap.send(r.ctx, "", "Target.attachToTarget", map[string]any{"targetId": targetID, "flatten": true}, func(rep reply) {
		var res evTargetInfo
		if rep.err != nil || json.Unmarshal(rep.result, &res) != nil || res.SessionID == "" {
			r.q.push(func() { r.setups-- })
			return
		}
		// Marked before its network is on, so no event of it is taken
		// for the recording.
		r.shadowMu.Lock()
		r.shadowSessions[res.SessionID] = true
		r.shadowMu.Unlock()
		r.tap.claim(res.SessionID)
		r.tap.send(r.ctx, res.SessionID, "Network.enable", map[string]any{"maxTotalBufferSize": shadowBuffer, "maxResourceBufferSize": shadowBuffer}, func(reply) {
			r.q.push(func() {
				r.setups--
				r.shadow[targetID] = res.SessionID
				if sid := r.targets[targetID]; sid != "" {
					r.shadowMu.Lock()
					r.shadowOf[sid] = res.SessionID
					r.shadowMu.Unlock()
				}
			})
		})
	})
}

// shadowBuffer bounds the shadow session's store: it only serves bodies a
// service worker answered.
const shadowBuffer = 64 << 20

func (r *recorder) isShadow(session string) bool {
	r.shadowMu.Lock()
	defer r.shadowMu.Unlock()
	return r.shadowSessions[session]
}

// shadowFor returns the shadow session of the target that session records.
func (r *recorder) shadowFor(session string) string {
	s := r.sessions[session]
	if s == nil {
		return ""
	}
	return r.shadow[s.target]
}

// swShadow returns the shadow session to ask for the body of requestID,
// which session records, when a service worker answered it. It runs on the
// reader goroutine and forgets the request.
func (r *recorder) swShadow(session, requestID string) string {
	r.shadowMu.Lock()
	defer r.shadowMu.Unlock()
	if !r.swServed[requestID] {
		return ""
	}
	delete(r.swServed, requestID)
	return r.shadowOf[session]
}

// servedByWorker notes a response a service worker answered in a target
// that has no shadow session yet (its worker was running before the
// recording attached it, say): the target's later ones will be kept.
func (r *recorder) servedByWorker(session string) {
	r.haveSW = true
	if s := r.sessions[session]; s != nil && s.kind != "service_worker" {
		r.addShadow(s.target)
	}
}
