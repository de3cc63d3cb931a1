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

// Package h2 contains basic HTTP/2 handling for Martian.
//
// This is a copy of github.com/google/martian/v3/h2 at v3.3.3 (Apache
// License 2.0, see LICENSE) with changes marked "apitape" in relay.go,
// processor.go and queued_frames.go (a relay that ends still sends the
// frames it had queued; a stream's window is given back to its sender only
// as its data leaves the proxy, so a slow reader holds at most one stream
// window in the proxy; an upstream that hangs up has what it sent
// delivered first, as the client's windows allow; PING and GOAWAY keep
// their place among the frames before them; a reset stream's queued frames
// are dropped; a stream that has ended both ways, END_STREAM or
// RST_STREAM, is forgotten, its processors and output buffers, where
// martian kept every stream until the connection closed; the window a DATA
// frame took is given back whole, padding included; a header block
// continued in CONTINUATION frames ends its stream only when its HEADERS
// frame did; frames for a stream that is not open, as PRIORITY frames
// naming idle streams or DATA late for a reset one, leave nothing behind;
// once the upstream says GOAWAY the client streams above the one it names
// are reset, REFUSED_STREAM, and new ones refused; once it hangs up the
// client is told GOAWAY, the streams it left unanswered are reset and new
// ones refused, at once rather than when the connection closes;
// PRIORITY_UPDATE frames go on and frames of unknown types are dropped,
// where martian ended the connection) and these in this file: the caller
// dials the upstream (Config.Dial), Proxy closes that connection when the
// relay ends, and the relay ends when either side hangs up. Martian
// dialled with tls.Dial and never closed the connection, so every relayed
// client left an upstream connection, and a goroutine blocked reading it,
// until the upstream hung up; and an upstream that hung up left the
// client's connection open, with the relay's goroutines, until the client
// hung up too.
package h2

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"sync"

	"github.com/google/martian/v3/log"
	"golang.org/x/net/http2"
)

var (
	// connectionPreface is the constant value of the connection preface.
	// https://tools.ietf.org/html/rfc7540#section-3.5
	connectionPreface = []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
)

// Config stores the configuration information needed for HTTP/2 processing.
type Config struct {
	// AllowedHostsFilter is a function returning true if the argument is a host for which H2 is
	// permitted.
	AllowedHostsFilter func(string) bool

	// RootCAs is the pool of CA certificates used by the MitM client to authenticate the server.
	RootCAs *x509.CertPool

	// StreamProcessorFactories is a list of factories used to instantiate a chain of HTTP/2 stream
	// processors. A chain is created for every stream.
	StreamProcessorFactories []StreamProcessorFactory

	// EnableDebugLogs turns on fine-grained debug logging for HTTP/2.
	EnableDebugLogs bool

	// Dial, when set, connects to the upstream at addr instead of tls.Dial
	// with RootCAs: it returns a connection that speaks h2 (TLS done).
	Dial func(ctx context.Context, addr string) (net.Conn, error)
}

