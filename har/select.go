package har

import (
	"bytes"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// Selection decides which entries a command works on. The zero value keeps
// API calls only; set All to keep everything.
type Selection struct {
	Match    *regexp.Regexp // on the full URL
	Methods  []string       // case-insensitive
	Hosts    []string       // host or host:port, case-insensitive
	Statuses []StatusRange
	Entries  []IndexRange // 0-based, inclusive
	All      bool         // keep documents, assets, preflights and browser-internal URLs too
}

// StatusRange is an inclusive range of response status codes ("404",
// "4xx", "500-599").
type StatusRange struct{ Lo, Hi int }

// IndexRange is an inclusive range of entry indexes ("3", "5-7", "10-").
type IndexRange struct{ Lo, Hi int }

// ParseStatusRanges parses a comma-separated list such as "200,4xx,500-503".
func ParseStatusRanges(s string) ([]StatusRange, error) {
	var out []StatusRange
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if len(part) == 3 && strings.HasSuffix(strings.ToLower(part), "xx") && part[0] >= '1' && part[0] <= '5' {
			lo := int(part[0]-'0') * 100
			out = append(out, StatusRange{lo, lo + 99})
			continue
		}
		lo, hi, err := parseRange(part, 0)
		if err != nil {
			return nil, fmt.Errorf("invalid status %q: want a code, a class like 4xx, or a range like 500-599", part)
		}
		out = append(out, StatusRange{lo, hi})
	}
	return out, nil
}

// ParseIndexRanges parses a comma-separated list such as "0,3,5-7,10-".
func ParseIndexRanges(s string) ([]IndexRange, error) {
	var out []IndexRange
	for _, part := range strings.Split(s, ",") {
		lo, hi, err := parseRange(strings.TrimSpace(part), -1)
		if err != nil {
			return nil, fmt.Errorf("invalid entry range %q: want N, N-M or N-", part)
		}
		out = append(out, IndexRange{lo, hi})
	}
	return out, nil
}

// parseRange parses "N", "N-M" or, when open is -1, also "N-" (no upper end).
func parseRange(s string, open int) (int, int, error) {
	a, b, isRange := strings.Cut(s, "-")
	lo, err := strconv.Atoi(a)
	if err != nil || lo < 0 {
		return 0, 0, fmt.Errorf("bad number")
	}
	if !isRange {
		return lo, lo, nil
	}
	if b == "" && open == -1 {
		return lo, int(^uint(0) >> 1), nil
	}
	hi, err := strconv.Atoi(b)
	if err != nil || hi < lo {
		return 0, 0, fmt.Errorf("bad range")
	}
	return lo, hi, nil
}

// Keep reports whether the entry at index passes the selection.
func (s *Selection) Keep(index int, e *Entry) bool {
	if len(s.Entries) > 0 {
		in := false
		for _, r := range s.Entries {
			if index >= r.Lo && index <= r.Hi {
				in = true
				break
			}
		}
		if !in {
			return false
		}
	}
	if !s.All && !IsAPICall(e) {
		return false
	}
	if s.Match != nil && !s.Match.MatchString(e.Request.URL) {
		return false
	}
	if len(s.Methods) > 0 && !containsFold(s.Methods, e.Request.Method) {
		return false
	}
	if len(s.Hosts) > 0 {
		u, err := url.Parse(e.Request.URL)
		if err != nil || !(containsFold(s.Hosts, u.Host) || containsFold(s.Hosts, u.Hostname())) {
			return false
		}
	}
	if len(s.Statuses) > 0 {
		in := false
		for _, r := range s.Statuses {
			if e.Response.Status >= r.Lo && e.Response.Status <= r.Hi {
				in = true
				break
			}
		}
		if !in {
			return false
		}
	}
	return true
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// ResourceType is Chrome's `_resourceType` of the entry, lower-cased, or "".
func (e *Entry) ResourceType() string {
	raw, ok := e.Extra.Get("_resourceType")
	if !ok {
		return ""
	}
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' && bytes.IndexByte(raw, '\\') < 0 {
		return strings.ToLower(string(raw[1 : n-1])) // the common case, one copy
	}
	s, err := strconv.Unquote(string(raw))
	if err != nil {
		return ""
	}
	return strings.ToLower(s)
}

// IsPreflight reports whether the entry is a CORS preflight: sent by the
// browser, not the application, so never replayed.
func IsPreflight(e *Entry) bool {
	if e.ResourceType() == "preflight" {
		return true
	}
	if !strings.EqualFold(e.Request.Method, "OPTIONS") {
		return false
	}
	_, ok := Header(e.Request.Headers, "Access-Control-Request-Method")
	return ok
}

var staticExtensions = map[string]bool{
	".js": true, ".mjs": true, ".css": true, ".map": true, ".png": true, ".jpg": true, ".jpeg": true,
	".gif": true, ".svg": true, ".ico": true, ".webp": true, ".avif": true, ".bmp": true,
	".woff": true, ".woff2": true, ".ttf": true, ".otf": true, ".eot": true,
	".mp4": true, ".webm": true, ".mp3": true, ".wav": true, ".ogg": true,
	".html": true, ".htm": true,
}

var internalSchemes = []string{"chrome:", "chrome-extension:", "moz-extension:", "devtools:", "about:", "data:", "blob:", "edge:", "file:"}

// IsAPICall reports whether an entry looks like a call an application made
// to its API, and got an answer to, rather than the browser loading a page,
// an asset or a preflight. Chrome's `_resourceType` decides when present; otherwise the
// URL and the response's content type do.
func IsAPICall(e *Entry) bool {
	lower := strings.ToLower(e.Request.URL)
	for _, p := range internalSchemes {
		if strings.HasPrefix(lower, p) {
			return false
		}
	}
	if IsPreflight(e) {
		return false
	}
	// No answer was recorded (the call failed in the browser, or the
	// recording stopped first): nothing to convert it to or compare with.
	if e.Response.Status == 0 && e.ResourceType() != "websocket" {
		return false
	}
	switch e.ResourceType() {
	case "xhr", "fetch", "websocket", "eventsource":
		return true
	case "":
	default:
		return false
	}
	u, err := url.Parse(e.Request.URL)
	if err == nil && staticExtensions[strings.ToLower(path.Ext(u.Path))] && strings.EqualFold(e.Request.Method, "GET") {
		return false
	}
	mt := strings.ToLower(e.Response.Content.MimeType)
	if mt == "" {
		mt, _ = Header(e.Response.Headers, "Content-Type")
		mt = strings.ToLower(mt)
	}
	mt, _, _ = strings.Cut(mt, ";")
	mt = strings.TrimSpace(mt)
	switch {
	case strings.HasPrefix(mt, "image/"), strings.HasPrefix(mt, "font/"), strings.HasPrefix(mt, "audio/"), strings.HasPrefix(mt, "video/"),
		mt == "text/css", strings.Contains(mt, "javascript"), mt == "application/font-woff":
		return false
	case mt == "text/html" && strings.EqualFold(e.Request.Method, "GET"):
		return false
	}
	return true
}
