package browser

import (
	"cmp"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/apitape/apitape/capture"
	"github.com/apitape/apitape/har"
	jsonv2 "github.com/chromedp/cdproto/cdp/jsonv2"
)

// entry builds the HAR entry of hop i of q the way Chrome DevTools exports
// it: the headers that went over the wire (from the ExtraInfo events, with
// Cookie and Set-Cookie), DevTools' custom fields and timings.
func (r *recorder) entry(q *request, i int) *har.Entry {
	h := q.hops[i]
	sent := h.sent
	var reqExtra *evRequestExtra
	var respExtra *evResponseExtra
	if i < len(q.reqExtra) {
		reqExtra = q.reqExtra[i]
	}
	if i < len(q.respExtra) && h.resp != nil {
		respExtra = q.respExtra[i]
	}

	e := &har.Entry{
		StartedDateTime: wallDate(sent.WallTime),
		Cache:           []byte("{}"),
	}

	// Request.
	e.Request = wireRequest(sent.Request.Method, sent.Request.URL, httpVersion(h.resp, respExtra), sent.Request.Headers, reqExtra)
	mimeType, _ := har.Header(e.Request.Headers, "Content-Type")
	switch {
	case h.hasPost:
		// Byte for byte: HAR has no encoding field for request bodies, so
		// SetBody writes one that is not UTF-8 as base64 with `_encoding:
		// "base64"` rather than mangled.
		e.Request.PostData = &har.PostData{MimeType: mimeType}
		e.Request.PostData.SetBody(h.post)
		e.Request.BodySize = int64(len(h.post))
	case sent.Request.HasPostData:
		// The page sent a body Chrome would not give back.
		e.Request.PostData = &har.PostData{MimeType: mimeType}
		e.Request.PostData.Extra.Set("_bodyUnavailable", h.postNote)
		e.Request.BodySize = -1
	}

	// Response.
	e.Response = har.Response{HTTPVersion: e.Request.HTTPVersion, HeadersSize: -1, BodySize: -1, Cookies: []har.Cookie{}, Headers: []har.NameValue{}}
	c := &e.Response.Content
	c.MimeType = "x-unknown"
	if h.resp != nil {
		resp := h.resp
		e.Response.Status = resp.Status
		e.Response.StatusText = resp.StatusText
		headers := resp.Headers
		if respExtra != nil {
			if respExtra.HeadersText != "" {
				if hs, ok := parseHeadersText(respExtra.HeadersText); ok {
					headers = hs
				}
				e.Response.HeadersSize = int64(len(respExtra.HeadersText))
			} else if len(respExtra.Headers) > 0 {
				headers = respExtra.Headers
			}
			if respExtra.StatusCode > 0 {
				e.Response.Status = respExtra.StatusCode
			}
		}
		e.Response.Headers = nameValues(headers)
		e.Response.Cookies = responseCookies(headers)
		if e.Response.Status >= 300 && e.Response.Status < 400 {
			e.Response.RedirectURL, _ = headers.get("Location")
		}
		c.MimeType = cmp.Or(resp.MimeType, c.MimeType)
		if h.encoded > 0 {
			e.Response.Extra.Set("_transferSize", int64(h.encoded))
			if e.Response.HeadersSize >= 0 {
				e.Response.BodySize = max(int64(h.encoded)-e.Response.HeadersSize, 0)
			}
		}
		if resp.FromServiceWorker {
			e.Response.Extra.Set("_fetchedViaServiceWorker", true)
			if resp.ServiceWorkerSource != "" {
				e.Response.Extra.Set("_serviceWorkerResponseSource", resp.ServiceWorkerSource)
			}
			if resp.CacheStorageCacheName != "" {
				e.Response.Extra.Set("_responseCacheStorageCacheName", resp.CacheStorageCacheName)
			}
		}
		e.ServerIPAddress = strings.Trim(resp.RemoteIPAddress, "[]")
		if resp.ConnectionID > 0 {
			e.Connection = strconv.FormatInt(int64(resp.ConnectionID), 10)
		}
	}
	if h.failed != nil {
		e.Response.Extra.Set("_error", h.failed.ErrorText)
	}
	if h.hasBody {
		c.SetBytes(h.body)
		if h.partial {
			c.Extra.Set("_bodyIncomplete", "the response had not finished when the recording stopped")
		}
	} else {
		// Never an empty string: an empty text would claim the server
		// answered with no body.
		c.Extra.Set("_bodyUnavailable", h.bodyNote)
	}

	// Chrome's custom fields.
	if len(sent.Initiator) > 0 {
		e.Extra.Set("_initiator", sent.Initiator)
	}
	if sent.Request.InitialPriority != "" {
		e.Extra.Set("_priority", sent.Request.InitialPriority)
	}
	e.Extra.Set("_resourceType", resourceType(sent))
	switch {
	case h.resp != nil && h.resp.FromDiskCache:
		e.Extra.Set("_fromCache", "disk")
	case h.cached:
		e.Extra.Set("_fromCache", "memory")
	}
	if i == len(q.hops)-1 && len(q.sse) > 0 {
		e.Extra.Set("_eventSourceMessages", q.sse)
	}

	e.Timings, e.Time = timings(h)
	return e
}

