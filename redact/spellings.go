package redact

import (
	"bytes"
	"encoding/hex"
	"strconv"
	"strings"
)

// Other spellings of a secret in free text: a page or script that echoes a
// token JSON-escaped (\u0041KIA…, https:\/\/…), as HTML entities
// (&#65;KIA…) or hex-encoded. Each layer decodes the text, runs the token
// detectors and the known-value sweep over it, and maps the edits back.

func (a *analyzer) otherSpellings(s string, es *editSet) {
	if strings.Contains(s, `\u`) || strings.Contains(s, `\/`) {
		a.decodedLayer(s, decodeJSONString(s), es, "unescaped")
	}
	if strings.Contains(s, "&#") || strings.Contains(s, "&amp;") || strings.Contains(s, "&quot;") {
		a.decodedLayer(s, decodeEntities(s), es, "html entities")
	}
	a.hexRuns(s, es)
}

// decodedLayer analyses the decoded form of s and adds the edits to es,
// each widened to whole escapes.
func (a *analyzer) decodedLayer(s string, js jstring, es *editSet, qual string) {
	if len(js.esc) == 0 && js.jraw == "" {
		return
	}
	inner := a.set()
	a.pushQ(qual)
	a.tokens(js.s, inner, "token")
	a.sweep(js.s, inner)
	a.pop()
	m := js.escapes()
	for _, e := range inner.e {
		lo, _ := m.rawPos(e.start)
		hi, in := m.rawPos(e.end)
		if in {
			hi = escEnd(m, e.end)
		}
		es.add(edit{start: lo, end: hi, text: e.text, recs: e.recs})
	}
	a.done(inner)
}

// escEnd is the encoded offset after the escape that decoded offset i is
// inside of.
func escEnd(m escMap, i int) int {
	for _, e := range m {
		if int(e.d) <= i && i < int(e.d)+int(e.dl) {
			return int(e.r) + int(e.rl)
		}
	}
	return i
}

// decodeEntities decodes numeric character references and the common
// named ones, keeping the escapes.
func decodeEntities(s string) jstring {
	b := make([]byte, 0, len(s))
	var m escMap
	for i := 0; i < len(s); i++ {
		if s[i] != '&' {
			b = append(b, s[i])
			continue
		}
		semi := strings.IndexByte(s[i:min(len(s), i+12)], ';')
		if semi < 0 {
			b = append(b, s[i])
			continue
		}
		ent := s[i+1 : i+semi]
		var r rune = -1
		switch {
		case strings.HasPrefix(ent, "#x") || strings.HasPrefix(ent, "#X"):
			if v, err := strconv.ParseUint(ent[2:], 16, 21); err == nil {
				r = rune(v)
			}
		case strings.HasPrefix(ent, "#"):
			if v, err := strconv.ParseUint(ent[1:], 10, 21); err == nil {
				r = rune(v)
			}
		default:
			if c, ok := namedEntities[ent]; ok {
				r = c
			}
		}
		if r < 0 || r > 0x10FFFF {
			b = append(b, s[i])
			continue
		}
		d := len(b)
		b = append(b, string(r)...)
		m = append(m, esc{d: int32(d), r: int32(i), dl: uint8(len(b) - d), rl: uint8(semi + 1)})
		i += semi
	}
	return jstring{s: string(b), esc: m}
}

var namedEntities = map[string]rune{"amp": '&', "lt": '<', "gt": '>', "quot": '"', "apos": '\'', "sol": '/', "equals": '=', "plus": '+'}

// hexRuns decodes long runs of hex digits that hold text and looks inside;
// a hit re-encodes the whole run (digests decode to random bytes and are
// left alone).
func (a *analyzer) hexRuns(s string, es *editSet) {
	for i, j := range eachRun(s, &isHex, 2*minSweep) {
		if n := j - i; n%2 == 0 && n <= 2*maxSweep && (i == 0 || !isAlnum[s[i-1]]) && (j == len(s) || !isAlnum[s[j]]) && es.free(i, j) {
			a.hexRun(s, i, j, es)
		}
	}
}

func (a *analyzer) hexRun(s string, lo, hi int, es *editSet) {
	raw, err := hex.DecodeString(s[lo:hi])
	if err != nil || !printable(string(raw)) {
		return
	}
	dec := string(raw)
	inner := a.set()
	a.pushQ("hex")
	a.tokens(dec, inner, "token")
	a.sweep(dec, inner)
	a.pop()
	if !inner.empty() {
		upper := strings.ToUpper(s[lo:hi]) == s[lo:hi]
		e := inner.whole(dec, hi-lo, func(t string) string {
			h := hex.EncodeToString([]byte(t))
			if upper {
				h = strings.ToUpper(h)
			}
			return h
		})
		e.start += lo
		e.end += lo
		es.add(e)
	}
	a.done(inner)
}

// mayHideEcho reports text where a secret learned later could hide in a
// spelling the sweep's quick look does not know (escapes, entities, hex):
// Stream redacts such an entry again once it knows more secrets.
func mayHideEcho(b []byte) bool {
	if bytes.Contains(b, []byte(`\\u`)) || bytes.Contains(b, []byte(`&#`)) || bytes.Contains(b, []byte(`&amp;`)) {
		return true
	}
	// A hex run long enough to spell a swept value, whose bytes so far
	// are printable ASCII (a digest or an id is not).
	run := 0
	for i, c := range b {
		switch {
		case unhex(c) < 0:
			run = 0
		case run%2 == 1 && (unhex(b[i-1])<<4|unhex(c) < 0x20 || unhex(b[i-1])<<4|unhex(c) > 0x7e):
			run = 0
		default:
			if run++; run == 2*minSweep {
				return true
			}
		}
	}
	return false
}
