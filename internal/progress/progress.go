// Package progress tells the user how far a batch command (redact, scan,
// convert, inspect) has got: on a terminal, a status line redrawn in
// place once the command has run for a second (entries, megabytes, rate);
// at the end, on any stream, one summary line such as
//
//	apitape: redact: 10000 entries, 11.8 MB in 0.11 s (107 MB/s)
//
// The line uses no colour; a terminal that cannot redraw (TERM=dumb) is
// the caller's to treat as no terminal.
package progress

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Delay is how long a command runs before its status line appears: a
// quick command shows only its summary.
const Delay = time.Second

// Every is how often the status line is redrawn.
const Every = 250 * time.Millisecond

// Meter counts what a command has done and shows it. Its counters may be
// updated from any goroutine.
type Meter struct {
	w       io.Writer
	cmd     string
	live    bool
	noLiveN bool
	unit    [2]string // plural, singular
	now     func() time.Time
	start   time.Time
	entries atomic.Int64
	bytes   atomic.Int64

	mu         sync.Mutex
	stage      string
	stageStart time.Time // the live rate is the stage's own
	drawn      bool      // a status line is on the screen
	done       bool
	stop       chan struct{}
	wg         sync.WaitGroup
}

// Options configure a Meter.
type Options struct {
	// Live draws the status line: set it when w is a terminal that can
	// redraw a line.
	Live bool
	// Now is the clock (tests give a fake one); nil is time.Now.
	Now func() time.Time
	// Manual leaves redrawing to the caller's Tick (tests); otherwise a
	// goroutine ticks every Every while the meter is live.
	Manual bool
	// NoLiveEntries leaves the entry count out of the status line, for a
	// command that learns it only at the end.
	NoLiveEntries bool
	// Unit names what is counted, plural and singular; "" is entries.
	Unit, UnitOne string
}

// New returns a Meter for command cmd ("redact") that writes to w.
func New(w io.Writer, cmd string, opts Options) *Meter {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	m := &Meter{w: w, cmd: cmd, live: opts.Live, noLiveN: opts.NoLiveEntries, unit: [2]string{"entries", "entry"}, now: now, start: now(), stop: make(chan struct{})}
	if opts.Unit != "" {
		m.unit = [2]string{opts.Unit, opts.UnitOne}
	}
	m.stageStart = m.start
	if m.live && !opts.Manual {
		m.wg.Go(func() {
			t := time.NewTicker(Every)
			defer t.Stop()
			for {
				select {
				case <-m.stop:
					return
				case <-t.C:
					m.Tick()
				}
			}
		})
	}
	return m
}

// Set records how far the command has got: entries done and input bytes
// consumed.
func (m *Meter) Set(entries, bytes int64) {
	m.entries.Store(entries)
	m.bytes.Store(bytes)
}

// Add adds to the counts.
func (m *Meter) Add(entries, bytes int64) {
	m.entries.Add(entries)
	m.bytes.Add(bytes)
}

// Stage names what the command is doing ("pass 2 of 2"), shown before
// the counts, whose rate then counts from the stage's start; "" shows
// none.
func (m *Meter) Stage(s string) {
	m.mu.Lock()
	if s != m.stage {
		m.stage, m.stageStart = s, m.now()
	}
	m.mu.Unlock()
}

// Reader returns r counting the bytes read from it into the meter.
func (m *Meter) Reader(r io.Reader) io.Reader {
	return &countingReader{r, m}
}

type countingReader struct {
	r io.Reader
	m *Meter
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.m.bytes.Add(int64(n))
	return n, err
}

// Tick redraws the status line if the command has run for Delay.
func (m *Meter) Tick() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.live || m.done {
		return
	}
	now := m.now()
	if now.Sub(m.start) < Delay {
		return
	}
	line := "apitape: " + m.cmd + ": "
	if m.stage != "" {
		line += m.stage + ": "
	}
	if m.noLiveN {
		line += megabytes(m.bytes.Load())
	} else {
		line += m.counts(m.entries.Load(), m.bytes.Load())
	}
	line += ", " + rate(m.bytes.Load(), now.Sub(m.stageStart))
	fmt.Fprintf(m.w, "\r\x1b[K%s", line)
	m.drawn = true
}

// Clear removes the status line, so that a message can be written; the
// next Tick draws it again.
func (m *Meter) Clear() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.clear()
}

func (m *Meter) clear() {
	if m.drawn {
		io.WriteString(m.w, "\r\x1b[K")
		m.drawn = false
	}
}

// Done stops the status line and writes the summary: entries and bytes
// are the command's totals (the counters when negative).
func (m *Meter) Done(entries, bytes int64) { m.DoneSaying(entries, bytes, "") }

// DoneSaying is Done with the command's verdict at the end of the same
// line ("clean"), so that the summary stays one line.
func (m *Meter) DoneSaying(entries, bytes int64, verdict string) {
	m.Stop()
	if entries < 0 {
		entries = m.entries.Load()
	}
	if bytes < 0 {
		bytes = m.bytes.Load()
	}
	if verdict != "" {
		verdict = ": " + verdict
	}
	el := m.now().Sub(m.start)
	fmt.Fprintf(m.w, "apitape: %s: %s in %s (%s)%s\n", m.cmd, m.counts(entries, bytes), seconds(el), rate(bytes, el), verdict)
}

// Stop removes the status line without a summary (a command that
// failed prints its error instead).
func (m *Meter) Stop() {
	m.mu.Lock()
	if m.done {
		m.mu.Unlock()
		return
	}
	m.done = true
	close(m.stop)
	m.clear()
	m.mu.Unlock()
	m.wg.Wait()
}

func (m *Meter) counts(n, bytes int64) string {
	u := m.unit[0]
	if n == 1 {
		u = m.unit[1]
	}
	return fmt.Sprintf("%d %s, %s", n, u, megabytes(bytes))
}

// megabytes are decimal, as a rate in MB/s is.
func megabytes(b int64) string {
	return fmt.Sprintf("%.1f MB", float64(b)/1e6)
}

func seconds(d time.Duration) string {
	s := d.Seconds()
	if s < 10 {
		return fmt.Sprintf("%.2f s", s)
	}
	return fmt.Sprintf("%.1f s", s)
}

func rate(bytes int64, d time.Duration) string {
	if d <= 0 {
		return "- MB/s"
	}
	r := float64(bytes) / 1e6 / d.Seconds()
	if r < 10 {
		return fmt.Sprintf("%.1f MB/s", r)
	}
	return fmt.Sprintf("%.0f MB/s", r)
}
