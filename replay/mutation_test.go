package replay

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/apitape/apitape/har"
)

// TestMethodOverrides: every spelling of a method override a server would
// accept makes a safe-looking call a mutation (issue 15: ?%5Fmethod=DELETE
// went to a remote cluster without --allow-mutations).
func TestMethodOverrides(t *testing.T) {
	str := func(s string) *string { return &s }
	tests := []struct {
		name    string
		method  string
		url     string
		headers []har.NameValue
		body    *har.PostData
		extra   http.Header
		want    bool
		reason  string
	}{
		{name: "plain GET", method: "GET", url: "/v3/clusters", reason: "nothing overrides"},
		{name: "_method", method: "GET", url: "/c?_method=DELETE", want: true, reason: "Rancher's override"},
		{name: "encoded underscore", method: "GET", url: "/c?%5Fmethod=DELETE", want: true, reason: "servers decode the key before matching"},
		{name: "encoded lower hex", method: "GET", url: "/c?%5fmethod=delete", want: true, reason: "hex case and method case do not matter"},
		{name: "encoded whole key", method: "GET", url: "/c?%5F%6D%65%74%68%6F%64=DELETE", want: true, reason: "every byte may be escaped"},
		{name: "double encoded", method: "GET", url: "/c?%255Fmethod=DELETE", want: true, reason: "a proxy that decodes once more would see _method"},
		{name: "upper case key", method: "GET", url: "/c?_METHOD=PUT", want: true, reason: "case-insensitive frameworks exist"},
		{name: "mixed case key", method: "HEAD", url: "/c?_Method=patch", want: true, reason: "any safe method can be overridden"},
		{name: "encoded value", method: "GET", url: "/c?_method=%44ELETE", want: true, reason: "the value is decoded too"},
		{name: "plus-padded value", method: "GET", url: "/c?_method=+DELETE+", want: true, reason: "blanks around the value are trimmed"},
		{name: "semicolon separator", method: "GET", url: "/c?a=1;_method=DELETE", want: true, reason: "some servers split on ;"},
		{name: "later pair", method: "GET", url: "/c?limit=5&_method=DELETE", want: true, reason: "any pair"},
		{name: "repeated key", method: "GET", url: "/c?_method=GET&_method=DELETE", want: true, reason: "servers differ on which repeat wins"},
		{name: "php dot", method: "GET", url: "/c?.method=DELETE", want: true, reason: "PHP turns a leading . into _"},
		{name: "php space", method: "GET", url: "/c?%20_method=DELETE", want: true, reason: "PHP drops leading spaces in names"},
		{name: "php array", method: "GET", url: "/c?_method[]=DELETE", want: true, reason: "PHP array parameter"},
		{name: "header name as query key", method: "GET", url: "/c?X-HTTP-Method-Override=DELETE", want: true, reason: "some gateways read it from the query"},
		{name: "bad escape elsewhere", method: "GET", url: "/c?q=%zz&_method=DELETE", want: true, reason: "one bad pair does not hide another"},
		{name: "safe override", method: "GET", url: "/c?_method=get", reason: "overriding to a safe method changes nothing"},
		{name: "empty override", method: "GET", url: "/c?_method=", reason: "an empty value overrides nothing"},
		{name: "similar name", method: "GET", url: "/c?my_method=DELETE&method=DELETE", reason: "only names servers read"},
		{name: "in the path", method: "GET", url: "/c/_method=DELETE", reason: "the path is not a query"},
		{name: "bad escape only", method: "GET", url: "/c?q=%zz", reason: "undecodable but harmless"},
		{name: "override header", method: "GET", url: "/c", headers: []har.NameValue{{Name: "X-HTTP-Method-Override", Value: "DELETE"}}, want: true, reason: "Google APIs, ASP.NET"},
		{name: "lower-case header", method: "GET", url: "/c", headers: []har.NameValue{{Name: "x-http-method", Value: "put"}}, want: true, reason: "header names are case-insensitive"},
		{name: "x-method-override", method: "POST", url: "/c", headers: []har.NameValue{{Name: "X-Method-Override", Value: "DELETE"}}, want: true, reason: "POST is a mutation anyway"},
		{name: "underscore header", method: "GET", url: "/c", headers: []har.NameValue{{Name: "X_HTTP_Method_Override", Value: "DELETE"}}, want: true, reason: "CGI and nginx map _ and - alike"},
		{name: "safe header", method: "GET", url: "/c", headers: []har.NameValue{{Name: "X-HTTP-Method-Override", Value: "HEAD"}}, reason: "a safe override"},
		{name: "--header adds one", method: "GET", url: "/c", extra: http.Header{"X-Http-Method-Override": {"DELETE"}}, want: true, reason: "the header replay sends counts, not only the recorded one"},
		{name: "--header removes one", method: "GET", url: "/c", headers: []har.NameValue{{Name: "X-HTTP-Method-Override", Value: "DELETE"}}, extra: http.Header{"X-Http-Method-Override": nil}, reason: "an empty --header removes the recorded override"},
		{name: "form body", method: "GET", url: "/c", body: &har.PostData{MimeType: "application/x-www-form-urlencoded", Text: str("a=1&_method=DELETE")}, want: true, reason: "Rails, Laravel and Symfony read _method from a form body"},
		{name: "form body encoded", method: "GET", url: "/c", body: &har.PostData{MimeType: "application/x-www-form-urlencoded; charset=UTF-8", Text: str("%5Fmethod=DELETE")}, want: true, reason: "decoded like the query"},
		{name: "params only", method: "GET", url: "/c", body: &har.PostData{MimeType: "multipart/form-data", Params: []har.Param{{Name: "_method", Value: str("DELETE")}}}, want: true, reason: "a multipart field is a parameter too"},
		{name: "json body", method: "GET", url: "/c", body: &har.PostData{MimeType: "application/json", Text: str(`{"_method":"DELETE"}`)}, reason: "no framework reads a JSON _method on a GET"},
		{name: "POST", method: "POST", url: "/c", want: true, reason: "not a safe method"},
		{name: "unknown method", method: "PROPFIND", url: "/c", want: true, reason: "unknown methods may change state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &har.Entry{Request: har.Request{Method: tt.method, URL: "https://rancher.example" + tt.url, Headers: tt.headers, PostData: tt.body}}
			got := isMutation(tt.method, tt.url) || overridesMethod(e, tt.extra)
			if got != tt.want {
				t.Errorf("%s %s: mutation %v, want %v (%s)", tt.method, tt.url, got, tt.want, tt.reason)
			}
		})
	}
}

// FuzzFormOverrides: an override pair added to any query is found however
// its name is escaped, and the check never panics.
func FuzzFormOverrides(f *testing.F) {
	for _, s := range []string{"", "a=1", "q=%zz", "a=1;b=2", "_method=get", "%", "&&;;==", "x=%255F"} {
		f.Add(s, "DELETE")
	}
	f.Fuzz(func(t *testing.T, q, method string) {
		formOverrides(q) // must not panic
		isMutation("GET", "/p?"+q)
		// Only method names (letters) are overrides a server acts on.
		if !unsafeOverride(method) || strings.Trim(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != "" {
			return
		}
		for _, key := range []string{"_method", "%5Fmethod", "%5fMETHOD", "_Method"} {
			pair := key + "=" + url.QueryEscape(method)
			for _, full := range []string{pair, q + "&" + pair, pair + ";" + q} {
				if !formOverrides(full) {
					t.Fatalf("formOverrides(%q) = false with an override to %q", full, method)
				}
			}
		}
	})
}
