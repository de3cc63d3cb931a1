package har

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzReader checks the reader's invariants on arbitrary input: it never
// panics; Gap and Raw rebuild the input byte for byte; and whatever it
// accepts survives a write-read round trip unchanged.
func FuzzReader(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte(`{"log":{"entries":[]}}`))
	f.Add([]byte(`{"log":{"entries":[{"request":{"method":"GET","url":"x","headers":[{"name":"a","value":["b"]}]}}],"x":[1,{"y":"]"}]}}`))
	f.Add([]byte(`{"log":{"pages":[{"id":"\"entries\":["}],"entries":[{}]}}`))
	f.Add([]byte("\xef\xbb\xbf{\"log\":{\"entries\":[ ]} }"))
	// An unknown member whose name is not UTF-8 (found by fuzzing).
	f.Add([]byte("{\"log\":{\"entries\":[{\"request\":{\"method\":\"GET\",\"url\":\"x\",\"headers\":[{\"name\":\"a\",\"\xffalue\":\"b\"}]}}]}}"))
	// Escaped member names, null in optional fields, garbage in skipped
	// members, and nesting past MaxDepth, before and inside an entry.
	f.Add([]byte(`{"\u006cog":{"\u0065ntries":[{"r\u0065quest":{"method":"GET","url":"x"},"_\u0078":[1]}]}}`))
	f.Add([]byte(`{"log":{"browser":null,"pages":null,"entries":[{"request":{"method":"GET","url":"x","cookies":[{"name":"a","value":"b","expires":null,"httpOnly":null}],"postData":null},"response":{"content":{"compression":null,"text":null}},"cache":null}]}}`))
	f.Add([]byte(`{"log":{"version":@@@,"entries":[]}}`))
	f.Add([]byte(`{"log":{"entries":[{"request":{"method":"GET","url":"x"},"_x":@@@}]}}`))
	f.Add([]byte(`{"log":{"_x":` + strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1) + `,"entries":[]}}`))
	f.Add([]byte(`{"log":{"entries":[{"request":{"method":"GET","url":"x"},"_x":` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + `}]}}`))
	if dir, err := filepath.Abs("../../shared/har-corpus"); err == nil {
		files, _ := filepath.Glob(filepath.Join(dir, "*.har"))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil && len(b) < 64<<10 {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), "fuzz")
		var rebuilt bytes.Buffer
		var entries []*Entry
		ok := true
		for {
			raw, err := r.NextRaw()
			if err == io.EOF {
				rebuilt.Write(r.Gap())
				break
			}
			if err != nil {
				ok = false
				break
			}
			rebuilt.Write(r.Gap())
			rebuilt.Write(raw)
			e, err := ParseEntry(raw)
			if err != nil {
				ok = false
				break
			}
			entries = append(entries, e)
		}
		if !ok {
			return
		}
		if !bytes.Equal(rebuilt.Bytes(), bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))) {
			t.Fatalf("Gap+Raw did not rebuild the input")
		}
		// Next parses in the read buffer when the entry lies in it and
		// copies it out otherwise; a 16-byte buffer takes both paths.
		for _, size := range []int{16, 256 << 10} {
			r := newReaderSize(bytes.NewReader(data), "fuzz", size)
			rebuilt.Reset()
			for i := 0; ; i++ {
				e, err := r.Next()
				rebuilt.Write(r.Gap())
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("buffer %d: Next failed where NextRaw and ParseEntry did not: %v", size, err)
				}
				rebuilt.Write(r.Raw())
				if diff := cmp.Diff(entries[i], e, equateEntries); diff != "" {
					t.Fatalf("buffer %d: entry %d differs from ParseEntry's:\n%s", size, i, diff)
				}
			}
			if !bytes.Equal(rebuilt.Bytes(), bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))) {
				t.Fatalf("buffer %d: Gap+Raw after Next did not rebuild the input", size)
			}
		}
		h, err := r.Log()
		if err != nil {
			return
		}
		// Whatever is accepted is JSON (encoding/json's limit is 10000
		// levels for the whole text, apitape's for each entry).
		if bytes.Count(data, []byte("[")) < MaxDepth-10 && !json.Valid(data[len(data)-len(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))):]) {
			t.Fatalf("accepted text that is not JSON")
		}
		h.Log.Entries = entries
		var out bytes.Buffer
		w, err := NewWriter(&out, h)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if err := w.Write(e); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		h2, err := ReadAll(&out, "rewritten")
		if err != nil {
			t.Fatalf("written HAR does not read back: %v\n%s", err, out.Bytes())
		}
		for _, e := range entries {
			if len(e.Cache) == 0 {
				e.Cache = []byte("{}") // the writer fills in HAR's required cache object
			}
		}
		if diff := cmp.Diff(entries, h2.Log.Entries, equateEntries); diff != "" {
			t.Fatalf("round trip changed entries:\n%s", diff)
		}
	})
}
