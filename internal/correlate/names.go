package correlate

import (
	"cmp"
	"errors"
	"strings"
)

// baseName is the variable name before deduplication: the member that
// held the value, qualified by the resource type around it ("id" of a
// nodeTemplate → NODE_TEMPLATE_ID, "clusterId" → CLUSTER_ID, "token" of a
// token → TOKEN, "uuid" of a cluster → CLUSTER_UUID), a Location's type
// (CLUSTER_ID), a header's name (X_AUTH_TOKEN) or a cookie's (CSRF_COOKIE).
func (v *Var) baseName() string {
	typ := upperSnake(v.typ)
	var name string
	switch {
	case v.Source.Part == PartLastSegment:
		name = joinName(typ, "ID")
		if typ == "" && v.Source.Kind == KindHeader {
			name = upperSnake(v.Source.Path) + "_ID" // LOCATION_ID
		}
	case v.Source.Kind == KindHeader:
		name = upperSnake(v.Source.Path)
	case v.Source.Kind == KindCookie && v.Source.Part == PartPair:
		// The digits are the recording server's port: not part of the name.
		// upperSnake makes each run of them one underscore.
		name = upperSnake(strings.Map(func(r rune) rune {
			if '0' <= r && r <= '9' {
				return '-'
			}
			return r
		}, v.Source.Path)) + "_COOKIE"
	case v.Source.Kind == KindCookie:
		name = upperSnake(v.Source.Path) + "_COOKIE"
	default:
		rel := upperSnake(strings.Join(v.rel, "_"))
		last := ""
		if len(v.rel) > 0 {
			last = v.rel[len(v.rel)-1]
		}
		switch {
		case rel == "":
			name = joinName(typ, "VALUE")
		case len(v.rel) == 1 && len(last) > 2 && strings.HasSuffix(rel, "_ID"):
			name = rel // clusterId names its own type
		case rel == typ || typ == "" || strings.HasPrefix(rel, typ+"_"):
			name = rel
		default:
			name = typ + "_" + rel
		}
	}
	return safeName(name)
}

func joinName(a, b string) string {
	if a == "" {
		return b
	}
	return a + "_" + b
}

// safeName makes name a valid shell variable that does not clobber one the
// shell or apitape uses.
func safeName(name string) string {
	name = cmp.Or(name, "VALUE")
	if c := name[0]; '0' <= c && c <= '9' {
		name = "V_" + name
	}
	if ReservedName(name) != nil {
		name += "_VALUE"
	}
	return name
}

// upperSnake turns camelCase, kebab-case and anything else into
// UPPER_SNAKE: nodeTemplate → NODE_TEMPLATE, userID → USER_ID,
// X-Auth-Token → X_AUTH_TOKEN.
func upperSnake(s string) string {
	var b strings.Builder
	sep := true // at start or after an underscore
	prevLower := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z':
			b.WriteByte(c - 'a' + 'A')
			prevLower, sep = true, false
		case '0' <= c && c <= '9':
			b.WriteByte(c)
			prevLower, sep = true, false
		case 'A' <= c && c <= 'Z':
			acronymEnd := i > 0 && 'A' <= s[i-1] && s[i-1] <= 'Z' && i+1 < len(s) && 'a' <= s[i+1] && s[i+1] <= 'z'
			if !sep && (prevLower || acronymEnd) {
				b.WriteByte('_')
			}
			b.WriteByte(c)
			prevLower, sep = false, false
		default:
			if !sep {
				b.WriteByte('_')
				sep = true
			}
			prevLower = false
		}
	}
	return strings.TrimRight(b.String(), "_")
}

// shellNames are variables a generated bash script must not assign.
var shellNames = map[string]bool{
	"PATH": true, "HOME": true, "IFS": true, "PWD": true, "OLDPWD": true, "SHELL": true, "USER": true,
	"TERM": true, "LANG": true, "UID": true, "EUID": true, "PPID": true, "RANDOM": true, "SECONDS": true,
	"LINENO": true, "HOSTNAME": true, "HOSTTYPE": true, "OPTARG": true, "OPTIND": true, "OPTERR": true,
	"PS1": true, "PS2": true, "PS3": true, "PS4": true, "ENV": true, "CDPATH": true, "MAIL": true,
	"MAILPATH": true, "TMPDIR": true, "TZ": true, "GROUPS": true, "FUNCNAME": true, "PIPESTATUS": true,
	"REPLY": true, "COLUMNS": true, "LINES": true, "HISTFILE": true, "SHLVL": true, "LOGNAME": true,
	"BASE_URL": true, "EPOCHSECONDS": true, "EPOCHREALTIME": true, "SRANDOM": true, "PROMPT_COMMAND": true,
}

// ReservedName reports why a name cannot be a variable's: the shell,
// curl or apitape use it (nil when it is free).
func ReservedName(name string) error {
	switch {
	case shellNames[name]:
		return errors.New("the shell or generated scripts use this name")
	case strings.HasPrefix(name, "BASH"), strings.HasPrefix(name, "LC_"), strings.HasPrefix(name, "CURL_"):
		return errors.New("the shell or curl use names starting like this")
	case strings.HasPrefix(name, "APITAPE_"):
		return errors.New("names starting with APITAPE_ are apitape's own (secrets, settings)")
	}
	return nil
}

// checkName validates a --var name: a shell variable name apitape and the
// shell do not use themselves.
func checkName(name string) error {
	if name == "" {
		return errors.New("missing name")
	}
	if len(name) > 64 {
		return errors.New("name longer than 64 characters")
	}
	if identLen(name) < len(name) {
		return errors.New("a name has letters, digits and _ and does not start with a digit")
	}
	return ReservedName(name)
}

// locationType is the resource type a Location header names: the segment
// before the last, singular ("/v3/clusters/c-q7x2m" → "cluster").
func locationType(loc string) string {
	if i := strings.IndexAny(loc, "?#"); i >= 0 {
		loc = loc[:i]
	}
	loc = strings.TrimRight(loc, "/")
	if i := strings.LastIndexByte(loc, '/'); i >= 0 {
		if t := singular(LastSegment(loc[:i])); isWord(t) && !isVersion(t) {
			return t
		}
	}
	return ""
}
