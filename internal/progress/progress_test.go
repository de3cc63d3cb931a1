package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestMeter(t *testing.T) {
	tests := []struct {
		name   string
		live   bool
		steps  []time.Duration // advance, then Tick
		counts [][2]int64      // Set before each Tick
		stage  string
		total  [2]int64 // Done's arguments
		want   string
		reason string
	}{
		{
			name: "quick command: summary only", live: true,
			steps: []time.Duration{300 * time.Millisecond, 400 * time.Millisecond}, counts: [][2]int64{{10, 1e6}, {20, 2e6}},
			total:  [2]int64{-1, -1},
			want:   "apitape: redact: 20 entries, 2.0 MB in 0.70 s (2.9 MB/s)\n",
			reason: "nothing is drawn before one second",
		},
		{
			name: "slow command on a terminal", live: true,
			steps:  []time.Duration{999 * time.Millisecond, time.Millisecond, time.Second},
			counts: [][2]int64{{1, 1e6}, {4210, 5e6}, {8000, 9_600_000}},
			total:  [2]int64{10000, 11_800_000},
			want: "\r\x1b[Kapitape: redact: 4210 entries, 5.0 MB, 5.0 MB/s" +
				"\r\x1b[Kapitape: redact: 8000 entries, 9.6 MB, 4.8 MB/s" +
				"\r\x1b[K" + "apitape: redact: 10000 entries, 11.8 MB in 2.00 s (5.9 MB/s)\n",
			reason: "the line appears at one second, is redrawn in place and cleared before the summary",
		},
		{
			name: "stage", live: true, stage: "pass 2 of 2",
			steps: []time.Duration{2 * time.Second}, counts: [][2]int64{{1, 50e6}},
			total: [2]int64{1, 50e6},
			want: "\r\x1b[Kapitape: redact: pass 2 of 2: 1 entry, 50.0 MB, 25 MB/s" +
				"\r\x1b[K" + "apitape: redact: 1 entry, 50.0 MB in 2.00 s (25 MB/s)\n",
			reason: "a stage is named; one entry is singular; rates of 10 MB/s and more have no decimals",
		},
		{
			name: "not a terminal", live: false,
			steps: []time.Duration{5 * time.Second, 10 * time.Second}, counts: [][2]int64{{5, 5e6}, {10, 10e6}},
			total:  [2]int64{10, 120e6},
			want:   "apitape: scan: 10 entries, 120.0 MB in 15.0 s (8.0 MB/s)\n",
			reason: "no status line and no escape sequence, only the summary",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			var out bytes.Buffer
			cmd := "redact"
			if !tt.live {
				cmd = "scan"
			}
			m := New(&out, cmd, Options{Live: tt.live, Now: clk.now, Manual: true})
			m.Stage(tt.stage)
			for i, d := range tt.steps {
				clk.advance(d)
				m.Set(tt.counts[i][0], tt.counts[i][1])
				m.Tick()
			}
			m.Done(tt.total[0], tt.total[1])
			if got := out.String(); got != tt.want {
				t.Errorf("%s\ngot  %q\nwant %q", tt.reason, got, tt.want)
			}
		})
	}
}

func TestReaderCounts(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	var out bytes.Buffer
	m := New(&out, "convert", Options{Now: clk.now, Manual: true})
	var sink bytes.Buffer
	if _, err := sink.ReadFrom(m.Reader(strings.NewReader(strings.Repeat("x", 1500000)))); err != nil {
		t.Fatal(err)
	}
	m.Add(3, 0)
	clk.advance(1500 * time.Millisecond)
	m.Done(-1, -1)
	if want := "apitape: convert: 3 entries, 1.5 MB in 1.50 s (1.0 MB/s)\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

func TestStageRate(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	var out bytes.Buffer
	m := New(&out, "redact", Options{Live: true, Now: clk.now, Manual: true})
	m.Set(100, 10e6)
	clk.advance(2 * time.Second)
	m.Stage("pass 2 of 2")
	m.Set(50, 4e6)
	clk.advance(time.Second)
	m.Tick()
	m.Stop()
	want := "\r\x1b[Kapitape: redact: pass 2 of 2: 50 entries, 4.0 MB, 4.0 MB/s\r\x1b[K"
	if out.String() != want {
		t.Errorf("the rate counts from the stage's start\ngot  %q\nwant %q", out.String(), want)
	}
}

func TestNoLiveEntries(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	var out bytes.Buffer
	m := New(&out, "convert", Options{Live: true, NoLiveEntries: true, Now: clk.now, Manual: true})
	m.Set(0, 3e6)
	clk.advance(2 * time.Second)
	m.Tick()
	m.Done(700, -1)
	want := "\r\x1b[Kapitape: convert: 3.0 MB, 1.5 MB/s\r\x1b[K" + "apitape: convert: 700 entries, 3.0 MB in 2.00 s (1.5 MB/s)\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

func TestUnit(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	for _, n := range []int64{1, 3} {
		var out bytes.Buffer
		m := New(&out, "scan", Options{Unit: "files", UnitOne: "file", Now: clk.now, Manual: true})
		m.Add(n, 2e6)
		clk.advance(time.Second)
		m.Done(-1, -1)
		want := map[int64]string{1: "1 file", 3: "3 files"}[n]
		if !strings.HasPrefix(out.String(), "apitape: scan: "+want+", 2.0 MB in 1.00 s") {
			t.Errorf("got %q", out.String())
		}
	}
}

func TestStopWithoutSummary(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	var out bytes.Buffer
	m := New(&out, "inspect", Options{Live: true, Now: clk.now, Manual: true})
	clk.advance(3 * time.Second)
	m.Tick()
	m.Stop()
	m.Stop()
	m.Tick() // after Stop: nothing
	if want := "\r\x1b[Kapitape: inspect: 0 entries, 0.0 MB, 0.0 MB/s\r\x1b[K"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

// TestTicker runs the real ticker goroutine: it must stop with Done.
func TestTicker(t *testing.T) {
	var out bytes.Buffer
	m := New(&out, "redact", Options{Live: true})
	m.Done(0, 0)
	if !strings.HasPrefix(out.String(), "apitape: redact: 0 entries, 0.0 MB in ") {
		t.Errorf("got %q", out.String())
	}
}
