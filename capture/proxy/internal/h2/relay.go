// Copyright 2021 Google Inc. All rights reserved.
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

package h2

import (
	"bytes"
	"container/list"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"

	"github.com/google/martian/v3/log"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

const (
	// See: https://httpwg.org/specs/rfc7540.html#SettingValues
	initialMaxFrameSize       = 16384
	initialMaxHeaderTableSize = 4096

	// See: https://tools.ietf.org/html/rfc7540#section-6.9.2
	defaultInitialWindowSize = 65535

	// headersPriorityMetadataLength is the length of the priority metadata that optionally occurs at
	// the beginning of the payload of the header frame.
	//
	// See: https://tools.ietf.org/html/rfc7540#section-6.2
	headersPriorityMetadataLength = 5

	// pushPromiseMetadataLength is the length of the metadata that is part of the payload of the
	// pushPromise frame. This does not include the padding length octet, which isn't needed due to
	// the relaxed security constraints of a development proxy.
	//
	// See: https://tools.ietf.org/html/rfc7540#section-6.6
	pushPromiseMetadataLength = 4

	// outputChannelSize is the size of the output channel. Roughly, it should be large enough to
	// allow a window's worth of frames to minimize synchronization overhead.
	outputChannelSize = 15
)

// relay encapsulates a flow of h2 traffic in one direction.
type relay struct {
	dir Direction

	// srcLabel and destLabel are used only to create debugging messages.
	srcLabel, destLabel string

	src *http2.Framer

	// destMu guards writes to dest, which may occur on from either the `relayFrames` thread of
	// this relay or `peer`. `peer` writes WINDOW_UPDATE frames to this relay when it receives
	// DATA frames.
	destMu sync.Mutex
	dest   *http2.Framer

	// maxFrameSize is set by the peer relay and is accessed atomically.
	maxFrameSize uint32

	// The decoder and encoder settings can be adjusted by the peer connection so access to these
	// fields must be guarded.
	decoderMu sync.Mutex
	decoder   *hpack.Decoder

	encoderMu sync.Mutex
	encoder   *hpack.Encoder
	reencoded bytes.Buffer // handle to the output buffer of `encoder`

	// headerBuffer collects header fragments that are received across multiple frames, i.e.,
	// when there are continuation frames.
	headerBuffer      bytes.Buffer
	continuationState continuationState

	// flowMu guards access to flow-control related fields.
	flowMu               sync.Mutex
	initialWindowSize    uint32
	connectionWindowSize int // "global" connection-level window size
	// outputBuffers is output pending available window size per-stream
	outputBuffers map[uint32]*outputBuffer
	// output stores stream output that is ready to be sent over HTTP/2. It provides a way to
	// guarantee frame order without blocking on each frame being sent.
	output chan queuedFrame

	// apitape: queued counts the frames in outputBuffers, not yet on
	// output; emptied is signalled when it falls to 0. srcEnded is set
	// when src has hung up: see drain.
	queued   int
	emptied  chan struct{}
	srcEnded atomic.Bool

	// apitape: the streams whose output buffers sweep drops; forgetN
	// counts them without the lock.
	forgetMu sync.Mutex
	forgets  []uint32
	forgetN  atomic.Int32

	enableDebugLogs *bool

	// The following fields depend on a circular dependency between the relays in opposite directions
	// so must be set explicitly after initialization.

	// processors stores per HTTP/2 stream processors.
	processors *streamProcessors

	peer *relay // relay for traffic from the peer
}

// newRelay initializes a relay for the given direction. This performs only partial initialization
// due to circular dependency.
func newRelay(
	dir Direction,
	srcLabel, destLabel string,
	src, dest *http2.Framer,
	enableDebugLogs *bool,
) *relay {
	ret := &relay{
		dir:                  dir,
		srcLabel:             srcLabel,
		destLabel:            destLabel,
		src:                  src,
		dest:                 dest,
		maxFrameSize:         initialMaxFrameSize,
		decoder:              hpack.NewDecoder(initialMaxHeaderTableSize, nil),
		initialWindowSize:    defaultInitialWindowSize,
		connectionWindowSize: defaultInitialWindowSize,
		outputBuffers:        make(map[uint32]*outputBuffer),
		output:               make(chan queuedFrame, outputChannelSize),
		emptied:              make(chan struct{}, 1),
		enableDebugLogs:      enableDebugLogs,
	}
	ret.encoder = hpack.NewEncoder(&ret.reencoded)

	// These limits seem to be part of the Go implementation of hpack. They exist because in a
	// production system, there must be limits on the resources requested by clients. However, this
	// is irrevelevant in a development proxy context.
	ret.decoder.SetAllowedMaxDynamicTableSize(math.MaxUint32)
	ret.encoder.SetMaxDynamicTableSizeLimit(math.MaxUint32)
	return ret
}

// relayFrames reads frames from `f.src` to `f.dest` until an error occurs or the connection closes.
func (r *relay) relayFrames(closing chan bool) error {
	// Shutting down producer-consumers linked by channels is subtle. In this function, the writer
	// goroutine consumes frames from `r.output`, which are populated by the reader goroutine. If
	// the writer shuts down before the reader, the reader may deadlock on inserting frames into
	// `r.output`. The writer therefore has to keep processing until the reader is done. This is
	// coordinated via `readerDone`.
	//
	// A second subtlely is that errors on the writer goroutine should stop the reader goroutine.
	// This is communicated via `writeErr`. To avoid deadlocks, even after the error occurs, the
	// writer thread must still wait until `readerDone` has been communicated to stop processing.

	// Communicates to the consuming writer goroutine that the reader (the calling goroutine of this
	// method) is done.
	readerDone := make(chan struct{})
	// Closed when the writer has sent what the reader queued (apitape).
	writerDone := make(chan struct{})
	defer func() {
		readerDone <- struct{}{}
		<-writerDone
	}()

	// Communicates errors occuring on the writer goroutine to the reader goroutine.
	writerErr := make(chan error, 1)

	// This writer goroutine consumes the strictly ordered frames in `r.output` and delivers them.
	go func() {
		var err error
		send := func(f queuedFrame) error {
			r.destMu.Lock()
			err := f.send(r.dest)
			r.destMu.Unlock()
			if err == nil {
				r.returnStreamWindow(f)
				r.noteEnd(f) // apitape
			}
			return err
		}
		for {
			select {
			case f := <-r.output:
				if err == nil {
					if err = send(f); err != nil {
						writerErr <- err
					}
				}
				// Once an output error has occurred, the remaining frames are drained from the channel
				// without sending them.
			case <-readerDone:
				// Frames the reader queued before it ended still go out
				// (apitape): an upstream that hangs up right after its
				// last DATA frame would otherwise lose the response's
				// tail, as select picks readerDone at random.
				defer close(writerDone)
				for {
					select {
					case f := <-r.output:
						if err == nil {
							err = send(f)
						}
					default:
						return
					}
				}
			}
		}
	}()

	// This channel is buffered to allow the ReadFrame goroutine to drain on closing.
	frameReady := make(chan struct{}, 1)
	for {
		var frame http2.Frame
		var err error
		go func() {
			// ReadFrame is called in its own goroutine to make this function responsive to closing. It
			// does not need to block here to close.
			frame, err = r.src.ReadFrame()
			frameReady <- struct{}{}
		}()
		select {
		case <-frameReady:
			if err != nil {
				// apitape: an upstream that hangs up (after a GOAWAY or
				// not) has the answers it sent delivered first; those
				// that wait for the client's windows would be lost.
				r.srcEnded.Store(true)
				if r.dir == ServerToClient {
					r.upstreamGone()
					if derr := r.drain(closing, writerErr); derr != nil {
						return derr
					}
				}
				if err == io.EOF {
					return nil
				}
				return fmt.Errorf("reading frame: %w", err)
			}
			if err := r.processFrame(frame); err != nil {
				return fmt.Errorf("processing frame: %w", err)
			}
			if *r.enableDebugLogs {
				log.Infof("%s--%v-->%s", r.srcLabel, frame, r.destLabel)
			}
		case err := <-writerErr:
			return fmt.Errorf("sending frame: %w", err)
		case <-closing:
			// The ReadFrame goroutine is abandoned at this point. It completes as soon as the blocking
			// ReadFrame call completes, but could potentially leak for an unspecified duration.
			return nil
		}
	}
}

func (r *relay) processFrame(f http2.Frame) error {
	if r.forgetN.Load() != 0 { // apitape
		r.sweep()
	}
	// apitape: once dest has hung up, and the peer relay delivers what
	// dest sent before (see drain), only what lets it do so is taken.
	if r.peer.srcEnded.Load() {
		switch f := f.(type) {
		case *http2.WindowUpdateFrame:
			r.peer.updateWindow(f)
		case *http2.RSTStreamFrame:
			r.peer.dropStream(f.StreamID)
		case *http2.HeadersFrame:
			// A stream opened after the upstream hung up is refused at
			// once; it waited for the connection to close (apitape).
			if !r.processors.open(f.StreamID) {
				r.peer.refuse(f.StreamID)
			}
		}
		return nil
	}
	var err error
	switch f := f.(type) {
	case *http2.DataFrame:
		// apitape: the connection's window increments as soon as the
		// proxy receives data, the stream's only once the data has gone
		// on (see returnStreamWindow), so that a stream holds at most
		// one stream window in the proxy. A window update that cannot
		// reach a source that has hung up does not stop what it sent.
		r.peer.sendWindowUpdates(f)
		// apitape: DATA for a stream that is not open (an answer still on
		// its way when the client reset the stream) goes nowhere: the
		// receiver has closed the stream too, and the output buffer
		// made for it stayed until the connection closed.
		if !r.processors.open(f.StreamID) {
			break
		}
		err = r.processor(f.StreamID).Data(f.Data(), f.StreamEnded())
	case *http2.HeadersFrame:
		if !f.HeadersEnded() {
			r.headerBuffer.Reset()
			r.headerBuffer.Write(f.HeaderBlockFragment())
			r.continuationState = &headerContinuation{f.Priority, f.StreamEnded()}
		} else {
			var headers []hpack.HeaderField
			headers, err = r.decodeFull(f.HeaderBlockFragment())
			if err != nil {
				return fmt.Errorf("decoding header %v: %w", f, err)
			}
			err = r.opener(f.StreamID).Header(headers, f.StreamEnded(), f.Priority)
		}
	case *http2.PriorityFrame:
		err = r.processor(f.StreamID).Priority(f.PriorityParam)
	case *http2.RSTStreamFrame:
		// apitape: nothing more goes either way on a reset stream; what
		// was queued for it would wait for windows that never open.
		r.dropStream(f.StreamID)
		r.peer.dropStream(f.StreamID)
		// apitape: nor does a reset of a stream that is not open (one
		// refused, or closed already) go on: for the receiver it names
		// an idle or closed stream.
		if r.processors.open(f.StreamID) {
			err = r.processor(f.StreamID).RSTStream(f.ErrCode)
		}
	case *http2.SettingsFrame:
		if f.IsAck() {
			r.destMu.Lock()
			err = r.dest.WriteSettingsAck()
			r.destMu.Unlock()
		} else {
			var settings []http2.Setting
			if err = f.ForeachSetting(func(s http2.Setting) error {
				switch s.ID {
				case http2.SettingHeaderTableSize:
					r.peer.updateTableSize(s.Val)
				case http2.SettingInitialWindowSize:
					r.peer.updateInitialWindowSize(s.Val)
				case http2.SettingMaxFrameSize:
					r.peer.updateMaxFrameSize(s.Val)
				}
				settings = append(settings, s)
				return nil
			}); err == nil {
				r.destMu.Lock()
				err = r.dest.WriteSettings(settings...)
				r.destMu.Unlock()
			}
		}
	case *http2.PushPromiseFrame:
		if !f.HeadersEnded() {
			r.headerBuffer.Reset()
			r.headerBuffer.Write(f.HeaderBlockFragment())
			r.continuationState = &pushPromiseContinuation{f.PromiseID}
		} else {
			var headers []hpack.HeaderField
			headers, err = r.decodeFull(f.HeaderBlockFragment())
			if err != nil {
				return fmt.Errorf("decoding push promise %v: %w", f, err)
			}
			err = r.processor(f.StreamID).PushPromise(f.PromiseID, headers)
		}
	case *http2.PingFrame:
		// apitape: PING and GOAWAY go out in order with the frames that
		// came before them, not ahead of them.
		r.enqueueFrame(&queuedPingFrame{ack: f.IsAck(), data: f.Data})
	case *http2.GoAwayFrame:
		r.enqueueFrame(&queuedGoAwayFrame{lastStreamID: f.LastStreamID, errCode: f.ErrCode,
			debug: bytes.Clone(f.DebugData())})
		// apitape: the upstream will not answer the client streams above
		// the one it names; the client, told so, sends them again
		// elsewhere, and the relay lets them go rather than hold them
		// until the connection closes. Later ones are refused.
		if r.dir == ServerToClient {
			last, _, unsettled := r.processors.limit(f.LastStreamID, false)
			for _, id := range unsettled {
				if id&1 == 1 && id > last {
					r.resetStream(id, http2.ErrCodeRefusedStream)
				}
			}
		}
	case *http2.WindowUpdateFrame:
		r.peer.updateWindow(f)
	case *http2.ContinuationFrame:
		r.headerBuffer.Write(f.HeaderBlockFragment())
		if f.HeadersEnded() {
			var headers []hpack.HeaderField
			headers, err = r.decodeFull(r.headerBuffer.Bytes())
			if err != nil {
				return fmt.Errorf("decoding headers for continuation %v: %w", f, err)
			}
			err = r.continuationState.complete(r.opener(f.StreamID), headers)
		}
	case *http2.PriorityUpdateFrame:
		// apitape: RFC 9218's priorities go on in order, as PRIORITY
		// frames do; the relay ended the connection at them.
		r.enqueueFrame(&queuedPriorityUpdateFrame{id: f.PrioritizedStreamID, priority: f.Priority})
	case *http2.UnknownFrame:
		// apitape: frames of unknown types (ALTSVC, ORIGIN, ...) are
		// dropped (RFC 9113, 5.5); the relay ended the connection.
	default:
		err = errors.New("unrecognized frame type")
	}
	return err
}

func (r *relay) processor(id uint32) Processor {
	return r.processors.Get(id, r.dir, false)
}

// opener is the processor of stream id for a header block, which opens
// the stream (apitape).
func (r *relay) opener(id uint32) Processor {
	return r.processors.Get(id, r.dir, true)
}

func (r *relay) updateTableSize(v uint32) {
	r.decoderMu.Lock()
	r.decoder.SetMaxDynamicTableSize(v)
	r.decoderMu.Unlock()

	r.encoderMu.Lock()
	r.encoder.SetMaxDynamicTableSize(v)
	r.encoderMu.Unlock()
}

func (r *relay) updateMaxFrameSize(v uint32) {
	atomic.StoreUint32(&r.maxFrameSize, v)
}

// updateInitialWindowSize updates the initial window size and updates all stream windows based on
// the difference. Note that this should not include the connection window.
// See: https://tools.ietf.org/html/rfc7540#section-6.9.2
//
// This is called by `peer`, so requires a thread-safe implementation.
func (r *relay) updateInitialWindowSize(v uint32) {
	r.flowMu.Lock()
	delta := int(v) - int(r.initialWindowSize)
	r.initialWindowSize = v
	for _, w := range r.outputBuffers {
		w.windowSize += delta
	}
	r.flowMu.Unlock()
	// Since all the stream windows may be impacted, all the queues need to be checked for newly
	// eligible frames.
	r.sendQueuedFramesUnderWindowSize()
}

// updateWindow updates the specified window size and may result in the sending of data frames.
func (r *relay) updateWindow(f *http2.WindowUpdateFrame) {
	if f.StreamID == 0 {
		// A stream ID of 0 means updating the global connection window size. This may cause any
		// queued frame belonging to any stream to become eligible for sending.
		r.flowMu.Lock()
		r.connectionWindowSize += int(f.Increment)
		r.flowMu.Unlock()
		r.sendQueuedFramesUnderWindowSize()
	}

	r.flowMu.Lock()
	// apitape: the window of a stream that is not open (idle or closed)
	// is not worth a new buffer; one for each of many idle streams grew
	// the proxy without bound.
	w, ok := r.outputBuffers[f.StreamID]
	if !ok && f.StreamID != 0 && !r.processors.open(f.StreamID) {
		r.flowMu.Unlock()
		return
	}
	if !ok {
		w = r.outputBuffer(f.StreamID)
	}
	w.windowSize += int(f.Increment)
	r.emit(w)
	r.flowMu.Unlock()
}

func (r *relay) data(id uint32, data []byte, streamEnded bool) error {
	if streamEnded && r.dir == ServerToClient { // apitape
		r.processors.settle(id)
	}
	// This implementation only allows `WriteData` without padding. Padding is used to improve the
	// security against attacks like CRIME, but this isn't relevant for a development proxy.
	//
	// If padding were allowed, this length would need to vary depending on whether the padding
	// length octet is present.
	maxPayloadLength := atomic.LoadUint32(&r.maxFrameSize)

	r.flowMu.Lock()
	w := r.outputBuffer(id)
	r.flowMu.Unlock()
	// If data is larger than what would be permitted at the current max frame size setting, the data
	// is split across multiple frames.
	for {
		nextPayloadLength := uint32(len(data))
		if nextPayloadLength > maxPayloadLength {
			nextPayloadLength = maxPayloadLength
		}
		nextPayload := make([]byte, nextPayloadLength)
		copy(nextPayload, data)
		data = data[nextPayloadLength:]
		f := &queuedDataFrame{id, streamEnded && len(data) == 0, nextPayload}

		r.flowMu.Lock()
		w.enqueue(f)
		r.queued++ // apitape
		r.emit(w)
		r.flowMu.Unlock()

		// Some protocols send empty data frames with END_STREAM so the check is done here at the end
		// of the loop instead of at the beginning of the loop.
		if len(data) == 0 {
			break
		}
	}
	return nil
}

func (r *relay) header(
	id uint32,
	headers []hpack.HeaderField,
	streamEnded bool,
	priority http2.PriorityParam,
) error {
	if streamEnded && r.dir == ServerToClient { // apitape
		r.processors.settle(id)
	}
	encoded, err := r.encodeFull(headers)
	if err != nil {
		return fmt.Errorf("encoding headers %v: %w", headers, err)
	}

	maxPayloadLength := atomic.LoadUint32(&r.maxFrameSize)
	// Padding is not implemented because the extra security is not needed for a development proxy.
	// If it were used, a single padding length octet should be deducted from the max header fragment
	// length.
	maxHeaderFragmentLength := maxPayloadLength
	if !priority.IsZero() {
		maxHeaderFragmentLength -= headersPriorityMetadataLength
	}
	chunks := splitIntoChunks(int(maxHeaderFragmentLength), int(maxPayloadLength), encoded)

	r.enqueueFrame(&queuedHeaderFrame{
		streamID:  id,
		endStream: streamEnded,
		priority:  priority,
		chunks:    chunks,
	})
	return nil
}

func (r *relay) priority(id uint32, priority http2.PriorityParam) {
	r.enqueueFrame(&queuedPriorityFrame{
		streamID: id,
		priority: priority,
	})
}

func (r *relay) rstStream(id uint32, errCode http2.ErrCode) {
	r.processors.settle(id) // apitape
	r.enqueueFrame(&queuedRSTStreamFrame{
		streamID: id,
		errCode:  errCode,
	})
}

func (r *relay) pushPromise(id, promiseID uint32, headers []hpack.HeaderField) error {
	encoded, err := r.encodeFull(headers)
	if err != nil {
		return fmt.Errorf("encoding push promise headers %v: %w", headers, err)
	}

	maxPayloadLength := atomic.LoadUint32(&r.maxFrameSize)
	maxHeaderFragmentLength := maxPayloadLength - pushPromiseMetadataLength
	chunks := splitIntoChunks(int(maxHeaderFragmentLength), int(maxPayloadLength), encoded)

	r.enqueueFrame(&queuedPushPromiseFrame{
		streamID:  id,
		promiseID: promiseID,
		chunks:    chunks,
	})
	return nil
}

func (r *relay) enqueueFrame(f queuedFrame) {
	// The frame is first added to the appropriate stream.
	r.flowMu.Lock()
	// apitape: a frame without flow control whose stream has nothing
	// queued goes on at once, without a buffer for its stream: one for
	// each idle stream a PRIORITY frame names was never released.
	if _, ok := r.outputBuffers[f.StreamID()]; !ok && f.flowControlSize() == 0 {
		r.output <- f
		r.flowMu.Unlock()
		return
	}
	w := r.outputBuffer(f.StreamID())
	w.enqueue(f)
	r.queued++ // apitape
	r.emit(w)
	r.flowMu.Unlock()
}

func (r *relay) sendQueuedFramesUnderWindowSize() {
	r.flowMu.Lock()
	for _, w := range r.outputBuffers {
		r.emit(w)
	}
	r.flowMu.Unlock()
}

// emit passes the frames of w that fit the windows on to output, and
// keeps count of those left (apitape). The caller holds flowMu.
func (r *relay) emit(w *outputBuffer) {
	r.queued -= w.emitEligibleFrames(r.output, &r.connectionWindowSize)
	if r.queued == 0 {
		select {
		case r.emptied <- struct{}{}:
		default:
		}
	}
}

// dropStream forgets the frames queued for stream id (apitape).
func (r *relay) dropStream(id uint32) {
	r.flowMu.Lock()
	if w, ok := r.outputBuffers[id]; ok {
		r.queued -= w.queue.Len()
		w.queue.Init()
		r.emit(w)
	}
	r.flowMu.Unlock()
}

// upstreamGone, once the upstream has hung up, tells the client (GOAWAY)
// the last stream it had, unless it said GOAWAY naming a lower one
// itself, and resets the streams it left unanswered, after what came of
// their answers (apitape). They waited for the connection to close, and
// the streams the client opened meanwhile were never answered.
func (r *relay) upstreamGone() {
	last, lowered, unsettled := r.processors.limit(0, true)
	if lowered {
		r.enqueueFrame(&queuedGoAwayFrame{lastStreamID: last, errCode: http2.ErrCodeNo})
	}
	for _, id := range unsettled {
		if id&1 == 1 && id > last {
			r.resetStream(id, http2.ErrCodeRefusedStream)
			continue
		}
		if g, ok := r.processor(id).(UpstreamGoneProcessor); ok {
			g.UpstreamGone()
		}
		r.resetStream(id, http2.ErrCodeInternal)
	}
}

// resetStream resets stream id toward the client, dropping what waits
// for the upstream on it (apitape).
func (r *relay) resetStream(id uint32, code http2.ErrCode) {
	r.peer.dropStream(id)
	r.processor(id).RSTStream(code)
}

// refuse answers a client stream the upstream will not take with
// RST_STREAM REFUSED_STREAM (apitape). It is written at once, not queued:
// the relay toward the client may have ended.
func (r *relay) refuse(id uint32) {
	r.destMu.Lock()
	r.dest.WriteRSTStream(id, http2.ErrCodeRefusedStream)
	r.destMu.Unlock()
}

// drain waits until every frame queued for dest has gone to output, as
// dest's windows allow, or until closing or a failed write (apitape).
// It runs once src has hung up: the peer relay still takes dest's
// window updates meanwhile.
func (r *relay) drain(closing chan bool, writerErr chan error) error {
	for {
		r.flowMu.Lock()
		n := r.queued
		r.flowMu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-r.emptied:
		case err := <-writerErr:
			return fmt.Errorf("sending frame: %w", err)
		case <-closing:
			return nil
		}
	}
}

