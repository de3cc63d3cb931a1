package har

import (
	"bytes"
	"encoding/json"
	"io"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
)

const tailHead = `{"log":{"version":"1.2","creator":{"name":"t","version":"1"},"entries":[{"request":{"method":"GET","url":"http://x/"},"response":{"status":200}}`

// readToEnd reads every entry and returns the reader at the end.
func readToEnd(t testing.TB, in io.Reader) (*Reader, error) {
	t.Helper()
	r := NewReader(in, "t.har")
	for {
		_, err := r.NextRaw()
		if err == io.EOF {
			return r, nil
		}
		if err != nil {
			return r, err
		}
	}
}

// TestTail checks the text after log.entries against encoding/json: the
// same documents are accepted, and Gap holds the tail byte for byte.
func TestTail(t *testing.T) {
	tails := []struct {
		tail, reason string
	}{
		{"]}}", "nothing after the entries"},
		{"\n]\n}\n}\n", "spaces"},
		{`],"comment":"a \"quoted\" \\ \/ \b\f\n\r\t \u00e9 \uD83D\uDE00 é"}}`, "every escape, and UTF-8"},
		{`],"pages":[],"_x":{"a":[1,-2.5e3,true,false,null,{"b":[]}],"c":{}}}}`, "nested values and numbers"},
		{`]},"_top":"x"}`, "a member after log"},
		{`],"comment":"` + strings.Repeat("x", 300<<10) + `"}}`, "a string longer than the read buffer"},
		{`],"comment":"` + strings.Repeat(`\u00e9`, 60<<10) + `"}}`, "escapes across the read buffer's end"},
		{"]}}x", "garbage after the document"},
		{"]}", "the document not closed"},
		{`],"comment":"a` + "\n" + `"}}`, "a raw newline in a string"},
		{`],"comment":"\x"}}`, "a bad escape"},
		{`],"comment":"\u12G4"}}`, "a bad \\u escape"},
		{`],"n":01}}`, "a number with a leading zero"},
		{`],"n":tru}}`, "a cut literal"},
		{`],"n":1,}}`, "a trailing comma"},
		{`],"n" 1}}`, "no colon"},
		{`],1:1}}`, "a number as a member name"},
		{`],"a":[1 2]}}`, "no comma in an array"},
		{`],"a":"never closed}}`, "a string that never ends"},
		{`],"a":{"b":1]}}`, "a mismatched bracket"},
	}
	for _, tt := range tails {
		doc := tailHead + tt.tail
		want := json.Valid([]byte(doc))
		r, err := readToEnd(t, strings.NewReader(doc))
		if (err == nil) != want {
			t.Errorf("%s: err = %v, want valid = %v", tt.reason, err, want)
			continue
		}
		if err != nil {
			if !strings.Contains(err.Error(), "malformed JSON after log.entries") {
				t.Errorf("%s: error %q does not say where", tt.reason, err)
			}
			continue
		}
		if got := string(r.Gap()); got != tt.tail {
			t.Errorf("%s: Gap = %.40q…, want the tail", tt.reason, got)
		}
		if _, cut := r.TailCut(); cut {
			t.Errorf("%s: cut", tt.reason)
		}
		if _, err := r.Log(); err != nil {
			t.Errorf("%s: Log: %v", tt.reason, err)
		}
	}
}

// TestTailCut: a tail longer than MaxTail is checked whole but kept only
// up to MaxTail bytes, and TailCut says where the rest starts.
func TestTailCut(t *testing.T) {
	tail := `],"comment":"` + strings.Repeat("0123456789abcdef", (MaxTail+1000)/16) + `"}}` + "\n"
	doc := tailHead + tail
	r, err := readToEnd(t, strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	off, cut := r.TailCut()
	if !cut {
		t.Fatal("not cut")
	}
	gap := r.Gap()
	if len(gap) != MaxTail || !strings.HasPrefix(tail, string(gap)) {
		t.Fatalf("Gap: %d bytes, want the first %d of the tail", len(gap), MaxTail)
	}
	if string(gap)+doc[off:] != tail {
		t.Fatalf("Gap and the input from offset %d do not make the tail", off)
	}
	if _, err := r.Log(); err == nil || !strings.Contains(err.Error(), "after log.entries") {
		t.Fatalf("Log: %v", err)
	}
	// An error past the kept part is still found.
	if _, err := readToEnd(t, strings.NewReader(doc+"x")); err == nil {
		t.Fatal("garbage after a long tail accepted")
	}
}

// newCommentReader streams a HAR whose log.comment after the entries is
// n bytes, without holding it.
func newCommentReader(n int64) io.Reader {
	return io.MultiReader(strings.NewReader(tailHead+`],"comment":"`), io.LimitReader(repeatReader{}, n), strings.NewReader(`"}}`))
}

var pattern = bytes.Repeat([]byte("abcdefghij klmno"), 4096)

type repeatReader struct{}

func (repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		n += copy(p[n:], pattern)
	}
	return n, nil
}

// TestHugeCommentMemory reads a HAR with a 256 MiB log.comment after the
// entries and bounds the live heap by a few times MaxTail (what Gap
// keeps): the comment is never held whole (reading the whole tail took
// 4-6 GB for 1 GiB).
func TestHugeCommentMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	const n = 256 << 20
	runtime.GC()
	var peak uint64
	mr := &measuringReader{r: newCommentReader(n), sample: []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}, peak: &peak}
	r, err := readToEnd(t, mr)
	if err != nil {
		t.Fatal(err)
	}
	if _, cut := r.TailCut(); !cut {
		t.Fatal("not cut")
	}
	t.Logf("peak heap %.1f MB reading a %d MiB comment", float64(peak)/1e6, n>>20)
	if peak > 5*MaxTail {
		t.Fatalf("peak heap %.1f MB: the comment is held", float64(peak)/1e6)
	}
}

type measuringReader struct {
	r      io.Reader
	n      int
	sample []metrics.Sample
	peak   *uint64
}

func (m *measuringReader) Read(p []byte) (int, error) {
	if m.n++; m.n%64 == 0 {
		metrics.Read(m.sample)
		*m.peak = max(*m.peak, m.sample[0].Value.Uint64())
	}
	return m.r.Read(p)
}

// FuzzTail: the tail checker accepts what encoding/json accepts.
func FuzzTail(f *testing.F) {
	for _, s := range []string{"]}}", `],"comment":"\u00e9"}}`, `],"a":[1,{"b":null}]}}`, "]}}x", `],"a":"\x"}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tail string) {
		doc := tailHead + tail
		want := json.Valid([]byte(doc))
		r, err := readToEnd(t, bytes.NewReader([]byte(doc)))
		if (err == nil) != want {
			t.Fatalf("tail %q: err = %v, encoding/json valid = %v", tail, err, want)
		}
		if err == nil && string(r.Gap()) != tail {
			t.Fatalf("tail %q: Gap %q", tail, r.Gap())
		}
	})
}
