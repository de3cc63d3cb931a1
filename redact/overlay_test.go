package redact

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// echoSession is a session whose entries keep echoing one another's
// secrets, in every way that makes an analysis depend on what was learned
// before it: each entry reveals a token (in a response body) and echoes
// those of the entries just before and just after it, raw, URL-encoded,
// JSON-escaped, in base64 and gzip bodies, as a member name, under a name
// that gives the value another class (the first class sticks), in Basic
// credentials and as the plaintext of a base64 bearer token.
func echoSession(n int) []string {
	c := newCanaries("echo-session")
	toks := make([]string, n+3)
	for i := range toks {
		toks[i] = "tok-" + c.fill(alnum, 24) + "/+" + c.fill(alnum, 4)
	}
	plain := make([]string, n+3)
	for i := range plain {
		plain[i] = "plain-" + c.fill(alnum, 20)
	}
	at := func(i int) string { return toks[max(0, min(i, len(toks)-1))] }
	entries := make([]string, n)
	for i := range entries {
		// Most echoes are of older entries, so that an analysis a
		// few entries behind often stays valid.
		prev, prev3, next := at(i-3), at(i-4), at(i+1)
		if i%4 == 0 {
			prev = at(i - 1)
		}
		e := ent{
			url: fmt.Sprintf("https://app.example/api/items/%d?ref=%s&q=%s", i, url.QueryEscape(prev), url.QueryEscape("x "+at(i-4))),
			reqH: [][2]string{
				{"X-Echo", "seen " + prev},
				{"Authorization", "Bearer " + base64.StdEncoding.EncodeToString([]byte(plain[i]))},
			},
			text: fmt.Sprintf(`{"token":%s,"echo":%s,%s:{"note":"n%d"},"next":%s,"plain":%s}`,
				jq(toks[i]), jq(jsonEscaped(prev3)), jq(at(i-5)), i, jq(next), jq(at(i-6)+plain[max(0, i-4)])),
		}
		switch i % 4 {
		case 0:
			e.reqH = append(e.reqH, [2]string{"X-Csrf-Token", at(i - 3)})
		case 1:
			e.reqH = append(e.reqH, [2]string{"Authorization-Basic", "Basic " + base64.StdEncoding.EncodeToString([]byte("user:"+at(i-3)))})
			e.reqC = [][2]string{{"session", at(i - 5)}}
		case 2:
			var gz bytes.Buffer
			w := gzip.NewWriter(&gz)
			w.Write([]byte(`{"echo":"` + prev + `","p":"` + plain[max(0, i-3)] + `"}`))
			w.Close()
			e.respH = [][2]string{{"Content-Encoding", "gzip"}}
			e.text, e.enc = base64.StdEncoding.EncodeToString(gz.Bytes()), "base64"
		case 3:
			e.method, e.postMime = "POST", "application/x-www-form-urlencoded"
			e.postText = str("password=" + url.QueryEscape(at(i-3)) + "&echo=" + url.QueryEscape(prev))
		}
		entries[i] = e.json()
	}
	return entries
}

// ksState is what a keystore holds, for comparison.
type ksState struct {
	vals  map[string]known
	order []string
	forms []sweepForm
	ver   int
}

func stateOf(k *keystore) ksState {
	s := ksState{vals: maps.Clone(k.vals), order: slices.Clone(k.order), ver: k.ver}
	for i := range k.m.n {
		s.forms = append(s.forms, *k.m.form(i))
	}
	return s
}