// Proxy proxies HTTP/2 traffic between a client connection, `cc`, and the HTTP/2 `url` assuming
// h2 is being used. Since no browsers use h2c, it's safe to assume all traffic uses TLS.
func (c *Config) Proxy(closing chan bool, cc io.ReadWriter, url *url.URL) error {
	if c.EnableDebugLogs {
		log.Infof("\u001b[1;35mProxying %v with HTTP/2\u001b[0m", url)
	}
	sc, err := c.dial(closing, url.Host)
	if err != nil {
		return fmt.Errorf("connecting h2 to %v: %w", url, err)
	}
	// Closing it also ends the read the server-to-client relay abandons
	// when `closing` fires.
	defer sc.Close()
	if err := forwardPreface(sc, cc); err != nil {
		return fmt.Errorf("initializing h2 with %v: %w", url, err)
	}

	cf, sf := http2.NewFramer(cc, cc), http2.NewFramer(sc, sc)
	cToS := newRelay(ClientToServer, "client", url.String(), cf, sf, &c.EnableDebugLogs)
	sToC := newRelay(ServerToClient, url.String(), "client", sf, cf, &c.EnableDebugLogs)

	// Completes circular parts of the initialization.

	// The client-to-server relay depends on the server-to-client relay and vice versa.
	cToS.peer, sToC.peer = sToC, cToS

	// Creating processors is circular because the create function references the relays and the
	// relays need to call create.
	cToS.processors = &streamProcessors{
		create: func(id uint32) *Processors {
			p := &Processors{cToS: &relayAdapter{id, cToS}, sToC: &relayAdapter{id, sToC}}
			// Chains the pipeline of processors together.
			for i := len(c.StreamProcessorFactories) - 1; i >= 0; i-- {
				cToS, sToC := c.StreamProcessorFactories[i](url, p)
				// Bypasses any nil processors.
				if cToS == nil {
					cToS = p.ForDirection(ClientToServer)
				}
				if sToC == nil {
					sToC = p.ForDirection(ServerToClient)
				}
				p = &Processors{cToS: cToS, sToC: sToC}
			}
			return p
		},
	}
	sToC.processors = cToS.processors
	cToS.processors.relays = [2]*relay{ClientToServer: cToS, ServerToClient: sToC} // apitape

	// When one side hangs up the relay ends for both: the other side's
	// connection would otherwise stay open with nothing behind it.
	stop := make(chan bool)
	var stopOnce sync.Once
	end := func() { stopOnce.Do(func() { close(stop) }) }
	go func() {
		select {
		case <-closing:
			end()
		case <-stop:
		}
	}()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // Forwards frames from client to server.
		defer wg.Done()
		defer end()
		if err := cToS.relayFrames(stop); err != nil {
			log.Errorf("relaying frame from client to %v: %v", url, err)
		}
	}()
	go func() { // Forwards frames from server to client.
		defer wg.Done()
		defer end()
		if err := sToC.relayFrames(stop); err != nil {
			log.Errorf("relaying frame from %v to client: %v", url, err)
		}
	}()
	wg.Wait()
	return nil
}

// dial connects to the upstream; closing cancels a dial in progress.
func (c *Config) dial(closing chan bool, addr string) (net.Conn, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	if c.Dial != nil {
		return c.Dial(ctx, addr)
	}
	d := &tls.Dialer{Config: &tls.Config{
		RootCAs:    c.RootCAs,
		NextProtos: []string{"h2"},
	}}
	return d.DialContext(ctx, "tcp", addr)
}

// forwardPreface forwards the connection preface from the client to the server.
func forwardPreface(server io.Writer, client io.Reader) error {
	preface := make([]byte, len(connectionPreface))
	if _, err := client.Read(preface); err != nil {
		return fmt.Errorf("reading preface: %w", err)
	}
	if !bytes.Equal(preface, connectionPreface) {
		return fmt.Errorf("client sent unexpected preface: %s", hex.Dump(preface))
	}
	for m := len(connectionPreface); m > 0; {
		n, err := server.Write([]byte(preface))
		if err != nil {
			return fmt.Errorf("writing preface: %w", err)
		}
		preface = preface[n:]
		m -= n
	}
	return nil
}

type streamProcessors struct {
	// processors stores `*Processors` instances keyed by uint32 stream ID.
	processors sync.Map

	// create creates `*Processors` for the given stream ID.
	create func(uint32) *Processors

	// apitape: a stream is forgotten (its processors, which hold what
	// was recorded of it, and the relays' output buffers) once it has
	// ended both ways; martian kept every stream until the connection
	// closed. mu guards ended, the directions whose END_STREAM (or a
	// RST_STREAM, for both) has gone out, and maxID, the highest stream
	// ID opened by the client (odd) and by the server (even): a lower ID
	// no longer held is closed, and its late frames pass unobserved.
	relays [2]*relay // by Direction
	mu     sync.Mutex
	ended  map[uint32]uint8
	maxID  [2]uint32

	// apitape: once the upstream has said GOAWAY or hung up, limited is
	// set and the client streams above lastID are refused; a stream
	// whose answer has ended (or that was reset), as read, has
	// settledBit in ended: an upstream that hangs up leaves the others
	// unanswered.
	limited bool
	lastID  uint32
}