// returnStreamWindow gives src back the stream window of a DATA frame
// that has gone to dest (apitape): until then its stream waits, so that
// a slow reader holds up its own stream rather than filling the proxy.
// The last frame of a stream needs none back, and a source that has hung
// up none at all.
func (r *relay) returnStreamWindow(f queuedFrame) {
	d, ok := f.(*queuedDataFrame)
	if !ok || len(d.data) == 0 || d.endStream {
		return
	}
	r.peer.destMu.Lock()
	r.peer.dest.WriteWindowUpdate(d.streamID, uint32(len(d.data)))
	r.peer.destMu.Unlock()
}

// noteEnd tells the stream processors when a frame that ends its stream
// one way (END_STREAM) or both (RST_STREAM) has gone out (apitape).
func (r *relay) noteEnd(f queuedFrame) {
	switch f := f.(type) {
	case *queuedDataFrame:
		if f.endStream {
			r.processors.streamEnded(f.streamID, 1<<r.dir)
		}
	case *queuedHeaderFrame:
		if f.endStream {
			r.processors.streamEnded(f.streamID, 1<<r.dir)
		}
	case *queuedRSTStreamFrame:
		r.processors.streamEnded(f.streamID, 1<<ClientToServer|1<<ServerToClient)
	}
}

// forget has the output buffer of a stream that has ended both ways
// dropped (apitape). The writer calls it, and must not wait for flowMu
// (a reader holds it while output is full), so the reader drops it
// (sweep) before its next frame.
func (r *relay) forget(id uint32) {
	r.forgetMu.Lock()
	r.forgets = append(r.forgets, id)
	r.forgetMu.Unlock()
	r.forgetN.Add(1)
}