// resourceType is DevTools' lower-case resource type name.
func resourceType(sent *evRequest) string {
	if sent.Type == "Preflight" || initiatorType(sent.Initiator) == "preflight" {
		return "preflight"
	}
	switch sent.Type {
	case "":
		return "other"
	case "CSPViolationReport":
		return "csp-violation-report"
	case "SignedExchange":
		return "signed-exchange"
	}
	return strings.ToLower(sent.Type)
}

func initiatorType(raw json.RawMessage) string {
	var i struct {
		Type string `json:"type"`
	}
	jsonv2.Unmarshal(raw, &i, unmarshalOptions)
	return i.Type
}

// timings computes the HAR phases from Network.ResourceTiming as DevTools
// does: blocked is queueing plus everything before the first network
// activity, ssl is part of connect, and time is the sum of the phases.
func timings(h *hop) (har.Timings, float64) {
	ms := func(sec float64) float64 { return round3(sec * 1000) }
	issued := h.sent.Timestamp
	end := cmp.Or(h.endTime, issued)
	t := har.Timings{}
	if h.resp == nil || h.resp.Timing == nil {
		// No network timing: a failure before the response, a cache or
		// service-worker answer, a data: URL. DevTools puts it all in
		// blocked.
		t.Blocked = har.Float(max(ms(end-issued), 0))
		t.DNS, t.Connect, t.SSL = har.Float(-1), har.Float(-1), har.Float(-1)
		if h.resp != nil && h.respTime > 0 {
			t.Blocked = har.Float(max(ms(h.respTime-issued), 0))
			t.Receive = max(ms(end-h.respTime), 0)
		}
		return t, round3(*t.Blocked + t.Receive)
	}
	tm := h.resp.Timing
	queued := max(ms(tm.RequestTime-issued), 0)
	blockedStart := leastNonNegative(tm.DNSStart, tm.ConnectStart, tm.SendStart)
	blocked := queued + max(blockedStart, 0)
	t.Blocked = har.Float(round3(blocked))
	t.Extra.Set("_blocked_queueing", queued)
	t.DNS = har.Float(phase(tm.DNSStart, tm.DNSEnd))
	t.Connect = har.Float(phase(tm.ConnectStart, tm.ConnectEnd))
	t.SSL = har.Float(phase(tm.SSLStart, tm.SSLEnd))
	t.Send = max(round3(tm.SendEnd-tm.SendStart), 0)
	headersAt := tm.ReceiveHeadersEnd
	if headersAt <= 0 {
		headersAt = ms(h.respTime - tm.RequestTime)
	}
	t.Wait = max(round3(headersAt-tm.SendEnd), 0)
	t.Receive = max(round3(ms(end-tm.RequestTime)-headersAt), 0)
	total := blocked + t.Send + t.Wait + t.Receive
	for _, p := range []*float64{t.DNS, t.Connect} {
		if *p > 0 {
			total += *p
		}
	}
	return t, round3(total)
}

func phase(start, end float64) float64 {
	if start < 0 || end < 0 {
		return -1
	}
	return round3(end - start)
}

func leastNonNegative(vs ...float64) float64 {
	least := -1.0
	for _, v := range vs {
		if v >= 0 && (least < 0 || v < least) {
			least = v
		}
	}
	return least
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// wallDate formats Unix seconds as HAR's ISO 8601 date.
func wallDate(sec float64) string {
	return time.UnixMicro(int64(sec * 1e6)).UTC().Format("2006-01-02T15:04:05.000Z")
}

// httpVersion is the protocol of the response, in HAR's spelling.
func httpVersion(resp *cdpResponse, extra *evResponseExtra) string {
	if extra != nil && extra.HeadersText != "" {
		if v, _, ok := strings.Cut(extra.HeadersText, " "); ok && strings.HasPrefix(v, "HTTP/") {
			return v
		}
	}
	if resp == nil {
		return ""
	}
	switch p := strings.ToLower(resp.Protocol); p {
	case "http/1.0", "http/1.1":
		return strings.ToUpper(p)
	case "h2":
		return "HTTP/2.0"
	case "h3", "h3-29", "quic":
		return "HTTP/3.0"
	default:
		return p
	}
}

// parseHeadersText reads the raw response head Chrome saw (HTTP/1.x only),
// which keeps the server's order, case and repeated headers exactly.
func parseHeadersText(text string) (headerList, bool) {
	lines := strings.Split(strings.TrimRight(text, "\r\n"), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "HTTP/") {
		return nil, false
	}
	var out headerList
	for _, l := range lines[1:] {
		l = strings.TrimSuffix(l, "\r")
		if l == "" {
			continue
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			return nil, false
		}
		out = append(out, headerPair{name, strings.TrimSpace(value)})
	}
	return out, true
}

func nameValues(h headerList) []har.NameValue {
	out := make([]har.NameValue, 0, len(h))
	for _, p := range h {
		out = append(out, har.NameValue{Name: p.name, Value: p.value})
	}
	return out
}

// wireRequest is a request with the headers that went over the wire: the
// ExtraInfo event's when it has any (with Cookie), else the base event's.
func wireRequest(method, url, version string, headers headerList, extra *evRequestExtra) har.Request {
	if extra != nil && len(extra.Headers) > 0 {
		headers = extra.Headers
	}
	return har.Request{
		Method:      method,
		URL:         url,
		HTTPVersion: version,
		Headers:     nameValues(headers),
		Cookies:     requestCookies(headers),
		QueryString: queryString(url),
		HeadersSize: -1,
	}
}

// queryString is the query of u, in order (see capture.QueryString). CDP
// URLs have no fragment, but a WebSocket URL might.
func queryString(u string) []har.NameValue {
	_, query, _ := strings.Cut(u, "?")
	query, _, _ = strings.Cut(query, "#")
	return capture.QueryString(query)
}

func requestCookies(h headerList) []har.Cookie {
	out := []har.Cookie{}
	for _, p := range h {
		if !strings.EqualFold(p.name, "Cookie") {
			continue
		}
		for _, part := range strings.Split(p.value, ";") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			name, value, _ := strings.Cut(part, "=")
			out = append(out, har.Cookie{Name: name, Value: value})
		}
	}
	return out
}

