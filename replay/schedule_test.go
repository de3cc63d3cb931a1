package replay

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/correlate"
)

func TestSchedule(t *testing.T) {
	withBody := func(e *har.Entry, body string) *har.Entry {
		e.Response.Content.Text = har.String(body)
		return e
	}
	entries := []*har.Entry{
		withBody(entry("GET", "https://r.test/v3/clusters", nil, ""), `{"data":[{"id":"c-aaa11"},{"id":"c-bbb22"}]}`),
		entry("GET", "https://r.test/v3/settings", nil, ""),
		entry("GET", "https://r.test/v3/clusters/c-aaa11", nil, ""),                               // uses a value call 0 revealed
		withBody(entry("GET", "https://r.test/v3/clusters/c-bbb22", nil, ""), `{"id":"c-bbb22"}`), // so does this one
		entry("POST", "https://r.test/v3/cluster", nil, `{"name":"x"}`),                           // barrier
		entry("GET", "https://r.test/v3/clusters/c-bbb22", nil, ""),                               // after the barrier; c-bbb22 first revealed by 0
		entry("GET", "https://r.test/v3/nodes", nil, ""),
		entry("PUT", "https://r.test/v3/clusters/c-aaa11", nil, `{}`), // barrier again
	}
	r, _ := New("http://127.0.0.1:1")
	items := make([]item, len(entries))
	for i, e := range entries {
		items[i] = item{index: i, entry: e}
	}
	pr, err := r.prepare(items)
	if err != nil {
		t.Fatal(err)
	}
	calls := pr.calls
	want := [][]int{{}, {}, {0}, {0}, {0, 1, 2, 3}, {0, 4}, {4}, {0, 4, 5, 6}}
	wantProducers := [][]int{{}, {}, {0}, {0}, {}, {0}, {}, {0}}
	for i, c := range calls {
		if !slices.Equal(c.deps, want[i]) {
			t.Errorf("call %d waits for %v, want %v", i, c.deps, want[i])
		}
		if !slices.Equal(c.producers, wantProducers[i]) {
			t.Errorf("call %d producers %v, want %v", i, c.producers, wantProducers[i])
		}
	}
}

// TestScheduleModelEdges: a call waits for the producers of the model's
// variables it uses: the later of two answers carrying the same id, and a
// value too short for the heuristic. With correlation off only the
// barriers order calls, and the heuristic's first revealers remain the
// producers failures are attributed to.
func TestScheduleModelEdges(t *testing.T) {
	withBody := func(e *har.Entry, body string) *har.Entry {
		e.Response.Content.Text = har.String(body)
		return e
	}
	entries := []*har.Entry{
		withBody(entry("GET", "https://r.test/first", nil, ""), `{"id":"x-12345","codeId":"ab12"}`),
		withBody(entry("GET", "https://r.test/second", nil, ""), `{"id":"x-12345"}`),
		entry("GET", "https://r.test/items/x-12345", nil, ""),
		entry("GET", "https://r.test/codes/ab12", nil, ""),
	}
	items := make([]item, len(entries))
	for i, e := range entries {
		items[i] = item{index: i, entry: e}
	}
	for _, tt := range []struct {
		name            string
		opts            []Option
		deps, producers [][]int
	}{
		{"correlation", nil, [][]int{{}, {}, {0, 1}, {0}}, [][]int{{}, {0}, {0, 1}, {0}}},
		{"off", []Option{WithCorrelation(correlate.Options{Disabled: true})}, [][]int{{}, {}, {}, {}}, [][]int{{}, {0}, {0}, {}}},
		{"heuristic only", []Option{WithHeuristicOnly()}, [][]int{{}, {}, {0}, {}}, [][]int{{}, {0}, {0}, {}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := New("http://127.0.0.1:1", tt.opts...)
			pr, err := r.prepare(items)
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range pr.calls {
				if !slices.Equal(c.deps, tt.deps[i]) {
					t.Errorf("call %d waits for %v, want %v", i, c.deps, tt.deps[i])
				}
				if !slices.Equal(c.producers, tt.producers[i]) {
					t.Errorf("call %d producers %v, want %v", i, c.producers, tt.producers[i])
				}
			}
		})
	}
}

// TestConcurrencyKeepsOrder replays with concurrency against a server that
// logs when each call starts and ends.
func TestConcurrencyKeepsOrder(t *testing.T) {
	var mu sync.Mutex
	var log []string
	inFlight, maxInFlight := 0, 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/")
		mu.Lock()
		log = append(log, "start "+name)
		inFlight++
		maxInFlight = max(maxInFlight, inFlight)
		mu.Unlock()
		time.Sleep(30 * time.Millisecond)
		mu.Lock()
		log = append(log, "end "+name)
		inFlight--
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if name == "b1" {
			fmt.Fprint(w, `{"id":"x-12345"}`)
			return
		}
		fmt.Fprint(w, `{}`)
	}))
	defer srv.Close()
	rec := func(method, path, body string) *har.Entry {
		e := entry(method, "https://r.test/"+path, nil, body)
		if path == "b1" {
			e.Response.Content.Text = har.String(`{"id":"x-12345"}`)
		}
		return e
	}
	entries := []*har.Entry{
		rec("GET", "a1", ""), rec("GET", "a2", ""), rec("GET", "a3", ""),
		rec("POST", "m", "{}"),
		rec("GET", "b1", ""), rec("GET", "b2?ref=x-12345", ""), rec("GET", "b3", ""),
	}
	r, _ := New(srv.URL, WithConcurrency(4))
	res, err := r.Run(context.Background(), entries)
	if err != nil {
		t.Fatal(err)
	}
	if res.Regressed() {
		t.Fatalf("%+v", res.Summary)
	}
	at := func(ev string) int {
		i := slices.Index(log, ev)
		if i < 0 {
			t.Fatalf("%q not in %v", ev, log)
		}
		return i
	}
	for _, a := range []string{"a1", "a2", "a3"} {
		if at("end "+a) > at("start m") {
			t.Errorf("mutation started before %s ended: %v", a, log)
		}
	}
	for _, b := range []string{"b1", "b2", "b3"} {
		if at("start "+b) < at("end m") {
			t.Errorf("%s started before the mutation ended: %v", b, log)
		}
	}
	if at("start b2") < at("end b1") {
		t.Errorf("b2 uses a value b1 revealed but started first: %v", log)
	}
	if maxInFlight < 2 {
		t.Errorf("at most %d calls in flight with concurrency 4", maxInFlight)
	}
}

// TestRate checks the lower bound only: n requests at rate r cannot take
// less than (n-1)/r.
func TestRate(t *testing.T) {
	srv := newRawServer(t, okAnswer)
	var entries []*har.Entry
	for i := 0; i < 5; i++ {
		entries = append(entries, entry("GET", fmt.Sprintf("https://r.test/%d", i), nil, ""))
	}
	r, _ := New(srv.url(), WithConcurrency(5), WithRate(50))
	start := time.Now()
	if _, err := r.Run(context.Background(), entries); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Errorf("5 requests at 50/s took %v, want at least 80ms", d)
	}
}