// TestOverlayMerge analyses every entry against the keystore as it stood
// some entries earlier, then merges it into the keystore as it stands at
// the entry's turn: a merge that is accepted must give exactly what
// analysing the entry in turn gives (text, records, keystore), and the
// session must make some merges refuse.
func TestOverlayMerge(t *testing.T) {
	entries := echoSession(24)
	ref := newTestRedactor(t, Options{})
	type result struct {
		out  []byte
		recs []Record
		ks   ksState
	}
	want := make([]result, len(entries))
	for i, e := range entries {
		out, recs, err := ref.entry(i, []byte(e), ref.pol, true)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = result{out, recs, stateOf(ref.ks)}
	}
	accepted, refused := 0, 0
	for _, lag := range []int{1, 2, 3, 6, 24} {
		for i, e := range entries {
			r := newTestRedactor(t, Options{})
			from := max(0, i-lag)
			for j := range from {
				if _, _, err := r.entry(j, []byte(entries[j]), r.pol, true); err != nil {
					t.Fatal(err)
				}
			}
			ov := newOverlay(r.ks, nil)
			var d delta
			ov.begin(&d)
			red, recs, err := r.entryEdits(i, []byte(e), r.pol, true, newMemos(), ov)
			ov.end()
			if err != nil {
				t.Fatal(err)
			}
			out := red.es.applyBytes(red.doc)
			for j := from; j < i; j++ {
				if _, _, err := r.entry(j, []byte(entries[j]), r.pol, true); err != nil {
					t.Fatal(err)
				}
			}
			if !r.ks.merge(&d) {
				refused++
				if !reflect.DeepEqual(stateOf(r.ks), stateOf(ref0(t, entries[:i]).ks)) {
					t.Fatalf("lag %d, entry %d: a refused merge changed the keystore", lag, i)
				}
				continue
			}
			accepted++
			if !bytes.Equal(out, want[i].out) {
				t.Errorf("lag %d, entry %d: accepted, but the text differs:\n%s", lag, i, firstDiff(string(want[i].out), string(out)))
			}
			if !reflect.DeepEqual(recs, want[i].recs) {
				t.Errorf("lag %d, entry %d: accepted, but the records differ:\n%v\n%v", lag, i, want[i].recs, recs)
			}
			if got := stateOf(r.ks); !reflect.DeepEqual(got, want[i].ks) {
				t.Errorf("lag %d, entry %d: accepted, but the keystore differs (%d values, want %d)", lag, i, len(got.vals), len(want[i].ks.vals))
			}
		}
	}
	t.Logf("%d merges accepted, %d refused", accepted, refused)
	if accepted == 0 || refused == 0 {
		t.Errorf("%d merges accepted, %d refused: the session should make both happen", accepted, refused)
	}
}

// TestFirstPassMerge feeds firstPass.merge batches of entries analysed
// against the keystore as each batch began, as the parallel first pass
// does, and checks that it writes exactly what redacting the entries in
// turn writes: text, records and the number of swept values before each,
// and that it ends with the same keystore.
func TestFirstPassMerge(t *testing.T) {
	entries := echoSession(30)
	type written struct {
		gen  int
		red  []byte
		recs []Record
	}
	ref := newTestRedactor(t, Options{})
	var want []written
	for i, e := range entries {
		gen := len(ref.ks.order)
		red, recs, err := ref.entry(i, []byte(e), ref.pol, true)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, written{gen, red, recs})
	}
	for _, batch := range []int{1, 2, 3, 5, 8, 30} {
		r := newTestRedactor(t, Options{})
		var got []written
		f := &firstPass{r: r, write: func(index int, f frame, red redacted) error {
			if index != len(got) {
				t.Fatalf("batch %d: entry %d written after %d entries", batch, index, len(got))
			}
			got = append(got, written{f.Gen, red.es.applyBytes(red.doc), f.Recs})
			return nil
		}}
		for start := 0; start < len(entries); start += batch {
			for i := start; i < min(start+batch, len(entries)); i++ {
				j := &p1job{index: i, raw: []byte(entries[i]), done: make(chan struct{})}
				ov := newOverlay(r.ks, nil)
				ov.begin(&j.d)
				j.red, j.recs, j.err = r.entryEdits(i, j.raw, r.pol, true, newMemos(), ov)
				ov.end()
				close(j.done)
				f.window = append(f.window, j)
			}
			if err := f.flush(); err != nil {
				t.Fatal(err)
			}
		}
		for i := range want {
			if got[i].gen != want[i].gen || !bytes.Equal(got[i].red, want[i].red) || !reflect.DeepEqual(got[i].recs, want[i].recs) {
				t.Errorf("batch %d, entry %d: written differently (gen %d, want %d):\n%s", batch, i, got[i].gen, want[i].gen, firstDiff(string(want[i].red), string(got[i].red)))
			}
		}
		if !reflect.DeepEqual(stateOf(r.ks), stateOf(ref.ks)) {
			t.Errorf("batch %d: the keystore differs", batch)
		}
		t.Logf("batch %d: %d of %d analyses made again", batch, f.redone, len(entries))
	}
}

