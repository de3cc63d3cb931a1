package correlate

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/placeholder"
)

// Manual is a variable the user declares when detection misses one:
// --var NAME=SOURCE@CALL, e.g. CLUSTER_ID=.data[0].id@3 (a JSON path into
// the response of the call with HAR index 3), TOKEN=header:X-Auth-Token@0
// or SESSION=cookie:R_SESS@0.
type Manual struct {
	Name   string
	Source Source
	Entry  int // HAR index of the producing call
}

// ParseManual parses NAME=SOURCE@CALL. SOURCE is a JSON path in the syntax
// of [Path] (".data[0].id", also "$.data[0].id"), "header:NAME" or
// "cookie:NAME"; CALL is a HAR index. The name is split at the first "="
// and the call at the last "@", so a path may hold both.
func ParseManual(s string) (Manual, error) {
	name, rest, ok := strings.Cut(s, "=")
	if !ok {
		return Manual{}, errors.New("want NAME=SOURCE@CALL, like CLUSTER_ID=.data[0].id@3")
	}
	if err := checkName(name); err != nil {
		return Manual{}, fmt.Errorf("variable name %q: %v", name, err)
	}
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return Manual{}, fmt.Errorf("%s: missing @CALL (the HAR index of the call whose response holds the value)", name)
	}
	src, num := rest[:at], rest[at+1:]
	if num == "" || len(num) > 9 || strings.Trim(num, "0123456789") != "" {
		return Manual{}, fmt.Errorf("%s: call %q is not an entry index", name, num)
	}
	entry, _ := strconv.Atoi(num)
	source, err := parseSource(src)
	if err != nil {
		return Manual{}, fmt.Errorf("%s: %v", name, err)
	}
	return Manual{Name: name, Source: source, Entry: entry}, nil
}

func parseSource(s string) (Source, error) {
	for _, kind := range []string{KindHeader, KindCookie} {
		if name, ok := strings.CutPrefix(s, kind+":"); ok {
			if !isToken(name) {
				return Source{}, fmt.Errorf("invalid %s name %q", kind, name)
			}
			return Source{Kind: kind, Path: name}, nil
		}
	}
	p, err := ParsePath(s)
	if err != nil {
		return Source{}, fmt.Errorf("%v; a source is a JSON path (.data[0].id), header:NAME or cookie:NAME", err)
	}
	return Source{Kind: KindJSON, Path: p.String()}, nil
}

// isToken reports whether s is an HTTP token (RFC 9110), the syntax of
// header and cookie names.
func isToken(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r)
	})
}

// checkManual validates the --var list: names, duplicates, reserved names.
func (a *analyzer) checkManual() (map[int][]*Manual, error) {
	if len(a.opts.Extra) == 0 {
		return nil, nil
	}
	byEntry := map[int][]*Manual{}
	names := map[string]bool{}
	for i := range a.opts.Extra {
		mv := &a.opts.Extra[i]
		if err := checkName(mv.Name); err != nil {
			return nil, fmt.Errorf("var %s: %v", mv.Name, err)
		}
		if slices.Contains(a.opts.Reserved, mv.Name) {
			return nil, fmt.Errorf("var %s: the output already uses this name", mv.Name)
		}
		if names[mv.Name] {
			return nil, fmt.Errorf("var %s: declared twice", mv.Name)
		}
		names[mv.Name] = true
		byEntry[mv.Entry] = append(byEntry[mv.Entry], mv)
	}
	return byEntry, nil
}

// produceManual binds a --var.
func (a *analyzer) produceManual(idx int, e *har.Entry, mv *Manual) error {
	v, ok := mv.Source.LookupEntry(&e.Response)
	if !ok {
		return fmt.Errorf("var %s: entry %d: the response has no value at %s", mv.Name, idx, mv.Source)
	}
	p := &production{value: v, entry: idx, source: mv.Source, class: classID, manual: mv.Name,
		isSecret: mv.Source.Kind != KindJSON || placeholder.Contains(v)}
	if mv.Source.Kind == KindJSON {
		if path, err := ParsePath(mv.Source.Path); err == nil {
			p.rel = keysOf(path)
			p.isSecret = p.isSecret || secretName(p.rel)
		}
	}
	a.keepCall()
	a.offer(p)
	a.materialize(p) // listed even without uses: the user asked for it
	return nil
}
