package har

import "testing"

func TestURLProblem(t *testing.T) {
	tests := []struct{ url, want string }{
		{"https://a.test/x", ""},
		{"HTTP://a.test", ""},
		{"http://a.test?x", ""},
		{"/v3/x", "relative URL cannot be sent"},
		{"v3/x", "relative URL cannot be sent"},
		{"", "relative URL cannot be sent"},
		{"localhost:8080/x", "relative URL cannot be sent"},
		{"javascript:alert(1)", "javascript: URL cannot be sent"},
		{"JavaScript:alert(1)", "javascript: URL cannot be sent"},
		{"data:text/plain,x", "data: URL cannot be sent"},
		{"://a.test/x", "URL without a scheme cannot be sent"},
		{"ht tp://a.test/x", "URL with an invalid scheme cannot be sent"},
		{"wss://a.test/x", "wss: URL cannot be sent"},
		{"https:///x", "URL without a host cannot be sent"},
		{"https://", "URL without a host cannot be sent"},
		{"https://?q", "URL without a host cannot be sent"},
	}
	for _, tt := range tests {
		if got := URLProblem(tt.url); got != tt.want {
			t.Errorf("URLProblem(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
}

func TestValidMethod(t *testing.T) {
	for m, want := range map[string]bool{
		"GET": true, "PROPFIND": true, "M-SEARCH": true, "get": true,
		"": false, "G ET": false, "GET\n": false, "GET\r\n": false, "GET\x00": false, "GÉT": false, "GET(": false,
	} {
		if ValidMethod(m) != want {
			t.Errorf("ValidMethod(%q) = %v, want %v", m, !want, want)
		}
	}
}
