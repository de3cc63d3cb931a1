package browser

import (
	"reflect"
	"testing"
)

func TestHeaderList(t *testing.T) {
	tests := []struct {
		reason string
		in     string
		want   headerList
		ok     bool
	}{
		{"order is kept", `{"headers":{"b":"2","A":"1","c":"3"}}`, headerList{{"b", "2"}, {"A", "1"}, {"c", "3"}}, true},
		{"joined Set-Cookie is split", `{"headers":{"Set-Cookie":"a=1\nb=2","X":"y"}}`, headerList{{"Set-Cookie", "a=1"}, {"Set-Cookie", "b=2"}, {"X", "y"}}, true},
		{"escapes are decoded", `{"headers":{"X-Q":"\"q\" \u00e9"}}`, headerList{{"X-Q", `"q" é`}}, true},
		{"empty object", `{"headers":{}}`, nil, true},
		{"null headers", `{"headers":null}`, nil, true},
		{"missing headers", `{"requestId":"1"}`, nil, true},
		{"null value is empty", `{"headers":{"X":null}}`, headerList{{"X", ""}}, true},
		{"number kept as written", `{"headers":{"X":5}}`, headerList{{"X", "5"}}, true},
		{"repeated names are invalid JSON to v2 (Chrome joins them instead)", `{"headers":{"X":"1","X":"2"}}`, nil, false},
		{"invalid UTF-8 is not fatal", "{\"headers\":{\"X\":\"\xff\"}}", headerList{{"X", "\ufffd"}}, true},
		{"array is an error", `{"headers":["a"]}`, nil, false},
		{"truncated", `{"headers":{"a":"1"`, nil, false},
	}
	for _, tt := range tests {
		p, ok := decode[evRequestExtra]([]byte(tt.in))
		if ok != tt.ok {
			t.Errorf("%s: ok = %v, want %v", tt.reason, ok, tt.ok)
			continue
		}
		if ok && !reflect.DeepEqual(p.Headers, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.reason, p.Headers, tt.want)
		}
	}
}

// FuzzHeaderList: any input decodes or fails, never panics, and every
// decoded value is one line.
func FuzzHeaderList(f *testing.F) {
	for _, s := range []string{`{"headers":{"a":"1\n2","b":null,"c":3}}`, `{"headers":null}`, `{"headers":{"x":{"y":1}}}`, `{"headers":{`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, ok := decode[evRequestExtra]([]byte(in))
		if !ok {
			return
		}
		for _, h := range p.Headers {
			for _, c := range h.value {
				if c == '\n' {
					t.Fatalf("value %q holds a newline", h.value)
				}
			}
		}
	})
}
