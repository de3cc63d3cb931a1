package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestConcurrentClients has 50 clients create and read clusters at the same
// time on loopback; every create must be readable at once and listed at the
// end. Run it with -race.
func TestConcurrentClients(t *testing.T) {
	const clients, perClient = 50, 4
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := Start(ctx, "127.0.0.1:0", Options{Password: testPass})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	defer hc.CloseIdleConnections()

	call := func(method, path string, body any) (int, map[string]any, error) {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		hr, err := http.NewRequestWithContext(ctx, method, r.URL+path, rd)
		if err != nil {
			return 0, nil, err
		}
		hr.Header.Set("Authorization", "Bearer "+r.APIKey)
		res, err := hc.Do(hr)
		if err != nil {
			return 0, nil, err
		}
		defer res.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
			return res.StatusCode, nil, err
		}
		return res.StatusCode, m, nil
	}

	var mu sync.Mutex
	created := map[string]string{} // id → name
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := range perClient {
				name := fmt.Sprintf("load-%02d-%d", c, i)
				st, m, err := call("POST", "/v3/cluster?_replace=true", map[string]any{"type": "cluster", "name": name})
				if err != nil || st != 201 {
					errs <- fmt.Errorf("create %s: %d %v %v", name, st, err, m)
					return
				}
				id := m["id"].(string)
				st, got, err := call("GET", "/v3/clusters/"+id, nil)
				if err != nil || st != 200 || got["name"] != name {
					errs <- fmt.Errorf("read back %s: %d %v %v", id, st, err, got["name"])
					return
				}
				// Interleave updates and lists with the creates.
				if st, _, err := call("PUT", "/v3/clusters/"+id, map[string]any{"description": name}); err != nil || st != 200 {
					errs <- fmt.Errorf("update %s: %d %v", id, st, err)
					return
				}
				if st, _, err := call("GET", "/v3/clusters?limit=5", nil); err != nil || st != 200 {
					errs <- fmt.Errorf("list: %d %v", st, err)
					return
				}
				mu.Lock()
				created[id] = name
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	if len(created) != clients*perClient {
		t.Fatalf("%d distinct ids for %d creates", len(created), clients*perClient)
	}
	st, list, err := call("GET", "/v3/clusters?limit=-1", nil)
	if err != nil || st != 200 {
		t.Fatalf("final list: %d %v", st, err)
	}
	seen := map[string]bool{}
	for _, d := range list["data"].([]any) {
		m := d.(map[string]any)
		id := m["id"].(string)
		if created[id] != m["name"] || m["description"] != m["name"] {
			t.Errorf("listed %s %v (description %v), created as %q", id, m["name"], m["description"], created[id])
		}
		seen[id] = true
	}
	if len(seen) != len(created) {
		t.Errorf("list has %d clusters, want %d", len(seen), len(created))
	}
	// Same names again: every one is a NotUnique conflict.
	st, m, _ := call("POST", "/v3/clusters", map[string]any{"name": "load-00-0"})
	if st != 422 || m["code"] != "NotUnique" {
		t.Errorf("duplicate after load: %d %v", st, m)
	}
}
