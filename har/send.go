package har

import "strings"

// URLProblem says why a recorded request URL cannot be sent as it is
// ("relative URL cannot be sent"), or returns "" for an absolute http or
// https URL with a host. convert and replay name such entries instead of
// dropping them. The text never quotes the URL, which may hold a secret.
func URLProblem(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		if i := strings.IndexByte(raw, ':'); i > 0 && isScheme(raw[:i]) && !(i+1 < len(raw) && raw[i+1] >= '0' && raw[i+1] <= '9') {
			return strings.ToLower(raw[:i]) + ": URL cannot be sent"
		}
		return "relative URL cannot be sent"
	}
	switch {
	case scheme == "":
		return "URL without a scheme cannot be sent"
	case !isScheme(scheme):
		return "URL with an invalid scheme cannot be sent"
	case !strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https"):
		return strings.ToLower(scheme) + ": URL cannot be sent"
	}
	if end := strings.IndexAny(rest, "/?#"); end == 0 || rest == "" {
		return "URL without a host cannot be sent"
	}
	return ""
}

// isScheme reports whether s is a URL scheme (RFC 3986 3.1), short enough
// to name in a message.
func isScheme(s string) bool {
	if s == "" || len(s) > 32 || !isLetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isLetter(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// ValidMethod reports whether m can be sent as an HTTP method: a token
// (RFC 9110 9.1), so "G ET" and "GET\n" are not.
func ValidMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		if c := m[i]; !isLetter(c) && !(c >= '0' && c <= '9') && strings.IndexByte("!#$%&'*+-.^_`|~", c) < 0 {
			return false
		}
	}
	return true
}
