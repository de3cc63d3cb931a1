// Package shellquote turns any string into one POSIX shell word that bash
// reads back byte for byte and never expands: the one quoting function that
// apitape's curl and bash emitters share.
//
// Text goes in single quotes, which stop every expansion, history expansion
// included; a quote inside is closed, escaped and reopened:
//
//	it's → 'it'\''s'
//
// Only bytes that would be invisible, altered or
// dangerous in a script or a terminal (CR and other control characters, DEL,
// the C1 range and bytes that are not UTF-8) are written as ANSI-C escapes
// in a separate $'…' segment holding nothing else, so importers that
// mis-read `${…}` or backslashes inside $'…' never meet them there. Tabs and
// newlines stay literal inside single quotes.
//
// A shell word cannot hold a NUL byte: check [CanQuote] first and send such
// data some other way (apitape pipes it from a quoted base64 heredoc).
package shellquote

import (
	"strings"
	"unicode/utf8"
)

// CanQuote reports whether s can be a shell word at all, that is whether it
// has no NUL byte.
func CanQuote(s string) bool { return strings.IndexByte(s, 0) < 0 }

// Quote returns s as one shell word. It panics if s holds a NUL byte (see
// [CanQuote]): silently truncating data would be worse.
func Quote(s string) string { return string(Append(nil, s)) }

// Append appends Quote(s) to dst.
func Append(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, "''"...)
	}
	if isPlain(s) {
		return append(dst, s...)
	}
	for i := 0; i < len(s); {
		// A run that single quotes can carry literally.
		j := i
		for j < len(s) {
			if c := s[j]; c >= ' ' && c < 0x7f || c == '\t' || c == '\n' {
				j++ // the common case, without decoding
				continue
			}
			if n := escapeLen(s[j:]); n > 0 {
				break
			}
			_, size := utf8.DecodeRuneInString(s[j:])
			j += size
		}
		if j > i {
			dst = appendSingle(dst, s[i:j])
			i = j
		}
		// A run that needs $'…'.
		if i < len(s) {
			dst = append(dst, "$'"...)
			for i < len(s) {
				n := escapeLen(s[i:])
				if n == 0 && s[i] == '\n' && s[i-1] == '\r' {
					n = 1 // keep CRLF together
				}
				if n == 0 {
					break
				}
				for k := 0; k < n; k++ {
					dst = appendEscape(dst, s[i+k])
				}
				i += n
			}
			dst = append(dst, '\'')
		}
	}
	return dst
}

// isPlain reports whether s needs no quoting at all.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("_@%+=:,./-", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// appendSingle writes s in single quotes, a quote as '\”.
func appendSingle(dst []byte, s string) []byte {
	dst = append(dst, '\'')
	for {
		k := strings.IndexByte(s, '\'')
		if k < 0 {
			break
		}
		dst = append(dst, s[:k]...)
		dst = append(dst, `'\''`...)
		s = s[k+1:]
	}
	dst = append(dst, s...)
	return append(dst, '\'')
}

// escapeLen is the number of bytes at the start of s that must be written
// as escapes (0 when the first character can stay literal).
func escapeLen(s string) int {
	c := s[0]
	if c < utf8.RuneSelf {
		if c == 0 {
			panic("shellquote: a NUL byte cannot be part of a shell word")
		}
		if (c < ' ' && c != '\t' && c != '\n') || c == 0x7f {
			return 1
		}
		return 0
	}
	r, size := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && size == 1 {
		return 1 // not UTF-8: a raw byte would make the script a binary file
	}
	if r >= 0x80 && r <= 0x9f {
		return size // C1 controls: terminals act on them when pasted
	}
	if r == '\u2028' || r == '\u2029' || r == '\ufeff' {
		return size // invisible line breaks and a BOM confuse editors and pastes
	}
	return 0
}

func appendEscape(dst []byte, c byte) []byte {
	switch c {
	case '\r':
		return append(dst, `\r`...)
	case '\n':
		return append(dst, `\n`...)
	case '\t':
		return append(dst, `\t`...)
	}
	const hex = "0123456789abcdef"
	return append(dst, '\\', 'x', hex[c>>4], hex[c&15])
}
