package demo

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// expiresHeader is the constant norman sends on every response (sic: no
// comma after the weekday).
const expiresHeader = "Wed 24 Feb 1982 18:42:00 GMT"

// maxBody is norman's 2 MiB input limit.
const maxBody = 2 << 20

// apiRequest is one API call being served.
type apiRequest struct {
	w           http.ResponseWriter
	r           *http.Request
	method      string // after ?_method= and ?action=remove
	action      string
	query       url.Values
	base        string // scheme://host[/prefix] of absolute links
	https       bool
	browser     bool
	html        bool
	actionLinks bool
	steve       bool
	user        *user
	tok         *token
	csrfSet     bool
}

func (s *Server) newRequest(w http.ResponseWriter, r *http.Request) *apiRequest {
	q := r.URL.Query()
	ar := &apiRequest{w: w, r: r, query: q, steve: underPrefix(r.URL.Path, "/v1")}
	ar.method = strings.ToUpper(r.Method)
	if m := q.Get("_method"); m != "" {
		ar.method = strings.ToUpper(m)
	}
	ar.action = q.Get("action")
	if ar.method == http.MethodPost && ar.action == "remove" {
		ar.method, ar.action = http.MethodDelete, ""
	}
	if ar.method != http.MethodPost {
		ar.action = "" // norman ignores actions on GET
	}

	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := firstValue(r.Header.Get("X-Forwarded-Proto")); p != "" {
		scheme = strings.ToLower(p)
	}
	host := r.Host
	if h := firstValue(r.Header.Get("X-Forwarded-Host")); h != "" {
		host = h
	}
	if h := r.Header.Get("X-API-Host"); h != "" {
		host = h
	}
	ar.https = scheme == "https"
	ar.base = scheme + "://" + host + strings.TrimSuffix(r.Header.Get("X-API-URL-Prefix"), "/")

	ar.browser = strings.Contains(strings.ToLower(r.UserAgent()), "mozilla")
	ar.actionLinks = r.Header.Get("X-API-Action-Links") != ""
	accept := r.Header.Get("Accept")
	switch strings.ToLower(strings.TrimSpace(q.Get("_format"))) {
	case "html":
		ar.html = true
	case "json":
	default:
		ar.html = ar.browser && (accept == "" || strings.Contains(accept, "*/*"))
	}
	return ar
}

func firstValue(h string) string {
	v, _, _ := strings.Cut(h, ",")
	return strings.TrimSpace(v)
}

// requestURL is the absolute URL of the request without its query.
func (ar *apiRequest) requestURL() string { return ar.base + ar.r.URL.EscapedPath() }

// withQuery returns the request URL with its query changed by edit.
func (ar *apiRequest) withQuery(edit func(url.Values)) string {
	q := url.Values{}
	for k, v := range ar.query {
		q[k] = slices.Clone(v)
	}
	edit(q)
	return ar.requestURL() + "?" + q.Encode()
}

