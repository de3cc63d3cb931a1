package selection

import (
	"testing"

	"github.com/apitape/apitape/har"
)

func TestSelection(t *testing.T) {
	entry := func(method, url, resourceType, mime string, status int, headers ...string) *har.Entry {
		e := &har.Entry{Request: har.Request{Method: method, URL: url}, Response: har.Response{Status: status, Content: har.Content{MimeType: mime}}}
		if resourceType != "" {
			e.Extra.Set("_resourceType", resourceType)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			e.Request.Headers = append(e.Request.Headers, har.NameValue{Name: headers[i], Value: headers[i+1]})
		}
		return e
	}
	tests := []struct {
		name  string
		sel   Filter
		entry *har.Entry
		keep  bool
	}{
		{"xhr kept", Filter{}, entry("GET", "https://r.test/v3/clusters", "xhr", "application/json", 200), true},
		{"no answer dropped", Filter{}, entry("GET", "https://r.test/v3/clusters", "xhr", "", 0), false},
		{"no answer kept by --all", Filter{All: true}, entry("GET", "https://r.test/v3/clusters", "xhr", "", 0), true},
		{"fetch kept", Filter{}, entry("POST", "https://r.test/v3/cluster?_replace=true", "Fetch", "application/json", 201), true},
		{"script dropped by type", Filter{}, entry("GET", "https://r.test/app.js", "script", "application/javascript", 200), false},
		{"document dropped", Filter{}, entry("GET", "https://r.test/", "document", "text/html", 200), false},
		{"asset by extension", Filter{}, entry("GET", "https://r.test/logo.svg?v=2", "", "", 200), false},
		{"asset by mime", Filter{}, entry("GET", "https://r.test/font", "", "font/woff2", 200), false},
		{"json without type kept", Filter{}, entry("GET", "https://r.test/api", "", "application/json", 200), true},
		{"preflight dropped", Filter{}, entry("OPTIONS", "https://r.test/api", "", "", 204, "Access-Control-Request-Method", "POST"), false},
		{"preflight by type", Filter{}, entry("OPTIONS", "https://r.test/api", "preflight", "", 204), false},
		{"internal url", Filter{}, entry("GET", "chrome-extension://abc/x", "", "application/json", 200), false},
		{"--all keeps assets", Filter{All: true}, entry("GET", "https://r.test/app.js", "script", "", 200), true},
		{"method filter", Filter{Methods: []string{"post"}}, entry("GET", "https://r.test/api", "xhr", "", 200), false},
		{"host filter", Filter{Hosts: []string{"r.test:8443"}}, entry("GET", "https://r.test:8443/api", "xhr", "", 200), true},
		{"host filter name only", Filter{Hosts: []string{"r.test"}}, entry("GET", "https://r.test:8443/api", "xhr", "", 200), true},
		// The host of an IPv6 URL is written in brackets, as in the URL.
		{"host filter IPv6 in brackets", Filter{Hosts: []string{"[::1]"}}, entry("GET", "http://[::1]:8080/api", "xhr", "", 200), true},
		{"host filter IPv6 bare", Filter{Hosts: []string{"::1"}}, entry("GET", "http://[::1]:8080/api", "xhr", "", 200), true},
		{"host filter, URL not parsable", Filter{Hosts: []string{"r.test"}}, entry("GET", "http://r.test:port/api", "xhr", "", 200), false},
		{"host filter miss", Filter{Hosts: []string{"other.test"}}, entry("GET", "https://r.test/api", "xhr", "", 200), false},
		{"status class", Filter{Statuses: mustStatuses("4xx")}, entry("GET", "https://r.test/api", "xhr", "", 404), true},
		{"status miss", Filter{Statuses: mustStatuses("200,500-599")}, entry("GET", "https://r.test/api", "xhr", "", 404), false},
		{"entries", Filter{Entries: []IndexRange{{5, 7}}}, entry("GET", "https://r.test/api", "xhr", "", 200), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.sel.Keep(3, tt.entry); got != tt.keep {
				t.Errorf("Keep = %v, want %v", got, tt.keep)
			}
		})
	}
}

func mustStatuses(s string) []StatusRange {
	r, err := ParseStatusRanges(s)
	if err != nil {
		panic(err)
	}
	return r
}

func TestParseRanges(t *testing.T) {
	if r, err := ParseIndexRanges("3,5-7,10-"); err != nil || len(r) != 3 || r[1] != (IndexRange{5, 7}) || r[2].Lo != 10 || r[2].Hi < 1<<30 {
		t.Errorf("ParseIndexRanges = %v, %v", r, err)
	}
	for _, bad := range []string{"", "x", "7-5", "-3", "1,,2"} {
		if _, err := ParseIndexRanges(bad); err == nil {
			t.Errorf("ParseIndexRanges(%q) accepted", bad)
		}
	}
	if r, err := ParseStatusRanges("2xx,404,500-503"); err != nil || len(r) != 3 || r[0] != (StatusRange{200, 299}) {
		t.Errorf("ParseStatusRanges = %v, %v", r, err)
	}
	for _, bad := range []string{"", "6xx", "abc", "500-400"} {
		if _, err := ParseStatusRanges(bad); err == nil {
			t.Errorf("ParseStatusRanges(%q) accepted", bad)
		}
	}
}
