package credential

import (
	"net/url"
	"strings"

	"github.com/apitape/apitape/internal/placeholder"
)

// MaskURL is a URL, or a path and query, as it may be shown in an error or
// a report: its userinfo and the values of credential parameters (Param)
// become ‹secret›; placeholders stay.
func MaskURL(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		if at := strings.LastIndexByte(rest[:end], '@'); at >= 0 && !placeholder.Contains(rest[:at]) {
			u = u[:i+3] + "‹secret›" + rest[at:]
		}
	}
	q := strings.IndexByte(u, '?')
	if q < 0 {
		return u
	}
	oauth := OAuthPath(u[:q])
	var b strings.Builder
	b.WriteString(u[:q+1])
	for i, kv := range strings.Split(u[q+1:], "&") {
		if i > 0 {
			b.WriteByte('&')
		}
		k, v, _ := strings.Cut(kv, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if _, secret := Param(name, oauth); secret && v != "" && !placeholder.Contains(v) {
			kv = k + "=‹secret›"
		}
		b.WriteString(kv)
	}
	return b.String()
}