// apiError is norman's error body.
type apiError struct {
	status  int
	code    string
	message string
	field   string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func newError(status int, code, message string) *apiError {
	return &apiError{status: status, code: code, message: message}
}

func fieldError(status int, code, field, message string) *apiError {
	return &apiError{status: status, code: code, message: message, field: field}
}

func notFound(d *schemaDef, id string) *apiError {
	name := id
	if _, after, ok := strings.Cut(id, ":"); ok {
		name = after
	}
	return newError(http.StatusNotFound, "NotFound", fmt.Sprintf("%s %q not found", d.K8sResource, name))
}

func methodNotAllowed(method string) *apiError {
	return newError(http.StatusMethodNotAllowed, "MethodNotAllow", "Method "+method+" not supported")
}

// errUnauthorized is the one 401 body the demo sends, the norman-shaped
// variant of Rancher's auth filter error (status a number, with code and
// baseType), because it parses like every other error.
func errUnauthorized(message string) *apiError {
	return newError(http.StatusUnauthorized, "Unauthorized", message)
}

func (e *apiError) body() map[string]any {
	m := map[string]any{"baseType": "error", "type": "error", "code": e.code, "message": e.message, "status": e.status}
	if e.field != "" {
		m["fieldName"] = e.field
	}
	return m
}

// commonHeaders sets what norman sends on every response, and issues a CSRF
// cookie to a browser that has none.
func (s *Server) commonHeaders(ar *apiRequest) {
	h := ar.w.Header()
	schemasPath := "/v3/schemas"
	if ar.steve {
		schemasPath = "/v1/schemas"
	}
	h.Set("X-Api-Schemas", ar.base+schemasPath)
	h.Set("Expires", expiresHeader)
	auth := "false"
	if ar.user != nil {
		auth = "true"
	}
	h.Set("X-Api-Cattle-Auth", auth)
	if ar.browser {
		if c, err := ar.r.Cookie("CSRF"); err != nil || c.Value == "" {
			s.setCSRFCookie(ar)
		}
	}
}

func (s *Server) setCSRFCookie(ar *apiRequest) {
	if ar.csrfSet {
		return
	}
	ar.csrfSet = true
	// Not HttpOnly: the UI reads it to send X-Api-Csrf. Secure only over
	// https, or browsers drop it on http://127.0.0.1.
	http.SetCookie(ar.w, &http.Cookie{Name: "CSRF", Value: newCSRF(), Path: "/", Secure: ar.https, SameSite: http.SameSiteLaxMode})
}

// checkCSRF is norman's double-submit check for browser requests.
func (s *Server) checkCSRF(ar *apiRequest) *apiError {
	if !ar.browser || ar.method == http.MethodGet {
		return nil
	}
	c, err := ar.r.Cookie("CSRF")
	if err != nil || c.Value == "" {
		if ar.steve {
			return nil // steve lets a cookie-less browser through
		}
		return newError(422, "InvalidCSRFToken", "Invalid CSRF token")
	}
	if ar.r.Header.Get("X-Api-Csrf") == c.Value || ar.query.Get("CSRF") == c.Value {
		return nil
	}
	return newError(422, "InvalidCSRFToken", "Invalid CSRF token")
}

// write sends v as JSON (compact, newline-terminated, like json.Encoder), or
// wrapped in the HTML API UI for a browser that did not ask for JSON.
func (s *Server) write(ar *apiRequest, status int, v any) {
	if ar.html {
		writeAPIUI(ar, status, v)
		return
	}
	ar.w.Header().Set("Content-Type", "application/json")
	ar.w.WriteHeader(status)
	json.NewEncoder(ar.w).Encode(v)
}

func (s *Server) writeError(ar *apiRequest, e *apiError) {
	if ar.steve {
		s.writeSteveError(ar, e)
		return
	}
	s.write(ar, e.status, e.body())
}

// readBody decodes a JSON object body; an empty body is an empty object.
func readBody(ar *apiRequest) (map[string]any, *apiError) {
	data, err := io.ReadAll(http.MaxBytesReader(ar.w, ar.r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, newError(422, "InvalidBodyContent", "Failed to parse body: request body too large")
		}
		return nil, newError(422, "InvalidBodyContent", "Failed to parse body: "+err.Error())
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return map[string]any{}, nil
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, newError(422, "InvalidBodyContent", "Failed to parse body: "+err.Error())
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// collection is norman's collection envelope. It is a struct, not a map,
// because the top-level keys come out in this fixed order.
type collection struct {
	Type         string                 `json:"type"`
	Links        map[string]string      `json:"links"`
	CreateTypes  map[string]string      `json:"createTypes,omitempty"`
	Actions      map[string]string      `json:"actions"`
	Pagination   *pagination            `json:"pagination,omitempty"`
	Sort         *sortInfo              `json:"sort,omitempty"`
	Filters      map[string][]condition `json:"filters,omitempty"`
	ResourceType string                 `json:"resourceType"`
	Data         []map[string]any       `json:"data"`
}

type pagination struct {
	Marker   string `json:"marker,omitempty"`
	First    string `json:"first,omitempty"`
	Previous string `json:"previous,omitempty"`
	Next     string `json:"next,omitempty"`
	Last     string `json:"last,omitempty"`
	Limit    *int64 `json:"limit,omitempty"`
	Total    *int64 `json:"total,omitempty"`
	Partial  bool   `json:"partial,omitempty"`
}

type sortInfo struct {
	Name    string            `json:"name,omitempty"`
	Order   string            `json:"order,omitempty"`
	Reverse string            `json:"reverse,omitempty"`
	Links   map[string]string `json:"links,omitempty"`
}

type condition struct {
	Modifier string `json:"modifier,omitempty"`
	Value    any    `json:"value,omitempty"`
}

const (
	defaultLimit = 1000
	maxLimit     = 10000
)

type filter struct {
	field, modifier string
	values          []string
}

func (f filter) match(item map[string]any) bool {
	v, _ := scalarString(item[f.field])
	switch f.modifier {
	case "eq":
		return v == f.values[0]
	case "ne":
		return v != f.values[0]
	case "null":
		return v == ""
	case "notnull":
		return v != ""
	case "in":
		return slices.Contains(f.values, v)
	case "notin":
		return !slices.Contains(f.values, v)
	}
	return false
}

// list builds the collection for items (already rendered resources):
// filters, then sort, then one page, as norman's ApplyQueryOptions.
func (s *Server) list(ar *apiRequest, d *schemaDef, items []map[string]any) *collection {
	c := &collection{
		Type:         "collection",
		Links:        map[string]string{"self": ar.requestURL()},
		Actions:      map[string]string{},
		ResourceType: d.ID,
		Data:         []map[string]any{},
	}
	if ar.method == http.MethodGet && slices.Contains(d.CollectionMethods, http.MethodPost) {
		c.CreateTypes = map[string]string{d.ID: ar.base + d.collectionPath()}
	}

	// Filters: key split at its last underscore; unknown fields or
	// modifiers are ignored.
	var filters []filter
	c.Filters = map[string][]condition{}
	for _, name := range d.Filters {
		c.Filters[name] = nil
	}
	for _, key := range slices.Sorted(maps.Keys(ar.query)) {
		field, mod := key, "eq"
		if i := strings.LastIndex(key, "_"); i > 0 {
			field, mod = key[:i], key[i+1:]
		}
		if !slices.Contains(d.Filters, field) || !slices.Contains(filterModifiers, mod) {
			continue
		}
		fl := filter{field: field, modifier: mod, values: ar.query[key]}
		filters = append(filters, fl)
		cond := condition{Modifier: mod}
		switch mod {
		case "eq", "ne":
			cond.Value = fl.values[0]
		case "in", "notin":
			cond.Value = fl.values
		}
		c.Filters[field] = append(c.Filters[field], cond)
	}
	var kept []map[string]any
	for _, item := range items {
		ok := true
		for _, fl := range filters {
			if !fl.match(item) {
				ok = false
				break
			}
		}
		if ok {
			kept = append(kept, item)
		}
	}

	// Sort: by id unless sort= names a filter field; compared as strings.
	c.Sort = &sortInfo{Order: "asc", Links: map[string]string{}}
	sortField := "id"
	if f := ar.query.Get("sort"); f != "" && slices.Contains(d.Filters, f) {
		c.Sort.Name, sortField = f, f
	}
	if ar.query.Get("order") == "desc" {
		c.Sort.Order = "desc"
	}
	slices.SortStableFunc(kept, func(a, b map[string]any) int {
		av, _ := scalarString(a[sortField])
		bv, _ := scalarString(b[sortField])
		ai, _ := a["id"].(string)
		bi, _ := b["id"].(string)
		r := cmp.Or(strings.Compare(av, bv), strings.Compare(ai, bi))
		if c.Sort.Order == "desc" {
			return -r
		}
		return r
	})
	reverse := "desc"
	if c.Sort.Order == "desc" {
		reverse = "asc"
	}
	c.Sort.Reverse = ar.withQuery(func(q url.Values) { q.Del("marker"); q.Set("order", reverse) })
	for _, name := range d.Filters {
		if fd, ok := d.Fields[name]; ok && (fd.Type == "string" || fd.Type == "enum") {
			c.Sort.Links[name] = ar.withQuery(func(q url.Values) { q.Del("marker"); q.Del("order"); q.Set("sort", name) })
		}
	}
	if len(c.Sort.Links) == 0 {
		c.Sort.Links = nil
	}
	if len(c.Filters) == 0 {
		c.Filters = nil
	}

	c.Pagination, kept = s.paginate(ar, kept)
	if kept != nil {
		c.Data = kept
	}
	return c
}

// paginate cuts one page: limit defaults to 1000, and anything negative or
// above 10000 means 10000; marker is the id of the page's first item.
func (s *Server) paginate(ar *apiRequest, items []map[string]any) (*pagination, []map[string]any) {
	limit := int64(defaultLimit)
	if l := ar.query.Get("limit"); l != "" {
		if n, err := strconv.ParseInt(l, 10, 64); err == nil {
			limit = n
			if n < 0 || n > maxLimit {
				limit = maxLimit
			}
		}
	}
	total := int64(len(items))
	p := &pagination{Marker: ar.query.Get("marker"), Limit: &limit, Total: &total}
	if len(items) == 0 {
		return p, items
	}
	start := int64(0)
	if p.Marker != "" {
		for i, it := range items {
			if it["id"] == p.Marker {
				start = int64(i)
				break
			}
		}
	}
	end := min(start+limit, total)
	id := func(i int64) string { s, _ := items[i]["id"].(string); return s }
	marker := func(m string) string { return ar.withQuery(func(q url.Values) { q.Set("marker", m) }) }
	if start > 0 || end < total {
		p.Partial = true
		p.First = marker(id(0))
		if prev := max(start-limit, 0); prev < start {
			p.Previous = marker(id(prev))
		}
		if end < total {
			p.Next = marker(id(end))
		}
		if last := total - limit; last > 0 {
			p.Last = marker(id(last))
		}
	}
	return p, items[start:end]
}

// timestamps returns norman's created and createdTS values.
func timestamps(t time.Time) (string, int64) {
	return t.UTC().Format(time.RFC3339), t.UnixMilli()
}
