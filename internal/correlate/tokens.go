package correlate

import (
	"net/url"
	"strings"
)

// delim marks the bytes that separate values in URLs, headers and bodies.
// Ids, tokens, UUIDs and timestamps' pieces never contain them, except
// the colon of composite ids ("c-q7x2m:np-8hv4t") and of tokens
// ("token-x:secret"), which the matcher handles by matching whole values
// across delimiters.
var delim = func() (d [256]bool) {
	for _, c := range []byte(" \t\r\n/?&=:,\"';{}[]()<>#+|\\@") {
		d[c] = true
	}
	return d
}()

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// delimAt returns the length of the delimiter at s[i]: 1 for a delimiter
// byte, 3 for a percent-escape of one ("%3A" in "c-q7x2m%3Anp-8hv4t"), 0
// otherwise.
func delimAt(s string, i int) int {
	c := s[i]
	if delim[c] {
		return 1
	}
	if c == '%' && i+2 < len(s) {
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if ok1 && ok2 && delim[hi<<4|lo] {
			return 3
		}
	}
	return 0
}

// boundaryBefore reports whether position i of s starts a token.
func boundaryBefore(s string, i int) bool {
	if i == 0 {
		return true
	}
	if delim[s[i-1]] {
		return true
	}
	return i >= 3 && s[i-3] == '%' && delimAt(s, i-3) == 3
}

// boundaryAfter reports whether position i of s ends a token.
func boundaryAfter(s string, i int) bool {
	return i == len(s) || delimAt(s, i) > 0
}

// eachToken calls f with the start and end of every token of s.
func eachToken(s string, f func(start, end int)) {
	start := -1
	for i := 0; i < len(s); {
		if n := delimAt(s, i); n > 0 {
			if start >= 0 {
				f(start, i)
				start = -1
			}
			i += n
			continue
		}
		if start < 0 {
			start = i
		}
		i++
	}
	if start >= 0 {
		f(start, len(s))
	}
}

// anchor picks the token of a value the index files it under: the most
// distinctive one, so that thousands of URLs sharing "https" and a host
// name do not all land in one bucket. Id-like tokens (with a digit, dash
// or underscore, no dot) beat words and host names; longer beats shorter.
func anchor(v string) (tok string, off int) {
	best := -1
	eachToken(v, func(s, e int) {
		t := v[s:e]
		score := len(t)
		if strings.ContainsAny(t, "0123456789-_") && !strings.Contains(t, ".") {
			score += 1 << 20
		}
		if score > best {
			best, tok, off = score, t, s
		}
	})
	return tok, off
}

// EscapeURI percent-encodes every byte except A-Z a-z 0-9 - _ . ~ with
// upper-case hex, exactly as jq's @uri does, so that bash (jq) and Go
// emitters write a value the same way where the recording had it encoded.
func EscapeURI(s string) string {
	// QueryEscape keeps the same bytes and writes a space as "+", which
	// it never leaves unescaped otherwise.
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// Values shorter than minValueLen, numbers with fewer than minNumberDigits
// digits and longer than maxValueLen never bind: short values and small
// numbers turn up everywhere by chance (limit=1000, quantity=3), and huge
// ones (a kubeconfig) are documents, not references.
const (
	minValueLen     = 4
	minNumberDigits = 6
	maxNumberDigits = 15 // beyond this jq (a double) may print another number
	maxValueLen     = 8192
)

// commonValues are values too frequent to mean anything (most are words
// and fall under the no-words rule anyway; these are kept explicit).
var commonValues = map[string]bool{
	"true": true, "false": true, "null": true, "none": true, "local": true, "active": true, "admin": true,
	"default": true, "undefined": true, "https": true, "http": true, "localhost": true, "127.0.0.1": true,
	"0.0.0.0": true, "en-us": true, "en-US": true, "utf-8": true, "UTF-8": true, "gzip": true,
}

var mimeTops = map[string]bool{
	"application": true, "text": true, "image": true, "audio": true, "video": true, "multipart": true,
	"font": true, "message": true, "model": true,
}

// bindable reports whether a produced value is worth looking for in later
// requests. Words (letters only) are types, states and names ("cluster",
// "provisioning"), never generated references; so are values made only of
// words and delimiters: a path like /var/lib/docker or a sentence, a
// default a server repeats and a client knows. Binding one would make a
// script depend on an answer (a list) that may not hold it on another
// server.
func bindable(v string) bool {
	if len(v) < minValueLen || len(v) > maxValueLen || commonValues[v] {
		return false
	}
	words, digits := true, 0 // words: letters and delimiters only
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', delim[c]:
		case '0' <= c && c <= '9':
			digits++
			words = false
		default:
			words = false
		}
	}
	if words && !hasRandomRun(v) {
		return false // also: only delimiters
	}
	if isNumeric(v) {
		return digits >= minNumberDigits && digits <= maxNumberDigits
	}
	if top, sub, ok := strings.Cut(v, "/"); ok && mimeTops[strings.ToLower(top)] && !strings.ContainsAny(sub, "/:") {
		return false // a content type
	}
	return true
}

// hasRandomRun reports a run of five or more letters without a vowel: the
// suffix of a generated id (Rancher's alphabet has no vowels, so one id in
// four is letters only, c-bxkqz) rather than part of a word.
func hasRandomRun(v string) bool {
	run := 0
	for i := 0; i < len(v); i++ {
		c := v[i] | 0x20
		switch {
		case c < 'a' || c > 'z':
			run = 0
		case strings.IndexByte("aeiouy", c) >= 0:
			run = -len(v) // a vowel: this run is a word
		default:
			run++
			if run >= 5 {
				return true
			}
		}
	}
	return false
}

// isNumeric reports whether v looks like a number: digits with an optional
// sign and decimal point.
func isNumeric(v string) bool {
	v = strings.TrimPrefix(v, "-")
	seenDot := false
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '.' && !seenDot:
			seenDot = true
		case c < '0' || c > '9':
			return false
		}
	}
	return true
}
