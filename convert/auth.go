package convert

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/correlate"
	cred "github.com/apitape/apitape/internal/credential"
	"github.com/apitape/apitape/internal/placeholder"
)

// Credentials as a person holds them: a variable holds the whole value a
// user pastes (a Rancher key token-xxxxx:<secret>, not its secret half
// next to the recording's token name), a session the recording itself
// logged into is taken from the login's answer, and --auth replaces a
// browser session with one API credential header.

// Auth is a header that replaces the recorded browser session (--auth
// 'NAME: VALUE'): every call drops its Cookie header, CSRF headers, its
// own header of that name and a browser User-Agent (which would ask for
// the CSRF check), and sends this header instead. $VAR and ${VAR} in the
// value are environment variables.
type Auth struct {
	Name  string
	Value string
}

var envRef = regexp.MustCompile(`\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))`)

// ParseAuth parses 'NAME: VALUE'.
func ParseAuth(s string) (Auth, error) {
	name, v, ok := strings.Cut(s, ":")
	name, v = strings.TrimSpace(name), strings.TrimSpace(v)
	if !ok || name == "" || v == "" {
		return Auth{}, fmt.Errorf("want 'NAME: VALUE', e.g. 'Authorization: Bearer $RANCHER_TOKEN'")
	}
	if i := notToken(name); i >= 0 {
		return Auth{}, errors.New(badHeaderName(name, i))
	}
	if strings.ContainsFunc(v, isControl) {
		return Auth{}, fmt.Errorf("the value holds a control character")
	}
	for _, m := range envRef.FindAllStringSubmatch(v, -1) {
		ref := m[1] + m[2]
		if strings.Trim(ref, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != "" || ref == EnvBaseURL || strings.HasPrefix(ref, "APITAPE_") {
			return Auth{}, fmt.Errorf("$%s: want an upper-case variable name of your own (not BASE_URL or APITAPE_…)", ref)
		}
		if err := correlate.ReservedName(ref); err != nil {
			// $HOME or $IFS is always set: the script would send it.
			return Auth{}, fmt.Errorf("$%s: want a variable name of your own: %v", ref, err)
		}
	}
	if strings.EqualFold(name, "Cookie") || cred.CSRFHeader(name) {
		return Auth{}, fmt.Errorf("%s is part of the browser session --auth replaces", name)
	}
	return Auth{Name: name, Value: v}, nil
}

// value is the header's value with its $VAR references as variables.
func (a *Auth) value() value {
	var v value
	last := 0
	for _, m := range envRef.FindAllStringIndex(a.Value, -1) {
		if m[0] > last {
			v = append(v, part{Text: a.Value[last:m[0]]})
		}
		// $NAME or ${NAME}
		v = append(v, part{Env: strings.Trim(a.Value[m[0]+1:m[1]], "{}")})
		last = m[1]
	}
	if last < len(a.Value) {
		v = append(v, part{Text: a.Value[last:]})
	}
	return v
}

// replaced reports a recorded header --auth takes the place of; lower is
// its name in lower case.
func (a *Auth) replaced(lower, v string) bool {
	return lower == "cookie" || cred.CSRFHeader(lower) || lower == strings.ToLower(a.Name) ||
		lower == "user-agent" && strings.HasPrefix(v, "Mozilla/")
}

// rancherKey matches the credential of a Rancher API key or session,
// token-xxxxx:<secret>, whatever redaction made of the secret.
var rancherKey = regexp.MustCompile(`^token-[a-z0-9]+:\S+$`)

// authorizationValue is the value to send for a recorded Authorization
// header that is not a login's token: a Rancher key becomes
// "Bearer ${RANCHER_TOKEN}" (the whole key, as its owner pastes it),
// anything else the whole header, ${AUTHORIZATION}.
func authorizationValue(v string) value {
	scheme, cred, ok := strings.Cut(v, " ")
	if ok && strings.EqualFold(scheme, "Bearer") && rancherKey.MatchString(strings.TrimSpace(cred)) {
		return value{{Text: scheme + " "}, {Env: EnvRancherToken}}
	}
	return envValue(EnvAuthorization)
}

// cookieValue is the value to send for a recorded Cookie header some of
// whose cookies earlier answers produced: those come from the answers,
// the others stay as recorded when redaction found nothing secret in
// them (redacted: the input went through it). Otherwise nil: the caller
// sends ${COOKIE}.
func cookieValue(fv value, redacted bool) value {
	if !fv.hasVar() {
		return nil
	}
	for _, p := range fv {
		if p.Env != "" {
			return nil // a secret the session did not produce
		}
		if p.Var == nil && !redacted {
			return nil // --no-redact: recorded cookies may be live ones
		}
	}
	// Each cookie's value is all variable or all literal.
	for _, pair := range strings.Split(fv.shape(), ";") {
		pair = strings.TrimSpace(pair)
		if pair == "\x00" {
			continue // a name=value pair the server made up
		}
		name, val, _ := strings.Cut(pair, "=")
		if strings.IndexByte(name, 0) >= 0 || strings.IndexByte(val, 0) >= 0 && val != "\x00" {
			return nil
		}
	}
	return fv
}

// sessionProduced reports whether a recorded R_SESS cookie's value comes
// from an earlier answer (the session logged in): then the calls take it
// from there instead of asking for a RANCHER_TOKEN.
func sessionProduced(fv value) bool {
	before := ""
	for _, p := range fv {
		if p.Var != nil && (strings.HasSuffix(before, "R_SESS=") || p.Var.Source.Part == correlate.PartPair && strings.HasPrefix(p.Text, "R_SESS=")) {
			return true
		}
		before += p.Text
	}
	return false
}

// credentialValue is the value to send for a credential header in
// default mode that is not only values earlier answers produced.
func (b *builder) credentialValue(lower, v string, fv value) value {
	switch lower {
	case "authorization":
		scheme, cred, _ := strings.Cut(v, " ")
		if ph := placeholder.FindAll(cred); len(ph) == 1 && ph[0][0] == 0 && ph[0][1] == len(cred) && scheme != "" {
			return fv // the whole token is one placeholder's variable
		}
		return authorizationValue(v)
	case "cookie":
		if cv := cookieValue(fv, b.redacted); cv != nil {
			return cv
		}
	}
	if placeholder.Contains(v) {
		return fv
	}
	return credential(lower, v)
}

// loggedIn reports a Rancher session whose R_SESS cookie an earlier answer
// of the recording produced.
func (b *builder) loggedIn(rw rewriter, index int, req *har.Request) bool {
	if rw == nil {
		return false
	}
	for _, nv := range req.Headers {
		if strings.EqualFold(nv.Name, "cookie") && sessionProduced(b.headerField(rw, index, nv.Name, nv.Value)) {
			return true
		}
	}
	return false
}

// Literal reports whether the header's value refers to no variable: a $
// that starts no name ($1, $(…)) is sent as it is.
func (a *Auth) Literal() bool { return len(a.envNames()) == 0 }

// uses reports whether the header's value refers to the variable name.
func (a *Auth) uses(name string) bool { return slices.Contains(a.envNames(), name) }

// envNames are the variables the header's value refers to.
func (a *Auth) envNames() []string {
	if a == nil {
		return nil
	}
	var names []string
	for _, p := range a.value() {
		if p.Env != "" {
			names = append(names, p.Env)
		}
	}
	return names
}

// sendsPassword reports a call whose body holds a redacted password: a
// login.
func (c *call) sendsPassword() bool {
	for _, p := range c.body {
		if strings.HasPrefix(p.Env, "APITAPE_SECRET_PASSWORD_") {
			return true
		}
	}
	return false
}
