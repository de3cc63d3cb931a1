package demo

import (
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// sessionTTL is Rancher's default session length (auth-user-session-ttl-minutes = 960).
const sessionTTL = 16 * time.Hour

// authenticate finds the token of a request, in Rancher's order: an
// Authorization header (Bearer, or Basic with the same name:secret pair),
// else the R_SESS cookie. A cookie is not consulted when an Authorization
// header is present, even an invalid one.
func (s *Server) authenticate(r *http.Request) (*user, *token) {
	var value string
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToLower(scheme) {
		case "bearer":
			value = rest
		case "basic":
			value = decodeBasic(rest)
		}
	} else if c, err := r.Cookie("R_SESS"); err == nil {
		// Browsers and some clients send the colon as %3A.
		if v, err := url.PathUnescape(c.Value); err == nil {
			value = v
		}
	}
	name, secret, ok := strings.Cut(value, ":")
	if !ok || name == "" || secret == "" {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.st.Tokens[name]
	if t == nil || subtle.ConstantTimeCompare([]byte(t.Secret), []byte(secret)) != 1 || t.expired(time.Now()) {
		return nil, nil
	}
	u := s.st.Users[t.UserID]
	if u == nil || !u.Enabled {
		return nil, nil
	}
	return u, t
}

func decodeBasic(v string) string {
	for _, enc := range []*base64.Encoding{base64.URLEncoding, base64.StdEncoding, base64.RawURLEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(v); err == nil {
			return string(b)
		}
	}
	return ""
}

// servePublic serves /v3-public: the auth providers and the local login.
func (s *Server) servePublic(ar *apiRequest) {
	if e := checkMethod(ar.method); e != nil {
		s.writeError(ar, e)
		return
	}
	parts := splitPath(strings.TrimPrefix(ar.r.URL.Path, "/v3-public"))
	typ := ""
	if len(parts) > 0 {
		typ = strings.ToLower(parts[0])
	}
	id := ""
	if len(parts) > 1 {
		id = parts[1]
	}
	provider := s.localProvider(ar)
	switch {
	case (typ == "authproviders" || typ == "authprovider" || typ == "localproviders" || typ == "localprovider") && id == "":
		if ar.method != http.MethodGet {
			s.writeError(ar, methodNotAllowed(ar.method))
			return
		}
		d := &schemaDef{ID: "authProvider", Plural: "authProviders"}
		if strings.HasPrefix(typ, "local") {
			d = &schemaDef{ID: "localProvider", Plural: "localProviders"}
		}
		s.write(ar, http.StatusOK, s.list(ar, d, []map[string]any{provider}))
	case (typ == "localproviders" || typ == "localprovider" || typ == "authproviders") && id == "local":
		switch {
		case ar.method == http.MethodGet:
			s.write(ar, http.StatusOK, provider)
		case ar.method == http.MethodPost && ar.action != "":
			if e := s.checkCSRF(ar); e != nil {
				s.writeError(ar, e)
				return
			}
			if ar.action != "login" {
				s.writeError(ar, newError(422, "InvalidAction", "Invalid action: "+ar.action))
				return
			}
			s.login(ar)
		default:
			s.writeError(ar, methodNotAllowed(ar.method))
		}
	case typ != "" && id != "" && (typ == "localproviders" || typ == "authproviders"):
		s.writeError(ar, newError(http.StatusNotFound, "NotFound", "authProvider \""+id+"\" not found"))
	default:
		s.writeError(ar, newError(http.StatusNotFound, "NotFound", "failed to find schema "+typ))
	}
}

func (s *Server) localProvider(ar *apiRequest) map[string]any {
	self := ar.base + "/v3-public/localProviders/local"
	actions := map[string]any{"login": self + "?action=login"}
	out := map[string]any{
		"id": "local", "type": "localProvider", "baseType": "authProvider", "creatorId": nil,
		"links": map[string]any{"self": self},
	}
	out[actionKey(ar)] = actions
	return out
}

func actionKey(ar *apiRequest) string {
	if ar.actionLinks {
		return "actionLinks"
	}
	return "actions"
}

// login is POST /v3-public/localProviders/local?action=login. With
// responseType "cookie" it answers 200 with an empty body and the token in
// R_SESS; otherwise 201 with the token resource.
func (s *Server) login(ar *apiRequest) {
	body, e := readBody(ar)
	if e != nil {
		s.writeError(ar, e)
		return
	}
	str := func(k string) string { v, _ := scalarString(body[k]); return v }
	username, password := str("username"), str("password")
	ttl := int64(sessionTTL / time.Millisecond)
	if v, ok := body["ttl"].(float64); ok && v > 0 {
		ttl = int64(v)
	}
	s.mu.Lock()
	u := s.st.userByName(username)
	if u == nil || !u.Enabled || !checkPassword(u.PasswordHash, password) {
		s.mu.Unlock()
		s.writeError(ar, errUnauthorized("authentication failed"))
		return
	}
	t := &token{Name: newName("token-"), Secret: newTokenSecret(), UserID: u.ID, Kind: kindSession,
		Description: str("description"), TTL: ttl, Created: time.Now().UTC(), UUID: newUUID()}
	s.st.Tokens[t.Name] = t
	s.saveLocked()
	out := s.renderToken(ar, t, nil)
	s.mu.Unlock()

	if str("responseType") == "cookie" {
		http.SetCookie(ar.w, &http.Cookie{Name: "R_SESS", Value: t.value(), Path: "/", HttpOnly: true,
			Secure: ar.https, SameSite: http.SameSiteLaxMode})
		if c, err := ar.r.Cookie("CSRF"); err != nil || c.Value == "" {
			s.setCSRFCookie(ar)
		}
		ar.w.WriteHeader(http.StatusOK)
		return
	}
	out["token"] = t.value()
	s.write(ar, http.StatusCreated, out)
}

// logout is POST /v3/tokens?action=logout: it deletes the session token the
// request used (never an API key) and clears the cookie.
func (s *Server) logout(ar *apiRequest) {
	s.mu.Lock()
	if ar.tok != nil && ar.tok.Kind == kindSession {
		delete(s.st.Tokens, ar.tok.Name)
		s.saveLocked()
	}
	s.mu.Unlock()
	http.SetCookie(ar.w, &http.Cookie{Name: "R_SESS", Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: ar.https})
	ar.w.WriteHeader(http.StatusOK)
}

func splitPath(p string) []string {
	var parts []string
	for _, s := range strings.Split(p, "/") {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return parts
}

// checkMethod rejects what norman never supports, before any CSRF check.
func checkMethod(method string) *apiError {
	switch method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete:
		return nil
	}
	return methodNotAllowed(method)
}