// sweep drops the output buffers forget named, unless frames wait in one
// still (apitape).
func (r *relay) sweep() {
	r.forgetMu.Lock()
	ids := r.forgets
	r.forgets = nil
	r.forgetN.Store(0)
	r.forgetMu.Unlock()
	r.flowMu.Lock()
	for _, id := range ids {
		if w, ok := r.outputBuffers[id]; ok && w.queue.Len() == 0 {
			delete(r.outputBuffers, id)
		}
	}
	r.flowMu.Unlock()
}

// outputBuffer returns the outputBuffer instance for the given stream, creating one if needed.
//
// This method is not thread-safe. The caller should be holding `flowMu`.
func (r *relay) outputBuffer(streamID uint32) *outputBuffer {
	w, ok := r.outputBuffers[streamID]
	if !ok {
		w = &outputBuffer{
			windowSize: int(r.initialWindowSize),
		}
		r.outputBuffers[streamID] = w
	}
	return w
}

// sendWindowUpdates sends WINDOW_UPDATE frames effectively acknowledging consumption of the
// given data frame.
func (r *relay) sendWindowUpdates(f *http2.DataFrame) error {
	// apitape: the whole frame counts, padding and its length octet too
	// (f.Length); martian gave back only the data, and padded frames
	// wore the windows down until the stream stalled.
	if f.Length == 0 {
		return nil
	}
	r.destMu.Lock()
	defer r.destMu.Unlock()
	// apitape: the connection level window, and the stream's for what
	// will not go on (padding); the stream's for the data is given back
	// when it has gone on (returnStreamWindow).
	if err := r.dest.WriteWindowUpdate(0, f.Length); err != nil {
		return err
	}
	if pad := f.Length - uint32(len(f.Data())); pad > 0 && !f.StreamEnded() {
		return r.dest.WriteWindowUpdate(f.StreamID, pad)
	}
	return nil
}

