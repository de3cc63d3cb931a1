package redact

import "strings"

// What a value learned from code or free text must look like before it
// counts as a secret. In a script or a JavaScript body, "csrf = cookie('CSRF')"
// names a function, not a token; taking "cookie" for the CSRF value and
// sweeping it everywhere once broke every "cookies" member of a HAR.

// wordy reports a dictionary word or a code identifier: dotted segments of
// letters (camelCase, snake_case, $) with at most two trailing digits, or a
// call of one (getToken()). Random values interleave digits and letters.
func wordy(v string) bool {
	v = strings.TrimSuffix(v, "()")
	if v == "" {
		return false
	}
	for seg := range strings.SplitSeq(v, ".") {
		i := 0
		for i < len(seg) && (seg[i] >= 'a' && seg[i] <= 'z' || seg[i] >= 'A' && seg[i] <= 'Z' || seg[i] == '_' || seg[i] == '$') {
			i++
		}
		if i == 0 {
			return false
		}
		d := 0
		for i < len(seg) && seg[i] >= '0' && seg[i] <= '9' {
			i++
			d++
		}
		if i != len(seg) || d > 2 {
			return false
		}
	}
	return !randomLetters(v)
}

// randomLetters tells random mixed-case letters (a generated password:
// lMaXZjljENUhJduRHHJEYXg4) from an identifier's words: random letters
// have lowercase runs without a vowel (jlj, du) and single lowercase
// letters between capitals (XaS); words have vowels, and camelCase puts a
// word, not a letter, between capitals.
func randomLetters(v string) bool {
	if len(v) < 12 {
		return false
	}
	isLower := func(c byte) bool { return c >= 'a' && c <= 'z' }
	isUpper := func(c byte) bool { return c >= 'A' && c <= 'Z' }
	n := 0
	for i := 0; i < len(v); {
		if !isLower(v[i]) {
			i++
			continue
		}
		j := i
		for j < len(v) && isLower(v[j]) {
			j++
		}
		switch {
		case j-i >= 2 && !strings.ContainsAny(v[i:j], "aeiouy"):
			n++
		case j-i == 1 && i > 0 && isUpper(v[i-1]) && j < len(v) && isUpper(v[j]):
			n++
		}
		i = j
	}
	return n >= 2
}

func isWordByte(c byte) bool { return isAlnum[c] || c == '_' }

// looksSecret is the gate for a value that only its neighbourhood in free
// text calls secret: never a placeholder word, a dictionary word or an
// identifier; a password at least 6 characters, anything else at least 8
// with some entropy.
func looksSecret(v, class string) bool {
	if trivialValue(v) || wordy(v) {
		return false
	}
	if class == "password" || class == "basic" {
		return len(v) >= 6
	}
	return len(v) >= 8 && entropy(v) >= 2.5
}

// byName reports a rule that calls a value secret because of the name next
// to it (token detectors judge the value's own shape).
func byName(rule string) bool {
	for _, p := range []string{"key:", "header:", "cookie:", "query:", "form:", "part:", "url-userinfo", "cookie-entropy", "secret-data", "path-token", "html:"} {
		if strings.HasPrefix(rule, p) {
			return true
		}
	}
	return false
}
