package redact

import (
	"io"
	"strings"
	"testing"
)

// FuzzDecodeEntities: every escape maps decoded bytes back to an entity
// in the text, and the text between escapes is copied as it is.
func FuzzDecodeEntities(f *testing.F) {
	for _, s := range []string{"a&#65;b", "&#x41;&amp;&quot;x", "&#;&#x;&bogus;", "&#1114112;", "&&#65", "caf&#233;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		js := decodeEntities(s)
		d, r := 0, 0
		for _, e := range js.escapes() {
			if int(e.d)-d != int(e.r)-r || js.s[d:e.d] != s[r:e.r] {
				t.Fatalf("text between escapes differs")
			}
			if s[e.r] != '&' || s[int(e.r)+int(e.rl)-1] != ';' {
				t.Fatalf("escape %+v is not an entity", e)
			}
			d, r = int(e.d)+int(e.dl), int(e.r)+int(e.rl)
		}
		if js.s[d:] != s[r:] {
			t.Fatalf("tail differs")
		}
	})
}

// FuzzHTMLAttrs: attribute values lie inside the tag.
func FuzzHTMLAttrs(f *testing.F) {
	for _, s := range []string{`<input name="a" value='b'>`, `<meta name=x content=y/>`, `<input =>`, `<input name="unterminated>`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		end := strings.IndexByte(s, '>')
		if end < 0 {
			end = len(s)
		}
		for _, at := range htmlAttrs(s, 0, end) {
			if at.lo < 0 || at.lo > at.hi || at.hi > end {
				t.Fatalf("value span [%d,%d) outside [0,%d)", at.lo, at.hi, end)
			}
		}
	})
}

// FuzzOpenText: any input either opens as UTF-8 text or is an error;
// never a panic, and valid UTF-8 text comes back unchanged.
func FuzzOpenText(f *testing.F) {
	f.Add([]byte("plain text\n"))
	f.Add([]byte{0xFF, 0xFE, 'a', 0})
	f.Add([]byte{0x1f, 0x8b, 8, 0})
	f.Add([]byte{0xEF, 0xBB, 0xBF, '{', '}'})
	f.Fuzz(func(t *testing.T, b []byte) {
		br, err := OpenText(strings.NewReader(string(b)), "in")
		if err != nil {
			return
		}
		out, _ := io.ReadAll(io.LimitReader(br, 1<<20))
		if len(b) > 0 && b[0] != 0xEF && b[0] != 0xFF && b[0] != 0xFE && b[0] != 0x1f && string(out) != string(b) {
			t.Fatalf("text changed")
		}
	})
}

// FuzzJSONDecodedLen: the length resizeBody computes without decoding is
// the decoded length, for any JSON string literal (escaped by
// encoding/json, or with \u escapes and surrogates of its own).
func FuzzJSONDecodedLen(f *testing.F) {
	for _, s := range []string{`plain`, `a\"b\\c\/d\n`, `\u00e9\ud83d\ude00`, `\ud800x`, `\udc00\ud800`, `é✓`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if _, err := parseJSON(`"` + raw + `"`); err != nil {
			raw = strings.Trim(jq(raw), `"`) // make it a valid literal
		}
		if got, want := jsonDecodedLen(raw), len(decodeJSONString(raw).s); got != want {
			t.Fatalf("jsonDecodedLen(%q) = %d, decoded length %d", raw, got, want)
		}
	})
}