func (r *relay) decodeFull(data []byte) ([]hpack.HeaderField, error) {
	r.decoderMu.Lock()
	defer r.decoderMu.Unlock()
	return r.decoder.DecodeFull(data)
}

func (r *relay) encodeFull(headers []hpack.HeaderField) ([]byte, error) {
	r.encoderMu.Lock()
	defer r.encoderMu.Unlock()

	r.reencoded.Reset()
	var buf bytes.Buffer
	for _, h := range headers {
		if *r.enableDebugLogs {
			if h.Name == "content-type" && h.Value == "application/grpc" {
				fmt.Fprintf(&buf, "  \u001b[1;36m%v\u001b[0m\n", h)
			} else {
				fmt.Fprintf(&buf, "  %v\n", h)
			}
		}
		if err := r.encoder.WriteField(h); err != nil {
			return nil, fmt.Errorf("reencoding header field %v in %v: %w", h, headers, err)
		}
	}
	if *r.enableDebugLogs {
		log.Infof("sending headers %s -> %s:\n%s", r.srcLabel, r.destLabel, buf.Bytes())
	}
	return r.reencoded.Bytes(), nil
}

// outputBuffer stores enqueued output frames for a given stream.
type outputBuffer struct {
	// windowSize indicates how much data the receiver is ready to process.
	windowSize int
	queue      list.List // contains queuedFrame elements
}