const settledBit = 1 << 2

// Get returns a the processor with the given ID and direction.
// apitape: open says the frame opens the stream (its header block). Any
// other frame of a stream that is not open (a PRIORITY frame may name an
// idle stream, and late frames a closed one) only passes: martian made
// processors for it that nothing released, so a client naming many idle
// streams grew the proxy without bound.
func (s *streamProcessors) Get(id uint32, dir Direction, open bool) Processor {
	value, ok := s.processors.Load(id)
	if !ok && !open {
		return &relayAdapter{id, s.relays[dir]}
	}
	if open {
		// apitape: a closed stream is not opened again.
		s.mu.Lock()
		if value, ok = s.processors.Load(id); !ok {
			if id <= s.maxID[id&1] {
				s.mu.Unlock()
				return &relayAdapter{id, s.relays[dir]}
			}
			if id&1 == 1 && s.limited && id > s.lastID {
				s.mu.Unlock()
				return refused{id, s.relays[ServerToClient]}
			}
			value = s.create(id)
			s.processors.Store(id, value)
		}
		s.maxID[id&1] = max(s.maxID[id&1], id)
		s.mu.Unlock()
	}
	return value.(*Processors).ForDirection(dir)
}

// open reports whether stream id is open: neither idle nor forgotten
// (apitape).
func (s *streamProcessors) open(id uint32) bool {
	_, ok := s.processors.Load(id)
	return ok
}

// streamEnded notes that stream id has ended in the directions dirs (a
// bit per Direction) and forgets it once it has ended both ways
// (apitape). The server's own streams (pushed) end only its way.
func (s *streamProcessors) streamEnded(id uint32, dirs uint8) {
	if _, ok := s.processors.Load(id); !ok {
		return
	}
	const both = 1<<ClientToServer | 1<<ServerToClient
	if id&1 == 0 {
		dirs |= 1 << ClientToServer
	}
	s.mu.Lock()
	if s.ended == nil {
		s.ended = map[uint32]uint8{}
	}
	dirs |= s.ended[id]
	if dirs&both != both {
		s.ended[id] = dirs
		s.mu.Unlock()
		return
	}
	delete(s.ended, id)
	s.processors.Delete(id)
	s.mu.Unlock()
	for _, r := range s.relays {
		r.forget(id)
	}
}

// settle notes that the answer on stream id has ended, or the stream was
// reset, as the relay read it (apitape). It comes before the frame is
// queued, so before the stream can be forgotten.
func (s *streamProcessors) settle(id uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.processors.Load(id); ok {
		if s.ended == nil {
			s.ended = map[uint32]uint8{}
		}
		s.ended[id] |= settledBit
	}
}

// limit has the relay refuse the client streams above last, or above the
// highest opened when hungUp, unless a lower limit holds already
// (apitape). It returns the limit in force, whether it is new, and the
// open streams not settled, in order.
func (s *streamProcessors) limit(last uint32, hungUp bool) (limit uint32, lowered bool, unsettled []uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if hungUp {
		last = s.maxID[1]
	}
	if !s.limited || last < s.lastID {
		s.limited, s.lastID, lowered = true, last, true
	}
	s.processors.Range(func(k, _ any) bool {
		if id := k.(uint32); s.ended[id]&settledBit == 0 {
			unsettled = append(unsettled, id)
		}
		return true
	})
	slices.Sort(unsettled)
	return s.lastID, lowered, unsettled
}