func responseCookies(h headerList) []har.Cookie {
	out := []har.Cookie{}
	for _, p := range h {
		if !strings.EqualFold(p.name, "Set-Cookie") {
			continue
		}
		attrs := strings.Split(p.value, ";")
		name, value, _ := strings.Cut(strings.TrimSpace(attrs[0]), "=")
		c := har.Cookie{Name: name, Value: value}
		for _, a := range attrs[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(a), "=")
			switch strings.ToLower(k) {
			case "path":
				c.Path = v
			case "domain":
				c.Domain = v
			case "expires":
				c.Expires = v
				if t, err := http.ParseTime(v); err == nil {
					c.Expires = t.UTC().Format(time.RFC3339)
				}
			case "httponly":
				c.HTTPOnly = new(true)
			case "secure":
				c.Secure = new(true)
			case "samesite":
				c.Extra.Set("sameSite", v)
			}
		}
		out = append(out, c)
	}
	return out
}

// socketEntry is a WebSocket as Chrome exports it: the handshake as request
// and response, and every frame in _webSocketMessages.
func (r *recorder) socketEntry(s *socket) *har.Entry {
	var reqExtra *evRequestExtra
	var respExtra *evResponseExtra
	if q := r.requests[s.id]; q != nil && len(q.hops) == 0 {
		if len(q.reqExtra) > 0 {
			reqExtra = q.reqExtra[0]
		}
		if len(q.respExtra) > 0 {
			respExtra = q.respExtra[0]
		}
		delete(r.requests, s.id)
	}
	e := &har.Entry{
		StartedDateTime: wallDate(s.wallStart),
		Cache:           []byte("{}"),
		Request:         wireRequest("GET", s.url, "HTTP/1.1", s.reqHeaders, reqExtra),
		Response: har.Response{
			HTTPVersion: "HTTP/1.1", Headers: []har.NameValue{}, Cookies: []har.Cookie{},
			Content: har.Content{MimeType: "x-unknown"}, HeadersSize: -1,
		},
	}
	if s.resp != nil {
		headers := s.resp.Response.Headers
		if respExtra != nil && len(respExtra.Headers) > 0 {
			headers = respExtra.Headers
		}
		e.Response.Status = s.resp.Response.Status
		e.Response.StatusText = s.resp.Response.StatusText
		e.Response.Headers = nameValues(headers)
		e.Response.Cookies = responseCookies(headers)
	} else {
		e.Response.Extra.Set("_error", "no handshake response")
	}
	if len(s.errors) > 0 {
		e.Response.Extra.Set("_error", strings.Join(s.errors, "; "))
	}
	msgs := s.messages
	if msgs == nil {
		msgs = []wsMessage{}
	}
	if len(s.initiator) > 0 {
		e.Extra.Set("_initiator", s.initiator)
	}
	e.Extra.Set("_resourceType", "websocket")
	e.Extra.Set("_webSocketMessages", msgs)

	end := s.end
	if end == 0 && len(msgs) > 0 {
		end = s.start + (msgs[len(msgs)-1].Time - s.wallStart)
	}
	var wait, receive float64
	if s.resp != nil && s.start > 0 {
		wait = max(round3((s.resp.Timestamp-s.start)*1000), 0)
		if end > s.resp.Timestamp {
			receive = round3((end - s.resp.Timestamp) * 1000)
		}
	}
	e.Timings = har.Timings{Blocked: har.Float(-1), DNS: har.Float(-1), Connect: har.Float(-1), SSL: har.Float(-1), Wait: wait, Receive: receive}
	e.Time = round3(wait + receive)
	return e
}