// emitEligibleFrames emits frames that would fit under both the stream window size and the
// given connection window size. It updates the given connectionWindowSize if applicable.
//
// This is not thread-safe. The caller should be holding `relay.flowMu`.
func (w *outputBuffer) emitEligibleFrames(output chan queuedFrame, connectionWindowSize *int) (emitted int) {
	for e := w.queue.Front(); e != nil; {
		f := e.Value.(queuedFrame)
		if f.flowControlSize() > *connectionWindowSize || f.flowControlSize() > w.windowSize {
			break
		}
		output <- f

		*connectionWindowSize -= f.flowControlSize()
		w.windowSize -= f.flowControlSize()

		next := e.Next()
		w.queue.Remove(e)
		e = next
		emitted++ // apitape
	}
	return emitted
}

// enqueue adds the frame to this stream output. This is not thread-safe. The caller must hold
// relay.flowMu.
func (w *outputBuffer) enqueue(f queuedFrame) {
	w.queue.PushBack(f)
}

// continuationState holds the context needed to interpret CONTINUATION frames, specifically whether
// the parents were HEADERS or PUSH_PROMISE frames.
type continuationState interface {
	complete(s Processor, headers []hpack.HeaderField) error
}

type headerContinuation struct {
	priority http2.PriorityParam
	// apitape: whether the HEADERS frame ended the stream; martian passed
	// true for every continued header block, so a request whose headers
	// needed CONTINUATION frames lost its body.
	streamEnded bool
}

func (h *headerContinuation) complete(s Processor, headers []hpack.HeaderField) error {
	return s.Header(headers, h.streamEnded, h.priority)
}

type pushPromiseContinuation struct {
	promiseID uint32
}

func (p *pushPromiseContinuation) complete(s Processor, headers []hpack.HeaderField) error {
	return s.PushPromise(p.promiseID, headers)
}

// splitIntoChunks splits header payloads into chunks that respect frame size limits.
func splitIntoChunks(firstChunkMax, continuationMax int, data []byte) [][]byte {
	var chunks [][]byte

	firstChunkLength := len(data)
	if firstChunkLength > firstChunkMax {
		firstChunkLength = firstChunkMax
	}
	buf := make([]byte, firstChunkLength)
	copy(buf, data[:firstChunkLength])
	chunks = append(chunks, buf)
	remaining := data[firstChunkLength:]
	for len(remaining) > 0 {
		nextChunkLength := len(remaining)
		if nextChunkLength > continuationMax {
			nextChunkLength = continuationMax
		}
		buf = make([]byte, nextChunkLength)
		copy(buf, remaining[:nextChunkLength])
		chunks = append(chunks, buf)
		remaining = remaining[nextChunkLength:]
	}
	return chunks
}
