package har

import (
	"bytes"
	"net/url"
	"path"
	"strconv"
	"strings"
)

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
