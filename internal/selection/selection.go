// Package selection is the entry selection that convert, inspect, replay
// and capture share: which entries a command works on (API calls only
// unless --all), and the syntax of its flags' ranges ("4xx", "500-503",
// "10-").
package selection

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/apitape/apitape/har"
)

// Filter decides which entries a command works on. The zero value keeps
// API calls only; set All to keep everything.
type Filter struct {
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
func (s *Filter) Keep(index int, e *har.Entry) bool {
	entry := func(r IndexRange) bool { return index >= r.Lo && index <= r.Hi }
	if len(s.Entries) > 0 && !slices.ContainsFunc(s.Entries, entry) {
		return false
	}
	if !s.All && !har.IsAPICall(e) {
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
		if err != nil {
			return false
		}
		name := u.Hostname()
		if strings.Contains(name, ":") {
			name = "[" + name + "]" // an IPv6 address, as the URL writes it
		}
		if !(containsFold(s.Hosts, u.Host) || containsFold(s.Hosts, u.Hostname()) || containsFold(s.Hosts, name)) {
			return false
		}
	}
	status := func(r StatusRange) bool { return e.Response.Status >= r.Lo && e.Response.Status <= r.Hi }
	return len(s.Statuses) == 0 || slices.ContainsFunc(s.Statuses, status)
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}