// ref0 is a Redactor that has redacted entries in turn.
func ref0(t *testing.T, entries []string) *Redactor {
	r := newTestRedactor(t, Options{})
	for j, e := range entries {
		if _, _, err := r.entry(j, []byte(e), r.pol, true); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// TestStreamParallelSame runs Stream with its first pass on one
// goroutine and on several: the output, the records and the summary must
// be the same, byte for byte, every time.
func TestStreamParallelSame(t *testing.T) {
	cat, _, rules := catalogueHAR()
	inputs := map[string]struct {
		har  string
		opts Options
	}{
		"echo":      {harOf(echoSession(300)...), Options{}},
		"session":   {string(sessionHAR(500)), Options{}},
		"catalogue": {cat, Options{Rules: rules}},
	}
	if dir := filepath.Join("..", "..", "shared", "har-corpus"); !testing.Short() {
		files, _ := filepath.Glob(filepath.Join(dir, "*.har"))
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			inputs[filepath.Base(f)] = struct {
				har  string
				opts Options
			}{string(data), Options{}}
		}
	}
	defer func(w func() int) { pass1Workers = w }(pass1Workers)
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			run := func(workers int) (string, Summary, []Record) {
				pass1Workers = func() int { return workers }
				return redactString(t, newTestRedactor(t, in.opts), in.har)
			}
			want, wantSum, wantRecs := run(0)
			rounds := 3
			if testing.Short() {
				rounds = 1
			}
			for range rounds {
				for _, workers := range []int{1, 2, 4} {
					got, sum, recs := run(workers)
					if got != want {
						t.Fatalf("%d workers: the output differs:\n%s", workers, firstDiff(want, got))
					}
					if !reflect.DeepEqual(sum, wantSum) {
						t.Fatalf("%d workers: summary %+v, want %+v", workers, sum, wantSum)
					}
					if !reflect.DeepEqual(recs, wantRecs) {
						t.Fatalf("%d workers: the records differ", workers)
					}
				}
			}
			if strings.Count(want, "REDACTED-") == 0 && name != "catalogue" {
				t.Logf("nothing redacted")
			}
		})
	}
}

// FuzzStreamParallel: the first pass writes the same on several
// goroutines as on one, whatever the entries hold and echo.
func FuzzStreamParallel(f *testing.F) {
	f.Add("tok-"+strings.Repeat("A1b2", 6), "s3cr3t/+=value", uint8(5))
	f.Add("user:pass", "dXNlcjpwYXNz", uint8(9))
	f.Fuzz(func(t *testing.T, a, b string, n uint8) {
		entries := make([]string, int(n%24)+2)
		for i := range entries {
			e := ent{
				url: fmt.Sprintf("https://x.example/p/%d?q=%s&t=%s", i, url.QueryEscape(a), url.QueryEscape(b[:min(len(b), i)])),
				reqH: [][2]string{
					{"Authorization", "Bearer " + b + a[:min(len(a), i)]},
					{"X-Echo", a + " " + b},
					{"Cookie", "sid=" + a[min(len(a), i):] + b},
				},
				text: `{"token":` + jq(a+fmt.Sprint(i)) + `,"echo":` + jq(b) + `,` + jq(a) + `:1}`,
			}
			if i%3 == 2 {
				e.text, e.enc = base64.StdEncoding.EncodeToString([]byte(`{"password":`+jq(b+a)+`}`)), "base64"
			}
			entries[i] = e.json()
		}
		doc := harOf(entries...)
		defer func(w func() int) { pass1Workers = w }(pass1Workers)
		run := func(workers int) (string, Summary, []Record) {
			pass1Workers = func() int { return workers }
			var out bytes.Buffer
			var recs []Record
			sum, err := newTestRedactor(t, Options{}).Stream(strings.NewReader(doc), &out, StreamOptions{OnRecord: func(r Record) { recs = append(recs, r) }})
			if err != nil {
				return "error: " + err.Error(), sum, nil
			}
			return out.String(), sum, recs
		}
		want, wantSum, wantRecs := run(0)
		got, sum, recs := run(2)
		if got != want || !reflect.DeepEqual(sum, wantSum) || !reflect.DeepEqual(recs, wantRecs) {
			t.Fatalf("two workers write otherwise than one:\n%s", firstDiff(want, got))
		}
	})
}
